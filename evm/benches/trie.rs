//! [`MerkleTrie`] at the scale of a large state: loading 1,000,000 accounts, a block's worth of
//! account updates and the root after them, against rebuilding the root from every account with
//! alloy-trie's `HashBuilder` (what the node did per block before the trie existed).
//!
//! Also prints the resident memory the loaded trie takes per account (Linux only).

use alloy_primitives::{B256, U256};
use alloy_trie::{HashBuilder, Nibbles, TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lattice_evm::trie::MerkleTrie;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Duration;

/// Accounts in the state.
const ACCOUNTS: usize = 1_000_000;
/// Accounts a block changes.
const UPDATES_PER_BLOCK: usize = 2_000;
/// Distinct blocks of updates the per-block benchmarks cycle through.
const BLOCKS: usize = 32;

fn account(rng: &mut StdRng) -> Vec<u8> {
    let account = TrieAccount {
        nonce: rng.gen_range(0..10_000),
        balance: U256::from(rng.gen::<u128>()),
        storage_root: EMPTY_ROOT_HASH,
        code_hash: KECCAK_EMPTY,
    };
    alloy_rlp::encode(account)
}

/// `ACCOUNTS` accounts under random (as if hashed) keys, sorted by key.
fn accounts(rng: &mut StdRng) -> Vec<(B256, Vec<u8>)> {
    let mut accounts: Vec<(B256, Vec<u8>)> =
        (0..ACCOUNTS).map(|_| (B256::from(rng.gen::<[u8; 32]>()), account(rng))).collect();
    accounts.sort_unstable_by_key(|(key, _)| *key);
    accounts.dedup_by_key(|(key, _)| *key);
    accounts
}

/// `BLOCKS` blocks, each updating `UPDATES_PER_BLOCK` random existing accounts.
fn blocks(rng: &mut StdRng, accounts: &[(B256, Vec<u8>)]) -> Vec<Vec<(B256, Vec<u8>)>> {
    (0..BLOCKS)
        .map(|_| {
            (0..UPDATES_PER_BLOCK)
                .map(|_| (accounts[rng.gen_range(0..accounts.len())].0, account(rng)))
                .collect()
        })
        .collect()
}

/// Resident set size of this process, in bytes (0 where `/proc` is unavailable).
fn resident_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn hash_builder_root(accounts: &[(B256, Vec<u8>)]) -> B256 {
    let mut builder = HashBuilder::default();
    for (key, value) in accounts {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root()
}

fn bench_trie(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let accounts = accounts(&mut rng);
    let blocks = blocks(&mut rng, &accounts);

    // Memory first, before criterion's iterations leave freed memory in the allocator.
    let before = resident_bytes();
    let committed = MerkleTrie::from_sorted(accounts.clone());
    let root = committed.root();
    let after = resident_bytes();
    let per_account = after.saturating_sub(before) / committed.len().max(1);
    let input_per_account =
        accounts.iter().map(|(_, value)| 32 + 24 + value.len()).sum::<usize>() / accounts.len();
    eprintln!(
        "trie of {} accounts: {} MiB resident, ~{per_account} bytes per account \
         (the input Vec<(B256, Vec<u8>)> is ~{input_per_account} bytes per account before \
         allocator overhead)",
        committed.len(),
        after.saturating_sub(before) >> 20,
    );
    assert_eq!(root, hash_builder_root(&accounts), "trie root equals HashBuilder root");

    let mut group = c.benchmark_group("load_1m_accounts");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("from_sorted", |b| {
        b.iter_batched(|| accounts.clone(), MerkleTrie::from_sorted, BatchSize::LargeInput)
    });
    group.bench_function("first_root_after_from_sorted", |b| {
        b.iter_batched(
            || MerkleTrie::from_sorted(accounts.clone()),
            |trie| trie.root(),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("hash_builder_full_rebuild", |b| {
        b.iter(|| hash_builder_root(black_box(&accounts)))
    });
    group.finish();

    let mut group = c.benchmark_group("block_of_2000_updates_over_1m_accounts");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(UPDATES_PER_BLOCK as u64));
    let mut next_block = blocks.iter().cycle();
    group.bench_function("updates", |b| {
        b.iter_batched(
            || (committed.clone(), next_block.next().expect("cycle never ends").clone()),
            |(mut trie, updates)| {
                trie.extend(updates);
                trie
            },
            BatchSize::SmallInput,
        )
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("root_after_updates", |b| {
        b.iter_batched(
            || {
                let mut trie = committed.clone();
                trie.extend(next_block.next().expect("cycle never ends").iter().cloned());
                trie
            },
            |trie| trie.root(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("clone_updates_root", |b| {
        b.iter_batched(
            || next_block.next().expect("cycle never ends").clone(),
            |updates| {
                let mut trie = committed.clone();
                trie.extend(updates);
                (trie.root(), trie)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_trie);
criterion_main!(benches);

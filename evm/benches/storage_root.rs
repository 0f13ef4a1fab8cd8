//! A block's state root when it changes slots of a large contract: with the contract's storage
//! trie kept in [`StateTries`] (what the node does) against building it from the contract's
//! stored slots in RocksDB (what a cache miss costs, and what the node did for every block
//! before storage tries were kept).
//!
//! Also prints the heap a cached storage trie takes per slot (counted by the allocator).

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_trie::{TrieAccount, KECCAK_EMPTY};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lattice_evm::overlay::AccountChange;
use lattice_evm::trie::MerkleTrie;
use lattice_evm::{PreparedState, StateChanges, StateTries};
use lattice_storage::{tables, Db};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use revm::state::AccountInfo;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Slots the contract holds.
const SLOTS: u64 = 1_000_000;
/// Slots a block changes.
const CHANGES: usize = 200;
/// Distinct blocks the benchmarks cycle through.
const BLOCKS: usize = 16;

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only a counter is updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout` (through `alloc` above).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A database holding one contract with `SLOTS` slots; returns it with the contract's account.
fn contract_state(db: &Db, address: Address) -> TrieAccount {
    let hashed = keccak256(address);
    let slots: Vec<(B256, U256)> = {
        let mut slots: Vec<(B256, U256)> =
            (0..SLOTS).map(|s| (keccak256(B256::from(U256::from(s))), U256::from(s + 1))).collect();
        slots.sort_unstable_by_key(|(k, _)| *k);
        slots
    };
    for chunk in slots.chunks(100_000) {
        let mut batch = db.batch();
        for (slot, value) in chunk {
            batch.put::<tables::Storages>(&(hashed, *slot), value).unwrap();
        }
        batch.commit().unwrap();
    }
    let storage_root =
        MerkleTrie::from_sorted(slots.iter().map(|(k, v)| (*k, alloy_rlp::encode(v)))).root();
    let account =
        TrieAccount { nonce: 1, balance: U256::ZERO, storage_root, code_hash: KECCAK_EMPTY };
    let mut batch = db.batch();
    batch.put::<tables::Accounts>(&hashed, &account).unwrap();
    batch.commit().unwrap();
    account
}

/// A block's changes: `CHANGES` random slots of the contract overwritten, some deleted.
fn block(rng: &mut StdRng, address: Address, account: &TrieAccount) -> StateChanges {
    let mut storage = BTreeMap::new();
    for _ in 0..CHANGES {
        let slot = U256::from(rng.gen_range(0..SLOTS));
        let new = if rng.gen_bool(0.1) { U256::ZERO } else { U256::from(rng.gen::<u64>()) };
        let original = slot + U256::from(1);
        storage.insert(keccak256(B256::from(slot)), (slot, original, new));
    }
    let change = AccountChange {
        address,
        original: Some(*account),
        current: Some(AccountInfo {
            nonce: account.nonce,
            balance: account.balance,
            code_hash: account.code_hash,
            ..Default::default()
        }),
        wiped: false,
        storage,
    };
    StateChanges {
        accounts: BTreeMap::from([(keccak256(address), change)]),
        codes: BTreeMap::new(),
    }
}

fn bench_storage_root(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), tables::ALL).unwrap();
    let address = Address::repeat_byte(0xc0);
    let account = contract_state(&db, address);
    let mut rng = StdRng::seed_from_u64(1);
    let blocks: Vec<StateChanges> =
        (0..BLOCKS).map(|_| block(&mut rng, address, &account)).collect();

    let mut kept = StateTries::load(&db, usize::MAX).unwrap();
    let before = ALLOCATED.load(Ordering::Relaxed);
    kept.storage_trie_cached(&db, keccak256(address), account.storage_root).unwrap();
    let after = ALLOCATED.load(Ordering::Relaxed);
    eprintln!(
        "storage trie of {SLOTS} slots: {} MiB of heap, ~{} bytes per slot",
        after.saturating_sub(before) >> 20,
        after.saturating_sub(before) / SLOTS as usize
    );
    // Both paths give the same root.
    let uncached = StateTries::load(&db, 0).unwrap();
    assert_eq!(
        PreparedState::prepare_on(&db, &kept, blocks[0].clone()).unwrap().state_root,
        PreparedState::prepare_on(&db, &uncached, blocks[0].clone()).unwrap().state_root,
    );

    let mut group = c.benchmark_group("state_root_200_slot_changes_in_a_1m_slot_contract");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(CHANGES as u64));
    let mut next = blocks.iter().cycle();
    group.bench_function("kept_trie", |b| {
        b.iter(|| {
            let changes = next.next().expect("cycle never ends").clone();
            PreparedState::prepare_on(&db, &kept, changes).unwrap().state_root
        })
    });
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("rebuilt_from_rocksdb", |b| {
        b.iter(|| {
            let changes = next.next().expect("cycle never ends").clone();
            PreparedState::prepare_on(&db, &uncached, changes).unwrap().state_root
        })
    });
    group.finish();
}

criterion_group!(benches, bench_storage_root);
criterion_main!(benches);

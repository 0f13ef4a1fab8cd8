//! Kept storage tries: a contract's storage root is updated from its cached trie, not rebuilt
//! from all its slots, and stays exactly right through many blocks, slot deletions, a new
//! contract, a reorg that rolls storage back and re-applies it, and a cache too small to keep
//! everything. Every state root is checked against one rebuilt from the database with
//! alloy-trie's `HashBuilder`, independent of the node's tries.

mod common;

use alloy_consensus::TxEnvelope;
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_trie::{HashBuilder, Nibbles, EMPTY_ROOT_HASH};
use common::{deploy_code, eip1559};
use lattice_node::chain::{Chain, ChainOptions};
use lattice_primitives::{dev_signers, ChainSpec, GenesisAccount, SealedBlock};
use lattice_storage::{tables, Db};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

const T0: u64 = 1_700_000_000_000;

/// `SSTORE(calldata[0..32], calldata[32..64])`.
const STORE: [u8; 8] = [0x60, 0x20, 0x35, 0x60, 0x00, 0x35, 0x55, 0x00];

/// Slots each genesis contract starts with.
const GENESIS_SLOTS: u64 = 200;

fn contract(i: u8) -> Address {
    Address::repeat_byte(0xc0 + i)
}

/// The dev chain with two producers and two store contracts holding `GENESIS_SLOTS` slots.
fn spec() -> ChainSpec {
    let mut spec = ChainSpec::dev(2);
    for i in 0..2 {
        let storage = (0..GENESIS_SLOTS)
            .map(|s| (B256::from(U256::from(s)), U256::from(1_000 + s)))
            .collect();
        spec.alloc.insert(
            contract(i),
            GenesisAccount { code: Bytes::from_static(&STORE), storage, ..Default::default() },
        );
    }
    spec
}

struct Node {
    _dir: tempfile::TempDir,
    chain: Chain,
}

fn node(spec: &ChainSpec, cache_slots: usize) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), &lattice_node::chain::all_tables()).unwrap();
    let options = ChainOptions { storage_trie_cache_slots: cache_slots };
    let chain = Chain::open_with(Arc::new(db), spec.clone(), options).unwrap();
    Node { _dir: dir, chain }
}

fn store(signer: &PrivateKeySigner, nonce: u64, to: Address, slot: u64, value: u64) -> TxEnvelope {
    let mut input = B256::from(U256::from(slot)).to_vec();
    input.extend_from_slice(B256::from(U256::from(value)).as_slice());
    eip1559(signer, nonce, TxKind::Call(to), U256::ZERO, 100_000, input.into())
}

/// The state root of what `db` stores, rebuilt with `HashBuilder`; also checks that every
/// account's storage root is the root of its stored slots.
fn oracle_root(db: &Db) -> B256 {
    let mut accounts = HashBuilder::default();
    let mut any = false;
    for (hashed, account) in db.scan_from::<tables::Accounts>(&[], |_| true).unwrap() {
        let slots = db.scan_prefix::<tables::Storages>(hashed.as_slice()).unwrap();
        let mut storage = HashBuilder::default();
        for ((_, slot), value) in &slots {
            storage.add_leaf(Nibbles::unpack(slot), &alloy_rlp::encode(value));
        }
        let root = if slots.is_empty() { EMPTY_ROOT_HASH } else { storage.root() };
        assert_eq!(account.storage_root, root, "storage root of account {hashed}");
        accounts.add_leaf(Nibbles::unpack(hashed), &alloy_rlp::encode(account));
        any = true;
    }
    if any {
        accounts.root()
    } else {
        EMPTY_ROOT_HASH
    }
}

/// Random writes to the store contracts: new slots, overwrites and deletions (value 0).
struct Writer {
    signer: PrivateKeySigner,
    nonce: u64,
    rng: StdRng,
}

impl Writer {
    fn new(signer: PrivateKeySigner, seed: u64) -> Self {
        Self { signer, nonce: 0, rng: StdRng::seed_from_u64(seed) }
    }

    fn txs(&mut self, targets: &[Address], count: usize) -> Vec<TxEnvelope> {
        (0..count)
            .map(|_| {
                let to = targets[self.rng.gen_range(0..targets.len())];
                let slot = self.rng.gen_range(0..GENESIS_SLOTS * 2);
                let value = if self.rng.gen_bool(0.3) { 0 } else { self.rng.gen_range(1..1_000) };
                let tx = store(&self.signer, self.nonce, to, slot, value);
                self.nonce += 1;
                tx
            })
            .collect()
    }
}

fn produce(node: &Node, producer: &PrivateKeySigner, txs: Vec<TxEnvelope>, at: u64) -> SealedBlock {
    let built = node.chain.produce(producer, producer.address(), txs, at).unwrap();
    let head = node.chain.head();
    assert_eq!(head.hash, built.block.hash());
    assert_eq!(head.header.state_root, oracle_root(node.chain.db()), "block {}", head.number);
    built.block
}

#[test]
fn storage_roots_come_from_kept_tries_and_stay_exact_through_a_reorg() {
    let spec = spec();
    let s = dev_signers(10);
    let targets = [contract(0), contract(1)];
    // A keeps every trie; B keeps only the tries the latest block touched.
    let (a, b) = (node(&spec, 1_000_000), node(&spec, 0));
    assert_eq!(a.chain.head().header.state_root, oracle_root(a.chain.db()));

    let mut writer_a = Writer::new(s[5].clone(), 1);
    let mut a_blocks = Vec::new();
    for i in 0..20 {
        let txs = writer_a.txs(&targets, 6);
        a_blocks.push(produce(&a, &s[0], txs, T0 + i * 100));
    }
    let stats = a.chain.storage_cache_stats();
    assert_eq!(stats.loads, 2, "each contract's trie was built once, then kept: {stats:?}");
    assert_eq!(stats.tries, 2);

    // B builds a heavier branch with its own writes, including a contract it creates.
    let mut writer_b = Writer::new(s[6].clone(), 2);
    let created = s[6].address().create(0);
    let deploy = eip1559(&s[6], 0, TxKind::Create, U256::ZERO, 200_000, deploy_code(&STORE));
    writer_b.nonce = 1;
    let mut b_blocks = vec![produce(&b, &s[1], vec![deploy], T0)];
    for i in 1..25 {
        let txs = writer_b.txs(&[contract(0), contract(1), created], 6);
        b_blocks.push(produce(&b, &s[1], txs, T0 + i * 100));
    }
    // A switches to B's branch: its storage writes roll back, B's apply.
    for block in &b_blocks {
        a.chain.import(block, T0 + 10_000).unwrap();
        assert_eq!(a.chain.head().header.state_root, oracle_root(a.chain.db()));
    }
    assert_eq!(a.chain.head().hash, b_blocks.last().unwrap().hash(), "the heavier branch wins");
    assert_eq!(
        a.chain.storage_cache_stats().loads,
        2,
        "the rollback reverted the cached tries instead of dropping them"
    );
    // A merges its old branch: its writes execute again on top of B's.
    let merged = a.chain.produce(&s[0], s[0].address(), vec![], T0 + 20_000).unwrap();
    assert_eq!(a.chain.head().header.state_root, oracle_root(a.chain.db()));
    for block in a_blocks.iter().chain([&merged.block]) {
        b.chain.import(block, T0 + 30_000).unwrap();
    }
    assert_eq!(b.chain.head().hash, a.chain.head().hash);
    assert_eq!(b.chain.head().header.state_root, a.chain.head().header.state_root);
    assert_eq!(b.chain.head().header.state_root, oracle_root(b.chain.db()));
}

#[test]
fn a_cache_smaller_than_the_state_evicts_the_least_recent_trie_and_rebuilds_it() {
    let spec = spec();
    let s = dev_signers(10);
    // Room for one genesis contract's trie, not two.
    let a = node(&spec, GENESIS_SLOTS as usize + 50);
    let mut writer = Writer::new(s[5].clone(), 3);
    // A chain block executes what its selected parent and mergeset carried, so block n's
    // transactions execute in block n + 1.
    produce(&a, &s[0], writer.txs(&[contract(0)], 3), T0);
    produce(&a, &s[0], writer.txs(&[contract(0)], 3), T0 + 100);
    produce(&a, &s[0], writer.txs(&[contract(1)], 3), T0 + 200);
    assert_eq!(a.chain.storage_cache_stats().loads, 1, "contract 0 was built once");
    produce(&a, &s[0], writer.txs(&[contract(0)], 3), T0 + 300);
    let stats = a.chain.storage_cache_stats();
    assert_eq!((stats.tries, stats.loads), (1, 2), "contract 0 was evicted for contract 1");
    assert!(stats.slots <= GENESIS_SLOTS as usize + 50);
    produce(&a, &s[0], vec![], T0 + 400);
    assert_eq!(a.chain.storage_cache_stats().loads, 3, "contract 0 was rebuilt");
    // The proof of a slot reads the same tries and agrees with the stored value.
    let proof = a.chain.account_proof(contract(0), &[B256::from(U256::from(5))]).unwrap();
    let stored = a
        .chain
        .db()
        .get::<tables::Storages>(&(keccak256(contract(0)), keccak256(B256::from(U256::from(5)))))
        .unwrap()
        .unwrap_or_default();
    assert_eq!(proof.storage[0].1, stored);
}

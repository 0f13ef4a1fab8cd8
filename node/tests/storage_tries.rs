//! Kept storage tries: a contract's storage root is updated from its cached trie, not rebuilt
//! from all its slots, and stays exactly right through many blocks, slot deletions, a new
//! contract, a reorg that rolls storage back and re-applies it, and a cache too small to keep
//! everything. Every state root is checked against one rebuilt from the database with
//! alloy-trie's `HashBuilder`, independent of the node's tries.

mod common;

use alloy_consensus::TxEnvelope;
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_trie::{proof::verify_proof, Nibbles, EMPTY_ROOT_HASH};
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

/// The dev chain with two producers and three store contracts holding `GENESIS_SLOTS` slots.
fn spec() -> ChainSpec {
    let mut spec = ChainSpec::dev(2);
    for i in 0..3 {
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
    let options = ChainOptions { storage_trie_cache_slots: cache_slots, ..Default::default() };
    let chain = Chain::open_with(Arc::new(db), spec.clone(), options).unwrap();
    Node { _dir: dir, chain }
}

fn store(signer: &PrivateKeySigner, nonce: u64, to: Address, slot: u64, value: u64) -> TxEnvelope {
    let mut input = B256::from(U256::from(slot)).to_vec();
    input.extend_from_slice(B256::from(U256::from(value)).as_slice());
    eip1559(signer, nonce, TxKind::Call(to), U256::ZERO, 100_000, input.into())
}

/// The state root of what `db` stores, rebuilt with `HashBuilder` (independent of the tries).
fn oracle_root(db: &Db) -> B256 {
    lattice_evm::rebuild_state_root(db).unwrap()
}

/// The storage root `address`'s stored account commits to (empty when absent).
fn storage_root(chain: &Chain, address: Address) -> B256 {
    let account = chain.db().get::<tables::Accounts>(&keccak256(address)).unwrap();
    account.map_or(EMPTY_ROOT_HASH, |a| a.storage_root)
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
    // A keeps every trie; B keeps only the tries the latest block touched.
    let (a, b) = (node(&spec, 1_000_000), node(&spec, 0));
    assert_eq!(a.chain.head().header.state_root, oracle_root(a.chain.db()));

    // A's branch also creates a contract and writes to it: the rollback must empty it again.
    let mut writer_a = Writer::new(s[5].clone(), 1);
    let created_a = s[5].address().create(0);
    let deploy_a = eip1559(&s[5], 0, TxKind::Create, U256::ZERO, 200_000, deploy_code(&STORE));
    writer_a.nonce = 1;
    let mut a_blocks = vec![produce(&a, &s[0], vec![deploy_a], T0)];
    for i in 1..20 {
        let txs = writer_a.txs(&[contract(0), contract(1), created_a], 6);
        a_blocks.push(produce(&a, &s[0], txs, T0 + i * 100));
    }
    let stats = a.chain.storage_cache_stats();
    assert_eq!(stats.loads, 2, "each contract's trie was built once, then kept: {stats:?}");
    assert_eq!(stats.tries, 3, "the genesis contracts and the created one");
    assert_ne!(storage_root(&a.chain, created_a), EMPTY_ROOT_HASH);
    // Proofs at every block of A's branch verify against that block's state root, the
    // created contract absent before its deployment executed (block 2) and present after.
    let slots: Vec<B256> = (0..8).map(|i| B256::from(U256::from(i))).collect();
    for number in 0..=a.chain.head().number {
        verified_proof(&a.chain, contract(0), &slots, number);
        let created = verified_proof(&a.chain, created_a, &slots, number);
        assert_eq!(created.account.nonce > 0, number >= 2, "block {number}");
    }

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
        storage_root(&a.chain, created_a),
        EMPTY_ROOT_HASH,
        "the contract A created is gone with its branch"
    );
    assert_eq!(
        a.chain.storage_cache_stats().loads,
        2,
        "the rollback reverted the cached tries instead of dropping them"
    );
    // After the reorg, proofs at every block of the new chain verify against its roots; A's
    // created contract is absent throughout, B's present from its deployment on.
    for number in 0..=a.chain.head().number {
        verified_proof(&a.chain, contract(1), &slots, number);
        assert_eq!(verified_proof(&a.chain, created_a, &slots, number).account.nonce, 0);
        let b_contract = verified_proof(&a.chain, created, &slots, number);
        assert_eq!(b_contract.account.nonce > 0, number >= 2, "block {number}");
    }
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
fn a_cache_smaller_than_the_state_evicts_the_least_recently_written_trie() {
    let spec = spec();
    let s = dev_signers(10);
    // Room for two genesis contracts' tries, not three.
    let a = node(&spec, 2 * GENESIS_SLOTS as usize + 50);
    let mut writer = Writer::new(s[5].clone(), 3);
    // A chain block executes what its selected parent and mergeset carried, so the
    // transactions block n carries execute in block n + 1; `touch` returns the loads after
    // they did.
    let mut at = T0;
    let mut touch = |target: Option<Address>| {
        let txs = target.map(|t| writer.txs(&[t], 3)).unwrap_or_default();
        produce(&a, &s[0], txs, at);
        at += 100;
        a.chain.storage_cache_stats().loads
    };
    touch(Some(contract(0)));
    assert_eq!(touch(Some(contract(1))), 1, "contract 0 built");
    assert_eq!(touch(Some(contract(2))), 2, "contract 1 built");
    assert_eq!(touch(Some(contract(1))), 3, "contract 2 built; contract 0, the oldest, evicted");
    assert_eq!(touch(Some(contract(0))), 3, "contract 1 was still cached");
    // Writing contract 0 again evicts the least recently written, contract 2 (not contract 1,
    // which was cached before it but written since).
    assert_eq!(touch(Some(contract(1))), 4, "contract 0 rebuilt");
    assert_eq!(touch(Some(contract(2))), 4, "contract 1 was kept");
    assert_eq!(touch(None), 5, "contract 2 rebuilt");
    let stats = a.chain.storage_cache_stats();
    assert_eq!(stats.tries, 2);
    assert!(stats.slots <= 2 * GENESIS_SLOTS as usize + 50, "{stats:?}");

    // A proof reads the same tries and verifies against the state root.
    let slots: Vec<B256> = (0..4).map(|i| B256::from(U256::from(i))).collect();
    let head = a.chain.head().number;
    let proof = verified_proof(&a.chain, contract(0), &slots, head);
    for (slot, value, _) in &proof.storage {
        let stored = a
            .chain
            .db()
            .get::<tables::Storages>(&(keccak256(contract(0)), keccak256(slot)))
            .unwrap()
            .unwrap_or_default();
        assert_eq!(*value, stored);
    }
}

/// The proof of `address` and `slots` at chain block `number`, verified against that block's
/// state root and the account's storage root.
fn verified_proof(
    chain: &Chain,
    address: Address,
    slots: &[B256],
    number: u64,
) -> lattice_node::chain::AccountProof {
    let proof = chain.account_proof(address, slots, number).unwrap();
    assert_eq!(proof.number, number);
    let header = chain.header(chain.hash_at(number).unwrap().unwrap()).unwrap().unwrap();
    let exists = proof.account != Default::default();
    verify_proof(
        header.state_root,
        Nibbles::unpack(keccak256(address)),
        exists.then(|| alloy_rlp::encode(proof.account)),
        &proof.proof,
    )
    .unwrap_or_else(|e| panic!("account {address} at block {number}: {e}"));
    for (slot, value, nodes) in &proof.storage {
        let expected = (!value.is_zero()).then(|| alloy_rlp::encode(value));
        verify_proof(proof.account.storage_root, Nibbles::unpack(keccak256(slot)), expected, nodes)
            .unwrap_or_else(|e| panic!("slot {slot} at block {number}: {e}"));
    }
    proof
}

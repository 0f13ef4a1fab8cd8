//! `PreparedState` over kept `StateTries` for the storage cases a contract call rarely
//! produces: storage wiped and rewritten (a slot written back with its old value included), an
//! account deleted after writes, and a cached trie kept across blocks. Every committed root is
//! checked against one rebuilt from the database with `HashBuilder`.

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH};
use lattice_evm::overlay::AccountChange;
use lattice_evm::{rebuild_state_root, PreparedState, StateChanges, StateTries};
use lattice_primitives::{ChainSpec, GenesisAccount};
use lattice_storage::{tables, Db};
use revm::state::AccountInfo;
use std::collections::BTreeMap;

const ACCOUNT: Address = Address::repeat_byte(0xa1);

fn slot(i: u64) -> U256 {
    U256::from(i)
}

/// A database whose genesis gives `ACCOUNT` slots 1..=3 = 10, 20, 30.
fn genesis() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), tables::ALL).unwrap();
    let mut spec = ChainSpec::dev(1);
    let storage = (1..=3).map(|i| (B256::from(slot(i)), U256::from(10 * i))).collect();
    spec.alloc.insert(
        ACCOUNT,
        GenesisAccount {
            balance: U256::from(1),
            code: Bytes::from_static(&[0x00]),
            storage,
            ..Default::default()
        },
    );
    let genesis = lattice_evm::genesis_state(&db, &spec).unwrap();
    let mut batch = db.batch();
    genesis.write(&mut batch, None).unwrap();
    batch.commit().unwrap();
    (dir, db)
}

fn stored_account(db: &Db) -> Option<TrieAccount> {
    db.get::<tables::Accounts>(&keccak256(ACCOUNT)).unwrap()
}

fn stored_slots(db: &Db) -> BTreeMap<B256, U256> {
    db.scan_prefix::<tables::Storages>(keccak256(ACCOUNT).as_slice())
        .unwrap()
        .into_iter()
        .map(|((_, hs), v)| (hs, v))
        .collect()
}

/// A change of `ACCOUNT` writing `writes` (slot, original as the transaction saw it, new).
fn change(wiped: bool, deleted: bool, writes: &[(u64, u64, u64)], db: &Db) -> StateChanges {
    let original = stored_account(db);
    let current = (!deleted).then(|| AccountInfo {
        balance: U256::from(2),
        code_hash: original.map_or(B256::ZERO, |a| a.code_hash),
        ..Default::default()
    });
    let storage = writes
        .iter()
        .map(|&(s, orig, new)| {
            (keccak256(B256::from(slot(s))), (slot(s), U256::from(orig), U256::from(new)))
        })
        .collect();
    let change = AccountChange { address: ACCOUNT, original, current, wiped, storage };
    StateChanges {
        accounts: BTreeMap::from([(keccak256(ACCOUNT), change)]),
        codes: BTreeMap::new(),
    }
}

/// Prepares `changes` over `tries`, checks the root against a fresh preparation, writes them
/// as chain block `number` and commits the tries; returns the new root.
fn apply(db: &Db, tries: &mut StateTries, changes: StateChanges, number: u64) -> B256 {
    let fresh = PreparedState::prepare(db, changes.clone()).unwrap();
    let prepared = PreparedState::prepare_on(db, tries, changes).unwrap();
    assert_eq!(prepared.state_root, fresh.state_root, "kept tries and a fresh build agree");
    let mut batch = db.batch();
    prepared.write(&mut batch, Some(number)).unwrap();
    batch.commit().unwrap();
    let root = prepared.state_root;
    tries.commit(prepared);
    assert_eq!(rebuild_state_root(db).unwrap(), root, "the root is that of what was written");
    assert_eq!(tries.root(), root);
    root
}

#[test]
fn wiped_storage_keeps_exactly_the_new_values() {
    let (_dir, db) = genesis();
    let mut tries = StateTries::load(&db, 1_000).unwrap();
    // Warm the cache with a plain write, so the wipe below must replace a cached trie.
    apply(&db, &mut tries, change(false, false, &[(1, 10, 11)], &db), 1);
    assert_eq!(tries.storage_stats().tries, 1);
    // Wiped, then slot 2 written back with the value it had and slot 4 set: slots 1 and 3 go.
    apply(&db, &mut tries, change(true, false, &[(2, 0, 20), (4, 0, 40)], &db), 2);
    let expected: BTreeMap<B256, U256> = [(2, 20), (4, 40)]
        .into_iter()
        .map(|(s, v)| (keccak256(B256::from(slot(s))), U256::from(v)))
        .collect();
    assert_eq!(stored_slots(&db), expected);
    // The cached trie is the wiped one: a later plain write builds on it.
    apply(&db, &mut tries, change(false, false, &[(4, 40, 41)], &db), 3);
    assert_eq!(tries.storage_stats().loads, 1, "built once, at the first write");
}

#[test]
fn a_deleted_account_keeps_no_storage_whatever_was_written() {
    let (_dir, db) = genesis();
    let mut tries = StateTries::load(&db, 1_000).unwrap();
    apply(&db, &mut tries, change(false, false, &[(1, 10, 12)], &db), 1);
    apply(&db, &mut tries, change(false, true, &[(5, 0, 50), (1, 12, 13)], &db), 2);
    assert_eq!(stored_account(&db), None);
    assert!(stored_slots(&db).is_empty(), "no slot left behind");
    assert_eq!(tries.storage_stats().tries, 0, "the deleted account's trie left the cache");
    // Recreated later, it starts from empty storage.
    apply(&db, &mut tries, change(false, false, &[(6, 0, 60)], &db), 3);
    assert_ne!(stored_account(&db).unwrap().storage_root, EMPTY_ROOT_HASH);
    assert_eq!(stored_slots(&db).len(), 1);
}

//! The RocksDB-backed consensus store gives the same results as the in-memory one, also after
//! it is reopened from disk, and with caches far smaller than the DAG (every read of an
//! evicted block goes to RocksDB).

use alloy_primitives::{B256, U256};
use lattice_consensus::reachability::ReachabilityParams;
use lattice_consensus::stores::rocks::{
    ConsensusChildren, ConsensusMeta, RocksConsensusStore, TABLES,
};
use lattice_consensus::stores::{
    MemoryConsensusStore, ReachabilityStoreReader, RelationsStoreReader,
};
use lattice_consensus::{Dag, GhostdagParams};
use lattice_storage::Db;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

fn hash(i: u64) -> B256 {
    B256::left_padding_from(&i.to_be_bytes())
}

fn params() -> GhostdagParams {
    GhostdagParams {
        k: 3,
        max_block_parents: 10,
        mergeset_size_limit: 180,
        finality_depth: 100,
        merge_depth: u64::MAX,
    }
}

/// Small reindex parameters: intervals run out and are reindexed often, which rewrites many
/// older blocks' records (the records a cache may hold stale copies of).
fn reach() -> ReachabilityParams {
    ReachabilityParams { reindex_depth: 4, reindex_slack: 8 }
}

fn memory_dag() -> Dag {
    Dag::open_with(params(), reach(), hash(1), U256::from(1), MemoryConsensusStore::new()).unwrap()
}

fn open(dir: &std::path::Path, cache_blocks: usize) -> Dag<RocksConsensusStore> {
    let db = Arc::new(Db::open(dir, TABLES).unwrap());
    let store = RocksConsensusStore::load(db, cache_blocks).unwrap();
    Dag::open_with(params(), reach(), hash(1), U256::from(1), store).unwrap()
}

/// Adds `count` blocks with random subsets of the current tips as parents to both DAGs.
fn grow(
    memory: &mut Dag,
    rocks: &mut Dag<RocksConsensusStore>,
    rng: &mut StdRng,
    from: u64,
    count: u64,
) {
    for i in from..from + count {
        let mut tips = memory.tips().to_vec();
        let take = rng.gen_range(1..=tips.len().min(3));
        for j in 0..take {
            let k = rng.gen_range(j..tips.len());
            tips.swap(j, k);
        }
        let parents = &tips[..take];
        let a = memory.add_block(hash(i), parents, U256::from(1)).unwrap();
        let b = rocks.add_block(hash(i), parents, U256::from(1)).unwrap();
        assert_eq!(a, b, "block {i}");
    }
}

fn assert_same(memory: &Dag, rocks: &Dag<RocksConsensusStore>, blocks: u64, rng: &mut StdRng) {
    assert_eq!(memory.tips(), rocks.tips());
    assert_eq!(memory.sink(), rocks.sink());
    for i in 1..blocks {
        assert_eq!(memory.ghostdag(hash(i)).unwrap(), rocks.ghostdag(hash(i)).unwrap());
        let (m, r) = (memory.store(), rocks.store());
        assert_eq!(
            m.get_children(hash(i)).unwrap(),
            r.get_children(hash(i)).unwrap(),
            "children of {i}"
        );
        assert_eq!(
            m.get_reachability(hash(i)).unwrap(),
            r.get_reachability(hash(i)).unwrap(),
            "reachability of {i}"
        );
    }
    assert_eq!(
        memory.store().get_reindex_root().unwrap(),
        rocks.store().get_reindex_root().unwrap()
    );
    for _ in 0..500 {
        let (a, b) = (hash(rng.gen_range(1..blocks)), hash(rng.gen_range(1..blocks)));
        assert_eq!(
            memory.is_dag_ancestor_of(a, b).unwrap(),
            rocks.is_dag_ancestor_of(a, b).unwrap()
        );
        assert_eq!(
            memory.is_chain_ancestor_of(a, b).unwrap(),
            rocks.is_chain_ancestor_of(a, b).unwrap()
        );
    }
}

fn agree_across_a_reopen(cache_blocks: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let mut memory = memory_dag();
    let mut rocks = open(dir.path(), cache_blocks);
    grow(&mut memory, &mut rocks, &mut rng, 2, 600);
    assert_same(&memory, &rocks, 602, &mut rng);
    // Reopen from disk: nothing is recomputed, everything is as before, and growth goes on.
    drop(rocks);
    let mut rocks = open(dir.path(), cache_blocks);
    assert_same(&memory, &rocks, 602, &mut rng);
    grow(&mut memory, &mut rocks, &mut rng, 602, 300);
    assert_same(&memory, &rocks, 902, &mut rng);
    let stats = rocks.store().cache_stats();
    if cache_blocks < 100 {
        assert!(stats.misses > 1_000, "tiny caches: most reads come from RocksDB: {stats:?}");
    }
}

#[test]
fn rocksdb_and_memory_stores_agree_across_a_reopen() {
    agree_across_a_reopen(rocks_default_cache());
}

/// Eight blocks per cache for a DAG of 900: nearly every read is a miss served by RocksDB.
#[test]
fn a_store_with_tiny_caches_agrees_too() {
    agree_across_a_reopen(8);
}

fn rocks_default_cache() -> usize {
    lattice_consensus::stores::rocks::DEFAULT_CACHE_BLOCKS
}

/// A store written before children lists were stored gets them rebuilt from the parents on
/// open, and then goes on growing as the in-memory DAG does.
#[test]
fn children_lists_are_rebuilt_for_an_older_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let mut memory = memory_dag();
    let mut rocks = open(dir.path(), 8);
    grow(&mut memory, &mut rocks, &mut rng, 2, 200);
    drop(rocks);
    {
        let db = Db::open(dir.path(), TABLES).unwrap();
        let mut batch = db.batch();
        for (h, _) in db.scan_from::<ConsensusChildren>(&[], |_| true).unwrap() {
            batch.delete::<ConsensusChildren>(&h).unwrap();
        }
        // An older store has no lists and no record that they are stored.
        batch.delete::<ConsensusMeta>(&b"children_stored".to_vec()).unwrap();
        batch.commit().unwrap();
        assert!(db.get::<ConsensusChildren>(&hash(1)).unwrap().is_none());
    }
    let mut rocks = open(dir.path(), 8);
    for i in 1..202 {
        assert_eq!(
            memory.store().get_children(hash(i)).unwrap(),
            rocks.store().get_children(hash(i)).unwrap(),
            "children of block {i}"
        );
    }
    grow(&mut memory, &mut rocks, &mut rng, 202, 100);
    assert_same(&memory, &rocks, 302, &mut rng);
}

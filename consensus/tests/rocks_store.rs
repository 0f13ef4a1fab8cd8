//! The RocksDB-backed consensus store gives the same results as the in-memory one, also after
//! it is reopened from disk.

use alloy_primitives::{B256, U256};
use lattice_consensus::stores::rocks::{RocksConsensusStore, TABLES};
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

fn open(dir: &std::path::Path) -> Dag<RocksConsensusStore> {
    let db = Arc::new(Db::open(dir, TABLES).unwrap());
    Dag::open(params(), hash(1), U256::from(1), RocksConsensusStore::load(db).unwrap()).unwrap()
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
    }
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

#[test]
fn rocksdb_and_memory_stores_agree_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let mut memory = Dag::new(params(), hash(1)).unwrap();
    let mut rocks = open(dir.path());
    grow(&mut memory, &mut rocks, &mut rng, 2, 600);
    assert_same(&memory, &rocks, 602, &mut rng);
    // Reopen from disk: nothing is recomputed, everything is as before, and growth goes on.
    drop(rocks);
    let mut rocks = open(dir.path());
    assert_same(&memory, &rocks, 602, &mut rng);
    grow(&mut memory, &mut rocks, &mut rng, 602, 300);
    assert_same(&memory, &rocks, 902, &mut rng);
}

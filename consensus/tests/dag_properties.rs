//! Property tests on random DAGs: GHOSTDAG and reachability invariants checked against naive
//! graph walks, and the RocksDB store against the in-memory one.

use alloy_primitives::keccak256;
use lattice_consensus::{
    reachability::ReachabilityParams, BlockHash, BlueWork, Dag, GhostdagParams, KType,
    MemoryConsensusStore,
};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

/// A random DAG: `k`, whether to use tiny reachability slack (to exercise reindexing), and per
/// block the raw parent picks and the block's work.
#[derive(Clone, Debug)]
struct Spec {
    k: KType,
    tiny_reachability: bool,
    blocks: Vec<(Vec<usize>, u64)>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (0u16..=6, any::<bool>(), 1usize..=60).prop_flat_map(|(k, tiny, n)| {
        prop::collection::vec((prop::collection::vec(0usize..1000, 1..=5), 1u64..=4), n)
            .prop_map(move |blocks| Spec { k, tiny_reachability: tiny, blocks })
    })
}

fn hash(i: usize) -> BlockHash {
    keccak256((i as u64).to_be_bytes())
}

/// The DAG under test plus naive facts about it.
struct Built {
    dag: Dag<MemoryConsensusStore>,
    hashes: Vec<BlockHash>,
    index: HashMap<BlockHash, usize>,
    /// past[i]: strict past of block i.
    past: Vec<HashSet<usize>>,
    children: Vec<Vec<usize>>,
    work: Vec<u64>,
}

impl Built {
    fn idx(&self, h: &BlockHash) -> usize {
        self.index[h]
    }
    fn in_anticone(&self, a: usize, b: usize) -> bool {
        a != b && !self.past[a].contains(&b) && !self.past[b].contains(&a)
    }
    fn data(&self, i: usize) -> std::sync::Arc<lattice_consensus::GhostdagData> {
        self.dag.ghostdag(self.hashes[i]).expect("known block")
    }
    /// The blue set of block i: the mergeset blues of i and of every block on its chain.
    fn blue_set(&self, i: usize) -> HashSet<usize> {
        let mut set = HashSet::new();
        let mut current = Some(i);
        while let Some(c) = current {
            let data = self.data(c);
            set.extend(data.mergeset_blues.iter().map(|h| self.idx(h)));
            current = (!data.is_genesis()).then(|| self.idx(&data.selected_parent));
        }
        set
    }
}

fn build(spec: &Spec) -> Built {
    let params = GhostdagParams {
        k: spec.k,
        max_block_parents: 64,
        mergeset_size_limit: 10_000,
        finality_depth: 5,
        // Random parents would break it; its own tests are in the crate.
        merge_depth: u64::MAX,
    };
    let reach = if spec.tiny_reachability {
        ReachabilityParams { reindex_depth: 3, reindex_slack: 4 }
    } else {
        ReachabilityParams::default()
    };
    let mut dag =
        Dag::open_with(params, reach, hash(0), BlueWork::from(2), MemoryConsensusStore::new())
            .expect("genesis");
    let mut hashes = vec![hash(0)];
    let mut index = HashMap::from([(hash(0), 0)]);
    let mut past: Vec<HashSet<usize>> = vec![HashSet::new()];
    let mut children: Vec<Vec<usize>> = vec![Vec::new()];
    let mut work = vec![2];
    for (picks, block_work) in &spec.blocks {
        let i = hashes.len();
        let mut candidates: Vec<usize> =
            picks.iter().map(|&p| if p >= 900 { p % i } else { i - 1 - p % i.min(6) }).collect();
        candidates.sort_unstable();
        candidates.dedup();
        // Keep an antichain: drop candidates in the past of another.
        let parents: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&p| !candidates.iter().any(|&q| past[q].contains(&p)))
            .collect();
        let parent_hashes: Vec<BlockHash> = parents.iter().map(|&p| hashes[p]).collect();
        dag.add_block(hash(i), &parent_hashes, BlueWork::from(*block_work)).expect("valid block");
        let mut block_past = HashSet::new();
        for &p in &parents {
            block_past.insert(p);
            block_past.extend(past[p].iter().copied());
            children[p].push(i);
        }
        hashes.push(hash(i));
        index.insert(hash(i), i);
        past.push(block_past);
        children.push(Vec::new());
        work.push(*block_work);
    }
    Built { dag, hashes, index, past, children, work }
}

fn check_ghostdag(b: &Built, k: KType) {
    let n = b.hashes.len();
    for i in 1..n {
        let data = b.data(i);
        let sp = b.idx(&data.selected_parent);
        let sp_data = b.data(sp);

        // Blue score and blue work strictly increase along the selected chain.
        assert!(data.blue_score > sp_data.blue_score, "block {i}: blue score");
        assert!(data.blue_work > sp_data.blue_work, "block {i}: blue work");

        // The selected parent is the parent with the highest (blue work, hash).
        let parents = b.dag.parents(b.hashes[i]).expect("parents");
        let best = parents
            .iter()
            .max_by_key(|p| (b.dag.ghostdag(**p).expect("parent").blue_work, **p))
            .expect("has parents");
        assert_eq!(*best, data.selected_parent, "block {i}: selected parent");

        // The mergeset is the past minus the selected parent's past (selected parent kept).
        let expected: HashSet<usize> =
            b.past[i].iter().copied().filter(|&x| x == sp || !b.past[sp].contains(&x)).collect();
        let actual: HashSet<usize> =
            data.mergeset_blues.iter().chain(&data.mergeset_reds).map(|h| b.idx(h)).collect();
        assert_eq!(actual, expected, "block {i}: mergeset");
        assert_eq!(data.mergeset_size(), expected.len(), "block {i}: no duplicates");
        assert_eq!(data.mergeset_blues[0], data.selected_parent);

        // The consensus order of the mergeset is topological, starts with the selected
        // parent, and sorts the rest by (blue work, hash).
        let order = b.dag.consensus_order_of_mergeset(b.hashes[i]).expect("order");
        assert_eq!(order[0], data.selected_parent);
        assert_eq!(order.len(), expected.len());
        for x in 0..order.len() {
            for y in x + 1..order.len() {
                let (ox, oy) = (b.idx(&order[x]), b.idx(&order[y]));
                assert!(
                    !b.past[ox].contains(&oy),
                    "block {i}: order puts {oy} after its descendant {ox}"
                );
            }
        }
        let keys: Vec<_> =
            order[1..].iter().map(|h| (b.dag.ghostdag(*h).expect("known").blue_work, *h)).collect();
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "block {i}: rest sorted by (blue work, hash)"
        );

        // The blue set is a k-cluster; recorded blue anticone sizes are exact.
        let blues = b.blue_set(i);
        assert_eq!(blues.len() as u64, data.blue_score, "block {i}: blue score = blue set size");
        let blue_work: u64 = blues.iter().map(|&x| b.work[x]).sum();
        assert_eq!(data.blue_work, BlueWork::from(blue_work), "block {i}: blue work");
        for &x in &blues {
            let anticone = blues.iter().filter(|&&y| b.in_anticone(x, y)).count();
            assert!(
                anticone <= k as usize,
                "block {i}: blue {x} has {anticone} blues in its anticone"
            );
        }
        for (h, size) in &data.blues_anticone_sizes {
            let x = b.idx(h);
            let anticone = blues.iter().filter(|&&y| b.in_anticone(x, y)).count();
            assert_eq!(*size as usize, anticone, "block {i}: blue anticone size of {x}");
        }
    }
}

fn check_reachability(b: &Built) {
    let n = b.hashes.len();
    for x in 0..n {
        // Naive selected chain of x.
        let mut chain = HashSet::new();
        let mut current = x;
        loop {
            chain.insert(current);
            let data = b.data(current);
            if data.is_genesis() {
                break;
            }
            current = b.idx(&data.selected_parent);
        }
        for a in 0..n {
            let dag = a == x || b.past[x].contains(&a);
            assert_eq!(
                b.dag.is_dag_ancestor_of(b.hashes[a], b.hashes[x]).expect("q"),
                dag,
                "{a} in past of {x}"
            );
            assert_eq!(
                b.dag.is_chain_ancestor_of(b.hashes[a], b.hashes[x]).expect("q"),
                chain.contains(&a),
                "{a} on chain of {x}"
            );
        }
    }
}

fn check_virtual(b: &Built) {
    let n = b.hashes.len();
    let tips: HashSet<BlockHash> =
        (0..n).filter(|&i| b.children[i].is_empty()).map(|i| b.hashes[i]).collect();
    assert_eq!(b.dag.tips().iter().copied().collect::<HashSet<_>>(), tips);
    let sink = (0..n)
        .map(|i| (b.data(i).blue_work, b.hashes[i]))
        .max()
        .map(|(_, h)| h)
        .expect("non-empty");
    assert_eq!(b.dag.sink(), sink);

    // The accepted order of the sink covers its past exactly once, topologically.
    let order = b.dag.consensus_order(sink).expect("order");
    let s = b.idx(&sink);
    let set: HashSet<usize> = order.iter().map(|h| b.idx(h)).collect();
    assert_eq!(set.len(), order.len(), "no block accepted twice");
    assert_eq!(set, b.past[s], "the sink's chain accepts exactly its past");
    let position: HashMap<usize, usize> =
        order.iter().enumerate().map(|(p, h)| (b.idx(h), p)).collect();
    for &x in &b.past[s] {
        for &y in &b.past[x] {
            assert!(position[&y] < position[&x], "{y} precedes its descendant {x}");
        }
    }
    let chain = b.dag.selected_chain(sink).expect("chain");
    assert_eq!(chain[0], b.hashes[0]);
    assert_eq!(*chain.last().expect("non-empty"), sink);
    assert_eq!(b.dag.chain_height(sink).expect("height") as usize, chain.len() - 1);
}

/// Replays `b`'s DAG, block by block with the same parents and work, into the RocksDB store
/// (with the same reachability settings), then reopens it from disk; every block's GHOSTDAG
/// data, the tips, the sink and every reachability answer must equal the in-memory store's.
fn check_rocksdb_agrees(b: &Built, spec: &Spec) {
    use lattice_consensus::stores::rocks::{RocksConsensusStore, DEFAULT_CACHE_BLOCKS, TABLES};
    let dir = tempfile::tempdir().expect("temp dir");
    let reach = if spec.tiny_reachability {
        ReachabilityParams { reindex_depth: 3, reindex_slack: 4 }
    } else {
        ReachabilityParams::default()
    };
    let open = || {
        let db = std::sync::Arc::new(lattice_storage::Db::open(dir.path(), TABLES).expect("db"));
        // Tiny caches with tiny reachability parameters: reindexed records are read back
        // from RocksDB, not from a copy in memory.
        let cache = if spec.tiny_reachability { 4 } else { DEFAULT_CACHE_BLOCKS };
        let store = RocksConsensusStore::load(db, cache).expect("store");
        Dag::open_with(*b.dag.params(), reach, b.hashes[0], BlueWork::from(2), store)
            .expect("genesis")
    };
    let mut rocks = open();
    for i in 1..b.hashes.len() {
        let parents = b.dag.parents(b.hashes[i]).expect("parents");
        let data = rocks
            .add_block(b.hashes[i], &parents, BlueWork::from(b.work[i]))
            .expect("the block the memory store took");
        assert_eq!(data, b.data(i), "block {i}");
    }
    drop(rocks);
    let rocks = open();
    assert_eq!(rocks.tips(), b.dag.tips());
    assert_eq!(rocks.sink(), b.dag.sink());
    for (i, &x) in b.hashes.iter().enumerate() {
        assert_eq!(rocks.ghostdag(x).expect("known"), b.data(i), "block {i} after reopening");
        for &y in &b.hashes {
            let known = "both blocks are known";
            assert_eq!(
                rocks.is_dag_ancestor_of(x, y).expect(known),
                b.dag.is_dag_ancestor_of(x, y).expect(known)
            );
            assert_eq!(
                rocks.is_chain_ancestor_of(x, y).expect(known),
                b.dag.is_chain_ancestor_of(x, y).expect(known)
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn memory_and_rocksdb_stores_agree(spec in spec()) {
        let built = build(&spec);
        check_rocksdb_agrees(&built, &spec);
    }

    #[test]
    fn ghostdag_invariants_hold(spec in spec()) {
        let built = build(&spec);
        check_ghostdag(&built, spec.k);
    }

    #[test]
    fn reachability_equals_naive_walk(spec in spec()) {
        let built = build(&spec);
        check_reachability(&built);
    }

    #[test]
    fn virtual_view_is_consistent(spec in spec()) {
        let built = build(&spec);
        check_virtual(&built);
    }

    #[test]
    fn picked_parents_make_a_valid_block(spec in spec(), limit in 1u64..30, max in 1u64..6) {
        let built = build(&spec);
        let params = GhostdagParams { mergeset_size_limit: limit, max_block_parents: max, ..*built.dag.params() };
        // Re-open the same store with tighter limits.
        let store = built.dag.into_store();
        let mut dag = Dag::open(params, hash(0), BlueWork::from(2), store).expect("reopen");
        let parents = dag.pick_parents().expect("pick");
        prop_assert_eq!(parents[0], dag.sink());
        prop_assert!(parents.len() as u64 <= max);
        for p in &parents {
            prop_assert!(dag.tips().contains(p));
        }
        let new = hash(1 << 41);
        match dag.add_block(new, &parents, BlueWork::from(1)) {
            Ok(data) => {
                prop_assert_eq!(data.selected_parent, parents[0]);
                prop_assert!(data.mergeset_size() as u64 <= limit);
                prop_assert_eq!(dag.sink(), new);
                prop_assert!(dag.tips().contains(&new));
                prop_assert!(parents.iter().all(|p| !dag.tips().contains(p)));
            }
            Err(e) => prop_assert!(false, "picked parents were rejected: {}", e),
        }
    }
}

//! Reachability against a naive graph walk, with small intervals and slack so that every
//! reindexing path runs: propagation inside the root's subtree, reclaiming slack before and
//! after the chain below the root, shrinking the root, and concentrating on root moves.

use super::{reindex::counters, *};
use crate::{
    stores::{MemoryReachabilityStore, ReachabilityStaging, ReachabilityStoreWriter},
    types::{BlockHashMap, BlockHashSet},
};
use alloy_primitives::U256;
use rand::{rngs::StdRng, Rng, SeedableRng};

fn h(i: usize) -> BlockHash {
    BlockHash::from(U256::from(i as u64 + 1))
}

/// A DAG built block by block into a reachability store, with naive pasts to compare with.
struct Harness {
    store: MemoryReachabilityStore,
    params: ReachabilityParams,
    /// past[i][j]: block j is in the strict past of block i.
    past: Vec<Vec<bool>>,
    selected_parent: Vec<Option<usize>>,
    /// Stand-in for blue work: size of the past.
    score: Vec<usize>,
    sink: usize,
    /// Commit through a staging overlay (as the engine does) rather than directly.
    staged: bool,
}

impl Harness {
    fn new(params: ReachabilityParams, root_interval: Interval, staged: bool) -> Self {
        let mut store = MemoryReachabilityStore::new();
        init_with_interval(&mut store, h(0), root_interval).expect("init");
        Self {
            store,
            params,
            past: vec![vec![false]],
            selected_parent: vec![None],
            score: vec![0],
            sink: 0,
            staged,
        }
    }

    fn len(&self) -> usize {
        self.past.len()
    }

    /// Adds a block; `parents` are reduced to an antichain first.
    fn add(&mut self, parents: &[usize]) -> usize {
        let n = self.len();
        let mut parents: Vec<usize> = parents.to_vec();
        parents.sort_unstable();
        parents.dedup();
        let antichain: Vec<usize> = parents
            .iter()
            .copied()
            .filter(|&p| !parents.iter().any(|&q| q != p && self.past[q][p]))
            .collect();
        let mut past = vec![false; n + 1];
        for &p in &antichain {
            past[p] = true;
            for (mine, theirs) in past.iter_mut().zip(&self.past[p]) {
                *mine |= *theirs;
            }
        }
        let sp =
            *antichain.iter().max_by_key(|&&p| (self.score[p], p)).expect("at least one parent");
        let mergeset: Vec<BlockHash> =
            (0..n).filter(|&j| past[j] && j != sp && !self.past[sp][j]).map(h).collect();
        let score = past.iter().filter(|x| **x).count();
        let becomes_sink = (score, n) > (self.score[self.sink], self.sink);
        let hint = becomes_sink.then_some(h(n));
        if self.staged {
            let mut staging = ReachabilityStaging::new(&self.store);
            add_block(&mut staging, &self.params, h(n), h(sp), mergeset, hint).expect("add");
            let changes = staging.into_changes();
            for (hash, data) in &changes.records {
                self.store.put_reachability(*hash, data).expect("put");
            }
            if let Some(root) = changes.reindex_root {
                self.store.set_reindex_root(root).expect("root");
            }
        } else {
            add_block(&mut self.store, &self.params, h(n), h(sp), mergeset, hint).expect("add");
        }
        for row in &mut self.past {
            row.push(false);
        }
        self.past.push(past);
        self.selected_parent.push(Some(sp));
        self.score.push(score);
        if becomes_sink {
            self.sink = n;
        }
        n
    }

    fn naive_chain_ancestor(&self, a: usize, b: usize) -> bool {
        let mut current = Some(b);
        while let Some(c) = current {
            if c == a {
                return true;
            }
            current = self.selected_parent[c];
        }
        false
    }

    /// Checks every pair against the naive answers, and the interval invariants.
    fn check(&self) {
        validate_intervals(&self.store, h(0));
        for a in 0..self.len() {
            for b in 0..self.len() {
                let dag = a == b || self.past[b][a];
                assert_eq!(
                    is_dag_ancestor_of(&self.store, h(a), h(b)).expect("query"),
                    dag,
                    "dag ancestry of {a} -> {b}"
                );
                assert_eq!(
                    is_chain_ancestor_of(&self.store, h(a), h(b)).expect("query"),
                    self.naive_chain_ancestor(a, b),
                    "chain ancestry of {a} -> {b}"
                );
            }
        }
    }
}

/// Every child interval lies in its parent's capacity, children are ordered and disjoint,
/// every subtree fits its interval, and covering sets are ordered and disjoint.
pub(crate) fn validate_intervals<S: ReachabilityStoreReader>(store: &S, root: BlockHash) -> u64 {
    // Iterative post-order (the tree can be thousands of levels deep).
    let mut sizes: BlockHashMap<u64> = BlockHashMap::default();
    let mut stack = vec![(root, false)];
    while let Some((block, children_done)) = stack.pop() {
        let data = store.get_reachability(block).expect("record");
        if !children_done {
            stack.push((block, true));
            stack.extend(data.children.iter().map(|c| (*c, false)));
            continue;
        }
        let capacity = data.interval.capacity();
        let mut size = 1;
        let mut previous_end: Option<u64> = None;
        for &child in data.children.iter() {
            let ci = store.get_interval(child).expect("child");
            assert!(capacity.contains(ci), "{child} {ci} outside capacity {capacity} of {block}");
            assert!(!ci.is_empty(), "{child} has an empty interval");
            if let Some(end) = previous_end {
                assert!(end < ci.start, "children of {block} overlap or are out of order");
            }
            previous_end = Some(ci.end);
            assert_eq!(store.get_tree_parent(child).expect("parent"), block);
            assert_eq!(store.get_height(child).expect("h"), data.height + 1);
            size += sizes[&child];
        }
        assert!(data.interval.size() >= size, "{block} {} holds {size} blocks", data.interval);
        let mut previous: Option<Interval> = None;
        for &item in data.future_covering_set.iter() {
            let i = store.get_interval(item).expect("covering item");
            if let Some(p) = previous {
                assert!(p.end < i.start, "covering set of {block} overlaps or is out of order");
            }
            previous = Some(i);
        }
        sizes.insert(block, size);
    }
    sizes[&root]
}

fn small_params() -> ReachabilityParams {
    ReachabilityParams { reindex_depth: 4, reindex_slack: 8 }
}

#[test]
fn long_chain_reindexes_with_maximal_interval() {
    let mut t = Harness::new(ReachabilityParams::default(), Interval::maximal(), false);
    counters::take();
    for i in 0..300 {
        t.add(&[i]);
    }
    t.check();
    let c = counters::take();
    assert!(c.propagations > 0 && c.concentrations > 0, "{c:?}");
    // Margins keep later root moves from re-laying out the root's subtree.
    assert!(c.concentration_relayouts * 10 < c.concentrations, "{c:?}");
}

#[test]
fn binary_tree_then_early_block() {
    // As Kaspa's test: a binary tree, then blocks below the reindex root.
    let mut t = Harness::new(
        ReachabilityParams { reindex_depth: 2, reindex_slack: 5 },
        Interval::maximal(),
        false,
    );
    counters::take();
    for i in 1..100usize {
        t.add(&[i / 2]);
    }
    let root = t.store.get_reindex_root().expect("root");
    assert!(root != h(0), "the root moved down the chain");
    // The root follows the first deepest block (64: chain 0, 1, 2, 4, 8, ...). Blocks 3, 5
    // and 9 hang off that chain below the root; siblings of the chain were tightened when
    // the root passed, so their growth takes room from the slack beside the chain.
    for parent in [3, 3, 5, 9, 9, 7, 3, 5, 6] {
        t.add(&[parent]);
    }
    t.check();
    let c = counters::take();
    assert!(c.reclaim_after > 0 && c.root_shrinks > 0, "earlier-than-root allocations: {c:?}");
}

#[test]
fn small_space_chain_with_late_side_blocks() {
    for staged in [false, true] {
        counters::take();
        let params = ReachabilityParams { reindex_depth: 4, reindex_slack: 2 };
        let mut t = Harness::new(params, Interval::new(1, 1 << 16), staged);
        let mut chain = vec![0usize];
        let mut decoys = Vec::new();
        for step in 0..150 {
            let tip = *chain.last().expect("non-empty");
            if step % 3 == 0 {
                // A child of the tip created before the chain's next block: it ends up
                // before the chain in interval order.
                decoys.push(t.add(&[tip]));
            }
            chain.push(t.add(&[tip]));
            if step % 4 == 0 && decoys.len() > 6 {
                let decoy = decoys[decoys.len() - 6];
                let extended = t.add(&[decoy]);
                decoys.push(extended);
            }
            // Late blocks hanging off old chain blocks (below the reindex root), and blocks
            // extending earlier late blocks (which sit before the chain).
            if step % 5 == 0 && chain.len() > 10 {
                let old = chain[chain.len() - 10];
                let mut side = t.add(&[old]);
                for _ in 0..step % 7 {
                    side = t.add(&[side]);
                }
            }
        }
        // Late branches deep below the root (never overtaking the chain) need more room
        // than the slack beside the chain holds.
        for back in [20, 25, 30, 35] {
            let mut branch = chain[chain.len() - back];
            for _ in 0..15 {
                branch = t.add(&[branch]);
            }
        }
        t.check();
        let c = counters::take();
        assert!(c.reclaim_before > 0 && c.reclaim_after > 0 && c.root_shrinks > 0, "{c:?}");
        assert!(c.propagations > 0 && c.concentrations > 0, "{c:?}");
    }
}

#[test]
fn random_dags_match_naive_walk() {
    for seed in 0..12u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let (params, interval) = if seed % 2 == 0 {
            (small_params(), Interval::new(1, 1 << 20))
        } else {
            (ReachabilityParams::default(), Interval::maximal())
        };
        let mut t = Harness::new(params, interval, seed % 3 == 0);
        let blocks = 120 + rng.gen_range(0..80);
        for _ in 0..blocks {
            let n = t.len();
            let window = rng.gen_range(1..=8usize).min(n);
            let count = rng.gen_range(1..=4usize);
            let mut parents: Vec<usize> =
                (0..count).map(|_| n - 1 - rng.gen_range(0..window)).collect();
            // Now and then a block referencing something old.
            if rng.gen_bool(0.05) {
                parents.push(rng.gen_range(0..n));
            }
            t.add(&parents);
        }
        t.check();
    }
}

#[test]
fn reorg_moves_reindex_root_to_other_branch() {
    let params = ReachabilityParams { reindex_depth: 3, reindex_slack: 4 };
    let mut t = Harness::new(params, Interval::new(1, 1 << 24), false);
    let fork = {
        let mut tip = 0;
        for _ in 0..10 {
            tip = t.add(&[tip]);
        }
        tip
    };
    let mut a = fork;
    for _ in 0..20 {
        a = t.add(&[a]);
    }
    // A longer competing branch from the fork overtakes and drags the root along.
    let mut b = fork;
    let mut seen = BlockHashSet::default();
    for _ in 0..40 {
        b = t.add(&[b]);
        seen.insert(t.store.get_reindex_root().expect("root"));
    }
    assert!(
        is_chain_ancestor_of(&t.store, t.store.get_reindex_root().expect("root"), h(b)).expect("q")
    );
    assert!(seen.len() > 1, "the root moved");
    t.check();
}

/// Lock-step DAGs where every block references all tips made at least `delay` blocks
/// earlier. The selected-parent tree is then `delay` strands that only meet near genesis,
/// and the sink's chain flips strands at every block. Reindexing must stay linear: the
/// reindex root stays on one strand and the others reclaim ample room once, then grow
/// with local reindexes (a regression guard against relaying out whole strands).
#[test]
fn lock_step_strands_reindex_linearly() {
    use crate::{params::GhostdagParams, Dag};
    let params = GhostdagParams {
        k: 18,
        max_block_parents: 64,
        mergeset_size_limit: 1_000,
        finality_depth: 10,
        merge_depth: u64::MAX,
    };
    for (n, delay) in [(3_000usize, 1usize), (3_000, 3), (2_000, 10)] {
        counters::take();
        let mut dag = Dag::new(params, h(0)).expect("genesis");
        let mut parents_of: Vec<Vec<usize>> = vec![Vec::new()];
        let mut visible_tips = std::collections::BTreeSet::from([0usize]);
        for i in 1..=n {
            if i > delay {
                for p in &parents_of[i - delay] {
                    visible_tips.remove(p);
                }
                visible_tips.insert(i - delay);
            }
            let parents: Vec<usize> = visible_tips.iter().copied().collect();
            let hashes: Vec<BlockHash> = parents.iter().map(|&p| h(p)).collect();
            dag.add_block(h(i), &hashes, U256::from(1)).expect("valid block");
            parents_of.push(parents);
        }
        let c = counters::take();
        assert!(c.relaid_blocks < 8 * n, "delay {delay}: {c:?}");
        assert!(c.climb_steps < 8 * n, "delay {delay}: {c:?}");
        validate_intervals(dag.store().reachability(), h(0));
    }
}

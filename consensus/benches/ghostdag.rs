//! Headers per second: builds a 16,000-block DAG in memory with realistic width.
//!
//! Blocks arrive as a Poisson process of rate λ; a block sees the blocks created at least D
//! seconds before it (the network delay) and references the tips of that visible DAG, up to
//! `max_block_parents` of them (a random subset when there are more). The DAG shape is
//! generated once; each iteration adds all blocks to a fresh in-memory `Dag` on one thread.
//!
//! Run: `cargo bench -p lattice-consensus --bench ghostdag -- --sample-size 10`
//! (`LATTICE_BENCH_STRESS=1` adds a much slower 5-second-delay scenario).

use alloy_primitives::keccak256;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lattice_consensus::{BlockHash, BlueWork, Dag, GhostdagParams, RuleError};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use std::{collections::BTreeSet, time::Instant};

const BLOCKS: usize = 16_000;

struct Scenario {
    name: &'static str,
    params: GhostdagParams,
    blocks_per_second: f64,
    delay_secs: f64,
}

fn hash(i: usize) -> BlockHash {
    keccak256((i as u64).to_be_bytes())
}

/// Parents of every block (indices into the block list; 0 is genesis).
fn generate(s: &Scenario, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let max_parents = s.params.max_block_parents as usize;
    let mut times = vec![f64::NEG_INFINITY]; // genesis is visible to everyone
    let mut parents: Vec<Vec<usize>> = vec![Vec::new()];
    let mut visible_tips: BTreeSet<usize> = BTreeSet::new();
    let mut next_visible = 0;
    let mut now = 0.0;
    for i in 1..=BLOCKS {
        now += -(1.0 - rng.gen::<f64>()).ln() / s.blocks_per_second;
        while next_visible < i && times[next_visible] <= now - s.delay_secs {
            for p in &parents[next_visible] {
                visible_tips.remove(p);
            }
            visible_tips.insert(next_visible);
            next_visible += 1;
        }
        let mut chosen: Vec<usize> = visible_tips.iter().copied().collect();
        if chosen.len() > max_parents {
            chosen.shuffle(&mut rng);
            chosen.truncate(max_parents);
        }
        times.push(now);
        parents.push(chosen);
    }
    parents
}

/// Adds every block; when the mergeset limit rejects a parent set (rare), drops parents
/// from the end until it fits, rewriting `parents` so later runs replay the same DAG.
fn build(s: &Scenario, parents: &mut [Vec<usize>]) -> Dag {
    let mut dag = Dag::new(s.params, hash(0)).expect("genesis");
    for (i, block_parents) in parents.iter_mut().enumerate().skip(1) {
        loop {
            let hashes: Vec<BlockHash> = block_parents.iter().map(|&p| hash(p)).collect();
            match dag.add_block(hash(i), &hashes, BlueWork::from(1)) {
                Ok(_) => break,
                Err(RuleError::MergesetTooBig { .. }) if block_parents.len() > 1 => {
                    block_parents.pop();
                }
                Err(e) => panic!("block {i} rejected: {e}"),
            }
        }
    }
    dag
}

/// Adds every block to a fresh DAG: `blocks[i]` is block i's hash and parents.
fn run(dag_params: GhostdagParams, blocks: &[(BlockHash, Vec<BlockHash>)]) -> Dag {
    let mut dag = Dag::new(dag_params, blocks[0].0).expect("genesis");
    for (hash, parents) in &blocks[1..] {
        dag.add_block(*hash, parents, BlueWork::from(1)).expect("valid");
    }
    dag
}

/// The same on the RocksDB store: every block's diff is one write batch to a fresh database.
fn run_rocks(dag_params: GhostdagParams, blocks: &[(BlockHash, Vec<BlockHash>)]) -> usize {
    use lattice_consensus::stores::rocks::{RocksConsensusStore, TABLES};
    let dir = tempfile::tempdir().expect("temp dir");
    let db = std::sync::Arc::new(lattice_storage::Db::open(dir.path(), TABLES).expect("db"));
    let store =
        RocksConsensusStore::load(db, lattice_consensus::stores::rocks::DEFAULT_CACHE_BLOCKS)
            .expect("store");
    let mut dag = lattice_consensus::Dag::open(dag_params, blocks[0].0, BlueWork::from(1), store)
        .expect("genesis");
    for (hash, parents) in &blocks[1..] {
        dag.add_block(*hash, parents, BlueWork::from(1)).expect("valid");
    }
    dag.block_count() as usize
}

/// Shape of the DAG: parents per block, mergeset sizes, and the red share of the blocks
/// accepted by the sink's selected chain.
fn describe(s: &Scenario, dag: &Dag, parents: &[Vec<usize>]) -> String {
    let chain = dag.selected_chain(dag.sink()).expect("chain");
    let (mut accepted, mut reds, mut largest) = (0usize, 0usize, 0usize);
    for block in &chain {
        let data = dag.ghostdag(*block).expect("known");
        accepted += data.mergeset_size();
        reds += data.mergeset_reds.len();
        largest = largest.max(data.mergeset_size());
    }
    let avg_parents = parents.iter().skip(1).map(Vec::len).sum::<usize>() as f64 / BLOCKS as f64;
    format!(
        "{}: k={}, {} blocks/s, {} s delay: avg parents {avg_parents:.2}, chain length {}, \
         avg chain mergeset {:.2} (max {largest}), reds {:.2}% of accepted blocks",
        s.name,
        s.params.k,
        s.blocks_per_second,
        s.delay_secs,
        chain.len(),
        accepted as f64 / (chain.len() - 1) as f64,
        100.0 * reds as f64 / accepted as f64,
    )
}

/// Generates the DAG shape, prints what it looks like and one plainly timed run, and
/// returns every block's hash and parents.
fn prepare(s: &Scenario) -> Vec<(BlockHash, Vec<BlockHash>)> {
    let mut parents = generate(s, 7);
    let dag = build(s, &mut parents);
    println!("{}", describe(s, &dag, &parents));
    let blocks: Vec<(BlockHash, Vec<BlockHash>)> = parents
        .iter()
        .enumerate()
        .map(|(i, ps)| (hash(i), ps.iter().map(|&p| hash(p)).collect()))
        .collect();
    let start = Instant::now();
    let again = run(s.params, &blocks);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(again.sink(), dag.sink());
    println!(
        "{}: {BLOCKS} headers in {secs:.3} s = {:.0} headers/s (one core, in memory)",
        s.name,
        BLOCKS as f64 / secs
    );
    blocks
}

/// Kaspa's parameters for 10 blocks/s (k = 124, as `GhostdagParams::from_block_rate` gives at
/// x = 100).
const K124: GhostdagParams = GhostdagParams {
    k: 124,
    max_block_parents: 16,
    mergeset_size_limit: 248,
    finality_depth: 432_000,
    merge_depth: 36_000,
};

fn bench(c: &mut Criterion) {
    let scenarios = [
        Scenario {
            name: "k18_10bps_1s_delay",
            params: GhostdagParams {
                k: 18,
                max_block_parents: 10,
                mergeset_size_limit: 180,
                finality_depth: 86_400,
                merge_depth: 36_000,
            },
            blocks_per_second: 10.0,
            delay_secs: 1.0,
        },
        Scenario {
            name: "k124_10bps_1s_delay",
            params: K124,
            blocks_per_second: 10.0,
            delay_secs: 1.0,
        },
        // Stress (LATTICE_BENCH_STRESS=1): the delay k = 124 is designed for (x = 2Dλ = 100);
        // with 16 parents out of ~50 visible tips, anticones are wide and mergesets large
        // (~54 blocks), so colouring makes tens of thousands of reachability queries per block.
        Scenario {
            name: "k124_10bps_5s_delay",
            params: K124,
            blocks_per_second: 10.0,
            delay_secs: 5.0,
        },
    ];
    // The stress scenario takes minutes; run it with LATTICE_BENCH_STRESS=1.
    let stress = std::env::var_os("LATTICE_BENCH_STRESS").is_some();
    let mut group = c.benchmark_group("ghostdag_16k_headers");
    group.throughput(Throughput::Elements(BLOCKS as u64));
    for s in scenarios.iter().filter(|s| stress || !s.name.ends_with("5s_delay")) {
        // Only runs when the benchmark is selected by the command-line filter.
        // Criterion calls the closure several times; prepare the DAG shape on the first
        // call only (that call happens only if the filter selects this benchmark).
        let mut prepared: Option<Vec<(BlockHash, Vec<BlockHash>)>> = None;
        group.bench_function(s.name, |b| {
            let blocks = prepared.get_or_insert_with(|| prepare(s));
            b.iter_batched(|| (), |()| run(s.params, blocks), BatchSize::PerIteration)
        });
        let mut prepared: Option<Vec<(BlockHash, Vec<BlockHash>)>> = None;
        group.bench_function(format!("{}_rocksdb", s.name), |b| {
            let blocks = prepared.get_or_insert_with(|| prepare(s));
            b.iter_batched(|| (), |()| run_rocks(s.params, blocks), BatchSize::PerIteration)
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);

//! The node's view of the GHOSTDAG engine, plus per-block producer clocks.
//!
//! GHOSTDAG and reachability data live in RocksDB (`RocksConsensusStore`, one batch per block)
//! and are loaded at start-up, not recomputed. A block whose header was written but whose
//! consensus batch was not (a crash between the two) is added again on open: headers sorted by
//! (blue work, hash) are in topological order.

use alloy_primitives::{Address, B256, U256};
use eyre::{bail, Result};
use lattice_consensus::ghostdag::consensus_order_of_mergeset;
use lattice_consensus::stores::RocksConsensusStore;
use lattice_consensus::{BlockConsensusDiff, Dag, GhostdagData, GhostdagParams, RuleError};
use lattice_primitives::{ChainSpec, Header};
use lattice_storage::{tables, Db};
use std::collections::HashMap;
use std::sync::Arc;

/// Every block carries the same work under proof of authority.
pub const BLOCK_WORK: U256 = U256::from_limbs([1, 0, 0, 0]);

/// GHOSTDAG parameters of a chain specification.
pub fn params(spec: &ChainSpec) -> GhostdagParams {
    GhostdagParams {
        k: spec.ghostdag_k,
        max_block_parents: spec.max_block_parents as u64,
        mergeset_size_limit: spec.mergeset_size_limit,
        finality_depth: spec.finality_depth,
        merge_depth: spec.merge_depth,
    }
}

/// For each producer, its latest block (by timestamp, then hash) in a block's past, the block
/// itself included.
type Clock = Arc<Vec<(Address, u64, B256)>>;

/// The DAG of every stored block.
pub struct DagView {
    dag: Dag<RocksConsensusStore>,
    clocks: HashMap<B256, Clock>,
    /// Every block in (blue work, hash) order: a topological order, served to peers that sync.
    order: std::collections::BTreeSet<(U256, B256)>,
    /// Each producer's latest blocks (time, hash), oldest first, for equivocation evidence.
    recent: HashMap<Address, std::collections::VecDeque<(u64, B256)>>,
}

/// Blocks per producer kept for equivocation evidence.
const RECENT_PER_PRODUCER: usize = 64;

impl DagView {
    /// Opens the DAG stored in `db`, completing any block whose consensus data is missing.
    pub fn load(db: &Arc<Db>, spec: &ChainSpec, genesis: B256) -> Result<Self> {
        let store = RocksConsensusStore::load(db.clone())?;
        let dag = Dag::open(params(spec), genesis, BLOCK_WORK, store)?;
        let mut view =
            Self { dag, clocks: HashMap::new(), order: Default::default(), recent: HashMap::new() };
        view.clocks.insert(genesis, Arc::new(Vec::new()));
        view.order.insert((U256::ZERO, genesis));
        let mut headers: Vec<(B256, Header)> = db
            .scan_from::<tables::Headers>(&[], |_| true)?
            .into_iter()
            .filter(|(h, _)| *h != genesis)
            .collect();
        headers.sort_by_key(|(hash, header)| (header.blue_work, *hash));
        for (hash, header) in headers {
            if view.dag.contains(hash)? {
                view.index(hash, &header);
                continue;
            }
            let diff = view.prepare(hash, &header.parents)?;
            if diff.ghostdag.blue_score != header.blue_score
                || diff.ghostdag.blue_work != header.blue_work
            {
                bail!(
                    "stored block {hash} claims blue score {} / work {} but GHOSTDAG gives {} / {}",
                    header.blue_score,
                    header.blue_work,
                    diff.ghostdag.blue_score,
                    diff.ghostdag.blue_work
                );
            }
            view.commit(diff, &header)?;
        }
        Ok(view)
    }

    /// Whether the block is in the DAG.
    pub fn contains(&self, hash: B256) -> bool {
        self.dag.contains(hash).unwrap_or(false)
    }

    /// Validates a block's parents and computes its GHOSTDAG data and reachability changes.
    pub fn prepare(&self, hash: B256, parents: &[B256]) -> Result<BlockConsensusDiff, RuleError> {
        self.dag.prepare_block(hash, parents, BLOCK_WORK)
    }

    /// Adds a prepared block.
    pub fn commit(
        &mut self,
        diff: BlockConsensusDiff,
        header: &Header,
    ) -> Result<Arc<GhostdagData>, RuleError> {
        let hash = diff.hash;
        let data = self.dag.commit(diff)?;
        self.index(hash, header);
        Ok(data)
    }

    /// Records a block in the in-memory indexes (producer clocks, (blue work, hash) order).
    fn index(&mut self, hash: B256, header: &Header) {
        let clock = self.merged_clock(&header.parents);
        let mut clock: Vec<_> =
            clock.into_iter().filter(|(p, _, _)| *p != header.producer).collect();
        clock.push((header.producer, header.timestamp_ms, hash));
        clock.sort_unstable_by_key(|(p, _, _)| *p);
        self.clocks.insert(hash, Arc::new(clock));
        self.order.insert((header.blue_work, hash));
        let recent = self.recent.entry(header.producer).or_default();
        recent.push_back((header.timestamp_ms, hash));
        if recent.len() > RECENT_PER_PRODUCER {
            recent.pop_front();
        }
    }

    /// Time of `producer`'s latest block anywhere in the DAG (its past or not).
    pub fn latest_of_producer(&self, producer: Address) -> Option<u64> {
        self.recent.get(&producer)?.iter().map(|(at, _)| *at).max()
    }

    /// Blocks of `header`'s producer, among its latest, that are neither in the past nor in
    /// the future of block `hash` and sealed less than `min_interval_ms` from it: the
    /// producer signed parallel blocks faster than the chain allows (equivocation). Such a
    /// block is not refused (which one a node saw first must not decide what it accepts);
    /// this is the evidence.
    pub fn equivocations(&self, hash: B256, header: &Header, min_interval_ms: u64) -> Vec<B256> {
        let Some(recent) = self.recent.get(&header.producer) else { return Vec::new() };
        recent
            .iter()
            .filter(|(at, other)| {
                *other != hash && at.abs_diff(header.timestamp_ms) < min_interval_ms
            })
            .filter(|(_, other)| {
                !self.dag.is_dag_ancestor_of(*other, hash).unwrap_or(true)
                    && !self.dag.is_dag_ancestor_of(hash, *other).unwrap_or(true)
            })
            .map(|(_, other)| *other)
            .collect()
    }

    fn merged_clock(&self, parents: &[B256]) -> Vec<(Address, u64, B256)> {
        let mut latest: HashMap<Address, (u64, B256)> = HashMap::new();
        for parent in parents {
            for (producer, at, block) in
                self.clocks.get(parent).map(|c| c.as_slice()).unwrap_or_default()
            {
                let entry = latest.entry(*producer).or_insert((*at, *block));
                if (*at, *block) > *entry {
                    *entry = (*at, *block);
                }
            }
        }
        latest.into_iter().map(|(p, (at, b))| (p, at, b)).collect()
    }

    /// The latest block of `producer` in the past of a block with `parents`, with its time.
    pub fn latest_by_producer_in_past(
        &self,
        parents: &[B256],
        producer: Address,
    ) -> Option<(B256, u64)> {
        self.merged_clock(parents)
            .into_iter()
            .find(|(p, _, _)| *p == producer)
            .map(|(_, at, b)| (b, at))
    }

    /// Parents for a block produced now on `head`: the DAG's choice when it selects `head`,
    /// otherwise `head` alone (the DAG's sink was refused, e.g. disqualified).
    pub fn parents_for_new_block(&self, head: B256) -> Result<Vec<B256>> {
        let parents = self.dag.pick_parents()?;
        Ok(if parents.first() == Some(&head) { parents } else { vec![head] })
    }

    /// GHOSTDAG data a block with `parents` would have.
    pub fn ghostdag_of_parents(&self, parents: &[B256]) -> Result<GhostdagData> {
        Ok(self.dag.compute_ghostdag(parents)?)
    }

    /// The mergeset of `data` in consensus order.
    pub fn consensus_order(&self, data: &GhostdagData) -> Result<Vec<B256>> {
        Ok(consensus_order_of_mergeset(self.dag.store(), data)?)
    }

    /// GHOSTDAG data of a known block.
    pub fn ghostdag(&self, hash: B256) -> Option<Arc<GhostdagData>> {
        self.dag.ghostdag(hash).ok()
    }

    /// Up to `limit` blocks after (`blue_work`, `hash`) in (blue work, hash) order.
    pub fn hashes_after(&self, blue_work: U256, hash: B256, limit: usize) -> Vec<B256> {
        use std::ops::Bound::{Excluded, Unbounded};
        self.order
            .range((Excluded((blue_work, hash)), Unbounded))
            .take(limit)
            .map(|(_, h)| *h)
            .collect()
    }

    /// Current tips.
    pub fn tips(&self) -> Vec<B256> {
        self.dag.tips().to_vec()
    }

    /// Number of blocks.
    pub fn block_count(&self) -> u64 {
        self.dag.block_count()
    }
}

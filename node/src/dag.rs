//! The node's view of the GHOSTDAG engine, plus per-block producer clocks.
//!
//! GHOSTDAG and reachability data live in RocksDB (`RocksConsensusStore`, one batch per block)
//! behind bounded caches, and so do the producer clocks and the (blue work, hash) order: memory
//! does not grow with the chain, and opening reads only what it needs. A block's clock, order
//! entry and a "consensus pending" marker are written in the same batch as its header; the
//! marker goes once the consensus batch is on disk, so a crash between the two leaves a marker,
//! and opening completes that block.

use alloy_primitives::{Address, B256, U256};
use eyre::{bail, Result};
use hashlink::LruCache;
use lattice_consensus::ghostdag::consensus_order_of_mergeset;
use lattice_consensus::stores::rocks::CacheStats;
use lattice_consensus::stores::RocksConsensusStore;
use lattice_consensus::{BlockConsensusDiff, Dag, GhostdagData, GhostdagParams, RuleError};
use lattice_primitives::{ChainSpec, Header};
use lattice_storage::tables::{BlockOrder, PendingConsensus, ProducerClock, ProducerClocks};
use lattice_storage::{tables, Batch, Codec, Db};
use parking_lot::Mutex;
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
    db: Arc<Db>,
    dag: Dag<RocksConsensusStore>,
    /// Recently used producer clocks (all of them are in [`ProducerClocks`]).
    clocks: Mutex<LruCache<B256, Clock>>,
    /// Each producer's latest blocks (time, hash), oldest first, for equivocation evidence.
    recent: HashMap<Address, std::collections::VecDeque<(u64, B256)>>,
}

/// `Meta` key present once every block has its clock and order entry (written with the genesis
/// of a new data directory, or after [`DagView::index_every_block`] of an older one, which
/// runs again from the start if it was interrupted).
pub const ORDER_INDEXED: &[u8] = b"order_indexed";

/// Blocks per producer kept for equivocation evidence.
const RECENT_PER_PRODUCER: usize = 64;
/// Latest blocks (in (blue work, hash) order) read on open to fill the equivocation evidence.
const RECENT_ON_OPEN: usize = 4096;

impl DagView {
    /// Opens the DAG stored in `db`, completing any block whose consensus data is missing;
    /// each cache keeps at most `cache_blocks` blocks.
    pub fn load(
        db: &Arc<Db>,
        spec: &ChainSpec,
        genesis: B256,
        cache_blocks: usize,
    ) -> Result<Self> {
        let store = RocksConsensusStore::load(db.clone(), cache_blocks)?;
        let dag = Dag::open(params(spec), genesis, BLOCK_WORK, store)?;
        let mut view = Self {
            db: db.clone(),
            dag,
            clocks: Mutex::new(LruCache::new(cache_blocks.max(1))),
            recent: HashMap::new(),
        };
        if db.get::<tables::Meta>(&ORDER_INDEXED.to_vec())?.is_none() {
            view.index_every_block(genesis)?;
            let mut batch = db.batch();
            batch.put::<tables::Meta>(&ORDER_INDEXED.to_vec(), &Vec::new())?;
            batch.commit()?;
        } else {
            view.complete_pending()?;
        }
        // Each producer's latest blocks, from the end of the order (not the whole history).
        view.recent.clear();
        let mut latest: Vec<(B256, Header)> = Vec::new();
        for ((_, hash), ()) in db.last_n::<BlockOrder>(RECENT_ON_OPEN)? {
            if let Some(header) = db.get::<tables::Headers>(&hash)? {
                latest.push((hash, header));
            }
        }
        for (hash, header) in latest.iter().rev() {
            view.remember(*hash, header);
        }
        Ok(view)
    }

    /// Adds to the DAG the blocks whose header is stored and whose consensus batch may not
    /// be (a crash between the two writes).
    fn complete_pending(&mut self) -> Result<()> {
        let mut pending = Vec::new();
        for (hash, ()) in self.db.scan_from::<PendingConsensus>(&[], |_| true)? {
            match self.db.get::<tables::Headers>(&hash)? {
                Some(header) => pending.push((hash, header)),
                None => bail!("block {hash} is marked pending but its header is not stored"),
            }
        }
        // Ascending (blue work, hash) is a topological order.
        pending.sort_by_key(|(hash, header)| (header.blue_work, *hash));
        for (hash, header) in pending {
            if self.dag.contains(hash)? {
                self.done(hash)?;
            } else {
                self.complete(hash, &header)?;
            }
        }
        Ok(())
    }

    /// A data directory written before clocks and the order were stored: writes them for
    /// every block (and completes blocks missing consensus data, as opening did then). Runs
    /// once (the caller then records [`ORDER_INDEXED`]), holding every header while it runs.
    fn index_every_block(&mut self, genesis: B256) -> Result<()> {
        let mut headers: Vec<(B256, Header)> = self
            .db
            .scan_from::<tables::Headers>(&[], |_| true)?
            .into_iter()
            .filter(|(h, _)| *h != genesis)
            .collect();
        if !headers.is_empty() {
            tracing::info!(target: "lattice::consensus", blocks = headers.len(),
                "storing producer clocks and the block order (once, for a data directory from an earlier version)");
        }
        headers.sort_by_key(|(hash, header)| (header.blue_work, *hash));
        let mut batch = self.db.batch();
        batch.put::<ProducerClocks>(&genesis, &ProducerClock::default())?;
        batch.put::<BlockOrder>(&(U256::ZERO, genesis), &())?;
        batch.commit()?;
        for (hash, header) in headers {
            let mut batch = self.db.batch();
            self.stage(&mut batch, hash, &header)?;
            batch.commit()?;
            if self.dag.contains(hash)? {
                self.done(hash)?;
            } else {
                self.complete(hash, &header)?;
            }
        }
        Ok(())
    }

    /// Computes and commits the consensus data of a stored block.
    fn complete(&mut self, hash: B256, header: &Header) -> Result<()> {
        let diff = self.prepare(hash, &header.parents)?;
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
        self.commit(diff, header)?;
        Ok(())
    }

    /// Stages what is stored with a block's header: its producer clock, its place in the
    /// (blue work, hash) order, and the marker that its consensus data is pending.
    pub fn stage(&self, batch: &mut Batch<'_>, hash: B256, header: &Header) -> Result<()> {
        let clock = self.merged_clock(&header.parents)?;
        let mut clock: Vec<_> =
            clock.into_iter().filter(|(p, _, _)| *p != header.producer).collect();
        clock.push((header.producer, header.timestamp_ms, hash));
        clock.sort_unstable_by_key(|(p, _, _)| *p);
        let clock = Arc::new(clock);
        batch.put::<ProducerClocks>(&hash, &ProducerClock(clock.to_vec()))?;
        batch.put::<BlockOrder>(&(header.blue_work, hash), &())?;
        batch.put::<PendingConsensus>(&hash, &())?;
        self.clocks.lock().insert(hash, clock);
        Ok(())
    }

    /// The consensus batch of `hash` is on disk: its marker goes.
    fn done(&self, hash: B256) -> Result<()> {
        let mut batch = self.db.batch();
        batch.delete::<PendingConsensus>(&hash)?;
        batch.commit()?;
        Ok(())
    }

    /// The producer clock of a stored block.
    fn clock(&self, hash: B256) -> Result<Clock> {
        if let Some(clock) = self.clocks.lock().get(&hash) {
            return Ok(clock.clone());
        }
        let Some(ProducerClock(clock)) = self.db.get::<ProducerClocks>(&hash)? else {
            bail!("block {hash} has no producer clock stored")
        };
        let clock = Arc::new(clock);
        self.clocks.lock().insert(hash, clock.clone());
        Ok(clock)
    }

    /// What the caches hold: consensus records (summed over their caches) and producer clocks.
    pub fn cache_stats(&self) -> (CacheStats, usize) {
        (self.dag.store().cache_stats(), self.clocks.lock().len())
    }

    /// Whether the block is in the DAG (`false` also when the store cannot be read: for
    /// callers that only skip work; [`try_contains`](Self::try_contains) tells the two apart).
    pub fn contains(&self, hash: B256) -> bool {
        self.dag.contains(hash).unwrap_or(false)
    }

    /// Whether the block is in the DAG.
    pub fn try_contains(&self, hash: B256) -> Result<bool> {
        Ok(self.dag.contains(hash)?)
    }

    /// Validates a block's parents and computes its GHOSTDAG data and reachability changes.
    pub fn prepare(&self, hash: B256, parents: &[B256]) -> Result<BlockConsensusDiff, RuleError> {
        self.dag.prepare_block(hash, parents, BLOCK_WORK)
    }

    /// Adds a prepared block whose header was stored with [`stage`](Self::stage).
    pub fn commit(
        &mut self,
        diff: BlockConsensusDiff,
        header: &Header,
    ) -> Result<Arc<GhostdagData>, RuleError> {
        let hash = diff.hash;
        let data = self.dag.commit(diff)?;
        // The block is in the DAG now; a marker left behind only makes the next start check it.
        if let Err(e) = self.done(hash) {
            tracing::warn!(target: "lattice::consensus", %hash, error = %e,
                "cannot clear the block's consensus-pending marker");
        }
        self.remember(hash, header);
        Ok(data)
    }

    /// Records a block among its producer's latest (equivocation evidence).
    fn remember(&mut self, hash: B256, header: &Header) {
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

    fn merged_clock(&self, parents: &[B256]) -> Result<Vec<(Address, u64, B256)>> {
        let mut latest: HashMap<Address, (u64, B256)> = HashMap::new();
        for parent in parents {
            for (producer, at, block) in self.clock(*parent)?.iter() {
                let entry = latest.entry(*producer).or_insert((*at, *block));
                if (*at, *block) > *entry {
                    *entry = (*at, *block);
                }
            }
        }
        Ok(latest.into_iter().map(|(p, (at, b))| (p, at, b)).collect())
    }

    /// The latest block of `producer` in the past of a block with `parents`, with its time.
    pub fn latest_by_producer_in_past(
        &self,
        parents: &[B256],
        producer: Address,
    ) -> Result<Option<(B256, u64)>> {
        Ok(self
            .merged_clock(parents)?
            .into_iter()
            .find(|(p, _, _)| *p == producer)
            .map(|(_, at, b)| (b, at)))
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

    /// GHOSTDAG data of a block (`None`: not in the DAG). A failed read is an error, never
    /// "absent".
    pub fn ghostdag(&self, hash: B256) -> Result<Option<Arc<GhostdagData>>> {
        match self.dag.ghostdag(hash) {
            Ok(data) => Ok(Some(data)),
            Err(RuleError::UnknownBlock(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Up to `limit` blocks after (`blue_work`, `hash`) in (blue work, hash) order.
    pub fn hashes_after(&self, blue_work: U256, hash: B256, limit: usize) -> Result<Vec<B256>> {
        let after = (blue_work, hash);
        let mut taken = 0;
        Ok(self
            .db
            .scan_from::<BlockOrder>(&after.encode(), |_| {
                taken += 1;
                taken <= limit + 1
            })?
            .into_iter()
            .map(|(key, ())| key)
            .filter(|key| *key != after)
            .take(limit)
            .map(|(_, h)| h)
            .collect())
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

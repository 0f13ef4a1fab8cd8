//! The façade the node calls: add blocks, query GHOSTDAG data, ancestry and order.

mod merge_depth;
mod selection;
mod validation;

pub use validation::{check_mergeset_limit, validate_header_ghostdag, GhostdagHeaderFields};

use crate::{
    diff::BlockConsensusDiff,
    errors::{RuleError, StoreError},
    ghostdag::{self, GhostdagData},
    params::GhostdagParams,
    reachability::{self, ReachabilityParams},
    stores::{ConsensusStore, DagState, MemoryConsensusStore, ReachabilityStaging},
    types::{BlockHash, BlockHashes, BlueWork, SortableBlock, ZERO_HASH},
};
use std::sync::Arc;

/// A block DAG with its GHOSTDAG data and reachability index, over a [`ConsensusStore`].
///
/// Writing takes `&mut self` (wrap the `Dag` in a lock to share it); every block's writes go
/// to the store as one [`BlockConsensusDiff`].
#[derive(Debug)]
pub struct Dag<S = MemoryConsensusStore> {
    params: GhostdagParams,
    reachability_params: ReachabilityParams,
    store: S,
    state: DagState,
    /// The last merge-depth root found: the next block's is usually a few chain blocks above
    /// it (see `merge_depth.rs`).
    last_merge_root: std::sync::Mutex<Option<BlockHash>>,
}

/// Maps "not found" to [`RuleError::UnknownBlock`], for queries about a given block.
fn unknown(e: StoreError) -> RuleError {
    match e {
        StoreError::NotFound { hash, .. } => RuleError::UnknownBlock(hash),
        other => RuleError::Store(other),
    }
}

impl Dag<MemoryConsensusStore> {
    /// An in-memory DAG holding only `genesis`, whose work is 1.
    pub fn new(params: GhostdagParams, genesis: BlockHash) -> Result<Self, RuleError> {
        Self::open(params, genesis, BlueWork::from(1), MemoryConsensusStore::new())
    }
}

impl<S: ConsensusStore> Dag<S> {
    /// Opens the DAG held by `store`, or initialises it with `genesis` (carrying
    /// `genesis_work`) if the store is empty. Fails if the store holds another genesis.
    pub fn open(
        params: GhostdagParams,
        genesis: BlockHash,
        genesis_work: BlueWork,
        store: S,
    ) -> Result<Self, RuleError> {
        Self::open_with(params, ReachabilityParams::default(), genesis, genesis_work, store)
    }

    /// [`open`](Self::open) with explicit reachability tuning (tests use small values).
    pub fn open_with(
        params: GhostdagParams,
        reachability_params: ReachabilityParams,
        genesis: BlockHash,
        genesis_work: BlueWork,
        mut store: S,
    ) -> Result<Self, RuleError> {
        if let Some(state) = store.get_dag_state()? {
            if state.genesis != genesis {
                return Err(RuleError::GenesisMismatch {
                    expected: genesis,
                    stored: state.genesis,
                });
            }
            return Ok(Self {
                params,
                reachability_params,
                store,
                state,
                last_merge_root: Default::default(),
            });
        }
        if genesis == ZERO_HASH {
            return Err(RuleError::ZeroHash);
        }
        if genesis_work.is_zero() {
            return Err(RuleError::ZeroWork(genesis));
        }
        let mut staging = ReachabilityStaging::new(&store);
        reachability::init(&mut staging, genesis)?;
        let changes = staging.into_changes();
        let state = DagState { genesis, tips: vec![genesis], sink: genesis, block_count: 1 };
        let diff = BlockConsensusDiff {
            hash: genesis,
            parents: BlockHashes::default(),
            work: genesis_work,
            ghostdag: Arc::new(GhostdagData::genesis()),
            reachability: changes.records,
            reindex_root: changes.reindex_root,
            dag_state: state.clone(),
        };
        store.commit(&diff)?;
        Ok(Self { params, reachability_params, store, state, last_merge_root: Default::default() })
    }

    /// The GHOSTDAG parameters.
    pub fn params(&self) -> &GhostdagParams {
        &self.params
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// The genesis hash.
    pub fn genesis(&self) -> BlockHash {
        self.state.genesis
    }

    /// Number of blocks, genesis included.
    pub fn block_count(&self) -> u64 {
        self.state.block_count
    }

    /// Blocks without children, sorted by hash.
    pub fn tips(&self) -> &[BlockHash] {
        &self.state.tips
    }

    /// The sink: the tip with the highest (blue work, hash), i.e. the virtual's selected
    /// parent. Its selected chain is the DAG's selected chain.
    pub fn sink(&self) -> BlockHash {
        self.state.sink
    }

    /// Whether the block is in the DAG.
    pub fn contains(&self, hash: BlockHash) -> Result<bool, RuleError> {
        Ok(self.store.has_ghostdag(hash)?)
    }

    /// Validates and adds a block carrying `work`, committing its writes as one diff.
    /// Returns its GHOSTDAG data.
    pub fn add_block(
        &mut self,
        hash: BlockHash,
        parents: &[BlockHash],
        work: BlueWork,
    ) -> Result<Arc<GhostdagData>, RuleError> {
        let diff = self.prepare_block(hash, parents, work)?;
        self.commit(diff)
    }

    /// Validates a block and computes everything it changes, without writing. Then either
    /// [`commit`](Self::commit) the diff to this DAG's store, or write it into a batch shared
    /// with other stores ([`BlockConsensusDiff::write_into`]) and, once that batch is on
    /// disk, call [`commit_written`](Self::commit_written). Dropping it is a dry run.
    pub fn prepare_block(
        &self,
        hash: BlockHash,
        parents: &[BlockHash],
        work: BlueWork,
    ) -> Result<BlockConsensusDiff, RuleError> {
        if hash == ZERO_HASH {
            return Err(RuleError::ZeroHash);
        }
        if work.is_zero() {
            return Err(RuleError::ZeroWork(hash));
        }
        if self.store.has_block(hash)? {
            return Err(RuleError::BlockAlreadyKnown(hash));
        }
        self.validate_parents(parents)?;
        let limit = self.params.mergeset_size_limit;
        let data = ghostdag::ghostdag_bounded(&self.store, self.params.k, parents, limit).map_err(
            |e| match e {
                RuleError::MergesetLimitExceeded { limit } => {
                    RuleError::MergesetTooBig { hash, size: limit + 1, limit }
                }
                e => e,
            },
        )?;
        check_mergeset_limit(hash, &data, limit)?;
        self.check_bounded_merge_depth(&data)?;

        // The new block becomes the sink iff it beats the current one.
        let sink_work = self.store.get_blue_work(self.state.sink)?;
        let new_sink = SortableBlock::new(hash, data.blue_work)
            > SortableBlock::new(self.state.sink, sink_work);

        let mut staging = ReachabilityStaging::new(&self.store);
        reachability::add_block(
            &mut staging,
            &self.reachability_params,
            hash,
            data.selected_parent,
            data.mergeset_without_selected_parent(),
            new_sink.then_some(hash),
        )?;
        let changes = staging.into_changes();

        let mut tips: Vec<BlockHash> =
            self.state.tips.iter().copied().filter(|t| !parents.contains(t)).collect();
        let position = tips.partition_point(|t| *t < hash);
        tips.insert(position, hash);
        let dag_state = DagState {
            genesis: self.state.genesis,
            tips,
            sink: if new_sink { hash } else { self.state.sink },
            block_count: self.state.block_count + 1,
        };
        Ok(BlockConsensusDiff {
            hash,
            parents: Arc::new(parents.to_vec()),
            work,
            ghostdag: Arc::new(data),
            reachability: changes.records,
            reindex_root: changes.reindex_root,
            dag_state,
        })
    }

    /// Commits a diff from [`prepare_block`](Self::prepare_block) to the store. Fails with
    /// [`RuleError::StaleDiff`] if another block was committed since it was prepared.
    pub fn commit(&mut self, diff: BlockConsensusDiff) -> Result<Arc<GhostdagData>, RuleError> {
        self.check_fresh(&diff)?;
        self.store.commit(&diff)?;
        Ok(self.commit_written(diff))
    }

    /// Acknowledges a diff that the caller already wrote to this DAG's store (via
    /// [`BlockConsensusDiff::write_into`] into its own batch, now on disk), so that the
    /// cached tips and sink follow. The caller must have checked freshness (no other block
    /// committed since [`prepare_block`](Self::prepare_block)); [`is_fresh`](Self::is_fresh)
    /// tells.
    pub fn commit_written(&mut self, diff: BlockConsensusDiff) -> Arc<GhostdagData> {
        self.state = diff.dag_state;
        diff.ghostdag
    }

    /// Whether `diff` was prepared against the DAG as it is now.
    pub fn is_fresh(&self, diff: &BlockConsensusDiff) -> bool {
        diff.dag_state.block_count == self.state.block_count + 1
    }

    fn check_fresh(&self, diff: &BlockConsensusDiff) -> Result<(), RuleError> {
        if !self.is_fresh(diff) {
            return Err(RuleError::StaleDiff {
                hash: diff.hash,
                prepared_on: diff.dag_state.block_count.saturating_sub(1),
                current: self.state.block_count,
            });
        }
        Ok(())
    }

    /// The GHOSTDAG data of a block.
    pub fn ghostdag(&self, hash: BlockHash) -> Result<Arc<GhostdagData>, RuleError> {
        self.store.get_ghostdag(hash).map_err(unknown)
    }

    /// The GHOSTDAG data a new block with these parents would get (for block templates:
    /// the header's blue score and blue work). Validates the parents; writes nothing.
    pub fn compute_ghostdag(&self, parents: &[BlockHash]) -> Result<GhostdagData, RuleError> {
        self.validate_parents(parents)?;
        ghostdag::ghostdag(&self.store, self.params.k, parents)
    }

    /// The parents of a block.
    pub fn parents(&self, hash: BlockHash) -> Result<BlockHashes, RuleError> {
        self.store.get_parents(hash).map_err(unknown)
    }

    /// The known children of a block.
    pub fn children(&self, hash: BlockHash) -> Result<BlockHashes, RuleError> {
        self.store.get_children(hash).map_err(unknown)
    }

    /// Whether `a` is in the past of `b` (or is `b`). O(log n), no graph walk.
    pub fn is_dag_ancestor_of(&self, a: BlockHash, b: BlockHash) -> Result<bool, RuleError> {
        reachability::is_dag_ancestor_of(&self.store, a, b).map_err(unknown)
    }

    /// Whether `a` is on the selected chain of `b` (or is `b`). O(1).
    pub fn is_chain_ancestor_of(&self, a: BlockHash, b: BlockHash) -> Result<bool, RuleError> {
        reachability::is_chain_ancestor_of(&self.store, a, b).map_err(unknown)
    }

    /// Whether neither block is in the past of the other.
    pub fn is_in_anticone(&self, a: BlockHash, b: BlockHash) -> Result<bool, RuleError> {
        Ok(!self.is_dag_ancestor_of(a, b)? && !self.is_dag_ancestor_of(b, a)?)
    }

    /// The blocks `hash` accepts, in consensus order: selected parent first, then the rest of
    /// its mergeset (blues and reds) ascending by (blue work, hash). Empty for genesis.
    pub fn consensus_order_of_mergeset(
        &self,
        hash: BlockHash,
    ) -> Result<Vec<BlockHash>, RuleError> {
        let data = self.ghostdag(hash)?;
        Ok(ghostdag::consensus_order_of_mergeset(&self.store, &data)?)
    }

    /// Every block accepted by `hash`'s selected chain, in consensus order (see
    /// [`ghostdag::consensus_order`]). Walks the whole chain.
    pub fn consensus_order(&self, hash: BlockHash) -> Result<Vec<BlockHash>, RuleError> {
        ghostdag::consensus_order(&self.store, hash).map_err(unknown)
    }

    /// The selected chain from genesis to `hash`, both included.
    pub fn selected_chain(&self, hash: BlockHash) -> Result<Vec<BlockHash>, RuleError> {
        let mut chain = Vec::new();
        let mut current = hash;
        while current != ZERO_HASH {
            chain.push(current);
            current = self.store.get_selected_parent(current).map_err(unknown)?;
        }
        chain.reverse();
        Ok(chain)
    }

    /// Height of `hash` on its selected chain (genesis: 0), i.e. its Ethereum block number
    /// when it is on the sink's chain. O(1).
    pub fn chain_height(&self, hash: BlockHash) -> Result<u64, RuleError> {
        self.store.get_height(hash).map_err(unknown)
    }
}

#[cfg(test)]
mod tests;

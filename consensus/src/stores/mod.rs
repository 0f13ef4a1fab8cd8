//! Store traits, split into readers (what the pure algorithms need) and writers (what a
//! [`BlockConsensusDiff`](crate::BlockConsensusDiff) needs to be persisted).
//!
//! One type usually implements every reader (an in-memory store, or a RocksDB handle with one
//! column family per store); the writers can be implemented by a separate type that stages
//! into a write batch, so that one block is one atomic write.

mod codec;
mod memory;
pub mod rocks;
mod staging;

pub use memory::{MemoryConsensusStore, MemoryReachabilityStore};
pub use rocks::RocksConsensusStore;
pub use staging::{ReachabilityChanges, ReachabilityStaging};

use crate::{
    errors::StoreError,
    ghostdag::GhostdagData,
    reachability::{Interval, ReachabilityData},
    types::{BlockHash, BlockHashes, BlueWork},
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Reads GHOSTDAG data.
pub trait GhostdagStoreReader {
    /// The full GHOSTDAG data of a block.
    fn get_ghostdag(&self, hash: BlockHash) -> Result<Arc<GhostdagData>, StoreError>;
    /// Whether the store has data for this block.
    fn has_ghostdag(&self, hash: BlockHash) -> Result<bool, StoreError>;

    /// The block's blue work (override when it can be read without the whole record).
    fn get_blue_work(&self, hash: BlockHash) -> Result<BlueWork, StoreError> {
        Ok(self.get_ghostdag(hash)?.blue_work)
    }
    /// The block's blue score.
    fn get_blue_score(&self, hash: BlockHash) -> Result<u64, StoreError> {
        Ok(self.get_ghostdag(hash)?.blue_score)
    }
    /// The block's selected parent (zero for genesis).
    fn get_selected_parent(&self, hash: BlockHash) -> Result<BlockHash, StoreError> {
        Ok(self.get_ghostdag(hash)?.selected_parent)
    }
}

/// Writes GHOSTDAG data.
pub trait GhostdagStoreWriter {
    /// Stores the data of a new block.
    fn insert_ghostdag(
        &mut self,
        hash: BlockHash,
        data: Arc<GhostdagData>,
    ) -> Result<(), StoreError>;
}

/// Reads DAG relations.
pub trait RelationsStoreReader {
    /// The block's parents, as listed in its header.
    fn get_parents(&self, hash: BlockHash) -> Result<BlockHashes, StoreError>;
    /// The known children of the block.
    fn get_children(&self, hash: BlockHash) -> Result<BlockHashes, StoreError>;
    /// Whether the block is known.
    fn has_block(&self, hash: BlockHash) -> Result<bool, StoreError>;
}

/// Writes DAG relations.
pub trait RelationsStoreWriter {
    /// Records a new block with its parents, and appends it to each parent's children.
    fn insert_relations(&mut self, hash: BlockHash, parents: BlockHashes)
        -> Result<(), StoreError>;
}

/// Reads the work each block carries (an input of GHOSTDAG, e.g. derived from the header).
pub trait WorkStoreReader {
    /// The work the block itself contributes to the blue work of blocks that colour it blue.
    fn get_work(&self, hash: BlockHash) -> Result<BlueWork, StoreError>;
}

/// Writes block work.
pub trait WorkStoreWriter {
    /// Stores the work of a new block.
    fn insert_work(&mut self, hash: BlockHash, work: BlueWork) -> Result<(), StoreError>;
}

/// Reads the reachability index. Only [`get_reachability`](Self::get_reachability),
/// [`has_reachability`](Self::has_reachability) and
/// [`get_reindex_root`](Self::get_reindex_root) are required; the field getters exist so that
/// an implementation with cheaper partial reads can override them.
pub trait ReachabilityStoreReader {
    /// The whole record of a block.
    fn get_reachability(&self, hash: BlockHash) -> Result<ReachabilityData, StoreError>;
    /// Whether the block has a record.
    fn has_reachability(&self, hash: BlockHash) -> Result<bool, StoreError>;
    /// The current reindex root.
    fn get_reindex_root(&self) -> Result<BlockHash, StoreError>;

    /// The block's interval in the selected-parent tree.
    fn get_interval(&self, hash: BlockHash) -> Result<Interval, StoreError> {
        Ok(self.get_reachability(hash)?.interval)
    }
    /// The block's parent in the selected-parent tree (zero for the root).
    fn get_tree_parent(&self, hash: BlockHash) -> Result<BlockHash, StoreError> {
        Ok(self.get_reachability(hash)?.parent)
    }
    /// The block's depth in the selected-parent tree (genesis: 0).
    fn get_height(&self, hash: BlockHash) -> Result<u64, StoreError> {
        Ok(self.get_reachability(hash)?.height)
    }
    /// The block's children in the tree, in interval order.
    fn get_tree_children(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        Ok(self.get_reachability(hash)?.children)
    }
    /// The block's future covering set, in interval order.
    fn get_future_covering_set(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        Ok(self.get_reachability(hash)?.future_covering_set)
    }
}

/// Writes the reachability index.
pub trait ReachabilityStoreWriter {
    /// Inserts or replaces the record of a block.
    fn put_reachability(
        &mut self,
        hash: BlockHash,
        data: &ReachabilityData,
    ) -> Result<(), StoreError>;
    /// Replaces the reindex root.
    fn set_reindex_root(&mut self, root: BlockHash) -> Result<(), StoreError>;
}

/// DAG-wide state that changes with every block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DagState {
    /// The genesis hash.
    pub genesis: BlockHash,
    /// Blocks without children, sorted by hash.
    pub tips: Vec<BlockHash>,
    /// The tip with the highest (blue work, hash): the virtual's selected parent.
    pub sink: BlockHash,
    /// Number of blocks in the DAG, genesis included.
    pub block_count: u64,
}

/// Reads the DAG-wide state.
pub trait DagStateStoreReader {
    /// The state, or `None` for an empty store.
    fn get_dag_state(&self) -> Result<Option<DagState>, StoreError>;
}

/// Writes the DAG-wide state.
pub trait DagStateStoreWriter {
    /// Replaces the state.
    fn set_dag_state(&mut self, state: &DagState) -> Result<(), StoreError>;
}

/// Everything the consensus engine reads.
pub trait ConsensusStoreReader:
    GhostdagStoreReader
    + RelationsStoreReader
    + WorkStoreReader
    + ReachabilityStoreReader
    + DagStateStoreReader
{
}

impl<T> ConsensusStoreReader for T where
    T: GhostdagStoreReader
        + RelationsStoreReader
        + WorkStoreReader
        + ReachabilityStoreReader
        + DagStateStoreReader
{
}

/// Everything a [`BlockConsensusDiff`](crate::BlockConsensusDiff) writes. Implement it on a
/// batch-staging type to persist a block atomically together with other stores' writes.
pub trait ConsensusStoreWriter:
    GhostdagStoreWriter
    + RelationsStoreWriter
    + WorkStoreWriter
    + ReachabilityStoreWriter
    + DagStateStoreWriter
{
}

impl<T> ConsensusStoreWriter for T where
    T: GhostdagStoreWriter
        + RelationsStoreWriter
        + WorkStoreWriter
        + ReachabilityStoreWriter
        + DagStateStoreWriter
{
}

/// A store the [`Dag`](crate::Dag) façade can run on: it reads everything and commits one
/// block's diff atomically.
pub trait ConsensusStore: ConsensusStoreReader {
    /// Persists every write of `diff` atomically (all or nothing).
    fn commit(&mut self, diff: &crate::BlockConsensusDiff) -> Result<(), StoreError>;
}

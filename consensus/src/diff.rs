//! Everything one block changes in the consensus stores, to be written atomically.

use crate::{
    errors::StoreError,
    ghostdag::GhostdagData,
    reachability::ReachabilityData,
    stores::{ConsensusStoreWriter, DagState},
    types::{BlockHash, BlockHashes, BlueWork},
};
use std::sync::Arc;

/// The writes of one block: computed by [`Dag::prepare_block`](crate::Dag::prepare_block)
/// from the stores as they are, and persisted in one batch by
/// [`write_into`](Self::write_into) (or [`ConsensusStore::commit`](crate::ConsensusStore)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockConsensusDiff {
    /// The new block.
    pub hash: BlockHash,
    /// Its parents, as in its header (empty for genesis).
    pub parents: BlockHashes,
    /// The work it carries.
    pub work: BlueWork,
    /// Its GHOSTDAG data.
    pub ghostdag: Arc<GhostdagData>,
    /// New and changed reachability records (the new block's, its tree parent's, the
    /// covering sets it joined, and any reindexed intervals).
    pub reachability: Vec<(BlockHash, ReachabilityData)>,
    /// The new reindex root, if it moved.
    pub reindex_root: Option<BlockHash>,
    /// The DAG-wide state after the block (tips, sink, block count).
    pub dag_state: DagState,
}

impl BlockConsensusDiff {
    /// Stages every write of the diff into `writer`. For an atomic commit, `writer` should be
    /// a batch that is written to disk once, after this returns `Ok`.
    pub fn write_into<W: ConsensusStoreWriter + ?Sized>(
        &self,
        writer: &mut W,
    ) -> Result<(), StoreError> {
        writer.insert_relations(self.hash, self.parents.clone())?;
        writer.insert_work(self.hash, self.work)?;
        writer.insert_ghostdag(self.hash, self.ghostdag.clone())?;
        for (hash, data) in &self.reachability {
            writer.put_reachability(*hash, data)?;
        }
        if let Some(root) = self.reindex_root {
            writer.set_reindex_root(root)?;
        }
        writer.set_dag_state(&self.dag_state)?;
        Ok(())
    }
}

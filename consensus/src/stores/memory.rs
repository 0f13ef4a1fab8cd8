//! In-memory stores: for tests, the replay tool, benchmarks, and as the reference the
//! RocksDB stores must agree with.

use super::{
    ConsensusStore, DagState, DagStateStoreReader, DagStateStoreWriter, GhostdagStoreReader,
    GhostdagStoreWriter, ReachabilityStoreReader, ReachabilityStoreWriter, RelationsStoreReader,
    RelationsStoreWriter, WorkStoreReader, WorkStoreWriter,
};
use crate::{
    diff::BlockConsensusDiff,
    errors::StoreError,
    ghostdag::GhostdagData,
    reachability::{Interval, ReachabilityData, ReachabilityStore},
    types::{BlockHash, BlockHashMap, BlockHashes, BlueWork, ZERO_HASH},
};
use std::sync::Arc;

fn not_found(store: &'static str, hash: BlockHash) -> StoreError {
    StoreError::NotFound { store, hash }
}

/// In-memory reachability index. Intervals are also kept in a compact map of their own:
/// ancestry queries read little else, and a small entry size keeps them cache-friendly.
#[derive(Clone, Debug, Default)]
pub struct MemoryReachabilityStore {
    records: BlockHashMap<ReachabilityData>,
    intervals: BlockHashMap<Interval>,
    reindex_root: Option<BlockHash>,
}

impl MemoryReachabilityStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of blocks indexed.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no block is indexed.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn record(&self, hash: BlockHash) -> Result<&ReachabilityData, StoreError> {
        self.records.get(&hash).ok_or_else(|| not_found("reachability", hash))
    }

    fn record_mut(&mut self, hash: BlockHash) -> Result<&mut ReachabilityData, StoreError> {
        self.records.get_mut(&hash).ok_or_else(|| not_found("reachability", hash))
    }
}

impl ReachabilityStoreReader for MemoryReachabilityStore {
    fn get_reachability(&self, hash: BlockHash) -> Result<ReachabilityData, StoreError> {
        self.record(hash).cloned()
    }
    fn has_reachability(&self, hash: BlockHash) -> Result<bool, StoreError> {
        Ok(self.records.contains_key(&hash))
    }
    fn get_reindex_root(&self) -> Result<BlockHash, StoreError> {
        self.reindex_root.ok_or_else(|| not_found("reindex root", ZERO_HASH))
    }
    fn get_interval(&self, hash: BlockHash) -> Result<Interval, StoreError> {
        self.intervals.get(&hash).copied().ok_or_else(|| not_found("reachability", hash))
    }
    fn get_tree_parent(&self, hash: BlockHash) -> Result<BlockHash, StoreError> {
        Ok(self.record(hash)?.parent)
    }
    fn get_height(&self, hash: BlockHash) -> Result<u64, StoreError> {
        Ok(self.record(hash)?.height)
    }
    fn get_tree_children(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        Ok(self.record(hash)?.children.clone())
    }
    fn get_future_covering_set(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        Ok(self.record(hash)?.future_covering_set.clone())
    }
}

impl ReachabilityStoreWriter for MemoryReachabilityStore {
    fn put_reachability(
        &mut self,
        hash: BlockHash,
        data: &ReachabilityData,
    ) -> Result<(), StoreError> {
        self.intervals.insert(hash, data.interval);
        self.records.insert(hash, data.clone());
        Ok(())
    }
    fn set_reindex_root(&mut self, root: BlockHash) -> Result<(), StoreError> {
        self.reindex_root = Some(root);
        Ok(())
    }
}

impl ReachabilityStore for MemoryReachabilityStore {
    fn insert_tree_block(
        &mut self,
        hash: BlockHash,
        parent: BlockHash,
        interval: Interval,
        height: u64,
    ) -> Result<(), StoreError> {
        if parent != ZERO_HASH {
            Arc::make_mut(&mut self.record_mut(parent)?.children).push(hash);
        }
        let data = ReachabilityData {
            parent,
            interval,
            height,
            children: BlockHashes::default(),
            future_covering_set: BlockHashes::default(),
        };
        self.records.insert(hash, data);
        self.intervals.insert(hash, interval);
        Ok(())
    }
    fn set_interval(&mut self, hash: BlockHash, interval: Interval) -> Result<(), StoreError> {
        self.record_mut(hash)?.interval = interval;
        self.intervals.insert(hash, interval);
        Ok(())
    }
    fn insert_future_covering_item(
        &mut self,
        hash: BlockHash,
        item: BlockHash,
        index: usize,
    ) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.record_mut(hash)?.future_covering_set).insert(index, item);
        Ok(())
    }
    fn update_reindex_root(&mut self, root: BlockHash) -> Result<(), StoreError> {
        self.reindex_root = Some(root);
        Ok(())
    }
}

/// Every consensus store, in memory.
#[derive(Clone, Debug, Default)]
pub struct MemoryConsensusStore {
    ghostdag: BlockHashMap<Arc<GhostdagData>>,
    parents: BlockHashMap<BlockHashes>,
    children: BlockHashMap<BlockHashes>,
    work: BlockHashMap<BlueWork>,
    reachability: MemoryReachabilityStore,
    dag_state: Option<DagState>,
}

impl MemoryConsensusStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The reachability part, e.g. to compare it with another implementation.
    pub fn reachability(&self) -> &MemoryReachabilityStore {
        &self.reachability
    }
}

impl GhostdagStoreReader for MemoryConsensusStore {
    fn get_ghostdag(&self, hash: BlockHash) -> Result<Arc<GhostdagData>, StoreError> {
        self.ghostdag.get(&hash).cloned().ok_or_else(|| not_found("ghostdag", hash))
    }
    fn has_ghostdag(&self, hash: BlockHash) -> Result<bool, StoreError> {
        Ok(self.ghostdag.contains_key(&hash))
    }
    fn get_blue_work(&self, hash: BlockHash) -> Result<BlueWork, StoreError> {
        self.ghostdag.get(&hash).map(|d| d.blue_work).ok_or_else(|| not_found("ghostdag", hash))
    }
    fn get_blue_score(&self, hash: BlockHash) -> Result<u64, StoreError> {
        self.ghostdag.get(&hash).map(|d| d.blue_score).ok_or_else(|| not_found("ghostdag", hash))
    }
    fn get_selected_parent(&self, hash: BlockHash) -> Result<BlockHash, StoreError> {
        self.ghostdag
            .get(&hash)
            .map(|d| d.selected_parent)
            .ok_or_else(|| not_found("ghostdag", hash))
    }
}

impl GhostdagStoreWriter for MemoryConsensusStore {
    fn insert_ghostdag(
        &mut self,
        hash: BlockHash,
        data: Arc<GhostdagData>,
    ) -> Result<(), StoreError> {
        self.ghostdag.insert(hash, data);
        Ok(())
    }
}

impl RelationsStoreReader for MemoryConsensusStore {
    fn get_parents(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        self.parents.get(&hash).cloned().ok_or_else(|| not_found("relations", hash))
    }
    fn get_children(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        self.children.get(&hash).cloned().ok_or_else(|| not_found("relations", hash))
    }
    fn has_block(&self, hash: BlockHash) -> Result<bool, StoreError> {
        Ok(self.parents.contains_key(&hash))
    }
}

impl RelationsStoreWriter for MemoryConsensusStore {
    fn insert_relations(
        &mut self,
        hash: BlockHash,
        parents: BlockHashes,
    ) -> Result<(), StoreError> {
        for parent in parents.iter() {
            Arc::make_mut(self.children.entry(*parent).or_default()).push(hash);
        }
        self.parents.insert(hash, parents);
        self.children.entry(hash).or_default();
        Ok(())
    }
}

impl WorkStoreReader for MemoryConsensusStore {
    fn get_work(&self, hash: BlockHash) -> Result<BlueWork, StoreError> {
        self.work.get(&hash).copied().ok_or_else(|| not_found("work", hash))
    }
}

impl WorkStoreWriter for MemoryConsensusStore {
    fn insert_work(&mut self, hash: BlockHash, work: BlueWork) -> Result<(), StoreError> {
        self.work.insert(hash, work);
        Ok(())
    }
}

impl ReachabilityStoreReader for MemoryConsensusStore {
    fn get_reachability(&self, hash: BlockHash) -> Result<ReachabilityData, StoreError> {
        self.reachability.get_reachability(hash)
    }
    fn has_reachability(&self, hash: BlockHash) -> Result<bool, StoreError> {
        self.reachability.has_reachability(hash)
    }
    fn get_reindex_root(&self) -> Result<BlockHash, StoreError> {
        self.reachability.get_reindex_root()
    }
    fn get_interval(&self, hash: BlockHash) -> Result<Interval, StoreError> {
        self.reachability.get_interval(hash)
    }
    fn get_tree_parent(&self, hash: BlockHash) -> Result<BlockHash, StoreError> {
        self.reachability.get_tree_parent(hash)
    }
    fn get_height(&self, hash: BlockHash) -> Result<u64, StoreError> {
        self.reachability.get_height(hash)
    }
    fn get_tree_children(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        self.reachability.get_tree_children(hash)
    }
    fn get_future_covering_set(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        self.reachability.get_future_covering_set(hash)
    }
}

impl ReachabilityStoreWriter for MemoryConsensusStore {
    fn put_reachability(
        &mut self,
        hash: BlockHash,
        data: &ReachabilityData,
    ) -> Result<(), StoreError> {
        self.reachability.put_reachability(hash, data)
    }
    fn set_reindex_root(&mut self, root: BlockHash) -> Result<(), StoreError> {
        self.reachability.set_reindex_root(root)
    }
}

impl DagStateStoreReader for MemoryConsensusStore {
    fn get_dag_state(&self) -> Result<Option<DagState>, StoreError> {
        Ok(self.dag_state.clone())
    }
}

impl DagStateStoreWriter for MemoryConsensusStore {
    fn set_dag_state(&mut self, state: &DagState) -> Result<(), StoreError> {
        self.dag_state = Some(state.clone());
        Ok(())
    }
}

impl ConsensusStore for MemoryConsensusStore {
    /// In-memory writes cannot fail, so applying the diff is atomic.
    fn commit(&mut self, diff: &BlockConsensusDiff) -> Result<(), StoreError> {
        diff.write_into(self)
    }
}

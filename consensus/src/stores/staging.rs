//! A copy-on-write overlay over a reachability reader: collects one block's changes.

use crate::{
    errors::StoreError,
    reachability::{Interval, ReachabilityData, ReachabilityStore},
    stores::ReachabilityStoreReader,
    types::{BlockHash, BlockHashMap, BlockHashes, ZERO_HASH},
};
use std::sync::Arc;

/// Reads through to `base`, keeps every write in memory. [`into_changes`](Self::into_changes)
/// yields the changed records, to be written in one batch.
#[derive(Debug)]
pub struct ReachabilityStaging<'a, R: ?Sized> {
    base: &'a R,
    changed: BlockHashMap<ReachabilityData>,
    /// Changed keys in first-write order, so that the diff is deterministic.
    order: Vec<BlockHash>,
    reindex_root: Option<BlockHash>,
}

/// The changes a [`ReachabilityStaging`] collected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReachabilityChanges {
    /// New or modified records, in first-write order.
    pub records: Vec<(BlockHash, ReachabilityData)>,
    /// The new reindex root, if it moved.
    pub reindex_root: Option<BlockHash>,
}

impl<'a, R: ReachabilityStoreReader + ?Sized> ReachabilityStaging<'a, R> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a R) -> Self {
        Self { base, changed: BlockHashMap::default(), order: Vec::new(), reindex_root: None }
    }

    /// The collected changes.
    pub fn into_changes(mut self) -> ReachabilityChanges {
        let records = self
            .order
            .iter()
            .map(|h| (*h, self.changed.remove(h).expect("every ordered key has a record")))
            .collect();
        ReachabilityChanges { records, reindex_root: self.reindex_root }
    }

    fn entry(&mut self, hash: BlockHash) -> Result<&mut ReachabilityData, StoreError> {
        if !self.changed.contains_key(&hash) {
            let data = self.base.get_reachability(hash)?;
            self.changed.insert(hash, data);
            self.order.push(hash);
        }
        Ok(self.changed.get_mut(&hash).expect("inserted above"))
    }
}

impl<R: ReachabilityStoreReader + ?Sized> ReachabilityStoreReader for ReachabilityStaging<'_, R> {
    fn get_reachability(&self, hash: BlockHash) -> Result<ReachabilityData, StoreError> {
        match self.changed.get(&hash) {
            Some(data) => Ok(data.clone()),
            None => self.base.get_reachability(hash),
        }
    }

    fn has_reachability(&self, hash: BlockHash) -> Result<bool, StoreError> {
        Ok(self.changed.contains_key(&hash) || self.base.has_reachability(hash)?)
    }

    fn get_reindex_root(&self) -> Result<BlockHash, StoreError> {
        match self.reindex_root {
            Some(root) => Ok(root),
            None => self.base.get_reindex_root(),
        }
    }

    fn get_interval(&self, hash: BlockHash) -> Result<Interval, StoreError> {
        match self.changed.get(&hash) {
            Some(data) => Ok(data.interval),
            None => self.base.get_interval(hash),
        }
    }

    fn get_tree_parent(&self, hash: BlockHash) -> Result<BlockHash, StoreError> {
        match self.changed.get(&hash) {
            Some(data) => Ok(data.parent),
            None => self.base.get_tree_parent(hash),
        }
    }

    fn get_height(&self, hash: BlockHash) -> Result<u64, StoreError> {
        match self.changed.get(&hash) {
            Some(data) => Ok(data.height),
            None => self.base.get_height(hash),
        }
    }

    fn get_tree_children(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        match self.changed.get(&hash) {
            Some(data) => Ok(data.children.clone()),
            None => self.base.get_tree_children(hash),
        }
    }

    fn get_future_covering_set(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        match self.changed.get(&hash) {
            Some(data) => Ok(data.future_covering_set.clone()),
            None => self.base.get_future_covering_set(hash),
        }
    }
}

impl<R: ReachabilityStoreReader + ?Sized> ReachabilityStore for ReachabilityStaging<'_, R> {
    fn insert_tree_block(
        &mut self,
        hash: BlockHash,
        parent: BlockHash,
        interval: Interval,
        height: u64,
    ) -> Result<(), StoreError> {
        if parent != ZERO_HASH {
            Arc::make_mut(&mut self.entry(parent)?.children).push(hash);
        }
        let data = ReachabilityData {
            parent,
            interval,
            height,
            children: BlockHashes::default(),
            future_covering_set: BlockHashes::default(),
        };
        if self.changed.insert(hash, data).is_none() {
            self.order.push(hash);
        }
        Ok(())
    }

    fn set_interval(&mut self, hash: BlockHash, interval: Interval) -> Result<(), StoreError> {
        self.entry(hash)?.interval = interval;
        Ok(())
    }

    fn insert_future_covering_item(
        &mut self,
        hash: BlockHash,
        item: BlockHash,
        index: usize,
    ) -> Result<(), StoreError> {
        Arc::make_mut(&mut self.entry(hash)?.future_covering_set).insert(index, item);
        Ok(())
    }

    fn update_reindex_root(&mut self, root: BlockHash) -> Result<(), StoreError> {
        self.reindex_root = Some(root);
        Ok(())
    }
}

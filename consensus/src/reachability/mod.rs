//! The reachability index: answers "is A in the past of B" without walking the DAG.
//!
//! Two structures, as in Kaspa:
//! - an **interval tree** over the selected-parent tree: every block owns an interval that
//!   contains the intervals of its tree descendants, so "A is a chain ancestor of B" is an
//!   interval containment test. A new block takes half of the room left after its parent's
//!   last child; when no room is left the intervals of a subtree are **reindexed** (spread
//!   again according to subtree sizes). A *reindex root* that follows the selected tip at a
//!   fixed depth bounds that work: below it intervals are concentrated on the selected chain,
//!   with some slack kept beside each chain block for late blocks in the old part of the DAG.
//! - **future covering sets**: when a block B merges a block M (M in B's mergeset, not its
//!   selected parent), B is recorded in M's future covering set, kept sorted by interval.
//!   A is a DAG ancestor of B iff A is a chain ancestor of B or some block of A's covering
//!   set is; a binary search finds the only candidate. Queries cost O(log |set|).
//!
//! The index only has to answer ancestry exactly; how intervals are laid out is free. Ours
//! follows Kaspa's design with tuning changes for wide DAGs and unstable chains: a reindex
//! aims for ample spare room rather than any room (also when a branch off the reindex
//! root's chain reclaims room), and layouts leave slack for every child and at both ends.
//!
//! The functions are generic over [`ReachabilityStore`]; the engine runs them on a
//! [`ReachabilityStaging`](crate::stores::ReachabilityStaging) overlay so that one block's
//! changes (including a reindex) form one diff.

mod inquirer;
mod interval;
mod reindex;
mod tree;

pub use inquirer::{
    is_chain_ancestor_of, is_dag_ancestor_of, is_dag_ancestor_of_interval,
    is_strict_chain_ancestor_of, next_chain_ancestor,
};
pub use interval::Interval;
pub use tree::{add_block, hint_virtual_selected_parent, init, init_with_interval};

use crate::{
    errors::StoreError,
    stores::ReachabilityStoreReader,
    types::{BlockHash, BlockHashes},
};
use serde::{Deserialize, Serialize};

/// Default distance, in selected-chain blocks, between the selected tip and the reindex root.
pub const DEFAULT_REINDEX_DEPTH: u64 = 100;
/// Default room kept free beside each selected-chain block below the reindex root.
pub const DEFAULT_REINDEX_SLACK: u64 = 1 << 12;

/// Tuning of the interval tree. These do not affect consensus results, only where and how
/// often reindexing happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReachabilityParams {
    /// Selected-chain distance between the hinted tip and the reindex root.
    pub reindex_depth: u64,
    /// Free room kept beside chain blocks below the reindex root.
    pub reindex_slack: u64,
}

impl Default for ReachabilityParams {
    fn default() -> Self {
        Self { reindex_depth: DEFAULT_REINDEX_DEPTH, reindex_slack: DEFAULT_REINDEX_SLACK }
    }
}

/// The reachability record of one block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReachabilityData {
    /// Parent in the selected-parent tree (the selected parent; zero for the root).
    pub parent: BlockHash,
    /// Interval in the tree.
    pub interval: Interval,
    /// Depth in the tree (the root is 0).
    pub height: u64,
    /// Tree children, in interval order.
    pub children: BlockHashes,
    /// Future covering set: blocks that merged this one, in interval order, none a chain
    /// ancestor of another.
    pub future_covering_set: BlockHashes,
}

/// Mutations the reachability algorithms perform. Implemented by the in-memory store and by
/// the staging overlay the engine uses.
pub trait ReachabilityStore: ReachabilityStoreReader {
    /// Creates the record of a new block and appends it to its tree parent's children (unless
    /// `parent` is zero, for the root).
    fn insert_tree_block(
        &mut self,
        hash: BlockHash,
        parent: BlockHash,
        interval: Interval,
        height: u64,
    ) -> Result<(), StoreError>;
    /// Replaces a block's interval.
    fn set_interval(&mut self, hash: BlockHash, interval: Interval) -> Result<(), StoreError>;
    /// Inserts `item` at position `index` of `hash`'s future covering set.
    fn insert_future_covering_item(
        &mut self,
        hash: BlockHash,
        item: BlockHash,
        index: usize,
    ) -> Result<(), StoreError>;
    /// Replaces the reindex root.
    fn update_reindex_root(&mut self, root: BlockHash) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests;

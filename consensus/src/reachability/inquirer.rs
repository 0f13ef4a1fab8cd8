//! Read-only reachability queries.

use super::Interval;
use crate::{
    errors::{ReachabilityError, StoreError},
    stores::ReachabilityStoreReader,
    types::BlockHash,
};

/// Whether `this` is on the selected-parent chain of `queried`, or is `queried` itself
/// (a block is its own ancestor, as in graph theory).
pub fn is_chain_ancestor_of<S: ReachabilityStoreReader + ?Sized>(
    store: &S,
    this: BlockHash,
    queried: BlockHash,
) -> Result<bool, StoreError> {
    Ok(store.get_interval(this)?.contains(store.get_interval(queried)?))
}

/// Whether `this` is on the selected-parent chain of `queried`, `queried` excluded.
pub fn is_strict_chain_ancestor_of<S: ReachabilityStoreReader + ?Sized>(
    store: &S,
    this: BlockHash,
    queried: BlockHash,
) -> Result<bool, StoreError> {
    Ok(store.get_interval(this)?.strictly_contains(store.get_interval(queried)?))
}

/// Whether `this` is in the past of `queried`, or is `queried` itself.
/// Costs two interval reads and a binary search over `this`'s future covering set.
pub fn is_dag_ancestor_of<S: ReachabilityStoreReader + ?Sized>(
    store: &S,
    this: BlockHash,
    queried: BlockHash,
) -> Result<bool, StoreError> {
    is_dag_ancestor_of_interval(store, this, store.get_interval(queried)?)
}

/// [`is_dag_ancestor_of`] with the queried block given by its interval, for callers that
/// test many blocks against the same one.
pub fn is_dag_ancestor_of_interval<S: ReachabilityStoreReader + ?Sized>(
    store: &S,
    this: BlockHash,
    queried: Interval,
) -> Result<bool, StoreError> {
    if store.get_interval(this)?.contains(queried) {
        return Ok(true);
    }
    let covering = store.get_future_covering_set(this)?;
    Ok(matches!(search_covering(store, &covering, queried)?, Search::Found(_)))
}

/// The tree child of `ancestor` that is a chain ancestor of (or equal to) `descendant`.
/// Errors if `ancestor` is not a strict chain ancestor of `descendant`.
pub fn next_chain_ancestor<S: ReachabilityStoreReader + ?Sized>(
    store: &S,
    descendant: BlockHash,
    ancestor: BlockHash,
) -> Result<BlockHash, ReachabilityError> {
    let children = store.get_tree_children(ancestor)?;
    match search_covering(store, &children, store.get_interval(descendant)?)? {
        Search::Found(i) => Ok(children[i]),
        Search::NotFound(_) => Err(ReachabilityError::Inconsistent(format!(
            "{ancestor} is not a strict chain ancestor of {descendant}"
        ))),
    }
}

/// Result of searching an interval-ordered list of blocks with disjoint intervals.
pub(super) enum Search {
    /// The block at this index contains the target.
    Found(usize),
    /// No block contains the target; this is where a block at the target would be inserted.
    NotFound(usize),
}

/// Finds the block of `ordered` (sorted by interval, pairwise disjoint) whose interval
/// contains `target`. Since tree intervals are nested or disjoint, the only candidate is the
/// last block starting at or before `target.end`.
pub(super) fn search_covering<S: ReachabilityStoreReader + ?Sized>(
    store: &S,
    ordered: &[BlockHash],
    target: Interval,
) -> Result<Search, StoreError> {
    let (mut lo, mut hi) = (0usize, ordered.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if store.get_interval(ordered[mid])?.start <= target.end {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if lo > 0 && store.get_interval(ordered[lo - 1])?.contains(target) {
        Ok(Search::Found(lo - 1))
    } else {
        Ok(Search::NotFound(lo))
    }
}

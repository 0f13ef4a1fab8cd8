//! The mergeset: blocks in the past of a new block but not in the past of its selected parent.

use crate::{
    errors::StoreError,
    reachability::is_dag_ancestor_of_interval,
    stores::{GhostdagStoreReader, ReachabilityStoreReader, RelationsStoreReader},
    types::{BlockHash, BlockHashSet, SortableBlock},
};
use std::collections::VecDeque;

/// The mergeset of a block with these `parents`, without `selected_parent`, unordered.
///
/// Breadth-first from the other parents through the parent relation, stopping at blocks in
/// the past of the selected parent (one reachability query each, answers cached). The
/// parents are expected to be an antichain, so none of them is in the selected parent's past.
pub fn mergeset_without_selected_parent<S>(
    store: &S,
    selected_parent: BlockHash,
    parents: &[BlockHash],
) -> Result<Vec<BlockHash>, StoreError>
where
    S: RelationsStoreReader + ReachabilityStoreReader + ?Sized,
{
    Ok(bounded_mergeset(store, selected_parent, parents, usize::MAX)?
        .expect("an unbounded walk never stops at its bound"))
}

/// Like [`mergeset_without_selected_parent`], but stops as soon as the mergeset holds more
/// than `max` blocks and answers `None`: a block naming an arbitrarily old side branch costs
/// at most `max` steps, not a walk of that whole branch.
pub fn bounded_mergeset<S>(
    store: &S,
    selected_parent: BlockHash,
    parents: &[BlockHash],
    max: usize,
) -> Result<Option<Vec<BlockHash>>, StoreError>
where
    S: RelationsStoreReader + ReachabilityStoreReader + ?Sized,
{
    let mut queue: VecDeque<BlockHash> =
        parents.iter().copied().filter(|p| *p != selected_parent).collect();
    let mut mergeset: Vec<BlockHash> = queue.iter().copied().collect();
    let mut seen: BlockHashSet = queue.iter().copied().collect();
    let mut in_selected_parent_past = BlockHashSet::default();
    let selected_parent_interval = store.get_interval(selected_parent)?;
    while let Some(current) = queue.pop_front() {
        for &parent in store.get_parents(current)?.iter() {
            if seen.contains(&parent) || in_selected_parent_past.contains(&parent) {
                continue;
            }
            if is_dag_ancestor_of_interval(store, parent, selected_parent_interval)? {
                in_selected_parent_past.insert(parent);
                continue;
            }
            seen.insert(parent);
            mergeset.push(parent);
            if mergeset.len() > max {
                return Ok(None);
            }
            queue.push_back(parent);
        }
    }
    Ok((mergeset.len() <= max).then_some(mergeset))
}

/// Sorts blocks ascending by (blue work, hash).
pub fn sort_blocks<S: GhostdagStoreReader + ?Sized>(
    store: &S,
    blocks: impl IntoIterator<Item = BlockHash>,
) -> Result<Vec<BlockHash>, StoreError> {
    let mut sortable = blocks
        .into_iter()
        .map(|hash| Ok(SortableBlock::new(hash, store.get_blue_work(hash)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    sortable.sort_unstable();
    Ok(sortable.into_iter().map(|b| b.hash).collect())
}

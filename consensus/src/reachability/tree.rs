//! Inserting blocks into the index and moving the reindex root.

use super::{
    inquirer::{is_chain_ancestor_of, next_chain_ancestor, search_covering, Search},
    reindex::ReindexContext,
    Interval, ReachabilityParams, ReachabilityStore,
};
use crate::{
    errors::ReachabilityError,
    types::{BlockHash, ZERO_HASH},
};

/// Makes `root` (genesis) the root of an empty index, owning the whole interval space.
pub fn init<S: ReachabilityStore + ?Sized>(
    store: &mut S,
    root: BlockHash,
) -> Result<(), ReachabilityError> {
    init_with_interval(store, root, Interval::maximal())
}

/// [`init`] with a smaller interval space (tests use it to force reindexing).
pub fn init_with_interval<S: ReachabilityStore + ?Sized>(
    store: &mut S,
    root: BlockHash,
    interval: Interval,
) -> Result<(), ReachabilityError> {
    store.insert_tree_block(root, ZERO_HASH, interval, 0)?;
    store.update_reindex_root(root)?;
    Ok(())
}

/// Adds `new_block` under its `selected_parent`, records it in the future covering set of
/// every other block of its mergeset, and, when `hint` is given (the new selected tip), lets
/// the reindex root follow it.
pub fn add_block<S: ReachabilityStore + ?Sized>(
    store: &mut S,
    params: &ReachabilityParams,
    new_block: BlockHash,
    selected_parent: BlockHash,
    mergeset_without_selected_parent: impl IntoIterator<Item = BlockHash>,
    hint: Option<BlockHash>,
) -> Result<(), ReachabilityError> {
    add_tree_block(store, params, new_block, selected_parent)?;
    for merged in mergeset_without_selected_parent {
        insert_future_covering_item(store, merged, new_block)?;
    }
    if let Some(hint) = hint {
        hint_virtual_selected_parent(store, params, hint)?;
    }
    Ok(())
}

fn add_tree_block<S: ReachabilityStore + ?Sized>(
    store: &mut S,
    params: &ReachabilityParams,
    new_block: BlockHash,
    parent: BlockHash,
) -> Result<(), ReachabilityError> {
    let remaining = remaining_after(store, parent)?;
    let height = store.get_height(parent)? + 1;
    if remaining.is_empty() {
        // No room: enter with an empty interval at the very end of the parent's capacity
        // (after every sibling; the reindex relies on that position), then make room.
        store.insert_tree_block(new_block, parent, remaining, height)?;
        let root = store.get_reindex_root()?;
        ReindexContext::new(store, params).reindex_intervals(new_block, root)?;
    } else {
        store.insert_tree_block(new_block, parent, remaining.left_half(), height)?;
    }
    Ok(())
}

fn insert_future_covering_item<S: ReachabilityStore + ?Sized>(
    store: &mut S,
    merged: BlockHash,
    new_block: BlockHash,
) -> Result<(), ReachabilityError> {
    let covering = store.get_future_covering_set(merged)?;
    match search_covering(store, &covering, store.get_interval(new_block)?)? {
        // A covering block that is a chain ancestor of the new block would put `merged` in
        // the past of the new block's selected parent, i.e. not in its mergeset.
        Search::Found(i) => Err(ReachabilityError::Inconsistent(format!(
            "{new_block} merges {merged}, yet {} already covers it",
            covering[i]
        ))),
        Search::NotFound(i) => Ok(store.insert_future_covering_item(merged, new_block, i)?),
    }
}

/// The unused room of `block`'s capacity after its last child.
pub(super) fn remaining_after<S: ReachabilityStore + ?Sized>(
    store: &S,
    block: BlockHash,
) -> Result<Interval, ReachabilityError> {
    let capacity = store.get_interval(block)?.capacity();
    let children = store.get_tree_children(block)?;
    Ok(match children.last() {
        Some(&last) => Interval::new(store.get_interval(last)?.end + 1, capacity.end),
        None => capacity,
    })
}

/// The unused room of `block`'s capacity before its first child.
pub(super) fn remaining_before<S: ReachabilityStore + ?Sized>(
    store: &S,
    block: BlockHash,
) -> Result<Interval, ReachabilityError> {
    let capacity = store.get_interval(block)?.capacity();
    let children = store.get_tree_children(block)?;
    Ok(match children.first() {
        Some(&first) => Interval::new(capacity.start, store.get_interval(first)?.start - 1),
        None => capacity,
    })
}

/// Tells the index that `hint` is the new selected tip; the reindex root moves along the
/// selected chain to stay `reindex_depth` blocks behind it.
pub fn hint_virtual_selected_parent<S: ReachabilityStore + ?Sized>(
    store: &mut S,
    params: &ReachabilityParams,
    hint: BlockHash,
) -> Result<(), ReachabilityError> {
    let current = store.get_reindex_root()?;
    let (mut ancestor, next) = find_next_reindex_root(store, params, current, hint)?;
    if next == current {
        return Ok(());
    }
    // Concentrate the intervals along the chain from the common ancestor to the new root.
    while ancestor != next {
        let child = next_chain_ancestor(store, next, ancestor)?;
        ReindexContext::new(store, params).concentrate_interval(ancestor, child, child == next)?;
        ancestor = child;
    }
    tracing::trace!(target: "consensus::reachability", from = %current, to = %next, "reindex root moved");
    store.update_reindex_root(next)?;
    Ok(())
}

/// Returns `(ancestor, next)`: the block from which to concentrate intervals and the new
/// reindex root (both `current` when the root stays).
fn find_next_reindex_root<S: ReachabilityStore + ?Sized>(
    store: &S,
    params: &ReachabilityParams,
    current: BlockHash,
    hint: BlockHash,
) -> Result<(BlockHash, BlockHash), ReachabilityError> {
    let hint_height = store.get_height(hint)?;
    let mut ancestor = current;
    let mut next = current;
    if !is_chain_ancestor_of(store, current, hint)? {
        // The selected chain moved to another branch. Follow it only once the new tip is
        // `reindex_slack` levels above the root (as Kaspa), so that reorgs, even ones that
        // alternate at every block, do not make us concentrate back and forth; meanwhile the
        // new branch is served by the earlier-than-root path, which gives it ample room.
        let current_height = store.get_height(current)?;
        if hint_height < current_height.saturating_add(params.reindex_slack) {
            return Ok((current, current));
        }
        let common = common_tree_ancestor(store, hint, current)?;
        ancestor = common;
        next = common;
    }
    // Walk from `next` towards `hint` while staying at least `reindex_depth` behind it.
    while next != hint {
        let child = next_chain_ancestor(store, hint, next)?;
        let child_height = store.get_height(child)?;
        if hint_height < child_height {
            return Err(ReachabilityError::Inconsistent(format!(
                "chain ancestor {child} is higher than its descendant {hint}"
            )));
        }
        if hint_height - child_height < params.reindex_depth {
            break;
        }
        next = child;
    }
    Ok((ancestor, next))
}

/// The deepest block that is a chain ancestor of both `block` and `other`. Walks up from
/// `block`, which is expected to be the closer one.
fn common_tree_ancestor<S: ReachabilityStore + ?Sized>(
    store: &S,
    block: BlockHash,
    other: BlockHash,
) -> Result<BlockHash, ReachabilityError> {
    let mut current = block;
    loop {
        if is_chain_ancestor_of(store, current, other)? {
            return Ok(current);
        }
        current = store.get_tree_parent(current)?;
        if current == ZERO_HASH {
            return Err(ReachabilityError::Inconsistent(format!(
                "{block} and {other} have no common tree ancestor"
            )));
        }
    }
}

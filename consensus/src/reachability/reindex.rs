//! Reindexing: giving a subtree new intervals when a block finds no room.
//!
//! - Inside the reindex root's subtree, walk up from the new block to the first ancestor
//!   whose interval holds its whole subtree with ample room to spare (2^32 points, or the
//!   root), and spread that interval over the subtree again: each child gets its subtree
//!   size plus some slack, the rest goes mostly to the largest subtree, and slack stays free
//!   at both ends of every capacity. (Kaspa stops at the first ancestor with *any* room; in
//!   a wide DAG that relays out subtrees on most blocks, as every tip's interval stays tight.
//!   Aiming for ample room made reindexing ~25x rarer in the benchmark.)
//! - Outside it (a late block in the old part of the DAG, or a branch the selected chain
//!   moved to but the root has not followed yet), take room from the slack kept beside the
//!   selected-chain blocks between the branching point and the root, and only if that is
//!   not enough, shrink the root's interval itself. The room taken is ample, so that the
//!   branch then grows with local reindexes only.
//! - When the root moves, the chain from the old root to the new one is *concentrated*:
//!   siblings of the chain get exactly their subtree size plus slack, and the chain block
//!   gets everything else.

use super::{
    inquirer::{is_strict_chain_ancestor_of, next_chain_ancestor},
    tree::{remaining_after, remaining_before},
    Interval, ReachabilityParams, ReachabilityStore,
};
use crate::{
    errors::ReachabilityError,
    types::{BlockHash, BlockHashMap, BlockHashes, ZERO_HASH},
};

/// Which side of the chain blocks room is taken from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// The block needing room lies before the chain (smaller intervals).
    Before,
    /// The block needing room lies after the chain (larger intervals).
    After,
}

/// Spare room (in points) a reindex climbs to: halving the room at every new tree level,
/// 2^32 points last for dozens of levels, so the next reindex is far away.
const AMPLE_SPARE: u64 = 1 << 32;

/// Room a branch off the reindex root's chain reclaims at once. Well above `AMPLE_SPARE`:
/// the blocks laid out with it keep more than `AMPLE_SPARE` spare for a long time, so the
/// branch's later reindexes stop near its tip instead of relaying out the whole branch.
const RECLAIM_GRANT: u64 = 1 << 34;

fn overflow(msg: String) -> ReachabilityError {
    ReachabilityError::Overflow(msg)
}

/// One reindex operation: the store plus a cache of subtree sizes (the tree's shape does not
/// change during the operation, only intervals).
pub(super) struct ReindexContext<'a, S: ?Sized> {
    store: &'a mut S,
    subtree_sizes: BlockHashMap<u64>,
    slack: u64,
}

impl<'a, S: ReachabilityStore + ?Sized> ReindexContext<'a, S> {
    pub(super) fn new(store: &'a mut S, params: &ReachabilityParams) -> Self {
        Self { store, subtree_sizes: BlockHashMap::default(), slack: params.reindex_slack }
    }

    /// Makes room for `new_block`, which was inserted with an empty interval.
    pub(super) fn reindex_intervals(
        &mut self,
        new_block: BlockHash,
        root: BlockHash,
    ) -> Result<(), ReachabilityError> {
        let mut current = new_block;
        loop {
            let needed = self.subtree_size(current)?;
            let interval = self.store.get_interval(current)?;
            let fits = interval.size() >= needed;
            // Relaying out a subtree with little spare room only buys a few more blocks
            // before the next reindex; climb until the spare room is ample (or the root).
            if fits && (interval.size() - needed >= AMPLE_SPARE || current == root) {
                break;
            }
            if current == root {
                return Err(overflow(format!(
                    "reindex root {root} has interval {interval}, too small for its {needed} blocks"
                )));
            }
            let parent = self.store.get_tree_parent(current)?;
            if parent == ZERO_HASH {
                if fits {
                    break;
                }
                return Err(overflow(format!(
                    "tree root {current} has interval {interval}, too small for {needed} blocks"
                )));
            }
            if is_strict_chain_ancestor_of(&*self.store, parent, root)? {
                if fits {
                    break;
                }
                // `current` hangs off the chain below the reindex root: take room from the
                // slack beside that chain. Take ample room: root moves never give room to
                // this branch, so it should be able to grow for long before coming back.
                let extra = RECLAIM_GRANT.min(self.store.get_interval(root)?.size() >> 16);
                let required = needed.saturating_add(extra);
                return self.reclaim_earlier_than_root(current, root, parent, required);
            }
            #[cfg(test)]
            counters::bump(|c| c.climb_steps += 1);
            current = parent;
        }
        tracing::trace!(
            target: "consensus::reachability",
            block = %current,
            subtree = self.subtree_sizes.get(&current).copied().unwrap_or(0),
            "reindexing subtree"
        );
        #[cfg(test)]
        counters::bump(|c| c.propagations += 1);
        self.propagate_interval(current)
    }

    /// Size of `block`'s subtree (itself included), computing and caching every subtree below
    /// it. Iterative: the tree is deep.
    fn subtree_size(&mut self, block: BlockHash) -> Result<u64, ReachabilityError> {
        if let Some(&size) = self.subtree_sizes.get(&block) {
            return Ok(size);
        }
        let mut stack: Vec<(BlockHash, Option<BlockHashes>)> = vec![(block, None)];
        while let Some((current, expanded)) = stack.pop() {
            match expanded {
                Some(children) => {
                    let mut size = 1u64;
                    for child in children.iter() {
                        size += self.cached_size(*child)?;
                    }
                    self.subtree_sizes.insert(current, size);
                }
                None => {
                    if self.subtree_sizes.contains_key(&current) {
                        continue;
                    }
                    let children = self.store.get_tree_children(current)?;
                    let pending: Vec<BlockHash> = children
                        .iter()
                        .copied()
                        .filter(|c| !self.subtree_sizes.contains_key(c))
                        .collect();
                    stack.push((current, Some(children)));
                    stack.extend(pending.into_iter().map(|c| (c, None)));
                }
            }
        }
        self.cached_size(block)
    }

    fn cached_size(&self, block: BlockHash) -> Result<u64, ReachabilityError> {
        self.subtree_sizes.get(&block).copied().ok_or_else(|| {
            ReachabilityError::Inconsistent(format!("subtree size of {block} was not computed"))
        })
    }

    /// Gives every block below `block` a new interval within `block`'s, by subtree sizes.
    fn propagate_interval(&mut self, block: BlockHash) -> Result<(), ReachabilityError> {
        self.subtree_size(block)?;
        let mut stack = vec![block];
        while let Some(current) = stack.pop() {
            let children = self.store.get_tree_children(current)?;
            if children.is_empty() {
                continue;
            }
            let sizes =
                children.iter().map(|c| self.cached_size(*c)).collect::<Result<Vec<_>, _>>()?;
            let capacity = self.store.get_interval(current)?.capacity();
            let parts = self.layout(capacity, &sizes).ok_or_else(|| {
                overflow(format!(
                    "block {current} with capacity {capacity} cannot hold subtrees of {} blocks",
                    sizes.iter().sum::<u64>()
                ))
            })?;
            for (&child, part) in children.iter().zip(parts) {
                self.store.set_interval(child, part)?;
            }
            #[cfg(test)]
            counters::bump(|c| c.relaid_blocks += children.len());
            stack.extend(children.iter().copied());
        }
        Ok(())
    }

    /// Splits `capacity` among children of subtree `sizes`. Out of the spare room, up to
    /// `slack` points stay free at both ends, then every child gets up to `slack` extra
    /// points, and what remains goes mostly to the largest subtree (exponential weights).
    /// The free ends let late children arrive without a reindex and keep the next
    /// reindex-root allocation containing the chain child's interval; the per-child extra
    /// lets the current tips (leaves) take children without a reindex.
    fn layout(&self, capacity: Interval, sizes: &[u64]) -> Option<Vec<Interval>> {
        let total = sizes.iter().try_fold(0u64, |acc, s| acc.checked_add(*s))?;
        let spare = capacity.size().checked_sub(total)?;
        let margin = self.slack.min(spare / 4);
        let count = sizes.len().max(1) as u64;
        let extra = self.slack.min((spare - 2 * margin) / (2 * count));
        let padded: Vec<u64> = sizes.iter().map(|s| s + extra).collect();
        Interval::new(capacity.start + margin, capacity.end - margin).split_exponential(&padded)
    }

    /// `alloc_block`, a child of `common` (a strict chain ancestor of the reindex root), needs
    /// `required` more points. Take them from the free room beside the chain blocks from
    /// `common` down to the root (on `alloc_block`'s side), shifting the siblings in between.
    fn reclaim_earlier_than_root(
        &mut self,
        alloc_block: BlockHash,
        root: BlockHash,
        common: BlockHash,
        required: u64,
    ) -> Result<(), ReachabilityError> {
        let chosen = next_chain_ancestor(&*self.store, root, common)?;
        let side = if self.store.get_interval(alloc_block)?.start
            < self.store.get_interval(chosen)?.start
        {
            Side::Before
        } else {
            Side::After
        };
        #[cfg(test)]
        counters::bump(|c| match side {
            Side::Before => c.reclaim_before += 1,
            Side::After => c.reclaim_after += 1,
        });

        // Walk down the chain towards the root, summing free room until it covers `required`.
        let mut slack_sum = 0u64;
        let mut path_len = 0u64;
        let mut reserve = 0u64;
        let mut current = chosen;
        loop {
            if current == root {
                // Not enough on the way: shrink the root itself, and leave fresh slack beside
                // every chain block passed.
                let offset = required
                    .checked_add(self.slack.saturating_mul(path_len))
                    .and_then(|o| o.checked_sub(slack_sum))
                    .ok_or_else(|| overflow(format!("cannot reclaim {required} points")))?;
                #[cfg(test)]
                counters::bump(|c| c.root_shrinks += 1);
                self.shrink(current, offset, side, true)?;
                self.offset_siblings(alloc_block, current, offset, side)?;
                reserve = self.slack;
                break;
            }
            let free = self.free_room(current, side)?.size();
            slack_sum = slack_sum.saturating_add(free);
            if slack_sum >= required {
                let offset = free - (slack_sum - required);
                self.shrink(current, offset, side, false)?;
                self.offset_siblings(alloc_block, current, offset, side)?;
                break;
            }
            current = next_chain_ancestor(&*self.store, root, current)?;
            path_len += 1;
        }

        // Walk back up to `common`, passing the freed room up one level at a time.
        loop {
            current = self.store.get_tree_parent(current)?;
            if current == common {
                break;
            }
            let free = self.free_room(current, side)?.size();
            let offset = free.checked_sub(reserve).ok_or_else(|| {
                ReachabilityError::Inconsistent(format!(
                    "chain block {current} has {free} free points, expected at least {reserve}"
                ))
            })?;
            self.shrink(current, offset, side, false)?;
            self.offset_siblings(alloc_block, current, offset, side)?;
        }
        Ok(())
    }

    fn free_room(&self, block: BlockHash, side: Side) -> Result<Interval, ReachabilityError> {
        match side {
            Side::Before => remaining_before(&*self.store, block),
            Side::After => remaining_after(&*self.store, block),
        }
    }

    /// Gives up `offset` points of `block`'s interval on `side`.
    fn shrink(
        &mut self,
        block: BlockHash,
        offset: u64,
        side: Side,
        propagate: bool,
    ) -> Result<(), ReachabilityError> {
        let i = self.store.get_interval(block)?;
        let shrunk = match side {
            Side::Before => {
                i.start.checked_add(offset).filter(|s| *s <= i.end + 1).map(|s| (s, i.end))
            }
            Side::After => {
                i.end.checked_sub(offset).filter(|e| *e + 1 >= i.start).map(|e| (i.start, e))
            }
        }
        .ok_or_else(|| overflow(format!("cannot take {offset} points from {block} {i}")))?;
        self.store.set_interval(block, Interval::new(shrunk.0, shrunk.1))?;
        if propagate {
            self.propagate_interval(block)?;
        }
        Ok(())
    }

    /// After `current` gave up `offset` points on `side`, move its siblings on that side by
    /// `offset` towards it, until `alloc_block`, which grows by `offset` instead.
    fn offset_siblings(
        &mut self,
        alloc_block: BlockHash,
        current: BlockHash,
        offset: u64,
        side: Side,
    ) -> Result<(), ReachabilityError> {
        let parent = self.store.get_tree_parent(current)?;
        let siblings = self.store.get_tree_children(parent)?;
        let index = siblings.iter().position(|s| *s == current).ok_or_else(|| {
            ReachabilityError::Inconsistent(format!("{current} is not a child of {parent}"))
        })?;
        let on_side: Vec<BlockHash> = match side {
            Side::Before => siblings[..index].iter().rev().copied().collect(),
            Side::After => siblings[index + 1..].to_vec(),
        };
        for sibling in on_side {
            let i = self.store.get_interval(sibling)?;
            let moved = match (side, sibling == alloc_block) {
                (Side::Before, true) => Interval::new(i.start, i.end + offset),
                (Side::Before, false) => Interval::new(i.start + offset, i.end + offset),
                (Side::After, true) => Interval::new(i.start - offset, i.end),
                (Side::After, false) => Interval::new(i.start - offset, i.end - offset),
            };
            self.store.set_interval(sibling, moved)?;
            self.propagate_interval(sibling)?;
            if sibling == alloc_block {
                break;
            }
        }
        Ok(())
    }

    /// Moving the reindex root from `parent` to its child `chosen`: squeeze the other children
    /// of `parent` to their subtree sizes (plus slack at both ends) and give `chosen` the rest.
    pub(super) fn concentrate_interval(
        &mut self,
        parent: BlockHash,
        chosen: BlockHash,
        is_final_root: bool,
    ) -> Result<(), ReachabilityError> {
        #[cfg(test)]
        counters::bump(|c| c.concentrations += 1);
        let children = self.store.get_tree_children(parent)?;
        let index = children.iter().position(|c| *c == chosen).ok_or_else(|| {
            ReachabilityError::Inconsistent(format!("{chosen} is not a child of {parent}"))
        })?;
        let p = self.store.get_interval(parent)?;
        let slack = self.slack;

        let before = &children[..index];
        let after = &children[index + 1..];
        let before_sum = self.sizes_sum(before)?;
        let after_sum = self.sizes_sum(after)?;

        // `before` siblings go to [p.start + slack, ...], `after` siblings end at
        // p.end - slack - 1, and `chosen` gets everything in between, minus slack each side.
        let allocation = p
            .start
            .checked_add(before_sum)
            .and_then(|s| s.checked_add(slack))
            .zip(
                p.end
                    .checked_sub(after_sum)
                    .and_then(|e| e.checked_sub(slack))
                    .and_then(|e| e.checked_sub(1)),
            )
            .filter(|(s, e)| e.checked_add(1).is_some_and(|e1| e1 >= *s))
            .map(|(s, e)| Interval::new(s, e))
            .ok_or_else(|| overflow(format!("cannot concentrate {p} of {parent} on {chosen}")))?;
        let needed = self.subtree_size(chosen)?;
        if allocation.size() < needed {
            return Err(overflow(format!(
                "concentrated interval {allocation} of {chosen} is too small for {needed} blocks"
            )));
        }
        self.tighten(before, p.start + slack)?;
        self.tighten(after, p.end - slack - after_sum)?;

        let current = self.store.get_interval(chosen)?;
        if is_final_root && !allocation.contains(current) {
            // Lay the subtree out inside a slightly narrower interval, so that the next root
            // move (whose allocation will be similar) likely contains it and needs no relayout.
            let narrowed = if allocation.size() >= needed.saturating_add(slack.saturating_mul(2)) {
                Interval::new(allocation.start + slack, allocation.end - slack)
            } else {
                allocation
            };
            #[cfg(test)]
            counters::bump(|c| c.concentration_relayouts += 1);
            self.store.set_interval(chosen, narrowed)?;
            self.propagate_interval(chosen)?;
        }
        self.store.set_interval(chosen, allocation)?;
        Ok(())
    }

    fn sizes_sum(&mut self, blocks: &[BlockHash]) -> Result<u64, ReachabilityError> {
        let mut sum = 0u64;
        for &b in blocks {
            sum = sum.checked_add(self.subtree_size(b)?).ok_or_else(|| overflow("sum".into()))?;
        }
        Ok(sum)
    }

    /// Lays `blocks` out consecutively from `start`, each with exactly its subtree size.
    fn tighten(&mut self, blocks: &[BlockHash], start: u64) -> Result<(), ReachabilityError> {
        let mut next = start;
        for &b in blocks {
            let size = self.subtree_size(b)?;
            self.store.set_interval(b, Interval::new(next, next + size - 1))?;
            self.propagate_interval(b)?;
            next += size;
        }
        Ok(())
    }
}

/// Per-thread counts of the reindexing paths taken, so tests can check they cover them all.
#[cfg(test)]
pub(super) mod counters {
    use std::cell::RefCell;

    #[derive(Clone, Debug, Default)]
    pub(crate) struct Counters {
        pub(crate) propagations: usize,
        pub(crate) reclaim_before: usize,
        pub(crate) reclaim_after: usize,
        pub(crate) root_shrinks: usize,
        pub(crate) concentrations: usize,
        pub(crate) concentration_relayouts: usize,
        pub(crate) relaid_blocks: usize,
        pub(crate) climb_steps: usize,
    }

    thread_local!(static COUNTERS: RefCell<Counters> = RefCell::default());

    pub(crate) fn take() -> Counters {
        COUNTERS.with(|c| c.take())
    }

    pub(crate) fn bump(f: impl FnOnce(&mut Counters)) {
        COUNTERS.with(|c| f(&mut c.borrow_mut()))
    }
}

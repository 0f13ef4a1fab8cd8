//! The GHOSTDAG colouring of one new block.

use super::{mergeset::bounded_mergeset, sort_blocks, GhostdagData};
use crate::{
    errors::{ReachabilityError, RuleError, StoreError},
    reachability::{is_dag_ancestor_of_interval, Interval},
    stores::{GhostdagStoreReader, ReachabilityStoreReader, RelationsStoreReader, WorkStoreReader},
    types::{BlockHash, BlockHashMap, KType, SortableBlock, ZERO_HASH},
};
use std::sync::Arc;

/// The parent with the highest (blue work, hash); zero if `parents` is empty.
pub fn find_selected_parent<S: GhostdagStoreReader + ?Sized>(
    store: &S,
    parents: &[BlockHash],
) -> Result<BlockHash, StoreError> {
    let mut best: Option<SortableBlock> = None;
    for &parent in parents {
        let candidate = SortableBlock::new(parent, store.get_blue_work(parent)?);
        if best.is_none_or(|b| candidate > b) {
            best = Some(candidate);
        }
    }
    Ok(best.map_or(ZERO_HASH, |b| b.hash))
}

/// Computes the GHOSTDAG data of a new block with these `parents` (known, non-empty, an
/// antichain: see [`Dag::validate_parents`](crate::Dag::validate_parents)). Reads only.
///
/// 1. The selected parent is the parent with the highest (blue work, hash).
/// 2. The mergeset (minus the selected parent) is sorted ascending by (blue work, hash),
///    which is a topological order since every block carries positive work.
/// 3. Each candidate, in that order, is blue iff it keeps the blue set a k-cluster: at most
///    `k` blues in its anticone, and no blue in its anticone already having `k` blues in its
///    own anticone. Blues in its anticone are found by walking down the selected chain until
///    a chain block is in the candidate's past; blue anticone sizes are read from the nearest
///    view on the chain that recorded them (loaded once per block, see `ChainView`).
/// 4. Blue score = selected parent's + number of mergeset blues (selected parent included);
///    blue work = selected parent's + the work of each mergeset blue.
pub fn ghostdag<S>(store: &S, k: KType, parents: &[BlockHash]) -> Result<GhostdagData, RuleError>
where
    S: GhostdagStoreReader
        + RelationsStoreReader
        + ReachabilityStoreReader
        + WorkStoreReader
        + ?Sized,
{
    ghostdag_bounded(store, k, parents, u64::MAX)
}

/// [`ghostdag`] for a block whose mergeset (selected parent included) may hold at most
/// `mergeset_limit` blocks: the walk stops at the limit with
/// [`RuleError::MergesetLimitExceeded`] instead of visiting all of an oversized mergeset.
pub fn ghostdag_bounded<S>(
    store: &S,
    k: KType,
    parents: &[BlockHash],
    mergeset_limit: u64,
) -> Result<GhostdagData, RuleError>
where
    S: GhostdagStoreReader
        + RelationsStoreReader
        + ReachabilityStoreReader
        + WorkStoreReader
        + ?Sized,
{
    if parents.is_empty() {
        return Err(RuleError::NoParents);
    }
    let selected_parent = find_selected_parent(store, parents)?;
    let mut data = GhostdagData::with_selected_parent(selected_parent, k);
    let max = usize::try_from(mergeset_limit.saturating_sub(1)).unwrap_or(usize::MAX);
    let mergeset = bounded_mergeset(store, selected_parent, parents, max)?
        .ok_or(RuleError::MergesetLimitExceeded { limit: mergeset_limit })?;
    let ordered = sort_blocks(store, mergeset)?;

    let mut chain = ChainView::new(store, selected_parent);
    let mut affected = Vec::with_capacity(k as usize + 1);
    for candidate in ordered {
        match colour(store, k, &data, &mut chain, candidate, &mut affected)? {
            Some(anticone_size) => data.add_blue(candidate, anticone_size, &affected),
            None => data.add_red(candidate),
        }
    }

    let parent_data = store.get_ghostdag(selected_parent)?;
    data.blue_score = parent_data.blue_score + data.mergeset_blues.len() as u64;
    let mut blue_work = parent_data.blue_work;
    for &blue in &data.mergeset_blues {
        blue_work = blue_work
            .checked_add(store.get_work(blue)?)
            .ok_or(RuleError::BlueWorkOverflow(selected_parent))?;
    }
    data.blue_work = blue_work;
    Ok(data)
}

/// The selected chain below the new block, loaded once per block and shared by every
/// candidate, with the blue anticone sizes recorded by its views merged nearest-first: the
/// size of a blue in the view of the block being coloured is its entry in that block's own
/// map, else the entry of the nearest chain block that has one.
struct ChainView<'s, S: ?Sized> {
    store: &'s S,
    next: BlockHash,
    blocks: Vec<(BlockHash, Arc<GhostdagData>)>,
    sizes: BlockHashMap<KType>,
}

impl<'s, S: GhostdagStoreReader + ?Sized> ChainView<'s, S> {
    fn new(store: &'s S, selected_parent: BlockHash) -> Self {
        Self { store, next: selected_parent, blocks: Vec::new(), sizes: BlockHashMap::default() }
    }

    /// Chain block `level` (0 is the selected parent) with its data.
    fn level(&mut self, level: usize) -> Result<(BlockHash, Arc<GhostdagData>), RuleError> {
        while self.blocks.len() <= level {
            if self.next == ZERO_HASH {
                return Err(inconsistent("walked below genesis on the selected chain".into()));
            }
            let data = self.store.get_ghostdag(self.next)?;
            for (&blue, &size) in &data.blues_anticone_sizes {
                self.sizes.entry(blue).or_insert(size);
            }
            self.blocks.push((self.next, data.clone()));
            self.next = data.selected_parent;
        }
        Ok(self.blocks[level].clone())
    }

    /// Blue anticone size of `block` in the view of `context` (the block being coloured).
    /// Only valid for blues of chain levels already loaded, which is how colouring asks.
    fn anticone_size(&self, block: BlockHash, context: &GhostdagData) -> Result<KType, RuleError> {
        context
            .blues_anticone_sizes
            .get(&block)
            .or_else(|| self.sizes.get(&block))
            .copied()
            .ok_or_else(|| inconsistent(format!("{block} is not in the blue set being coloured")))
    }
}

/// Decides the colour of `candidate` given the blues chosen so far (`data`). Returns its blue
/// anticone size if blue, filling `affected` with the blues of its anticone and their
/// current anticone sizes; `None` if red.
fn colour<S>(
    store: &S,
    k: KType,
    data: &GhostdagData,
    chain: &mut ChainView<'_, S>,
    candidate: BlockHash,
    affected: &mut Vec<(BlockHash, KType)>,
) -> Result<Option<KType>, RuleError>
where
    S: GhostdagStoreReader + ReachabilityStoreReader + ?Sized,
{
    affected.clear();
    // The selected parent plus k blues: no room for another.
    if data.mergeset_blues.len() > k as usize {
        return Ok(None);
    }
    let mut anticone_size: KType = 0;
    let target = store.get_interval(candidate)?;

    // First the new block's own blues so far, then down the selected chain.
    let peers = &data.mergeset_blues;
    if !check_peers(store, k, data, chain, peers, target, affected, &mut anticone_size)? {
        return Ok(None);
    }
    let mut level = 0;
    loop {
        let (chain_block, chain_data) = chain.level(level)?;
        // Once a chain block is in the candidate's past, so is every blue below it.
        if is_dag_ancestor_of_interval(store, chain_block, target)? {
            return Ok(Some(anticone_size));
        }
        let peers = &chain_data.mergeset_blues;
        if !check_peers(store, k, data, chain, peers, target, affected, &mut anticone_size)? {
            return Ok(None);
        }
        level += 1;
    }
}

/// Checks the candidate (given by its interval `target`) against the blues `peers` of one
/// chain block. Returns `false` on a k-cluster violation.
fn check_peers<S>(
    store: &S,
    k: KType,
    data: &GhostdagData,
    chain: &ChainView<'_, S>,
    peers: &[BlockHash],
    target: Interval,
    affected: &mut Vec<(BlockHash, KType)>,
    anticone_size: &mut KType,
) -> Result<bool, RuleError>
where
    S: GhostdagStoreReader + ReachabilityStoreReader + ?Sized,
{
    for &peer in peers {
        // Blocks are coloured in topological order, so a peer is never in the candidate's
        // future: it is either in its past or in its anticone.
        if is_dag_ancestor_of_interval(store, peer, target)? {
            continue;
        }
        let peer_anticone_size = chain.anticone_size(peer, data)?;
        affected.push((peer, peer_anticone_size));
        *anticone_size += 1;
        if *anticone_size > k || peer_anticone_size >= k {
            return Ok(false);
        }
    }
    Ok(true)
}

fn inconsistent(msg: String) -> RuleError {
    RuleError::Reachability(ReachabilityError::Inconsistent(msg))
}

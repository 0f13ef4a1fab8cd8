//! The GHOSTDAG colouring of one new block.

use super::{mergeset::mergeset_without_selected_parent, sort_blocks, GhostdagData};
use crate::{
    errors::{ReachabilityError, RuleError, StoreError},
    reachability::is_dag_ancestor_of,
    stores::{GhostdagStoreReader, ReachabilityStoreReader, RelationsStoreReader, WorkStoreReader},
    types::{BlockHash, KType, SortableBlock, ZERO_HASH},
};

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
///    view on the chain that recorded them.
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
    if parents.is_empty() {
        return Err(RuleError::NoParents);
    }
    let selected_parent = find_selected_parent(store, parents)?;
    let mut data = GhostdagData::with_selected_parent(selected_parent, k);
    let ordered =
        sort_blocks(store, mergeset_without_selected_parent(store, selected_parent, parents)?)?;

    let mut affected = Vec::with_capacity(k as usize + 1);
    for candidate in ordered {
        match colour(store, k, &data, candidate, &mut affected)? {
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

/// Decides the colour of `candidate` given the blues chosen so far (`data`). Returns its blue
/// anticone size if blue, filling `affected` with the blues of its anticone and their
/// current anticone sizes; `None` if red.
fn colour<S>(
    store: &S,
    k: KType,
    data: &GhostdagData,
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

    // First the new block's own blues so far, then down the selected chain.
    if !check_peers(store, k, data, &data.mergeset_blues, candidate, affected, &mut anticone_size)?
    {
        return Ok(None);
    }
    let mut chain_block = data.selected_parent;
    loop {
        // Once a chain block is in the candidate's past, so is every blue below it.
        if is_dag_ancestor_of(store, chain_block, candidate)? {
            return Ok(Some(anticone_size));
        }
        let chain_data = store.get_ghostdag(chain_block)?;
        if !check_peers(
            store,
            k,
            data,
            &chain_data.mergeset_blues,
            candidate,
            affected,
            &mut anticone_size,
        )? {
            return Ok(None);
        }
        if chain_data.is_genesis() {
            return Err(inconsistent(format!("genesis is not in the past of {candidate}")));
        }
        chain_block = chain_data.selected_parent;
    }
}

/// Checks `candidate` against the blues `peers` of one chain block. Returns `false` on a
/// k-cluster violation.
fn check_peers<S>(
    store: &S,
    k: KType,
    data: &GhostdagData,
    peers: &[BlockHash],
    candidate: BlockHash,
    affected: &mut Vec<(BlockHash, KType)>,
    anticone_size: &mut KType,
) -> Result<bool, RuleError>
where
    S: GhostdagStoreReader + ReachabilityStoreReader + ?Sized,
{
    for &peer in peers {
        // Blocks are coloured in topological order, so a peer is never in the candidate's
        // future: it is either in its past or in its anticone.
        if is_dag_ancestor_of(store, peer, candidate)? {
            continue;
        }
        let peer_anticone_size = blue_anticone_size(store, peer, data)?;
        affected.push((peer, peer_anticone_size));
        *anticone_size += 1;
        if *anticone_size > k || peer_anticone_size >= k {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Number of blues in the anticone of the blue `block`, in the view of `context`: the value
/// recorded by the nearest block on `context`'s selected chain.
fn blue_anticone_size<S: GhostdagStoreReader + ?Sized>(
    store: &S,
    block: BlockHash,
    context: &GhostdagData,
) -> Result<KType, RuleError> {
    if let Some(&size) = context.blues_anticone_sizes.get(&block) {
        return Ok(size);
    }
    let mut current = context.selected_parent;
    while current != ZERO_HASH {
        let data = store.get_ghostdag(current)?;
        if let Some(&size) = data.blues_anticone_sizes.get(&block) {
            return Ok(size);
        }
        current = data.selected_parent;
    }
    Err(inconsistent(format!("{block} is not in the blue set of the block being coloured")))
}

fn inconsistent(msg: String) -> RuleError {
    RuleError::Reachability(ReachabilityError::Inconsistent(msg))
}

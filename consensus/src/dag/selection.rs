//! Virtual selection helpers: parents for a new block, finality point.

use super::Dag;
use crate::{
    errors::RuleError,
    reachability,
    stores::ConsensusStore,
    types::{BlockHash, BlockHashSet, SortableBlock},
};

impl<S: ConsensusStore> Dag<S> {
    /// Parents for a block to be produced now. Greedy, as Kaspa's virtual parent selection
    /// minus its merge-depth bound:
    /// 1. the sink first (it has the highest blue work, so it becomes the selected parent);
    /// 2. then the other tips by descending (blue work, hash), each taken if the mergeset of
    ///    the parents so far plus this tip stays within `mergeset_size_limit`, until
    ///    `max_block_parents` are taken. Tips that do not fit are left for later blocks.
    ///
    /// Tips are pairwise in each other's anticone, so the result is a valid parent set.
    pub fn pick_parents(&self) -> Result<Vec<BlockHash>, RuleError> {
        let sink = self.state.sink;
        let max_parents =
            usize::try_from(self.params.max_block_parents.max(1)).unwrap_or(usize::MAX);
        let limit = self.params.mergeset_size_limit;

        let mut candidates = self
            .state
            .tips
            .iter()
            .filter(|t| **t != sink)
            .map(|t| Ok(SortableBlock::new(*t, self.store.get_blue_work(*t)?)))
            .collect::<Result<Vec<_>, RuleError>>()?;
        candidates.sort_unstable_by(|a, b| b.cmp(a));

        let mut chosen = vec![sink];
        // Mergeset of the parents so far, sink excluded (the sink counts as one more).
        let mut mergeset = BlockHashSet::default();
        let mut in_sink_past = BlockHashSet::default();
        for candidate in candidates {
            if chosen.len() >= max_parents {
                break;
            }
            let room = limit.saturating_sub(1 + mergeset.len() as u64);
            if let Some(added) =
                self.mergeset_growth(candidate.hash, sink, &mergeset, &mut in_sink_past, room)?
            {
                mergeset.extend(added);
                chosen.push(candidate.hash);
            }
        }
        // Drop the parents that would make the block break the bounded merge depth (as
        // Kaspa's virtual does): each round removes at least the parent that brings the red.
        loop {
            let data = crate::ghostdag::ghostdag(&self.store, self.params.k, &chosen)?;
            let Some((red, _)) = self.merge_depth_violation(&data)? else { return Ok(chosen) };
            let mut kept = Vec::with_capacity(chosen.len());
            for parent in chosen {
                if parent == sink || !self.is_dag_ancestor_of(red, parent)? {
                    kept.push(parent);
                }
            }
            chosen = kept;
        }
    }

    /// Blocks `tip` would add to `mergeset` (blocks of its past and itself outside the sink's
    /// past), or `None` as soon as there are more than `room`.
    fn mergeset_growth(
        &self,
        tip: BlockHash,
        sink: BlockHash,
        mergeset: &BlockHashSet,
        in_sink_past: &mut BlockHashSet,
        room: u64,
    ) -> Result<Option<Vec<BlockHash>>, RuleError> {
        let mut added = vec![tip];
        let mut seen: BlockHashSet = [tip].into_iter().collect();
        let mut next = 0;
        while next < added.len() {
            if added.len() as u64 > room {
                return Ok(None);
            }
            let current = added[next];
            next += 1;
            for &parent in self.store.get_parents(current)?.iter() {
                if seen.contains(&parent)
                    || mergeset.contains(&parent)
                    || in_sink_past.contains(&parent)
                {
                    continue;
                }
                if reachability::is_dag_ancestor_of(&self.store, parent, sink)? {
                    in_sink_past.insert(parent);
                    continue;
                }
                seen.insert(parent);
                added.push(parent);
            }
        }
        Ok((added.len() as u64 <= room).then_some(added))
    }

    /// The finality point: the highest block of the sink's selected chain whose blue score is
    /// at least `finality_depth` below the sink's (genesis while the chain is shorter). Blocks on the chain up to it are final. Walks the chain from
    /// the sink: O(finality depth); callers should cache it per sink.
    pub fn finality_point(&self) -> Result<BlockHash, RuleError> {
        let sink = self.state.sink;
        let sink_score = self.store.get_blue_score(sink)?;
        let Some(target) = sink_score.checked_sub(self.params.finality_depth) else {
            return Ok(self.state.genesis);
        };
        let mut current = sink;
        loop {
            let data = self.store.get_ghostdag(current)?;
            if data.blue_score <= target || data.is_genesis() {
                return Ok(current);
            }
            current = data.selected_parent;
        }
    }
}

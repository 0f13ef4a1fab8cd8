//! Kaspa's bounded merge depth: a block may not merge, as red, a block from before its
//! merge-depth root unless a blue it merges already has that block in its past.
//!
//! The merge-depth root of a block B is the highest block on B's selected chain (from its
//! selected parent down) whose blue score is below `B.blue_score - merge_depth`; genesis (no
//! bound) while B's blue score is below `merge_depth`. A red R of B's mergeset passes if it is
//! in the root's future (or is the root), or if it is in the past of a *kosherizing* blue: a
//! blue of B's mergeset that has the root on its selected chain. Otherwise B is invalid:
//! without this rule one producer could keep a side branch for ever and have it merged
//! arbitrarily late, reordering old history into new blocks.

use super::Dag;
use crate::{
    errors::RuleError, ghostdag::GhostdagData, reachability, stores::ConsensusStore,
    types::BlockHash,
};

impl<S: ConsensusStore> Dag<S> {
    /// The merge-depth root of a block with GHOSTDAG data `data` (`None`: genesis-bounded,
    /// nothing to check).
    pub fn merge_depth_root(&self, data: &GhostdagData) -> Result<Option<BlockHash>, RuleError> {
        let depth = self.params.merge_depth;
        let Some(threshold) = data.blue_score.checked_sub(depth).filter(|t| *t > 0) else {
            return Ok(None);
        };
        let sp = data.selected_parent;
        let last = *self.last_merge_root.lock().unwrap_or_else(|e| e.into_inner());
        let root = match last {
            // Usually the last root found is on this block's chain below the threshold: walk up
            // the chain from it (a few steps per block) rather than down from the selected
            // parent (up to `merge_depth` steps). Blue scores grow along the chain, so both walks
            // stop at the same block.
            Some(last)
                if self.store.has_ghostdag(last)?
                    && self.store.get_blue_score(last)? < threshold
                    && reachability::is_chain_ancestor_of(&self.store, last, sp)? =>
            {
                let mut root = last;
                'up: loop {
                    for child in self.store.get_children(root)?.iter().copied() {
                        if reachability::is_chain_ancestor_of(&self.store, child, sp)? {
                            if self.store.get_blue_score(child)? < threshold {
                                root = child;
                                continue 'up;
                            }
                            break 'up;
                        }
                    }
                    break;
                }
                root
            }
            _ => {
                let mut root = sp;
                // Each step goes one selected-chain block down and its blue score at least one
                // lower: at most `merge_depth` steps.
                while self.store.get_blue_score(root)? >= threshold {
                    root = self.store.get_selected_parent(root)?;
                }
                root
            }
        };
        *self.last_merge_root.lock().unwrap_or_else(|e| e.into_inner()) = Some(root);
        Ok(Some(root))
    }

    /// The first red of `data`'s mergeset that breaks the bounded merge depth, if any. Costs
    /// nothing for a mergeset without reds (the common case).
    pub fn merge_depth_violation(
        &self,
        data: &GhostdagData,
    ) -> Result<Option<(BlockHash, BlockHash)>, RuleError> {
        if data.mergeset_reds.is_empty() {
            return Ok(None);
        }
        let Some(root) = self.merge_depth_root(data)? else { return Ok(None) };
        let store = &self.store;
        let mut kosherizing: Option<Vec<BlockHash>> = None;
        for &red in &data.mergeset_reds {
            if reachability::is_dag_ancestor_of(store, root, red)? {
                continue;
            }
            if kosherizing.is_none() {
                let mut blues = Vec::new();
                for &blue in &data.mergeset_blues {
                    if reachability::is_chain_ancestor_of(store, root, blue)? {
                        blues.push(blue);
                    }
                }
                kosherizing = Some(blues);
            }
            let mut covered = false;
            for &blue in kosherizing.as_deref().unwrap_or_default() {
                if reachability::is_dag_ancestor_of(store, red, blue)? {
                    covered = true;
                    break;
                }
            }
            if !covered {
                return Ok(Some((red, root)));
            }
        }
        Ok(None)
    }

    /// Refuses a block with `data` if it breaks the bounded merge depth.
    pub fn check_bounded_merge_depth(&self, data: &GhostdagData) -> Result<(), RuleError> {
        match self.merge_depth_violation(data)? {
            Some((red, root)) => Err(RuleError::ViolatingMergeDepth { red, root }),
            None => Ok(()),
        }
    }
}

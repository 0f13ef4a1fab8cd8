//! Header rules that belong to consensus: parents, GHOSTDAG fields, mergeset size.

use super::Dag;
use crate::{
    errors::RuleError,
    ghostdag::GhostdagData,
    reachability,
    stores::ConsensusStore,
    types::{BlockHash, BlockHashSet, BlueWork},
};

/// The GHOSTDAG fields a header commits to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GhostdagHeaderFields {
    /// Claimed blue score.
    pub blue_score: u64,
    /// Claimed blue work.
    pub blue_work: BlueWork,
    /// Claimed selected parent, for headers that name it (`None`: not checked).
    pub selected_parent: Option<BlockHash>,
}

impl From<&GhostdagData> for GhostdagHeaderFields {
    fn from(data: &GhostdagData) -> Self {
        Self {
            blue_score: data.blue_score,
            blue_work: data.blue_work,
            selected_parent: Some(data.selected_parent),
        }
    }
}

/// Checks that the header's GHOSTDAG fields equal the recomputed ones.
pub fn validate_header_ghostdag(
    expected: &GhostdagData,
    given: &GhostdagHeaderFields,
) -> Result<(), RuleError> {
    if let Some(given_sp) = given.selected_parent {
        if given_sp != expected.selected_parent {
            return Err(RuleError::WrongSelectedParent {
                expected: expected.selected_parent,
                given: given_sp,
            });
        }
    }
    if given.blue_score != expected.blue_score {
        return Err(RuleError::WrongBlueScore {
            expected: expected.blue_score,
            given: given.blue_score,
        });
    }
    if given.blue_work != expected.blue_work {
        return Err(RuleError::WrongBlueWork {
            expected: expected.blue_work,
            given: given.blue_work,
        });
    }
    Ok(())
}

/// Checks the mergeset size (selected parent included) against the limit.
pub fn check_mergeset_limit(
    hash: BlockHash,
    data: &GhostdagData,
    limit: u64,
) -> Result<(), RuleError> {
    let size = data.mergeset_size() as u64;
    if size > limit {
        return Err(RuleError::MergesetTooBig { hash, size, limit });
    }
    Ok(())
}

impl<S: ConsensusStore> Dag<S> {
    /// Checks a block's parents: at least one, at most `max_block_parents`, no duplicates,
    /// all known, and none in the past of another.
    pub fn validate_parents(&self, parents: &[BlockHash]) -> Result<(), RuleError> {
        if parents.is_empty() {
            return Err(RuleError::NoParents);
        }
        let max = self.params.max_block_parents;
        if parents.len() as u64 > max {
            return Err(RuleError::TooManyParents {
                count: parents.len(),
                max: usize::try_from(max).unwrap_or(usize::MAX),
            });
        }
        let mut seen = BlockHashSet::default();
        for &p in parents {
            if !seen.insert(p) {
                return Err(RuleError::DuplicateParent(p));
            }
        }
        let mut missing = Vec::new();
        for &p in parents {
            if !self.store.has_ghostdag(p)? {
                missing.push(p);
            }
        }
        if !missing.is_empty() {
            return Err(RuleError::MissingParents(missing));
        }
        // An ancestor has strictly less blue work than its descendants (work is positive),
        // so only pairs with increasing blue work need a reachability query.
        let works =
            parents.iter().map(|p| self.store.get_blue_work(*p)).collect::<Result<Vec<_>, _>>()?;
        for (i, &a) in parents.iter().enumerate() {
            for (j, &b) in parents.iter().enumerate() {
                if works[i] < works[j] && reachability::is_dag_ancestor_of(&self.store, a, b)? {
                    return Err(RuleError::ParentIsAncestor { ancestor: a, descendant: b });
                }
            }
        }
        Ok(())
    }
}

//! Error types: store access, reachability bookkeeping, and consensus rules.

use crate::types::{BlockHash, BlueWork};
use thiserror::Error;

/// Failure to read or write a consensus store.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The store has no entry for this block.
    #[error("{store} store has no entry for block {hash}")]
    NotFound {
        /// Which store was asked ("ghostdag", "relations", "reachability", ...).
        store: &'static str,
        /// The block asked for.
        hash: BlockHash,
    },
    /// The backend (e.g. RocksDB) failed; the message is the backend's.
    #[error("store backend error: {0}")]
    Backend(String),
    /// Stored bytes could not be decoded.
    #[error("corrupt {store} entry for block {hash}: {reason}")]
    Corrupt {
        /// Which store holds the entry.
        store: &'static str,
        /// The block whose entry is corrupt.
        hash: BlockHash,
        /// What was wrong with it.
        reason: String,
    },
}

/// Internal failure of the reachability index. These mean a bug or corrupt data, never an
/// invalid block: blocks are validated before they reach the index.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ReachabilityError {
    /// A store read or write failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The interval space could not accommodate a subtree.
    #[error("reachability interval overflow: {0}")]
    Overflow(String),
    /// The stored index contradicts itself or the query.
    #[error("reachability data inconsistency: {0}")]
    Inconsistent(String),
}

/// A consensus rule violated by a block, or a failure while checking it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// The block lists no parents (only genesis may).
    #[error("block has no parents")]
    NoParents,
    /// The block lists more parents than the chain allows.
    #[error("block has {count} parents, max is {max}")]
    TooManyParents {
        /// Number of parents in the header.
        count: usize,
        /// `max_block_parents` of the chain spec.
        max: usize,
    },
    /// The same parent appears twice.
    #[error("parent {0} is listed more than once")]
    DuplicateParent(BlockHash),
    /// Some parents are not known to this node.
    #[error("block has {} unknown parents: {}", .0.len(), fmt_hashes(.0))]
    MissingParents(Vec<BlockHash>),
    /// One parent is in the past of another: the parent set is not an antichain.
    #[error("parent {ancestor} is an ancestor of parent {descendant}")]
    ParentIsAncestor {
        /// The redundant parent.
        ancestor: BlockHash,
        /// The parent whose past contains it.
        descendant: BlockHash,
    },
    /// The block is already in the DAG.
    #[error("block {0} is already known")]
    BlockAlreadyKnown(BlockHash),
    /// The zero hash is reserved.
    #[error("the zero hash is reserved and cannot name a block")]
    ZeroHash,
    /// Every block must carry positive work (this keeps (blue work, hash) a topological order).
    #[error("block {0} has zero work; every block must carry positive work")]
    ZeroWork(BlockHash),
    /// Blue work exceeded 2^256 - 1.
    #[error("blue work on top of selected parent {0} overflows 256 bits")]
    BlueWorkOverflow(BlockHash),
    /// A red of the mergeset lies before the merge-depth root and no merged blue covers it.
    #[error(
        "the block merges red block {red} from before its merge-depth root {root} and no blue \
         it merges has that block in its past (bounded merge depth)"
    )]
    ViolatingMergeDepth {
        /// The red it may not merge.
        red: BlockHash,
        /// Its merge-depth root.
        root: BlockHash,
    },
    /// The mergeset walk passed the limit and stopped (the block is not named yet).
    #[error("mergeset exceeds the limit of {limit} blocks")]
    MergesetLimitExceeded {
        /// `mergeset_size_limit` of the chain spec.
        limit: u64,
    },
    /// The mergeset (selected parent included) is larger than the chain allows.
    #[error("mergeset of block {hash} has {size} blocks, limit is {limit}")]
    MergesetTooBig {
        /// The offending block.
        hash: BlockHash,
        /// Mergeset size, selected parent included.
        size: u64,
        /// `mergeset_size_limit` of the chain spec.
        limit: u64,
    },
    /// The header's blue score differs from the recomputed one.
    #[error("header blue score {given} does not match the computed blue score {expected}")]
    WrongBlueScore {
        /// Recomputed by GHOSTDAG.
        expected: u64,
        /// Claimed by the header.
        given: u64,
    },
    /// The header's blue work differs from the recomputed one.
    #[error("header blue work {given:#x} does not match the computed blue work {expected:#x}")]
    WrongBlueWork {
        /// Recomputed by GHOSTDAG.
        expected: BlueWork,
        /// Claimed by the header.
        given: BlueWork,
    },
    /// The header's selected parent differs from the recomputed one.
    #[error(
        "header selected parent {given} does not match the computed selected parent {expected}"
    )]
    WrongSelectedParent {
        /// Recomputed by GHOSTDAG.
        expected: BlockHash,
        /// Claimed by the header.
        given: BlockHash,
    },
    /// A query named a block this node does not know.
    #[error("unknown block {0}")]
    UnknownBlock(BlockHash),
    /// The store already holds a DAG with another genesis.
    #[error("store holds a DAG with genesis {stored}, expected genesis {expected}")]
    GenesisMismatch {
        /// Genesis of the chain spec.
        expected: BlockHash,
        /// Genesis found in the store.
        stored: BlockHash,
    },
    /// A prepared diff was committed after another block changed the DAG.
    #[error("stale consensus diff for block {hash}: prepared on {prepared_on} blocks, DAG now has {current}")]
    StaleDiff {
        /// Block of the diff.
        hash: BlockHash,
        /// Block count the diff was prepared against.
        prepared_on: u64,
        /// Block count of the DAG now.
        current: u64,
    },
    /// A store read or write failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The reachability index failed (a bug or corrupt data, not an invalid block).
    #[error(transparent)]
    Reachability(#[from] ReachabilityError),
}

fn fmt_hashes(hashes: &[BlockHash]) -> String {
    hashes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;

    #[test]
    fn messages_name_the_values() {
        let e = RuleError::TooManyParents { count: 12, max: 10 };
        assert_eq!(e.to_string(), "block has 12 parents, max is 10");
        let e = RuleError::WrongBlueWork { expected: U256::from(255), given: U256::from(16) };
        assert_eq!(
            e.to_string(),
            "header blue work 0x10 does not match the computed blue work 0xff"
        );
        let h = BlockHash::with_last_byte(1);
        let e = RuleError::MissingParents(vec![h]);
        assert!(e.to_string().contains("1 unknown parents"));
        assert!(e.to_string().contains(&h.to_string()));
    }
}

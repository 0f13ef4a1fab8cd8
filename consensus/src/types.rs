//! Basic types shared by every module of the crate.

use alloy_primitives::{B256, U256};
use std::{cmp::Ordering, sync::Arc};

/// A block's identity: its 32-byte hash. Ordered lexicographically on its bytes.
pub type BlockHash = B256;

/// Accumulated work of a block's blue past. 256 bits: the sum of per-block work over any
/// realistic chain lifetime stays far below 2^256 (additions are checked anyway).
pub type BlueWork = U256;

/// Type of the GHOSTDAG `k` parameter and of blue-anticone sizes (at most `k`).
pub type KType = u16;

/// A shared, immutable list of block hashes (parents, children, covering sets).
pub type BlockHashes = Arc<Vec<BlockHash>>;

/// Hash map keyed by block hash, with a hasher tuned for fixed 32-byte keys.
pub type BlockHashMap<V> = alloy_primitives::map::B256Map<V>;

/// Hash set of block hashes, with a hasher tuned for fixed 32-byte keys.
pub type BlockHashSet = alloy_primitives::map::B256Set;

/// The all-zero hash. It never names a block: it is the "no selected parent" of genesis
/// and the "no tree parent" of the reachability root.
pub const ZERO_HASH: BlockHash = B256::ZERO;

/// A block paired with its blue work, ordered by (blue work, hash): the order GHOSTDAG uses
/// to pick the selected parent (maximum) and to sort the mergeset (ascending).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SortableBlock {
    /// The block's hash.
    pub hash: BlockHash,
    /// The block's blue work.
    pub blue_work: BlueWork,
}

impl SortableBlock {
    /// Pairs a hash with its blue work.
    pub const fn new(hash: BlockHash, blue_work: BlueWork) -> Self {
        Self { hash, blue_work }
    }
}

impl PartialOrd for SortableBlock {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortableBlock {
    fn cmp(&self, other: &Self) -> Ordering {
        self.blue_work.cmp(&other.blue_work).then_with(|| self.hash.cmp(&other.hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_block_orders_by_work_then_hash() {
        let a = SortableBlock::new(B256::with_last_byte(9), U256::from(1));
        let b = SortableBlock::new(B256::with_last_byte(1), U256::from(2));
        let c = SortableBlock::new(B256::with_last_byte(2), U256::from(2));
        assert!(a < b, "lower work sorts first whatever the hash");
        assert!(b < c, "equal work: larger hash is greater");
        // Hash order is lexicographic on bytes: "10" < "9" when IDs are padded strings.
        let mut ten = [0u8; 32];
        ten[..2].copy_from_slice(b"10");
        let mut nine = [0u8; 32];
        nine[0] = b'9';
        assert!(B256::from(ten) < B256::from(nine));
    }
}

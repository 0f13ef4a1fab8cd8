//! GHOSTDAG: selected parent, mergeset, k-cluster colouring, blue score and blue work.
//!
//! Everything here only *reads* the stores; the result of a block is a [`GhostdagData`] that
//! the caller persists.

mod mergeset;
mod ordering;
mod protocol;

pub use mergeset::{bounded_mergeset, mergeset_without_selected_parent, sort_blocks};
pub use ordering::{consensus_order, consensus_order_of_mergeset};
pub use protocol::{find_selected_parent, ghostdag, ghostdag_bounded};

use crate::types::{BlockHash, BlockHashMap, BlueWork, KType, ZERO_HASH};
use serde::{Deserialize, Serialize};

/// The GHOSTDAG output of one block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GhostdagData {
    /// Number of blue blocks in the block's past.
    pub blue_score: u64,
    /// Sum of the work of the blue blocks in the block's past.
    pub blue_work: BlueWork,
    /// The parent with the highest (blue work, hash); zero for genesis.
    pub selected_parent: BlockHash,
    /// Blue blocks of the mergeset: the selected parent first, then in colouring order, which
    /// is ascending (blue work, hash).
    pub mergeset_blues: Vec<BlockHash>,
    /// Red blocks of the mergeset, ascending (blue work, hash).
    pub mergeset_reds: Vec<BlockHash>,
    /// For each blue whose value changed in this block's view: the number of blues (of this
    /// block's blue set) in its anticone. Values for other blues are inherited from the
    /// selected chain.
    pub blues_anticone_sizes: BlockHashMap<KType>,
}

impl GhostdagData {
    /// The data of genesis: score 0, work 0, no selected parent, empty mergeset.
    pub fn genesis() -> Self {
        Self {
            blue_score: 0,
            blue_work: BlueWork::ZERO,
            selected_parent: ZERO_HASH,
            mergeset_blues: Vec::new(),
            mergeset_reds: Vec::new(),
            blues_anticone_sizes: BlockHashMap::default(),
        }
    }

    /// Starts the data of a new block whose selected parent is `selected_parent`: the selected
    /// parent is its first blue, with an empty blue anticone.
    pub(crate) fn with_selected_parent(selected_parent: BlockHash, k: KType) -> Self {
        let mut mergeset_blues = Vec::with_capacity(k as usize + 1);
        mergeset_blues.push(selected_parent);
        let mut blues_anticone_sizes = BlockHashMap::default();
        blues_anticone_sizes.reserve(k as usize + 1);
        blues_anticone_sizes.insert(selected_parent, 0);
        Self {
            blue_score: 0,
            blue_work: BlueWork::ZERO,
            selected_parent,
            mergeset_blues,
            mergeset_reds: Vec::new(),
            blues_anticone_sizes,
        }
    }

    /// Whether this is the data of genesis (no selected parent).
    pub fn is_genesis(&self) -> bool {
        self.selected_parent == ZERO_HASH
    }

    /// Size of the mergeset, selected parent included (the quantity the mergeset limit bounds).
    pub fn mergeset_size(&self) -> usize {
        self.mergeset_blues.len() + self.mergeset_reds.len()
    }

    /// The mergeset without the selected parent: the other blues, then the reds (each part in
    /// ascending (blue work, hash) order; use [`consensus_order_of_mergeset`] for the merged
    /// order).
    pub fn mergeset_without_selected_parent(&self) -> impl Iterator<Item = BlockHash> + '_ {
        self.mergeset_blues.iter().skip(1).chain(self.mergeset_reds.iter()).copied()
    }

    /// Colours `block` blue. `anticone_size` is its number of blues in its anticone;
    /// `affected` holds, for each blue in its anticone, that blue's anticone size before
    /// `block` joined (each grows by one).
    pub(crate) fn add_blue(
        &mut self,
        block: BlockHash,
        anticone_size: KType,
        affected: &[(BlockHash, KType)],
    ) {
        self.mergeset_blues.push(block);
        self.blues_anticone_sizes.insert(block, anticone_size);
        for &(blue, size) in affected {
            self.blues_anticone_sizes.insert(blue, size + 1);
        }
    }

    /// Colours `block` red.
    pub(crate) fn add_red(&mut self, block: BlockHash) {
        self.mergeset_reds.push(block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_roundtrip() {
        let sp = BlockHash::with_last_byte(1);
        let mut data = GhostdagData::with_selected_parent(sp, 3);
        data.add_blue(BlockHash::with_last_byte(2), 1, &[(sp, 0)]);
        data.add_red(BlockHash::with_last_byte(3));
        data.blue_score = 7;
        data.blue_work = BlueWork::from(7);
        let json = serde_json::to_string(&data).expect("serialise");
        let back: GhostdagData = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(data, back);
        assert_eq!(back.blues_anticone_sizes[&sp], 1);
        assert_eq!(back.mergeset_size(), 3);
        assert_eq!(
            back.mergeset_without_selected_parent().collect::<Vec<_>>(),
            vec![BlockHash::with_last_byte(2), BlockHash::with_last_byte(3)]
        );
    }

    #[test]
    fn genesis_data() {
        let g = GhostdagData::genesis();
        assert!(g.is_genesis());
        assert_eq!(g.mergeset_size(), 0);
    }
}

//! The consensus order: the total order in which execution applies blocks.

use super::{sort_blocks, GhostdagData};
use crate::{
    errors::StoreError,
    stores::GhostdagStoreReader,
    types::{BlockHash, ZERO_HASH},
};

/// The blocks a chain block accepts, in consensus order: its selected parent first, then the
/// rest of its mergeset — blues and reds together — ascending by (blue work, hash).
/// Empty for genesis.
pub fn consensus_order_of_mergeset<S: GhostdagStoreReader + ?Sized>(
    store: &S,
    data: &GhostdagData,
) -> Result<Vec<BlockHash>, StoreError> {
    if data.is_genesis() {
        return Ok(Vec::new());
    }
    let mut order = Vec::with_capacity(data.mergeset_size());
    order.push(data.selected_parent);
    order.extend(sort_blocks(store, data.mergeset_without_selected_parent())?);
    Ok(order)
}

/// The whole order accepted by `hash`'s selected chain: the order of its selected parent,
/// then its selected parent, then the rest of its mergeset ascending by (blue work, hash).
/// Equivalently, the concatenation of [`consensus_order_of_mergeset`] along the selected
/// chain from genesis. `hash` itself is not included (its children accept it). Walks the
/// whole chain: meant for tests and tools, execution works one chain block at a time.
pub fn consensus_order<S: GhostdagStoreReader + ?Sized>(
    store: &S,
    hash: BlockHash,
) -> Result<Vec<BlockHash>, StoreError> {
    let mut chain = Vec::new();
    let mut current = hash;
    while current != ZERO_HASH {
        let data = store.get_ghostdag(current)?;
        current = data.selected_parent;
        chain.push(data);
    }
    let mut order = Vec::new();
    for data in chain.iter().rev() {
        order.extend(consensus_order_of_mergeset(store, data)?);
    }
    Ok(order)
}

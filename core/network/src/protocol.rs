//! Wire types of the sync protocol and the gossip topics.

use alloy_primitives::{keccak256, Bytes, B256, U256};
use libp2p::gossipsub::{IdentTopic, Message, MessageId};
use serde::{Deserialize, Serialize};

/// Sync protocol name.
pub const SYNC_PROTOCOL: &str = "/lattice/sync/1";
/// Largest gossiped block, in bytes.
pub const MAX_BLOCK_BYTES: usize = 8 * 1024 * 1024;
/// Most blocks in one response.
pub const MAX_BLOCKS_PER_RESPONSE: usize = 512;

/// A position in the (blue work, hash) order of the DAG.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cursor {
    /// Blue work.
    pub blue_work: U256,
    /// Hash.
    pub hash: B256,
}

/// A node's view, exchanged on connect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Chain id.
    pub chain_id: u64,
    /// Genesis hash: peers on another chain are dropped.
    pub genesis: B256,
    /// The sink.
    pub sink: B256,
    /// The sink's blue work.
    pub sink_blue_work: U256,
    /// Selected-chain height.
    pub height: u64,
}

/// Requests of the sync protocol.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Request {
    /// The peer's status.
    Status,
    /// Blocks by hash.
    Blocks(Vec<B256>),
    /// Blocks after a cursor, in (blue work, hash) order.
    After(Cursor),
}

/// Responses of the sync protocol. Blocks travel RLP-encoded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Response {
    /// The peer's status.
    Status(Status),
    /// Blocks.
    Blocks(Vec<Bytes>),
}

/// Gossip topic of blocks for `chain_id`.
pub fn blocks_topic(chain_id: u64) -> IdentTopic {
    IdentTopic::new(format!("/lattice/{chain_id}/blocks/1"))
}

/// Gossip topic of transactions for `chain_id`.
pub fn transactions_topic(chain_id: u64) -> IdentTopic {
    IdentTopic::new(format!("/lattice/{chain_id}/transactions/1"))
}

/// Messages are identified by their content, so the same block or transaction published by
/// several peers is one message.
pub fn message_id(message: &Message) -> MessageId {
    MessageId::from(keccak256(&message.data).to_vec())
}

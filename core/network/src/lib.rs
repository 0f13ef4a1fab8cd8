//! libp2p networking for Lattice.
//!
//! TCP + noise + yamux; gossipsub topics for blocks and transactions (content-addressed message
//! ids, forwarded only once the node has validated them, size limits); identify; Kademlia
//! discovery from bootstrap nodes; ping; a request-response protocol for peer status, blocks by
//! hash (missing parents, fetched recursively) and initial block download in (blue work, hash)
//! order; peers that send invalid data lose score and are banned for a while.
//!
//! The crate knows nothing of validation or storage: the node gives it a [`ChainAccess`] and
//! gets a [`NetworkHandle`] to publish with.

mod addr;
mod behaviour;
mod key;
pub mod protocol;
mod rate;
mod scores;
mod service;

pub use addr::{parse_bootstrap_node, parse_listen_addr, BootstrapNode};
pub use key::{load_or_create_key, read_secret, write_secret};
pub use libp2p::{identity::Keypair, Multiaddr, PeerId};
pub use protocol::{decode_block, decode_transaction, Cursor, Status};
pub use rate::RateLimits;
pub use scores::{Offence, BAN_SCORE};
pub use service::{start, NetworkHandle, PeerInfo, SyncState};

use alloy_consensus::TxEnvelope;
use alloy_primitives::B256;
use lattice_primitives::Block;
use std::time::Duration;

/// Default P2P listen address.
pub const DEFAULT_P2P_ADDR: &str = "/ip4/0.0.0.0/tcp/30303";
/// Default most connected peers.
pub const DEFAULT_MAX_PEERS: u32 = 50;
/// How long a misbehaving peer stays banned.
pub const BAN_DURATION: Duration = Duration::from_secs(600);

/// What the node said about something a peer sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and taken.
    Accepted,
    /// Already known; nothing to do.
    Known,
    /// Cannot be judged yet: these parents are missing.
    MissingParents(Vec<B256>),
    /// Valid-looking but not taken (e.g. a transaction whose nonce is used); not the peer's fault.
    Ignored(String),
    /// Invalid: the sender misbehaved.
    Invalid(String),
}

/// What the network needs from the node. Calls may block (they validate and write); the
/// service runs them off its event loop.
pub trait ChainAccess: Send + Sync + 'static {
    /// Validates and imports a block (one this node asked for: a missing parent or sync).
    fn import_block(&self, block: Block) -> Verdict;
    /// Validates and imports a block a peer gossiped. The node may apply local relay policy
    /// (not consensus) here, such as a rate per producer; by default the same as
    /// [`ChainAccess::import_block`].
    fn import_gossip_block(&self, block: Block) -> Verdict {
        self.import_block(block)
    }
    /// Validates and pools a transaction.
    fn add_transaction(&self, tx: TxEnvelope) -> Verdict;
    /// The stored block `hash`.
    fn block(&self, hash: B256) -> Option<Block>;
    /// Up to `limit` stored block hashes after `cursor` in (blue work, hash) order.
    fn hashes_after(&self, cursor: Cursor, limit: usize) -> Vec<B256>;
    /// This node's status.
    fn status(&self) -> Status;
}

/// Network settings.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// This node's identity.
    pub keypair: Keypair,
    /// Listen address.
    pub listen: Multiaddr,
    /// Nodes to bootstrap from.
    pub bootstrap_nodes: Vec<BootstrapNode>,
    /// Most connected peers.
    pub max_peers: u32,
    /// Chain id (scopes the gossip topics).
    pub chain_id: u64,
}

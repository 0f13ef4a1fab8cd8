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
mod paced;
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
pub use service::{start, NetworkError, NetworkHandle, PeerInfo, SyncState};

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
    /// Whether the block is in the DAG already (a missing parent no longer to ask for). By
    /// default, whether [`ChainAccess::block`] finds it.
    fn has_block(&self, hash: B256) -> bool {
        self.block(hash).is_some()
    }
    /// Validates and pools a transaction.
    fn add_transaction(&self, tx: TxEnvelope) -> Verdict;
    /// Validates and pools the transactions of one gossip message, and judges the message:
    /// invalid if any transaction is (it stops there: the peer should have judged it so),
    /// accepted if any was taken, known if every one was, ignored otherwise.
    fn add_transactions(&self, txs: Vec<TxEnvelope>) -> Verdict {
        let (mut accepted, mut all_known, mut ignored) = (false, true, None);
        for tx in txs {
            match self.add_transaction(tx) {
                Verdict::Invalid(why) => return Verdict::Invalid(why),
                Verdict::Accepted => {
                    accepted = true;
                    all_known = false;
                }
                Verdict::Known => {}
                Verdict::Ignored(why) => {
                    all_known = false;
                    ignored.get_or_insert(why);
                }
                Verdict::MissingParents(_) => all_known = false,
            }
        }
        if accepted {
            Verdict::Accepted
        } else if all_known {
            Verdict::Known
        } else {
            Verdict::Ignored(ignored.unwrap_or_default())
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers each transaction with the verdict its gas limit picks.
    struct Judge;

    impl ChainAccess for Judge {
        fn import_block(&self, _: Block) -> Verdict {
            unreachable!()
        }
        fn add_transaction(&self, tx: TxEnvelope) -> Verdict {
            use alloy_consensus::Transaction;
            match tx.gas_limit() {
                0 => Verdict::Accepted,
                1 => Verdict::Known,
                2 => Verdict::Ignored("nonce too low".into()),
                _ => Verdict::Invalid("invalid sender".into()),
            }
        }
        fn block(&self, _: B256) -> Option<Block> {
            None
        }
        fn hashes_after(&self, _: Cursor, _: usize) -> Vec<B256> {
            Vec::new()
        }
        fn status(&self) -> Status {
            unreachable!()
        }
    }

    #[test]
    fn a_transaction_message_is_judged_by_its_worst_and_best_parts() {
        let tx = |gas_limit| {
            let legacy = alloy_consensus::TxLegacy { gas_limit, ..Default::default() };
            TxEnvelope::Legacy(alloy_consensus::Signed::new_unchecked(
                legacy,
                alloy_primitives::Signature::test_signature(),
                B256::ZERO,
            ))
        };
        let judge = |gases: &[u64]| Judge.add_transactions(gases.iter().map(|g| tx(*g)).collect());
        assert_eq!(judge(&[1, 0, 2]), Verdict::Accepted, "one new one: forward it");
        assert_eq!(judge(&[1, 1]), Verdict::Known);
        assert_eq!(judge(&[1, 2]), Verdict::Ignored("nonce too low".into()));
        assert_eq!(judge(&[0, 3, 0]), Verdict::Invalid("invalid sender".into()), "one bad one");
    }
}

//! Joining a libp2p network: the node as the network's [`ChainAccess`], and the tasks that
//! gossip what this node seals and accepts.

use crate::chain::BlockError;
use crate::config::NetworkSettings;
use crate::Node;
use alloy_consensus::TxEnvelope;
use alloy_primitives::B256;
use eyre::{eyre, Context, Result};
use lattice_network::{
    ChainAccess, Cursor, Keypair, NetworkConfig, NetworkHandle, RateLimits, Status, Verdict,
};
use lattice_primitives::Block;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

/// The node as the network sees it.
struct Bridge {
    node: Arc<Node>,
    /// Gossiped blocks per producer: a producer key that seals parallel blocks without end
    /// (each one valid: sealing rates bind a producer's blocks in one block's past only) gets
    /// only so many relayed. This is relay policy, not consensus: a block over the rate is
    /// neither imported from gossip nor forwarded, but is imported like any other when a
    /// later block names it as a parent and it is fetched, so every node still reaches one DAG.
    relay: parking_lot::Mutex<RateLimits<alloy_primitives::Address>>,
}

/// Most producers whose gossip rate is tracked (an open producer set has no bound).
const MAX_TRACKED_PRODUCERS: usize = 10_000;
/// Blocks a producer may have relayed at once, beyond its sealing rate.
const PRODUCER_GOSSIP_BURST: f64 = 8.0;

impl ChainAccess for Bridge {
    fn import_gossip_block(&self, block: Block) -> Verdict {
        let producer = block.header.producer;
        // Only a block its producer really sealed spends that producer's tokens, so nobody
        // else can use up an honest producer's rate.
        let sealed_by_producer = block.header.recover_producer().is_ok_and(|s| s == producer);
        if sealed_by_producer {
            // On arrival, before the import waits its turn: a producer is sealing even while
            // this node is behind importing its blocks (and then must not carry its share).
            self.node.chain.note_producer(&block.header);
        }
        if sealed_by_producer
            && !self.node.chain.contains(block.header.hash_slow())
            && !self.relay.lock().take(producer, std::time::Instant::now())
        {
            tracing::debug!(target: "lattice::network", %producer, "producer over its gossip rate; not relayed");
            self.node.metrics.p2p_refused.with_label_values(&["producer_gossip_rate"]).inc();
            return Verdict::Ignored(format!("producer {producer} over its gossip rate"));
        }
        self.import_block(block)
    }

    fn import_block(&self, block: Block) -> Verdict {
        let block = block.seal();
        if self.node.chain.contains(block.hash()) {
            return Verdict::Known;
        }
        match self.node.import_block(block) {
            Ok(()) => Verdict::Accepted,
            // It joined the DAG, as on every node: its wrong commitment is evidence against its
            // producer (logged where it was found), not against the peer that relayed it, which
            // could not have known before executing. Forward it like any other block.
            Err(BlockError::WrongCommitment { .. }) => Verdict::Accepted,
            Err(BlockError::MissingParents { missing, .. }) => Verdict::MissingParents(missing),
            Err(e) if e.is_invalid_block() => Verdict::Invalid(e.to_string()),
            Err(e) => Verdict::Ignored(e.to_string()),
        }
    }

    fn add_transaction(&self, tx: TxEnvelope) -> Verdict {
        match self.node.add_to_pool(tx) {
            Ok(_) => Verdict::Accepted,
            Err(lattice_rpc::RpcError::Rejected(msg)) if msg == "already known" => Verdict::Known,
            Err(lattice_rpc::RpcError::Rejected(msg)) if msg.starts_with("invalid sender") => {
                Verdict::Invalid(msg)
            }
            Err(e) => Verdict::Ignored(e.to_string()),
        }
    }

    fn has_block(&self, hash: B256) -> bool {
        self.node.chain.contains(hash)
    }

    fn block(&self, hash: B256) -> Option<Block> {
        self.node.chain.block(hash).ok().flatten().map(|b| b.unseal())
    }

    fn hashes_after(&self, cursor: Cursor, limit: usize) -> Vec<B256> {
        self.node.chain.hashes_after(cursor.blue_work, cursor.hash, limit).unwrap_or_else(|e| {
            tracing::warn!(target: "lattice::sync", error = %e, "cannot read the block order");
            Vec::new()
        })
    }

    fn status(&self) -> Status {
        let chain = &self.node.chain;
        let head = chain.head();
        Status {
            chain_id: chain.spec().chain_id,
            genesis: chain.genesis(),
            sink: head.hash,
            sink_blue_work: head.header.blue_work,
            height: head.number,
        }
    }
}

fn keypair(node: &Node, settings: &NetworkSettings) -> Result<Keypair> {
    match &settings.node_key {
        Some(hex) => {
            let bytes = alloy_primitives::hex::decode(hex.trim()).map_err(|e| bad_node_key(&e))?;
            Keypair::from_protobuf_encoding(&bytes).map_err(|e| bad_node_key(&e))
        }
        None => lattice_network::load_or_create_key(&node.config.data_dir.join("node-key"))
            .wrap_err("cannot load or create the node key"),
    }
}

fn bad_node_key(e: &dyn std::fmt::Display) -> eyre::Report {
    crate::UsageError::report(
        format!("invalid --node-key: {e}"),
        "pass the hex of a protobuf-encoded libp2p key, or leave --node-key out to use <data-dir>/node-key",
    )
}

/// Starts the network and the gossip of sealed blocks and accepted transactions.
pub async fn start(
    node: Arc<Node>,
    shutdown: watch::Receiver<bool>,
) -> Result<Option<(NetworkHandle, Vec<JoinHandle<()>>)>> {
    let Some(settings) = node.config.network.clone() else { return Ok(None) };
    let config = NetworkConfig {
        keypair: keypair(&node, &settings)?,
        listen: settings.listen.clone(),
        bootstrap_nodes: settings.bootstrap_nodes.clone(),
        max_peers: settings.max_peers,
        chain_id: node.chain.spec().chain_id,
    };
    // The fastest a producer may seal blocks one after another (the sealing-rate rule), and
    // a few at once: an honest producer never exceeds it, whatever its --block-time.
    let per_sec = 1_000.0 / node.chain.spec().min_block_interval_ms.max(1) as f64;
    let relay = RateLimits::new(per_sec, PRODUCER_GOSSIP_BURST, MAX_TRACKED_PRODUCERS);
    let bridge = Bridge { node: node.clone(), relay: parking_lot::Mutex::new(relay) };
    let handle = lattice_network::start(config, Arc::new(bridge)).await.map_err(|e| match e {
        lattice_network::NetworkError::Listen { addr, reason } => {
            crate::usage::listen_failed(eyre!("{reason}"), "P2P", &addr.to_string(), "--p2p-addr")
        }
        other => other.into(),
    })?;
    tracing::info!(target: "lattice::network", peer_id = %handle.peer_id(), bootstrap = settings.is_bootstrap,
        bootstrap_nodes = settings.bootstrap_nodes.len(), "network started");
    let mut tasks = Vec::new();
    let (h, mut blocks, mut stop) =
        (handle.clone(), node.sealed_blocks.subscribe(), shutdown.clone());
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                b = blocks.recv() => match b {
                    Ok(block) => h.publish_block(&block.unseal()),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = stop.changed() => return,
            }
        }
    }));
    let (h, mut txs, mut stop) = (handle.clone(), node.new_transactions.subscribe(), shutdown);
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                t = txs.recv() => match t {
                    Ok(tx) => h.publish_transaction(&tx),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = stop.changed() => { h.shutdown(); return; }
            }
        }
    }));
    Ok(Some((handle, tasks)))
}

//! Joining a libp2p network: the node as the network's [`ChainAccess`], and the tasks that
//! gossip what this node seals and accepts.

use crate::chain::BlockError;
use crate::config::NetworkSettings;
use crate::Node;
use alloy_consensus::TxEnvelope;
use alloy_primitives::B256;
use eyre::{eyre, Context, Result};
use lattice_network::{
    ChainAccess, Cursor, Keypair, NetworkConfig, NetworkHandle, Status, Verdict,
};
use lattice_primitives::Block;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

/// The node as the network sees it.
struct Bridge(Arc<Node>);

impl ChainAccess for Bridge {
    fn import_block(&self, block: Block) -> Verdict {
        let block = block.seal();
        if self.0.chain.contains(block.hash()) {
            return Verdict::Known;
        }
        match self.0.import_block(block) {
            Ok(()) => Verdict::Accepted,
            Err(BlockError::MissingParents { missing, .. }) => Verdict::MissingParents(missing),
            Err(e) if e.is_invalid_block() => Verdict::Invalid(e.to_string()),
            Err(e) => Verdict::Ignored(e.to_string()),
        }
    }

    fn add_transaction(&self, tx: TxEnvelope) -> Verdict {
        match self.0.add_to_pool(tx) {
            Ok(_) => Verdict::Accepted,
            Err(lattice_rpc::RpcError::Rejected(msg)) if msg == "already known" => Verdict::Known,
            Err(lattice_rpc::RpcError::Rejected(msg)) if msg.starts_with("invalid sender") => {
                Verdict::Invalid(msg)
            }
            Err(e) => Verdict::Ignored(e.to_string()),
        }
    }

    fn blocks(&self, hashes: &[B256]) -> Vec<Block> {
        hashes
            .iter()
            .filter_map(|h| self.0.chain.block(*h).ok().flatten())
            .map(|b| b.unseal())
            .collect()
    }

    fn blocks_after(&self, cursor: Cursor, limit: usize) -> Vec<Block> {
        self.0
            .chain
            .hashes_after(cursor.blue_work, cursor.hash, limit)
            .into_iter()
            .filter_map(|h| self.0.chain.block(h).ok().flatten())
            .map(|b| b.unseal())
            .collect()
    }

    fn status(&self) -> Status {
        let chain = &self.0.chain;
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
            let bytes = alloy_primitives::hex::decode(hex.trim())
                .map_err(|e| eyre!("invalid --node-key: {e}"))?;
            Keypair::from_protobuf_encoding(&bytes).map_err(|e| eyre!("invalid --node-key: {e}"))
        }
        None => lattice_network::load_or_create_key(&node.config.data_dir.join("node-key"))
            .wrap_err("cannot load or create the node key"),
    }
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
    let handle = lattice_network::start(config, Arc::new(Bridge(node.clone()))).await?;
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

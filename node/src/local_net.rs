//! `--dev.local-producers`: every dev producer in one process, each with its own chain and
//! database, exchanging sealed blocks and new transactions in memory after a simulated delay.
//! The same hooks (`Node::sealed_blocks`, `Node::new_transactions`, `Node::import_block`,
//! `Node::add_to_pool`) are what a network spreads and delivers.

use crate::chain::Chain;
use crate::config::ProducerConfig;
use crate::metrics::Metrics;
use crate::{producer, Node};
use eyre::{Context, Result};
use lattice_primitives::dev_signers;
use lattice_storage::Db;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

/// The other local producers and the tasks to await at shutdown.
type Started = (Vec<Arc<Node>>, Vec<JoinHandle<()>>);

/// Starts the other local producers beside `main` and wires all of them together. Returns the
/// other producers' nodes and the tasks to await at shutdown.
pub fn start(main: Arc<Node>, shutdown: watch::Receiver<bool>) -> Result<Started> {
    let config = &main.config;
    let spec = main.chain.spec().clone();
    let count = spec.producers.len();
    let main_index = config.producer.as_ref().map(|p| p.index).unwrap_or(0);
    let block_time =
        config.producer.as_ref().map(|p| p.block_time).unwrap_or(crate::cli::DEV_BLOCK_TIME);
    let signers = dev_signers(count as u32);
    let mut peers = Vec::new();
    let mut tasks = Vec::new();
    for index in (0..count).filter(|i| *i != main_index) {
        let dir = config.data_dir.join("local-producers").join(index.to_string()).join("db");
        std::fs::create_dir_all(&dir)?;
        let db = Db::open(&dir, &crate::chain::all_tables()).wrap_err_with(|| {
            format!("cannot open local producer {index}'s database at {}", dir.display())
        })?;
        let chain = Chain::open(Arc::new(db), spec.clone())?;
        let producer = ProducerConfig {
            index,
            count,
            signer: signers[index].clone(),
            coinbase: signers[index].address(),
            block_time,
        };
        let mut peer_config = config.clone();
        peer_config.producer = Some(producer.clone());
        peer_config.local_producers = false;
        let peer = Arc::new(Node::new(chain, peer_config, Arc::new(Metrics::new())));
        tasks.push(tokio::spawn(producer::run(peer.clone(), producer, shutdown.clone())));
        peers.push(peer);
    }
    let all: Vec<Arc<Node>> = std::iter::once(main.clone()).chain(peers.iter().cloned()).collect();
    let delay = config.local_delay;
    for (i, from) in all.iter().enumerate() {
        let others: Vec<Arc<Node>> =
            all.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, n)| n.clone()).collect();
        tasks.push(tokio::spawn(forward_blocks(
            from.sealed_blocks.subscribe(),
            others.clone(),
            delay,
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(forward_transactions(
            from.new_transactions.subscribe(),
            others,
            delay,
            shutdown.clone(),
        )));
    }
    tracing::info!(target: "lattice::node", producers = count, delay_ms = delay.as_millis() as u64, "local producers started");
    Ok((peers, tasks))
}

async fn forward_blocks(
    mut blocks: broadcast::Receiver<lattice_primitives::SealedBlock>,
    to: Vec<Arc<Node>>,
    delay: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let block = tokio::select! {
            b = blocks.recv() => match b {
                Ok(b) => b,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(target: "lattice::node", skipped = n, "local block delivery lagged");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = shutdown.changed() => return,
        };
        for node in &to {
            let (node, block) = (node.clone(), block.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let hash = block.hash();
                let result = tokio::task::spawn_blocking(move || node.import_block(block)).await;
                match result {
                    Ok(Err(e)) if e.is_invalid_block() => {
                        tracing::warn!(target: "lattice::node", %hash, error = %e, "local producer's block refused")
                    }
                    _ => {}
                }
            });
        }
    }
}

async fn forward_transactions(
    mut txs: broadcast::Receiver<alloy_consensus::TxEnvelope>,
    to: Vec<Arc<Node>>,
    delay: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let tx = tokio::select! {
            t = txs.recv() => match t {
                Ok(t) => t,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = shutdown.changed() => return,
        };
        for node in &to {
            let (node, tx) = (node.clone(), tx.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = node.add_to_pool(tx);
            });
        }
    }
}

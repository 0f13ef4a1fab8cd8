//! The producer loop: seal a block every block time.

use crate::{Node, ProducerConfig};
use eyre::Result;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

/// Seals blocks until `shutdown` turns true.
pub async fn run(node: Arc<Node>, producer: ProducerConfig, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(producer.block_time);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => break,
        }
        let (node, producer) = (node.clone(), producer.clone());
        match tokio::task::spawn_blocking(move || produce_one(&node, &producer)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(target: "lattice::producer", error = %e, "failed to produce a block")
            }
            Err(e) => {
                tracing::error!(target: "lattice::producer", error = %e, "producer task panicked")
            }
        }
    }
}

/// Builds, seals and commits one block on the current tips.
pub fn produce_one(node: &Node, producer: &ProducerConfig) -> Result<()> {
    let started = Instant::now();
    let chain = &node.chain;
    let head = chain.head();
    let base_fee = chain.next_base_fee();
    let picked =
        node.pool.best(chain.spec().gas_limit, base_fee, |a| chain.latest_nonce(a), |_| true);
    let transactions = picked.iter().map(|t| t.tx.clone()).collect();
    let timestamp_ms = now_ms().max(head.header.timestamp_ms + 1);
    let built =
        chain.build_block(&producer.signer, producer.coinbase, transactions, timestamp_ms)?;
    chain.commit(&built)?;
    let hashes: Vec<_> = picked.iter().map(|t| t.hash).collect();
    node.pool.mark_packed(&hashes);
    let senders: Vec<_> = built.outcome.receipts.iter().map(|r| r.from).collect();
    node.after_acceptance(&built.outcome.entries, &senders);

    let m = &node.metrics;
    m.blocks_produced.inc();
    m.blocks_imported.inc();
    m.txs_executed.inc_by(built.outcome.receipts.len() as u64);
    m.gas_used.inc_by(built.outcome.gas_used);
    m.chain_height.set((head.number + 1) as i64);
    m.blue_score.set(built.ghostdag.blue_score as i64);
    m.block_processing.observe(started.elapsed().as_secs_f64());
    m.state_root.observe(built.state_root_time.as_secs_f64());
    tracing::info!(
        target: "lattice::producer",
        number = head.number + 1,
        hash = %built.block.hash(),
        carried = built.block.transactions.len(),
        executed = built.outcome.receipts.len(),
        skipped = built.outcome.skipped(),
        gas_used = built.outcome.gas_used,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "sealed block"
    );
    Ok(())
}

//! The producer loop: seal a block every block time.

use crate::chain::ChainUpdate;
use crate::{Node, ProducerConfig, SealingPaused};
use eyre::Result;
use lattice_primitives::SealedBlock;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

/// Seals blocks until `shutdown` turns true. Sealing runs on a thread of its own, so that it
/// never waits behind the work of RPC callers and peers in Tokio's blocking pool.
pub async fn run(node: Arc<Node>, producer: ProducerConfig, mut shutdown: watch::Receiver<bool>) {
    type Reply = tokio::sync::oneshot::Sender<Result<SealedBlock>>;
    let (requests, inbox) = std::sync::mpsc::sync_channel::<Reply>(1);
    let (seal_node, seal_producer) = (node.clone(), producer.clone());
    let thread = std::thread::Builder::new().name("lattice-producer".into()).spawn(move || {
        while let Ok(reply) = inbox.recv() {
            let sealed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                produce_one(&seal_node, &seal_producer)
            }))
            .unwrap_or_else(|_| Err(eyre::eyre!("sealing panicked")));
            let _ = reply.send(sealed);
        }
    });
    if let Err(e) = thread {
        tracing::error!(target: "lattice::producer", error = %e, "cannot start the producer thread");
        return;
    }
    let mut ticker = tokio::time::interval(producer.block_time);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut paused = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break; // the network may be gone already: no "no peers" on the way out
        }
        let now_paused = node.sealing_paused();
        if now_paused != paused {
            // Catch-ups come and go while a node follows a fast network (the network logs
            // them); losing every peer is what an operator must see.
            match (now_paused, paused) {
                (Some(why @ SealingPaused::NoPeers), _) => {
                    tracing::warn!(target: "lattice::producer", reason = why.reason(), "not sealing until synced")
                }
                (None, Some(SealingPaused::NoPeers)) => {
                    tracing::info!(target: "lattice::producer", "sealing again")
                }
                (Some(why), _) => {
                    tracing::debug!(target: "lattice::producer", reason = why.reason(), "not sealing until synced")
                }
                (None, _) => tracing::debug!(target: "lattice::producer", "sealing again"),
            }
            paused = now_paused;
            node.metrics.producer_paused.set(i64::from(paused.is_some()));
        }
        if paused.is_some() {
            continue;
        }
        let (reply, sealed) = tokio::sync::oneshot::channel();
        if requests.send(reply).is_err() {
            break;
        }
        match sealed.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(target: "lattice::producer", error = %e, "failed to produce a block")
            }
            Err(_) => break,
        }
    }
    // Dropping `requests` ends the thread after the block it may be sealing.
}

/// Builds, seals and commits one block on the current tips. Returns it.
pub fn produce_one(node: &Node, producer: &ProducerConfig) -> Result<SealedBlock> {
    let started = Instant::now();
    let chain = &node.chain;
    let base_fee = chain.next_base_fee();
    // Sender partitioning: each producer carries the senders that hash into its share, so that
    // parallel blocks rarely carry the same transaction. A share whose owner has not sealed
    // for two patience intervals is offered to one more producer per interval (the next in
    // turn first), never to all at once, and after this producer's own share.
    let patience = producer.block_time * 3;
    let mut active =
        if producer.count > 1 { chain.producers_active(patience * 2) } else { vec![true] };
    if let Some(me) = active.get_mut(producer.index) {
        *me = true;
    }
    let picked = node.pool.best(
        chain.spec().gas_limit,
        base_fee,
        |a| chain.latest_nonce(a),
        |t| carry_rank(t.sender, t.arrived.elapsed(), patience, producer.index, &active),
    );
    let transactions = picked.iter().map(|t| (t.sender, t.tx.clone())).collect();
    let timestamp_ms = now_ms().max(chain.head().header.timestamp_ms + 1);
    let built = chain.produce_with_senders(
        &producer.signer,
        producer.coinbase,
        transactions,
        timestamp_ms,
    )?;
    let hashes: Vec<_> = picked.iter().map(|t| t.hash).collect();
    node.pool.mark_packed(&hashes);
    let _ = node.sealed_blocks.send(built.block.clone());
    node.on_chain_update(&ChainUpdate::added(built.applied.clone()));

    let m = &node.metrics;
    m.blocks_produced.inc();
    m.block_processing.observe(started.elapsed().as_secs_f64());
    m.state_root.observe(built.state_root_time.as_secs_f64());
    tracing::info!(
        target: "lattice::producer",
        number = built.applied.number,
        hash = %built.block.hash(),
        parents = built.block.header.header.parents.len(),
        carried = built.block.transactions.len(),
        executed = built.applied.receipts.len(),
        skipped = built.applied.entries.len() - built.applied.receipts.len(),
        gas_used = built.applied.gas_used,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "sealed block"
    );
    Ok(built.block)
}

/// Patience intervals a helper waits before it carries a transaction whose owner is sealing:
/// one that never reached the owner (gossip lost) is still carried, late.
pub const OWNER_ACTIVE_INTERVALS: u128 = 10;

/// Whether producer `index` carries a transaction from `sender` that waited `waited`, and with
/// which rank (0 first, then 1). `active[i]` says whether producer `i` sealed a block recently
/// (its length is the producer count). The owner of the sender's share carries it at once.
/// Under a backlog transactions wait for the owner, so waiting alone says nothing: while the
/// owner seals, helpers leave its share alone for [`OWNER_ACTIVE_INTERVALS`]. Once the owner
/// is gone, the producer after it in turn helps after one `patience`, the next after two, and
/// so on: each interval adds one carrier, which bounds how many parallel blocks carry it twice.
pub fn carry_rank(
    sender: alloy_primitives::Address,
    waited: std::time::Duration,
    patience: std::time::Duration,
    index: usize,
    active: &[bool],
) -> Option<u8> {
    let count = active.len();
    if count <= 1 {
        return Some(0);
    }
    let owner = partition(sender, count);
    let behind = (index + count - owner) % count;
    if behind == 0 {
        return Some(0);
    }
    let start = if active[owner] { OWNER_ACTIVE_INTERVALS } else { 0 };
    let intervals = (waited.as_nanos() / patience.as_nanos().max(1)).checked_sub(start)?;
    // After its own share for the first interval it may carry it, level with it after that:
    // a share whose owner is gone is not left behind full blocks of the others' own shares.
    match (behind as u128).cmp(&intervals) {
        std::cmp::Ordering::Greater => None,
        std::cmp::Ordering::Equal => Some(1),
        std::cmp::Ordering::Less => Some(0),
    }
}

/// The producer (of `count`) whose share `sender` falls in.
pub fn partition(sender: alloy_primitives::Address, count: usize) -> usize {
    let h = alloy_primitives::keccak256(sender);
    (u64::from_be_bytes(h[..8].try_into().expect("8 bytes")) % count as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::{carry_rank, partition};
    use alloy_primitives::Address;
    use std::time::Duration;

    #[test]
    fn a_waiting_transaction_reaches_one_more_producer_per_patience() {
        let p = Duration::from_millis(100);
        let sender = Address::repeat_byte(9);
        let owner = partition(sender, 4);
        let after = |k: usize| (owner + k) % 4;
        let mut gone = [true; 4];
        gone[owner] = false;
        let carriers = |waited: u64, active: &[bool]| {
            (0..4)
                .filter(|i| {
                    carry_rank(sender, Duration::from_millis(waited), p, *i, active).is_some()
                })
                .count()
        };
        assert_eq!(carry_rank(sender, Duration::ZERO, p, owner, &gone), Some(0));
        assert_eq!(carry_rank(sender, Duration::from_secs(60), p, owner, &gone), Some(0));
        assert_eq!(carriers(0, &gone), 1, "the owner alone");
        assert_eq!(carriers(99, &gone), 1);
        assert_eq!(carry_rank(sender, Duration::from_millis(100), p, after(1), &gone), Some(1));
        assert_eq!(carry_rank(sender, Duration::from_millis(100), p, after(2), &gone), None);
        assert_eq!(
            carry_rank(sender, Duration::from_millis(200), p, after(1), &gone),
            Some(0),
            "level with the helper's own share one interval later"
        );
        assert_eq!(carriers(100, &gone), 2, "then the next producer in turn");
        assert_eq!(carriers(250, &gone), 3);
        assert_eq!(carriers(300, &gone), 4, "and eventually every producer");
        assert_eq!(carry_rank(sender, Duration::ZERO, p, 3, &[true]), Some(0), "a lone producer");
    }

    #[test]
    fn a_backlog_does_not_spread_a_share_whose_owner_seals() {
        let p = Duration::from_millis(100);
        let sender = Address::repeat_byte(9);
        let owner = partition(sender, 4);
        let all = [true; 4];
        let carriers = |waited: u64| {
            (0..4)
                .filter(|i| {
                    carry_rank(sender, Duration::from_millis(waited), p, *i, &all).is_some()
                })
                .count()
        };
        assert_eq!(carriers(300), 1, "waiting behind a backlog: the owner alone");
        assert_eq!(carriers(999), 1);
        assert_eq!(carriers(1_100), 2, "one that never reached the owner is carried, late");
        assert_eq!(
            carry_rank(sender, Duration::from_millis(1_100), p, (owner + 1) % 4, &all),
            Some(1)
        );
        assert_eq!(carriers(1_300), 4);
    }

    #[test]
    fn partition_is_stable_and_spreads_senders_evenly() {
        let senders: Vec<Address> =
            (0..4_000u32).map(|i| Address::left_padding_from(&i.to_be_bytes())).collect();
        assert!(senders.iter().all(|s| partition(*s, 1) == 0));
        let mut shares = [0usize; 4];
        for s in &senders {
            let p = partition(*s, 4);
            assert_eq!(p, partition(*s, 4), "the same share every time");
            shares[p] += 1;
        }
        // keccak spreads them: each share within 10% of a quarter.
        for share in shares {
            assert!((900..=1_100).contains(&share), "{shares:?}");
        }
    }
}

//! The Lattice node: configuration, wiring of chain, pool, producer, RPC and metrics.
//!
//! [`launch`] starts a node in-process from a [`NodeConfig`] and returns a [`NodeHandle`]; the
//! `lattice` binary is a thin shell around it (parse flags, launch, wait for Ctrl-C).

pub mod chain;
pub mod cli;
mod config;
mod dag;
pub mod ipfs_cli;
mod local_net;
pub mod metrics;
pub mod network;
pub mod orphans;
pub mod pinning;
mod producer;
pub mod progress;
pub mod provider;
mod rpc_api;
pub mod status;
pub mod tools;
pub mod usage;
pub mod verify;

pub use config::{NetworkSettings, NodeConfig, ProducerConfig, CHAIN_SPEC_FILE, PRODUCER_KEY_FILE};
pub use producer::produce_one;
pub use usage::UsageError;

use alloy_consensus::TxEnvelope;
use alloy_primitives::B256;
use chain::{Chain, ChainUpdate};
use eyre::Result;
use lattice_primitives::SealedBlock;
use lattice_storage::Db;
use lattice_txpool::{ChainContext, SenderState, TxPool};
use metrics::Metrics;
use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

/// EIP-7825: the most gas one transaction may ask for (Osaka).
pub const TX_GAS_LIMIT_CAP: u64 = 1 << 24;

/// A running node's shared state.
pub struct Node {
    /// The chain.
    pub chain: Chain,
    /// The transaction pool.
    pub pool: TxPool,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Configuration it was started with.
    pub config: NodeConfig,
    /// Blocks this node sealed, for whoever spreads them (the network, local producers).
    pub sealed_blocks: broadcast::Sender<SealedBlock>,
    /// Transactions this node's RPC accepted, likewise.
    pub new_transactions: broadcast::Sender<TxEnvelope>,
    /// The network, once started.
    pub network: std::sync::OnceLock<lattice_network::NetworkHandle>,
    /// What the node knows about its Kubo, with `--ipfs-api`.
    pub ipfs: std::sync::OnceLock<lattice_ipfs::IpfsWatch>,
    /// The pinning service, with `--ipfs-incentives`.
    pub pinning: std::sync::OnceLock<Arc<pinning::Pinning>>,
    /// Changes of the selected chain, for RPC filters and subscriptions.
    pub chain_events: broadcast::Sender<Arc<lattice_rpc::ChainEvent>>,
    /// Number of the last chain event sent.
    pub chain_event_seq: std::sync::atomic::AtomicU64,
    /// Transactions entering the pool, likewise.
    pub pending_txs: broadcast::Sender<Arc<lattice_rpc::TxView>>,
    orphans: Mutex<orphans::Orphans>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("chain", &self.chain).finish_non_exhaustive()
    }
}

/// A producer whose sink is older than this (or three block times) while it catches up is
/// behind, and waits (see [`Node::sealing_paused`]).
pub const SYNCED_WITHIN_MS: u64 = 10_000;

/// Why a producer waits instead of sealing (see [`Node::sealing_paused`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealingPaused {
    /// It belongs to a network and has no peer.
    NoPeers,
    /// It is catching up with a peer.
    CatchingUp,
}

impl SealingPaused {
    /// For logs.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NoPeers => "no peers",
            Self::CatchingUp => "catching up with a peer",
        }
    }
}

impl Node {
    /// A node over an opened chain.
    pub fn new(chain: Chain, config: NodeConfig, metrics: Arc<Metrics>) -> Self {
        Self {
            chain,
            pool: TxPool::new(config.pool.clone()),
            metrics,
            config,
            sealed_blocks: broadcast::channel(1_024).0,
            new_transactions: broadcast::channel(16_384).0,
            network: std::sync::OnceLock::new(),
            ipfs: std::sync::OnceLock::new(),
            pinning: std::sync::OnceLock::new(),
            chain_events: broadcast::channel(1_024).0,
            chain_event_seq: std::sync::atomic::AtomicU64::new(0),
            pending_txs: broadcast::channel(16_384).0,
            orphans: Mutex::new(orphans::Orphans::default()),
        }
    }

    /// What the pool checks transactions against.
    pub fn pool_context(&self) -> ChainContext {
        let spec = self.chain.spec();
        ChainContext {
            chain_id: spec.chain_id,
            block_gas_limit: spec.gas_limit,
            tx_gas_limit_cap: TX_GAS_LIMIT_CAP.min(spec.gas_limit),
            min_fee: spec.min_base_fee as u128,
        }
    }

    /// Follows a change of the selected chain: metrics, and the pool (executed transactions
    /// and those that can never apply leave; one skipped for what may still change, a nonce
    /// gap, a base fee above its fee cap or a balance below its cost, is offered again, and
    /// the pool's own rules decide when it is executable).
    pub fn on_chain_update(&self, update: &ChainUpdate) {
        let m = &self.metrics;
        let mut senders = BTreeSet::new();
        let mut retry = Vec::new();
        // Senders whose executed transactions a reorg undid have a lower nonce again.
        senders.extend(update.removed.iter().flat_map(|b| b.receipts.iter().map(|r| r.from)));
        self.reinject_undone(update);
        self.observe_inclusion(update);
        for block in &update.added {
            m.chain_blocks_applied.inc();
            if let Ok(Some(gd)) = self.chain.ghostdag(block.hash) {
                let colours = [("blue", gd.mergeset_blues.len()), ("red", gd.mergeset_reds.len())];
                for (colour, n) in colours {
                    m.mergeset_blocks.with_label_values(&[colour]).inc_by(n as u64);
                }
            }
            m.txs_executed.inc_by(block.receipts.len() as u64);
            m.gas_used.inc_by(block.gas_used);
            senders.extend(block.receipts.iter().map(|r| r.from));
            for entry in &block.entries {
                let Some(reason) = entry.skip_reason() else { continue };
                m.txs_skipped.with_label_values(&[reason.as_str()]).inc();
                if reason.may_apply_later() {
                    retry.push(entry.tx_hash);
                } else {
                    self.pool.remove(&entry.tx_hash);
                }
            }
        }
        self.pool.unmark_packed(&retry);
        for sender in senders {
            self.pool.prune_sender(sender, self.sender_state(sender));
        }
        self.pool.expire(std::time::Instant::now());
        self.publish_chain_event(update);
        self.refresh_metrics();
    }

    /// Inclusion latency of the transactions `update` executed that this node's pool held
    /// (read before the pool lets them go).
    fn observe_inclusion(&self, update: &ChainUpdate) {
        let executed = update.added.iter().flat_map(|b| b.receipts.iter().map(|r| r.tx_hash));
        let now = std::time::Instant::now();
        for arrived in self.pool.arrivals(executed) {
            self.metrics.inclusion.observe(now.duration_since(arrived).as_secs_f64());
        }
    }

    /// Like geth after a reorg, puts the transactions whose execution the reorg undid (and the
    /// new chain did not run again) back into the pool, as packed: a block still carries each,
    /// and the chain block that merges it runs it. Without them the sender's pending nonce
    /// would go back, and its later transactions would wait behind a gap they cannot fill.
    fn reinject_undone(&self, update: &ChainUpdate) {
        if update.removed.is_empty() {
            return;
        }
        let executed = |b: &chain::AppliedBlock| {
            b.entries.iter().filter(|e| e.skip_reason().is_none()).cloned().collect::<Vec<_>>()
        };
        let again: std::collections::HashSet<B256> =
            update.added.iter().flat_map(executed).map(|e| e.tx_hash).collect();
        let mut back = Vec::new();
        // Oldest first, so that each sender's nonces come back in order.
        for entry in update.removed.iter().rev().flat_map(executed) {
            if again.contains(&entry.tx_hash) || self.pool.contains(&entry.tx_hash) {
                continue;
            }
            match self.chain.carried_tx(entry.carrier, entry.carrier_index) {
                Ok(Some(tx)) => match self.add_to_pool(tx) {
                    Ok(hash) => back.push(hash),
                    Err(e) => tracing::debug!(target: "lattice::txpool", tx = %entry.tx_hash,
                        error = %e, "an undone transaction stays out of the pool"),
                },
                Ok(None) => {}
                Err(e) => tracing::warn!(target: "lattice::txpool", tx = %entry.tx_hash,
                    error = %e, "cannot read an undone transaction"),
            }
        }
        self.pool.mark_packed(&back);
    }

    /// Why this producer should not seal now, if it should not. As Kaspa's miners get no
    /// template from a node that is not synced, a producer of a many-producer chain waits
    /// while it catches up with its sink older than [`SYNCED_WITHIN_MS`], and while it belongs
    /// to a network (it was given peers, or has had one of its chain) but has no peer. Sealing
    /// alone would build a branch of its own that, once longer than the finality depth, the
    /// node could never leave. The first node of a network, which has nobody to wait for, and
    /// a single-producer chain seal regardless; an open producer set (the built-in devnet)
    /// counts as many producers.
    pub fn sealing_paused(&self) -> Option<SealingPaused> {
        let network = self.network.get()?;
        let spec = self.chain.spec();
        if spec.producers.len() < 2 && !spec.open_producers {
            return None;
        }
        // Behind means our sink is old, not merely that a catch-up runs: a peer (honest or
        // not) that claims more work than it has cannot hold a synced producer back.
        let behind = producer::now_ms().saturating_sub(self.chain.head().header.timestamp_ms)
            > SYNCED_WITHIN_MS.max(3 * spec.block_time_ms);
        if network.sync_state().syncing && behind {
            return Some(SealingPaused::CatchingUp);
        }
        let joined = self.config.network.as_ref().is_some_and(|n| !n.bootstrap_nodes.is_empty())
            || network.has_had_peers();
        (joined && network.peer_count() == 0).then_some(SealingPaused::NoPeers)
    }

    /// Brings the metrics that follow other parts' counters (pool, caches, network) up to
    /// date: on every chain update and on every scrape, so a stalled chain shows them too.
    pub fn refresh_metrics(&self) {
        let m = &self.metrics;
        self.pool_metrics();
        let (carried, again) = self.chain.carried_counts();
        let tries = self.chain.storage_cache_stats();
        let (consensus, clocks) = self.chain.consensus_cache_stats();
        m.consensus_cache_entries.set((consensus.entries + clocks) as i64);
        m.follow(&[
            (&m.consensus_cache_hits, consensus.hits),
            (&m.consensus_cache_misses, consensus.misses),
            (&m.txs_carried, carried),
            (&m.txs_duplicate_carried, again),
            (&m.equivocations, self.chain.equivocations()),
            (&m.storage_trie_loads, tries.loads),
            (&m.txpool_evicted, self.pool.counters().evicted),
            (&m.txpool_expired, self.pool.counters().expired),
        ]);
        m.storage_trie_cache_slots.set(tries.slots as i64);
        if let Some(network) = self.network.get() {
            let refused: Vec<_> = network
                .refusals()
                .into_iter()
                .map(|(kind, n)| (m.p2p_refused.with_label_values(&[kind]), n))
                .collect();
            m.follow(&refused.iter().map(|(c, n)| (c, *n)).collect::<Vec<_>>());
            m.p2p_banned.set(network.banned_peers() as i64);
            m.p2p_peers.set(network.peer_count() as i64);
            m.p2p_requests_queued.set(network.queued_requests() as i64);
        }
        let sync = self.network.get().map(|n| n.sync_state()).unwrap_or_default();
        m.sync_active.set(sync.syncing as i64);
        m.set_head(
            || {
                let head = self.chain.head();
                (head.number, head.header.blue_score)
            },
            sync.syncing.then_some(sync.highest_block),
        );
    }

    /// The sender's nonce and balance in the latest state, as the pool checks against.
    fn sender_state(&self, sender: alloy_primitives::Address) -> SenderState {
        // The version first: a state written in between is then taken for the older one,
        // never an older state for the newer.
        let version = self.chain.state_version();
        let (nonce, balance) = self.chain.latest_nonce_and_balance(sender);
        SenderState { nonce, balance, version }
    }

    fn pool_metrics(&self) {
        let status = self.pool.status();
        let m = &self.metrics;
        m.txpool_size.set((status.pending + status.queued) as i64);
        m.txpool_pending.set(status.pending as i64);
        m.txpool_queued.set(status.queued as i64);
        m.txpool_bytes.set(status.bytes as i64);
    }

    /// Sends the update to RPC filters and subscriptions, if any listen. Only what the update
    /// already holds is copied; nothing is read.
    fn publish_chain_event(&self, update: &ChainUpdate) {
        if self.chain_events.receiver_count() == 0
            || (update.added.is_empty() && update.removed.is_empty())
        {
            return;
        }
        let view = |b: &chain::AppliedBlock| lattice_rpc::EventBlock {
            number: b.number,
            hash: b.hash,
            header: b.header.clone(),
            receipts: b.receipts.clone(),
            entries: b.entries.clone(),
        };
        let seq = self.chain_event_seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let event = lattice_rpc::ChainEvent {
            seq,
            removed: update.removed.iter().map(view).collect(),
            added: update.added.iter().map(view).collect(),
        };
        let _ = self.chain_events.send(Arc::new(event));
    }

    /// Imports a block from elsewhere (another producer or a peer). A block whose parents are
    /// missing waits among the orphans and is retried when a block is imported; the missing
    /// hashes are returned in the error so the caller can fetch them.
    pub fn import_block(&self, block: SealedBlock) -> Result<(), chain::BlockError> {
        let result = self.import_one(block);
        if !matches!(result, Err(chain::BlockError::MissingParents { .. })) {
            self.retry_orphans();
        }
        result
    }

    /// Imports one block, without retrying orphans.
    fn import_one(&self, block: SealedBlock) -> Result<(), chain::BlockError> {
        match self.chain.import(&block, producer::now_ms()) {
            Ok(chain::ImportOutcome::AlreadyKnown) => Ok(()),
            Ok(chain::ImportOutcome::Imported(update)) => {
                self.metrics.blocks_imported.inc();
                self.after_import(&block, &update);
                if update.disqualified.contains(&block.hash()) {
                    // In the DAG all the same: blocks waiting for it may follow.
                    return Err(chain::BlockError::WrongCommitment { hash: block.hash() });
                }
                Ok(())
            }
            Err(chain::BlockError::MissingParents { hash, missing }) => {
                self.orphans.lock().insert(block, std::time::Instant::now());
                Err(chain::BlockError::MissingParents { hash, missing })
            }
            Err(e) => Err(e),
        }
    }

    fn after_import(&self, block: &SealedBlock, update: &ChainUpdate) {
        let hashes: Vec<B256> = block.transactions.iter().map(|t| *t.tx_hash()).collect();
        self.pool.mark_packed(&hashes);
        if !update.removed.is_empty() {
            tracing::info!(target: "lattice::chain", removed = update.removed.len(), added = update.added.len(), "reorg");
        }
        self.on_chain_update(update);
    }

    fn retry_orphans(&self) {
        loop {
            let ready = self
                .orphans
                .lock()
                .take_ready(std::time::Instant::now(), |p| self.chain.contains(p));
            if ready.is_empty() {
                return;
            }
            // One level at a time, in a loop: an orphan chain however long costs no stack.
            for block in ready {
                if let Err(e) = self.import_one(block) {
                    tracing::debug!(target: "lattice::chain", error = %e, "orphan refused");
                }
            }
        }
    }

    /// Validates and pools a transaction and announces it. Returns its hash.
    pub fn submit_transaction(&self, tx: TxEnvelope) -> Result<B256, lattice_rpc::RpcError> {
        let hash = self.add_to_pool(tx.clone())?;
        let _ = self.new_transactions.send(tx);
        Ok(hash)
    }

    /// Validates, pools and announces a batch of transactions (a JSON-RPC batch of
    /// `eth_sendRawTransaction`): senders are recovered on every core at once, and each
    /// sender's state is read once per batch. One result per transaction, in order.
    pub fn submit_transactions(
        &self,
        txs: Vec<TxEnvelope>,
    ) -> Vec<Result<B256, lattice_rpc::RpcError>> {
        let senders = recover_all(&txs);
        let context = self.pool_context();
        let mut states: std::collections::HashMap<alloy_primitives::Address, SenderState> =
            std::collections::HashMap::new();
        txs.into_iter()
            .zip(senders)
            .map(|(tx, sender)| {
                let sender = sender?;
                // A state read earlier in the batch serves while no block has executed since:
                // one that had would make its nonce and balance refuse what a fresh read takes.
                let version = self.chain.state_version();
                let state = match states.get(&sender) {
                    Some(state) if state.version == version => *state,
                    _ => self.sender_state(sender),
                };
                let (hash, state) = self.pool_insert(tx.clone(), sender, state, &context)?;
                states.insert(sender, state);
                let _ = self.new_transactions.send(tx);
                Ok(hash)
            })
            .collect()
    }

    /// Validates and pools a transaction without announcing it (it came from elsewhere).
    pub fn add_to_pool(&self, tx: TxEnvelope) -> Result<B256, lattice_rpc::RpcError> {
        let sender = recover_sender(&tx)?;
        let (hash, _) =
            self.pool_insert(tx, sender, self.sender_state(sender), &self.pool_context())?;
        Ok(hash)
    }

    /// Pools `tx` from `sender`, whose state was read as `state`. Returns the hash and the
    /// state it was pooled against (read again if a block executed since).
    fn pool_insert(
        &self,
        tx: TxEnvelope,
        sender: alloy_primitives::Address,
        mut state: SenderState,
        context: &ChainContext,
    ) -> Result<(B256, SenderState), lattice_rpc::RpcError> {
        // A block that executes between reading the sender's state and taking the pool's lock
        // makes the read stale: read again (a few times at most; blocks are far apart).
        let mut attempts = 0;
        let added = loop {
            attempts += 1;
            match self.pool.add(tx.clone(), sender, state, context) {
                Err(lattice_txpool::PoolError::StaleState) if attempts < 4 => {
                    state = self.sender_state(sender);
                }
                other => break other,
            }
        };
        let hash = added.map_err(|e| {
            self.metrics.txpool_rejected.with_label_values(&[e.code()]).inc();
            lattice_rpc::RpcError::Rejected(e.to_string())
        })?;
        if self.pending_txs.receiver_count() > 0 {
            if let Some(pooled) = self.pool.get(&hash) {
                let _ = self.pending_txs.send(Arc::new(lattice_rpc::TxView {
                    tx: pooled.tx.clone(),
                    sender,
                    executed: None,
                    carrier: None,
                }));
            }
        }
        tracing::debug!(target: "lattice::txpool", %hash, %sender, "transaction pooled");
        Ok((hash, state))
    }
}

fn recover_sender(tx: &TxEnvelope) -> Result<alloy_primitives::Address, lattice_rpc::RpcError> {
    use alloy_consensus::transaction::SignerRecoverable;
    tx.recover_signer().map_err(|e| lattice_rpc::RpcError::Rejected(format!("invalid sender: {e}")))
}

/// Transactions one recovery thread takes at least: below it, a thread costs more than it
/// saves.
const RECOVER_CHUNK: usize = 64;

/// Recovery threads running beyond the callers' own, over all batches: at most the cores
/// less one, so that many batches at once cannot multiply the threads that compete with
/// block production and import.
static RECOVERY_HELPERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Takes up to `want` of [`RECOVERY_HELPERS`]' room; returns how many it got.
fn take_helpers(want: usize, cores: usize) -> usize {
    use std::sync::atomic::Ordering;
    let room = cores.saturating_sub(1);
    let mut busy = RECOVERY_HELPERS.load(Ordering::Relaxed);
    loop {
        let got = want.min(room.saturating_sub(busy));
        if got == 0 {
            return 0;
        }
        match RECOVERY_HELPERS.compare_exchange(
            busy,
            busy + got,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            Ok(_) => return got,
            Err(now) => busy = now,
        }
    }
}

/// [`recover_sender`] for each of `txs`, on this thread and as many helper threads as the
/// cores allow (see [`RECOVERY_HELPERS`]).
fn recover_all(
    txs: &[TxEnvelope],
) -> Vec<Result<alloy_primitives::Address, lattice_rpc::RpcError>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = cores.min(txs.len() / RECOVER_CHUNK).max(1);
    let helpers = if wanted > 1 { take_helpers(wanted - 1, cores) } else { 0 };
    let threads = helpers + 1;
    if threads == 1 {
        return txs.iter().map(recover_sender).collect();
    }
    struct Release(usize);
    impl Drop for Release {
        fn drop(&mut self) {
            RECOVERY_HELPERS.fetch_sub(self.0, std::sync::atomic::Ordering::AcqRel);
        }
    }
    let _release = Release(helpers);
    let chunk = txs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = txs
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(recover_sender).collect::<Vec<_>>()))
            .collect();
        parts.into_iter().flat_map(|p| p.join().expect("sender recovery does not panic")).collect()
    })
}

/// A running node.
pub struct NodeHandle {
    /// Shared state.
    pub node: Arc<Node>,
    /// Address the RPC server listens on (`None` with `--no-rpc`).
    pub rpc_addr: Option<SocketAddr>,
    /// Address the metrics server listens on.
    pub metrics_addr: Option<SocketAddr>,
    rpc: Option<lattice_rpc::ServerHandle>,
    tasks: Vec<JoinHandle<()>>,
    /// The other local producers of `--dev.local-producers`.
    pub local: Vec<Arc<Node>>,
    shutdown: watch::Sender<bool>,
}

/// How often the history pruner looks for chain blocks to prune.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// Chain blocks whose history one pruning step deletes (one RocksDB batch).
const PRUNE_STEP_BLOCKS: u64 = 200;

/// Keeps the state history of the last `keep` chain blocks (`--prune`): every few seconds,
/// steps of [`PRUNE_STEP_BLOCKS`] on a blocking thread, off the paths that seal and import.
async fn prune_history(node: Arc<Node>, keep: u64, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(target: "lattice::node", keep, floor = node.chain.history_floor(),
        "keeping the state history of the last {keep} chain blocks (--prune)");
    loop {
        let chain_node = node.clone();
        let step = tokio::task::spawn_blocking(move || {
            chain_node.chain.prune_history(keep, PRUNE_STEP_BLOCKS)
        })
        .await;
        let busy = match step {
            Ok(Ok(step)) => {
                node.metrics.history_floor.set(step.floor as i64);
                if step.blocks > 0 {
                    tracing::debug!(target: "lattice::chain", floor = step.floor,
                        blocks = step.blocks, entries = step.entries, "pruned state history");
                }
                step.blocks > 0
            }
            Ok(Err(e)) => {
                tracing::warn!(target: "lattice::chain", error = %e, "pruning state history failed");
                false
            }
            Err(e) => {
                tracing::error!(target: "lattice::chain", error = %e, "the pruner panicked");
                return;
            }
        };
        // Catch up without pausing; then wait for the chain to grow.
        let pause = if busy { std::time::Duration::ZERO } else { PRUNE_EVERY };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle").field("rpc_addr", &self.rpc_addr).finish_non_exhaustive()
    }
}

impl NodeHandle {
    /// Waits until the database refuses a write (a full disk, a read-only file system), and
    /// returns RocksDB's reason. The node can then only be stopped (see [`NodeHandle::stop`]).
    pub async fn storage_failure(&self) -> String {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
        loop {
            tick.tick().await;
            let failed = std::iter::once(&self.node)
                .chain(&self.local)
                .find_map(|n| n.chain.db().write_failure().map(str::to_string));
            if let Some(why) = failed {
                return why;
            }
        }
    }

    /// Stops producing and serving, and flushes the database.
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        if let Some(rpc) = self.rpc {
            let _ = rpc.stop();
            rpc.stopped().await;
        }
        self.node.chain.db().flush()?;
        for peer in &self.local {
            peer.chain.db().flush()?;
        }
        Ok(())
    }
}

/// Why the database at `path` did not open: a usage error when the directory is another
/// process's or cannot be written, the storage error otherwise.
fn db_open_failed(error: lattice_storage::StorageError, path: &std::path::Path) -> eyre::Report {
    let reason = error.to_string();
    let dir = path.parent().unwrap_or(path).display();
    if reason.contains("LOCK") && reason.contains("unavailable") || reason.contains("lock hold") {
        UsageError::report(
            format!("the data directory {dir} is in use by another process ({reason})"),
            "stop the other lattice node that uses it, or pass another --data-dir",
        )
    } else if reason.contains("Read-only file system") || reason.contains("Permission denied") {
        UsageError::report(
            format!("cannot open the database at {} ({reason})", path.display()),
            "make the data directory writable by this user, or pass another --data-dir",
        )
    } else {
        eyre::Report::new(error).wrap_err(format!("cannot open the database at {}", path.display()))
    }
}

/// Opens the database, the chain and the pool, and starts RPC, metrics and (when configured)
/// the producer.
pub async fn launch(config: NodeConfig) -> Result<NodeHandle> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        UsageError::report(
            format!("cannot create the data directory {} ({e})", config.data_dir.display()),
            "pass --data-dir with a directory this user can write",
        )
    })?;
    let db_path = config.data_dir.join("db");
    let db = Db::open(&db_path, &chain::all_tables()).map_err(|e| db_open_failed(e, &db_path))?;
    let chain = Chain::open_with(Arc::new(db), config.spec.clone(), config.chain)?;
    let head = chain.head();
    tracing::info!(
        target: "lattice::node",
        chain_id = config.spec.chain_id,
        genesis = %chain.genesis(),
        height = head.number,
        sink = %head.hash,
        data_dir = %config.data_dir.display(),
        "chain opened"
    );
    let metrics = Arc::new(Metrics::new());
    metrics.chain_height.set(head.number as i64);
    let node = Arc::new(Node::new(chain, config, metrics.clone()));

    let metrics_addr = match node.config.metrics_addr {
        Some(addr) => {
            let weak = Arc::downgrade(&node);
            let refresh = move || {
                if let Some(node) = weak.upgrade() {
                    node.refresh_metrics();
                }
            };
            let bound = metrics::serve(addr, metrics.clone(), refresh).await.map_err(|e| {
                usage::listen_failed(e.into(), "metrics", &addr.to_string(), "--metrics-addr")
            })?;
            tracing::info!(target: "lattice::node", %bound, "metrics server listening");
            Some(bound)
        }
        None => None,
    };
    let (rpc_addr, rpc) = if node.config.rpc.enabled {
        let api = Arc::new(rpc_api::Api::new(node.clone()));
        let (addr, handle) =
            lattice_rpc::start_server(&node.config.rpc, api, Some(metrics.clone())).await.map_err(
                |e| {
                    let addr = node.config.rpc.addr.to_string();
                    usage::listen_failed(e.into(), "JSON-RPC", &addr, "--rpc-addr")
                },
            )?;
        tracing::info!(target: "lattice::node", rpc_addr = %addr, apis = %node.config.rpc.apis.join(","),
            "JSON-RPC listening (HTTP and WebSocket)");
        (Some(addr), Some(handle))
    } else {
        tracing::info!(target: "lattice::node", "JSON-RPC off (--no-rpc)");
        (None, None)
    };

    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(p) = node.config.producer.clone() {
        tracing::info!(target: "lattice::node", producer = %p.signer.address(), coinbase = %p.coinbase,
            block_time_ms = p.block_time.as_millis() as u64, "producing blocks");
        tasks.push(tokio::spawn(producer::run(node.clone(), p, shutdown_rx.clone())));
    }
    if let Some((handle, network_tasks)) = network::start(node.clone(), shutdown_rx.clone()).await?
    {
        let _ = node.network.set(handle);
        tasks.extend(network_tasks);
    }
    if let Some(keep) = node.config.prune {
        tasks.push(tokio::spawn(prune_history(node.clone(), keep, shutdown_rx.clone())));
    }
    if let Some(client) = node.config.ipfs.clone() {
        tracing::info!(target: "lattice::ipfs", api = %client.url(), "IPFS: using Kubo's HTTP RPC");
        let m = metrics.clone();
        let on_check = move |up: bool| {
            m.ipfs_up.set(i64::from(up));
            if !up {
                m.ipfs_checks_failed.inc();
            }
        };
        let every = lattice_ipfs::DEFAULT_CHECK_EVERY;
        let client = Arc::new(client);
        let (watch, task) =
            lattice_ipfs::IpfsWatch::spawn(client.clone(), every, on_check, shutdown_rx.clone());
        let _ = node.ipfs.set(watch);
        tasks.push(task);
        if let Some((contract, policy)) = node.config.pinning.clone() {
            let provider = node.config.provider.clone().map(|config| {
                provider::Provider::new(config, contract, client.clone(), policy.max_pin_bytes)
            });
            let service = Arc::new(pinning::Pinning::new(
                contract,
                provider.as_ref().map(provider::Provider::address),
            ));
            let _ = node.pinning.set(service.clone());
            let pinner = lattice_ipfs::pinning::Pinner::new(client, policy);
            if let Some(provider) = provider {
                tasks.push(tokio::spawn(pinning::run_provider(
                    node.clone(),
                    service.clone(),
                    provider,
                    shutdown_rx.clone(),
                )));
            }
            tasks.push(tokio::spawn(pinning::run(
                node.clone(),
                service,
                pinner,
                shutdown_rx.clone(),
            )));
        }
    }
    let mut local = Vec::new();
    if node.config.local_producers {
        let (peers, handles) = local_net::start(node.clone(), shutdown_rx)?;
        local = peers;
        tasks.extend(handles);
    }
    Ok(NodeHandle { node, rpc_addr, metrics_addr, rpc, tasks, local, shutdown })
}

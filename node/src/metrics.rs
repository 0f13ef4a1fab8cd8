//! Prometheus metrics, named by scope in base units (`lattice_…_seconds`, `…_total`).

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The node's metrics.
#[derive(Clone)]
pub struct Metrics {
    /// Serialises [`Metrics::follow`], so two updates cannot both add the same difference.
    follow_lock: std::sync::Arc<parking_lot::Mutex<()>>,
    /// Serialises [`Metrics::set_head`], so the gauges it sets always come from one head.
    head_lock: std::sync::Arc<parking_lot::Mutex<()>>,
    /// Registry all metrics live in.
    pub registry: Registry,
    /// Blocks this node sealed.
    pub blocks_produced: IntCounter,
    /// Blocks received from other producers or peers and added to the DAG.
    pub blocks_imported: IntCounter,
    /// Blocks added to the selected chain, own and received; a reorg adds its blocks again.
    pub chain_blocks_applied: IntCounter,
    /// Time to build or import a block, execution and commit included.
    pub block_processing: Histogram,
    /// Time to compute a block's state root.
    pub state_root: Histogram,
    /// Transactions executed by chain blocks.
    pub txs_executed: IntCounter,
    /// Transactions skipped by chain blocks, by reason.
    pub txs_skipped: IntCounterVec,
    /// Transactions carried by blocks this node sealed or imported.
    pub txs_carried: IntCounter,
    /// Of those, transactions some other block had already carried.
    pub txs_duplicate_carried: IntCounter,
    /// Transactions in the pool.
    pub txpool_size: IntGauge,
    /// Executable transactions in the pool.
    pub txpool_pending: IntGauge,
    /// Gapped transactions in the pool.
    pub txpool_queued: IntGauge,
    /// Bytes of transactions in the pool.
    pub txpool_bytes: IntGauge,
    /// Transactions the pool refused, by reason.
    pub txpool_rejected: IntCounterVec,
    /// Transactions evicted for better-paying ones.
    pub txpool_evicted: IntCounter,
    /// Gapped transactions dropped after the pool's lifetime.
    pub txpool_expired: IntCounter,
    /// Selected-chain height of the sink.
    pub chain_height: IntGauge,
    /// Blue score of the sink.
    pub blue_score: IntGauge,
    /// Gas used by chain blocks.
    pub gas_used: IntCounter,
    /// Parallel blocks of one producer sealed too close together (evidence).
    pub equivocations: IntCounter,
    /// Storage slots in the cached storage tries.
    pub storage_trie_cache_slots: IntGauge,
    /// Storage tries built from the database (cache misses).
    pub storage_trie_loads: IntCounter,
    /// Entries in the consensus caches (five record kinds and producer clocks).
    pub consensus_cache_entries: IntGauge,
    /// Consensus-record reads the caches answered.
    pub consensus_cache_hits: IntCounter,
    /// Consensus-record reads that went to the database.
    pub consensus_cache_misses: IntCounter,
    /// RPC calls by method and outcome.
    pub rpc_calls: IntCounterVec,
    /// RPC requests refused at a limit, by limit.
    pub rpc_limited: IntCounterVec,
    /// What the network refused, by kind (peers' offences, messages dropped at a limit).
    pub p2p_refused: IntCounterVec,
    /// Peers banned now.
    pub p2p_banned: IntGauge,
    /// RPC call latency by method.
    pub rpc_latency: HistogramVec,
    /// Connected peers.
    pub p2p_peers: IntGauge,
    /// Requests to peers waiting their turn under the node's own pace.
    pub p2p_requests_queued: IntGauge,
    /// 1 while this producer waits to be synced (no peers, or catching up) before sealing.
    pub producer_paused: IntGauge,
    /// 1 while Kubo (`--ipfs-api`) answers the node's checks, 0 while it does not.
    pub ipfs_up: IntGauge,
    /// Checks of Kubo that failed.
    pub ipfs_checks_failed: IntCounter,
    /// The pinning service's records by state.
    pub ipfs_pins: IntGaugeVec,
    /// Bytes of the records pinned.
    pub ipfs_pinned_bytes: IntGauge,
    /// The storage provider's transactions by action and outcome.
    pub ipfs_provider_txs: IntCounterVec,
    /// Challenges against the storage provider by outcome.
    pub ipfs_challenges: IntCounterVec,
    /// 1 while catching up with a peer (initial block download), else 0.
    pub sync_active: IntGauge,
    /// The highest selected-chain height known: the peer's while catching up, else ours.
    pub sync_highest_block: IntGauge,
    /// Blocks merged by chain blocks applied, by GHOSTDAG colour (`blue`, `red`).
    pub mergeset_blocks: IntCounterVec,
    /// Time from a transaction's arrival in this node's pool to its execution by a chain block.
    pub inclusion: Histogram,
    /// The oldest chain block whose state can be read (`--prune`; 0 keeps everything).
    pub history_floor: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn reg<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, m: T) -> T {
    r.register(Box::new(m.clone())).expect("metric names are unique");
    m
}

impl Metrics {
    /// Brings counters that mirror totals kept elsewhere (by the chain) up to those totals.
    pub fn follow(&self, counters: &[(&IntCounter, u64)]) {
        let _guard = self.follow_lock.lock();
        for (counter, total) in counters {
            counter.inc_by(total.saturating_sub(counter.get()));
        }
    }

    /// Publishes the pinning service's counts.
    pub fn set_pins(&self, s: &crate::pinning::PinningSummary) {
        for (state, n) in [
            ("pinned", s.pinned),
            ("waiting", s.waiting),
            ("mismatch", s.mismatch),
            ("too_large", s.too_large),
            ("failed", s.failed),
        ] {
            self.ipfs_pins.with_label_values(&[state]).set(n as i64);
        }
        self.ipfs_pinned_bytes.set(s.pinned_bytes as i64);
    }

    /// Sets the gauges derived from the sink: its height and blue score, and the highest
    /// height known (`highest` while catching up, else the sink's). `head` is read under the
    /// lock, so that two callers cannot leave the gauges of two different heads.
    pub fn set_head(&self, head: impl FnOnce() -> (u64, u64), highest: Option<u64>) {
        let _guard = self.head_lock.lock();
        let (number, blue_score) = head();
        self.chain_height.set(number as i64);
        self.blue_score.set(blue_score as i64);
        self.sync_highest_block.set(highest.map_or(number, |h| h.max(number)) as i64);
    }

    /// Creates and registers every metric.
    pub fn new() -> Self {
        let r = Registry::new();
        let buckets =
            vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
        Self {
            blocks_produced: reg(
                &r,
                IntCounter::new("lattice_blocks_produced_total", "Blocks sealed by this node")
                    .unwrap(),
            ),
            blocks_imported: reg(
                &r,
                IntCounter::new(
                    "lattice_blocks_imported_total",
                    "Blocks received from other producers or peers and added to the DAG",
                )
                .unwrap(),
            ),
            chain_blocks_applied: reg(
                &r,
                IntCounter::new(
                    "lattice_chain_blocks_applied_total",
                    "Blocks added to the selected chain (own and received; again after a reorg)",
                )
                .unwrap(),
            ),
            block_processing: reg(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "lattice_block_processing_seconds",
                        "Time to build or import a block",
                    )
                    .buckets(buckets.clone()),
                )
                .unwrap(),
            ),
            state_root: reg(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "lattice_state_root_seconds",
                        "Time to compute a block's state root",
                    )
                    .buckets(buckets.clone()),
                )
                .unwrap(),
            ),
            txs_executed: reg(
                &r,
                IntCounter::new("lattice_transactions_executed_total", "Transactions executed")
                    .unwrap(),
            ),
            txs_skipped: reg(
                &r,
                IntCounterVec::new(
                    Opts::new("lattice_transactions_skipped_total", "Transactions skipped"),
                    &["reason"],
                )
                .unwrap(),
            ),
            txs_carried: reg(
                &r,
                IntCounter::new(
                    "lattice_transactions_carried_total",
                    "Transactions carried by blocks",
                )
                .unwrap(),
            ),
            txs_duplicate_carried: reg(
                &r,
                IntCounter::new(
                    "lattice_transactions_duplicate_carried_total",
                    "Carried transactions that another block had already carried",
                )
                .unwrap(),
            ),
            txpool_size: reg(
                &r,
                IntGauge::new("lattice_txpool_transactions", "Transactions in the pool").unwrap(),
            ),
            txpool_pending: reg(
                &r,
                IntGauge::new("lattice_txpool_pending", "Executable transactions in the pool")
                    .unwrap(),
            ),
            txpool_queued: reg(
                &r,
                IntGauge::new("lattice_txpool_queued", "Gapped transactions in the pool").unwrap(),
            ),
            txpool_bytes: reg(
                &r,
                IntGauge::new("lattice_txpool_bytes", "Bytes of transactions in the pool").unwrap(),
            ),
            txpool_rejected: reg(
                &r,
                IntCounterVec::new(
                    Opts::new("lattice_txpool_rejected_total", "Transactions the pool refused"),
                    &["reason"],
                )
                .unwrap(),
            ),
            txpool_evicted: reg(
                &r,
                IntCounter::new(
                    "lattice_txpool_evicted_total",
                    "Transactions evicted for better-paying ones",
                )
                .unwrap(),
            ),
            txpool_expired: reg(
                &r,
                IntCounter::new(
                    "lattice_txpool_expired_total",
                    "Gapped transactions dropped after the pool lifetime",
                )
                .unwrap(),
            ),
            chain_height: reg(
                &r,
                IntGauge::new("lattice_chain_height", "Selected-chain height of the sink").unwrap(),
            ),
            blue_score: reg(
                &r,
                IntGauge::new("lattice_blue_score", "Blue score of the sink").unwrap(),
            ),
            gas_used: reg(
                &r,
                IntCounter::new("lattice_gas_used_total", "Gas used by accepted transactions")
                    .unwrap(),
            ),
            equivocations: reg(
                &r,
                IntCounter::new(
                    "lattice_producer_equivocations_total",
                    "Parallel blocks of one producer sealed closer than minBlockIntervalMs",
                )
                .unwrap(),
            ),
            storage_trie_cache_slots: reg(
                &r,
                IntGauge::new(
                    "lattice_storage_trie_cache_slots",
                    "Storage slots held by the cached storage tries",
                )
                .unwrap(),
            ),
            storage_trie_loads: reg(
                &r,
                IntCounter::new(
                    "lattice_storage_trie_loads_total",
                    "Storage tries built from the database (cache misses)",
                )
                .unwrap(),
            ),
            consensus_cache_entries: reg(
                &r,
                IntGauge::new(
                    "lattice_consensus_cache_entries",
                    "Block records held by the consensus caches (--cache.consensus-blocks per cache)",
                )
                .unwrap(),
            ),
            consensus_cache_hits: reg(
                &r,
                IntCounter::new(
                    "lattice_consensus_cache_hits_total",
                    "Consensus-record reads answered from memory",
                )
                .unwrap(),
            ),
            consensus_cache_misses: reg(
                &r,
                IntCounter::new(
                    "lattice_consensus_cache_misses_total",
                    "Consensus-record reads that went to the database",
                )
                .unwrap(),
            ),
            rpc_limited: reg(
                &r,
                IntCounterVec::new(
                    Opts::new("lattice_rpc_limited_total", "RPC requests refused at a limit"),
                    &["limit"],
                )
                .unwrap(),
            ),
            p2p_refused: reg(
                &r,
                IntCounterVec::new(
                    Opts::new("lattice_p2p_refused_total", "Network messages and peers refused"),
                    &["kind"],
                )
                .unwrap(),
            ),
            p2p_banned: reg(
                &r,
                IntGauge::new("lattice_p2p_banned_peers", "Peers banned now").unwrap(),
            ),
            rpc_calls: reg(
                &r,
                IntCounterVec::new(
                    Opts::new("lattice_rpc_calls_total", "RPC calls"),
                    &["method", "outcome"],
                )
                .unwrap(),
            ),
            rpc_latency: reg(
                &r,
                HistogramVec::new(
                    HistogramOpts::new("lattice_rpc_call_duration_seconds", "RPC call latency")
                        .buckets(buckets),
                    &["method"],
                )
                .unwrap(),
            ),
            p2p_peers: reg(&r, IntGauge::new("lattice_p2p_peers", "Connected peers").unwrap()),
            ipfs_up: reg(
                &r,
                IntGauge::new(
                    "lattice_ipfs_up",
                    "1 while Kubo (--ipfs-api) answers the node's checks, 0 while it does not",
                )
                .unwrap(),
            ),
            ipfs_checks_failed: reg(
                &r,
                IntCounter::new("lattice_ipfs_checks_failed_total", "Checks of Kubo that failed")
                    .unwrap(),
            ),
            ipfs_pins: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new("lattice_ipfs_pins", "The pinning service's records by state"),
                    &["state"],
                )
                .unwrap(),
            ),
            ipfs_pinned_bytes: reg(
                &r,
                IntGauge::new("lattice_ipfs_pinned_bytes", "Bytes of the records pinned").unwrap(),
            ),
            ipfs_provider_txs: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "lattice_ipfs_provider_transactions_total",
                        "The storage provider's transactions by action (register, stake, commit, report, respond, withdraw) and outcome (sent, succeeded, reverted, dropped, would_revert)",
                    ),
                    &["action", "outcome"],
                )
                .unwrap(),
            ),
            ipfs_challenges: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "lattice_ipfs_challenges_total",
                        "Challenges against the storage provider by outcome (answered, failed, unanswerable)",
                    ),
                    &["outcome"],
                )
                .unwrap(),
            ),
            producer_paused: reg(
                &r,
                IntGauge::new(
                    "lattice_producer_paused",
                    "1 while this producer waits to be synced (no peers, or catching up)",
                )
                .unwrap(),
            ),
            p2p_requests_queued: reg(
                &r,
                IntGauge::new(
                    "lattice_p2p_requests_queued",
                    "Requests to peers waiting their turn under this node's pace",
                )
                .unwrap(),
            ),
            sync_active: reg(
                &r,
                IntGauge::new("lattice_sync_active", "1 while catching up with a peer, else 0")
                    .unwrap(),
            ),
            sync_highest_block: reg(
                &r,
                IntGauge::new(
                    "lattice_sync_highest_block",
                    "Highest selected-chain height known: the peer's while catching up, else ours",
                )
                .unwrap(),
            ),
            mergeset_blocks: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "lattice_mergeset_blocks_total",
                        "Blocks merged by chain blocks applied, by GHOSTDAG colour",
                    ),
                    &["color"],
                )
                .unwrap(),
            ),
            inclusion: reg(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "lattice_transaction_inclusion_seconds",
                        "Time from a transaction's arrival in the pool to its execution",
                    )
                    .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
                )
                .unwrap(),
            ),
            history_floor: reg(
                &r,
                IntGauge::new(
                    "lattice_history_floor",
                    "The oldest chain block whose state can be read (--prune; 0: all kept)",
                )
                .unwrap(),
            ),
            registry: process_metrics(r),
            follow_lock: Default::default(),
            head_lock: Default::default(),
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf).expect("encoding to memory");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }
}

/// Adds the standard `process_*` series (resident memory, open files, CPU time, start time)
/// that dashboards expect from every exporter.
fn process_metrics(r: Registry) -> Registry {
    #[cfg(target_os = "linux")]
    r.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
        .expect("process metrics are registered once");
    r
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl lattice_rpc::RpcMetrics for Metrics {
    fn on_call(&self, method: &str, elapsed: Duration, ok: bool) {
        self.rpc_calls.with_label_values(&[method, if ok { "ok" } else { "error" }]).inc();
        self.rpc_latency.with_label_values(&[method]).observe(elapsed.as_secs_f64());
    }

    fn on_limit(&self, limit: &'static str) {
        self.rpc_limited.with_label_values(&[limit]).inc();
    }
}

/// Serves `/metrics` (any path, in fact) on `addr`, calling `refresh` before each answer.
/// Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    refresh: impl Fn() + Send + Sync + 'static,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let refresh = Arc::new(refresh);
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (metrics, refresh) = (metrics.clone(), refresh.clone());
            tokio::spawn(async move {
                let service = service_fn(move |_req: Request<hyper::body::Incoming>| {
                    refresh();
                    let body = metrics.render();
                    async move {
                        Response::builder()
                            .header("content-type", "text/plain; version=0.0.4")
                            .body(Full::new(Bytes::from(body)))
                    }
                });
                if let Err(e) =
                    http1::Builder::new().serve_connection(TokioIo::new(stream), service).await
                {
                    tracing::debug!(target: "lattice::metrics", error = %e, "metrics connection failed");
                }
            });
        }
    });
    Ok(bound)
}

//! Polled filters (`eth_newFilter`, `eth_newBlockFilter`, `eth_newPendingTransactionFilter`,
//! `eth_getFilterChanges`, `eth_uninstallFilter`) and WebSocket subscriptions (`eth_subscribe`
//! to `newHeads`, `logs`, `newPendingTransactions`).
//!
//! One dispatcher task follows the node's chain events and pending transactions and appends
//! to every installed filter's buffer, as geth's filter system does; a poll drains the buffer.
//! A filter not polled for [`FILTER_TTL`] is removed. A buffer keeps at most
//! [`MAX_BUFFERED`] items; older ones are dropped first.

use crate::api::{ChainEvent, NodeApi, TxView};
use crate::convert;
use crate::logs::block_logs;
use alloy_primitives::B256;
use alloy_rpc_types_eth::{Filter, Log};
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::{PendingSubscriptionSink, SubscriptionMessage, SubscriptionSink};
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::{self, error::RecvError};

/// A filter not polled for this long is uninstalled (geth's deadline).
pub const FILTER_TTL: Duration = Duration::from_secs(5 * 60);
/// Most items a filter buffers between polls.
pub const MAX_BUFFERED: usize = 10_000;
/// Most filters installed at once.
pub const MAX_FILTERS: usize = 10_000;

/// A fresh random id in geth's form (`0x` and 32 hex digits).
pub fn new_id() -> String {
    format!("0x{:032x}", rand::random::<u128>())
}

/// Subscription ids in geth's form.
#[derive(Debug)]
pub struct HexIdProvider;

impl jsonrpsee::server::IdProvider for HexIdProvider {
    fn next_id(&self) -> jsonrpsee::types::SubscriptionId<'static> {
        jsonrpsee::types::SubscriptionId::Str(new_id().into())
    }
}

enum Buffer {
    Blocks(VecDeque<B256>),
    Pending { full: bool, txs: VecDeque<Arc<TxView>> },
    Logs { filter: Box<Filter>, logs: VecDeque<Log> },
}

fn push_capped<T>(buf: &mut VecDeque<T>, items: impl IntoIterator<Item = T>) {
    for item in items {
        if buf.len() == MAX_BUFFERED {
            buf.pop_front();
        }
        buf.push_back(item);
    }
}

struct Installed {
    buffer: Buffer,
    last_poll: Instant,
}

/// What a filter kind is asked for at install.
#[derive(Clone, Debug)]
pub enum FilterKind {
    /// New chain block hashes.
    Blocks,
    /// Pending transactions: hashes, or whole transactions when `full`.
    Pending {
        /// Whole transactions instead of hashes.
        full: bool,
    },
    /// Logs matching the filter.
    Logs(Box<Filter>),
}

/// Changes since the last poll, serialised as geth does (an array of hashes, transactions or
/// logs).
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Changes {
    /// Block or transaction hashes.
    Hashes(Vec<B256>),
    /// Whole pending transactions.
    Transactions(Vec<convert::RpcTransaction>),
    /// Logs.
    Logs(Vec<Log>),
}

/// The installed filters.
#[derive(Default)]
pub struct Filters {
    installed: Mutex<HashMap<String, Installed>>,
}

impl std::fmt::Debug for Filters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filters").field("installed", &self.installed.lock().len()).finish()
    }
}

impl Filters {
    /// Installs a filter; `None` when [`MAX_FILTERS`] are installed.
    pub fn install(&self, kind: FilterKind) -> Option<String> {
        let buffer = match kind {
            FilterKind::Blocks => Buffer::Blocks(VecDeque::new()),
            FilterKind::Pending { full } => Buffer::Pending { full, txs: VecDeque::new() },
            FilterKind::Logs(filter) => Buffer::Logs { filter, logs: VecDeque::new() },
        };
        let mut installed = self.installed.lock();
        if installed.len() >= MAX_FILTERS {
            return None;
        }
        let id = new_id();
        installed.insert(id.clone(), Installed { buffer, last_poll: Instant::now() });
        Some(id)
    }

    /// Removes a filter; whether it existed.
    pub fn uninstall(&self, id: &str) -> bool {
        self.installed.lock().remove(id).is_some()
    }

    /// The criteria of a log filter (`None` for an unknown id or another kind).
    pub fn log_filter(&self, id: &str) -> Option<Filter> {
        let mut installed = self.installed.lock();
        let f = installed.get_mut(id)?;
        f.last_poll = Instant::now();
        match &f.buffer {
            Buffer::Logs { filter, .. } => Some((**filter).clone()),
            _ => None,
        }
    }

    /// Drains a filter's buffer (`None` for an unknown id).
    pub fn changes(&self, id: &str) -> Option<Changes> {
        let mut installed = self.installed.lock();
        let f = installed.get_mut(id)?;
        f.last_poll = Instant::now();
        Some(match &mut f.buffer {
            Buffer::Blocks(hashes) => Changes::Hashes(hashes.drain(..).collect()),
            Buffer::Pending { full: false, txs } => {
                Changes::Hashes(txs.drain(..).map(|t| *t.tx.tx_hash()).collect())
            }
            Buffer::Pending { full: true, txs } => {
                Changes::Transactions(txs.drain(..).map(|t| convert::transaction(&t)).collect())
            }
            Buffer::Logs { logs, .. } => Changes::Logs(logs.drain(..).collect()),
        })
    }

    /// Number of installed filters.
    pub fn len(&self) -> usize {
        self.installed.lock().len()
    }

    /// Whether no filter is installed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn on_chain(&self, event: &ChainEvent) {
        let mut installed = self.installed.lock();
        for f in installed.values_mut() {
            match &mut f.buffer {
                Buffer::Blocks(hashes) => push_capped(hashes, event.added.iter().map(|b| b.hash)),
                Buffer::Logs { filter, logs } => push_capped(logs, event_logs(event, filter)),
                Buffer::Pending { .. } => {}
            }
        }
    }

    fn on_pending(&self, tx: &Arc<TxView>) {
        let mut installed = self.installed.lock();
        for f in installed.values_mut() {
            if let Buffer::Pending { txs, .. } = &mut f.buffer {
                push_capped(txs, [tx.clone()]);
            }
        }
    }

    fn expire(&self, now: Instant) {
        self.installed.lock().retain(|_, f| now.duration_since(f.last_poll) < FILTER_TTL);
    }

    /// Feeds the filters from `node`'s events until the node goes away.
    pub fn spawn_dispatcher<N: NodeApi>(self: &Arc<Self>, node: &N) -> tokio::task::JoinHandle<()> {
        let filters = Arc::downgrade(self);
        let mut chain = node.chain_events();
        let mut pending = node.pending_transactions();
        tokio::spawn(async move {
            let mut sweep = tokio::time::interval(Duration::from_secs(30));
            loop {
                let Some(this) = filters.upgrade() else { return };
                tokio::select! {
                    event = chain.recv() => match event {
                        Ok(event) => this.on_chain(&event),
                        Err(RecvError::Lagged(n)) => {
                            tracing::warn!(target: "lattice::rpc", missed = n, "filters missed chain events");
                        }
                        Err(RecvError::Closed) => return,
                    },
                    tx = pending.recv() => match tx {
                        Ok(tx) => this.on_pending(&tx),
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return,
                    },
                    _ = sweep.tick() => this.expire(Instant::now()),
                }
            }
        })
    }
}

/// The logs an event brings for `filter`: those of rolled-back blocks with `removed: true`
/// (newest block first, as they were undone), then those of the new blocks.
pub fn event_logs(event: &ChainEvent, filter: &Filter) -> Vec<Log> {
    let mut out = Vec::new();
    let blocks =
        event.removed.iter().map(|b| (b, true)).chain(event.added.iter().map(|b| (b, false)));
    for (b, removed) in blocks {
        if !filter.matches_block_range(b.number) || !filter.matches_bloom(b.header.logs_bloom) {
            continue;
        }
        out.extend(block_logs(
            b.number,
            b.hash,
            b.header.timestamp_secs(),
            &b.receipts,
            filter,
            removed,
        ));
    }
    out
}

/// What an `eth_subscribe` asked for.
#[derive(Clone, Debug)]
pub enum Subscription {
    /// `newHeads`.
    NewHeads,
    /// `logs` with a filter (block range ignored).
    Logs(Box<Filter>),
    /// `newPendingTransactions`, whole transactions when `true`.
    PendingTransactions(bool),
}

impl Subscription {
    /// Parses `eth_subscribe`'s parameters.
    pub fn parse(params: jsonrpsee::types::Params<'_>) -> Result<Self, String> {
        let mut seq = params.sequence();
        let kind: String = seq.next().map_err(|e| e.to_string())?;
        match kind.as_str() {
            "newHeads" => Ok(Self::NewHeads),
            "logs" => {
                let filter: Option<Filter> = seq.optional_next().map_err(|e| e.to_string())?;
                Ok(Self::Logs(Box::new(filter.unwrap_or_default())))
            }
            "newPendingTransactions" => {
                let full: Option<bool> = seq.optional_next().map_err(|e| e.to_string())?;
                Ok(Self::PendingTransactions(full.unwrap_or(false)))
            }
            other => Err(format!(
                "unsupported subscription {other:?} (newHeads, logs and newPendingTransactions are)"
            )),
        }
    }
}

async fn send_json(sink: &SubscriptionSink, value: &impl Serialize) -> bool {
    let Ok(raw) = serde_json::value::to_raw_value(value) else { return false };
    sink.send(SubscriptionMessage::from(raw)).await.is_ok()
}

/// Serves one accepted subscription until the client leaves or the node goes away.
pub async fn run_subscription<N: NodeApi>(
    node: &N,
    kind: Subscription,
    pending: PendingSubscriptionSink,
) -> SubscriptionResult {
    match kind {
        Subscription::PendingTransactions(full) => {
            let rx = node.pending_transactions();
            let sink = pending.accept().await?;
            forward(&sink, rx, |tx| async move {
                if full {
                    vec![serde_json::to_value(convert::transaction(&tx)).unwrap_or_default()]
                } else {
                    vec![serde_json::json!(tx.tx.tx_hash())]
                }
            })
            .await
        }
        Subscription::NewHeads => {
            let rx = node.chain_events();
            let sink = pending.accept().await?;
            forward(&sink, rx, |event| {
                let heads: Vec<serde_json::Value> = event
                    .added
                    .iter()
                    .filter_map(|b| match node.assemble(b) {
                        Ok(block) => Some(convert::header_json(&block)),
                        Err(e) => {
                            tracing::warn!(target: "lattice::rpc", error = %e, "cannot assemble a new head");
                            None
                        }
                    })
                    .collect();
                async move { heads }
            })
            .await
        }
        Subscription::Logs(filter) => {
            let rx = node.chain_events();
            let sink = pending.accept().await?;
            let filter = Arc::new(*filter);
            forward(&sink, rx, move |event| {
                let filter = filter.clone();
                async move {
                    event_logs(&event, &filter)
                        .into_iter()
                        .map(|l| serde_json::to_value(l).unwrap_or_default())
                        .collect()
                }
            })
            .await
        }
    }
}

async fn forward<T, F, Fut>(
    sink: &SubscriptionSink,
    mut rx: broadcast::Receiver<T>,
    mut items: F,
) -> SubscriptionResult
where
    T: Clone,
    F: FnMut(T) -> Fut,
    Fut: std::future::Future<Output = Vec<serde_json::Value>>,
{
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            next = rx.recv() => match next {
                Ok(item) => {
                    for value in items(item).await {
                        if !send_json(sink, &value).await {
                            return Ok(());
                        }
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!(target: "lattice::rpc", missed = n, "slow subscriber skipped events");
                }
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}

//! Polled filters (`eth_newFilter`, `eth_newBlockFilter`, `eth_newPendingTransactionFilter`,
//! `eth_getFilterChanges`, `eth_uninstallFilter`) and WebSocket subscriptions (`eth_subscribe`
//! to `newHeads`, `logs`, `newPendingTransactions`).
//!
//! One dispatcher task follows the node's chain events and pending transactions and appends
//! each to one shared, bounded feed (one for chain events, one for pending transactions),
//! as geth's filter system follows its event feeds. A filter is only a cursor into a feed: an
//! event costs O(1) however many filters are installed, and no walk over the filters happens
//! on the runtime. A poll reads its filter's kind of events since its cursor (matching logs
//! then) and moves the cursor. The feeds keep the newest [`MAX_BUFFERED`] pending transactions
//! and chain events up to [`MAX_FEED_BYTES`]; a filter that falls further behind skips what was
//! dropped, and a poll returns at most [`MAX_BUFFERED`] items. A filter not polled for
//! [`FILTER_TTL`] is removed.

use crate::api::{ChainEvent, NodeApi, TxView};
use crate::convert;
use crate::logs::block_logs;
use alloy_primitives::B256;
use alloy_rpc_types_eth::{Filter, Log};
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::{PendingSubscriptionSink, SubscriptionMessage, SubscriptionSink};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::{self, error::RecvError};

/// A filter not polled for this long is uninstalled (geth's deadline).
pub const FILTER_TTL: Duration = Duration::from_secs(5 * 60);
/// Most items one poll returns, and most pending transactions the feed keeps.
pub const MAX_BUFFERED: usize = 10_000;
/// Most filters installed at once.
pub const MAX_FILTERS: usize = 10_000;
/// Most filters one connection may have installed at once (a filter installed over HTTP counts
/// against the connection that installed it, however it is polled later).
pub const MAX_FILTERS_PER_CONNECTION: usize = 1_000;

/// Which bound refused a new filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    /// [`MAX_FILTERS`].
    Node,
    /// [`MAX_FILTERS_PER_CONNECTION`].
    Connection,
}
/// Most bytes each feed keeps: chain events (receipts and their logs, roughly) and pending
/// transactions.
pub const MAX_FEED_BYTES: usize = 64 * 1024 * 1024;
/// Most chain events the feed keeps.
pub const MAX_FEED_EVENTS: usize = 4_096;

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

/// Items in arrival order, numbered; the oldest are dropped beyond the bounds.
struct Feed<T> {
    items: VecDeque<(T, usize)>,
    /// Number of `items[0]`.
    first: u64,
    bytes: usize,
    max_items: usize,
    max_bytes: usize,
}

impl<T: Clone> Feed<T> {
    fn new(max_items: usize, max_bytes: usize) -> Self {
        Self { items: VecDeque::new(), first: 0, bytes: 0, max_items, max_bytes }
    }

    /// Number the next item gets.
    fn next(&self) -> u64 {
        self.first + self.items.len() as u64
    }

    fn push(&mut self, item: T, size: usize) {
        self.items.push_back((item, size));
        self.bytes += size;
        while self.items.len() > self.max_items
            || (self.bytes > self.max_bytes && self.items.len() > 1)
        {
            if let Some((_, n)) = self.items.pop_front() {
                self.bytes -= n;
                self.first += 1;
            }
        }
    }

    /// Items numbered `from..to` still kept.
    fn range(&self, from: u64, to: u64) -> Vec<T> {
        let start = from.max(self.first);
        let end = to.min(self.next());
        (start..end).map(|n| self.items[(n - self.first) as usize].0.clone()).collect()
    }
}

/// Rough memory of a chain event: its receipts' logs.
fn event_bytes(event: &ChainEvent) -> usize {
    event
        .removed
        .iter()
        .chain(&event.added)
        .flat_map(|b| b.receipts.iter())
        .map(|r| {
            256 + r
                .logs
                .iter()
                .map(|l| 64 + l.data.data.len() + 32 * l.topics().len())
                .sum::<usize>()
        })
        .sum::<usize>()
        + 1024
}

#[derive(Clone)]
enum Kind {
    Blocks,
    Pending { full: bool },
    Logs(Box<Filter>),
}

struct Installed {
    kind: Kind,
    /// The connection that installed it.
    owner: usize,
    /// Number of the first feed item this filter has not seen.
    cursor: u64,
    /// The first chain event (by [`ChainEvent::seq`]) this filter reports: events sent before
    /// it was installed may reach the feed after it, and are skipped.
    since: u64,
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

/// The installed filters and the feeds they read.
pub struct Filters {
    installed: Mutex<Installations>,
    chain: RwLock<Feed<Arc<ChainEvent>>>,
    pending: RwLock<Feed<Arc<TxView>>>,
}

impl Default for Filters {
    fn default() -> Self {
        Self {
            installed: Mutex::default(),
            chain: RwLock::new(Feed::new(MAX_FEED_EVENTS, MAX_FEED_BYTES)),
            pending: RwLock::new(Feed::new(MAX_BUFFERED, MAX_FEED_BYTES)),
        }
    }
}

impl std::fmt::Debug for Filters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filters").field("installed", &self.installed.lock().by_id.len()).finish()
    }
}

/// The installed filters, and how many each connection installed.
#[derive(Default)]
struct Installations {
    by_id: HashMap<String, Installed>,
    per_connection: HashMap<usize, usize>,
}

impl Installations {
    fn remove(&mut self, id: &str) -> bool {
        let Some(f) = self.by_id.remove(id) else { return false };
        if let Some(n) = self.per_connection.get_mut(&f.owner) {
            *n -= 1;
            if *n == 0 {
                self.per_connection.remove(&f.owner);
            }
        }
        true
    }
}

/// The newest `MAX_BUFFERED` of `items`.
fn newest<T>(mut items: Vec<T>) -> Vec<T> {
    if items.len() > MAX_BUFFERED {
        items.drain(..items.len() - MAX_BUFFERED);
    }
    items
}

impl Filters {
    /// Installs a filter for connection `owner` that reports chain events numbered `since` or
    /// above; an error names the bound that refused it.
    pub fn install(&self, kind: FilterKind, owner: usize, since: u64) -> Result<String, Full> {
        let (kind, cursor) = match kind {
            FilterKind::Blocks => (Kind::Blocks, self.chain.read().next()),
            FilterKind::Pending { full } => (Kind::Pending { full }, self.pending.read().next()),
            FilterKind::Logs(filter) => (Kind::Logs(filter), self.chain.read().next()),
        };
        let mut installed = self.installed.lock();
        if installed.by_id.len() >= MAX_FILTERS {
            return Err(Full::Node);
        }
        let mine = installed.per_connection.entry(owner).or_default();
        if *mine >= MAX_FILTERS_PER_CONNECTION {
            return Err(Full::Connection);
        }
        *mine += 1;
        let id = new_id();
        installed.by_id.insert(
            id.clone(),
            Installed { kind, owner, cursor, since, last_poll: Instant::now() },
        );
        Ok(id)
    }

    /// Removes a filter; whether it existed.
    pub fn uninstall(&self, id: &str) -> bool {
        self.installed.lock().remove(id)
    }

    /// The criteria of a log filter (`None` for an unknown id or another kind).
    pub fn log_filter(&self, id: &str) -> Option<Filter> {
        let mut installed = self.installed.lock();
        let f = installed.by_id.get_mut(id)?;
        f.last_poll = Instant::now();
        match &f.kind {
            Kind::Logs(filter) => Some((**filter).clone()),
            _ => None,
        }
    }

    /// What arrived for a filter since its last poll (`None` for an unknown id). The filter's
    /// cursor moves under the lock; the matching happens after it is released.
    pub fn changes(&self, id: &str) -> Option<Changes> {
        let (kind, from, to, since) = {
            let mut installed = self.installed.lock();
            let f = installed.by_id.get_mut(id)?;
            f.last_poll = Instant::now();
            let to = match f.kind {
                Kind::Pending { .. } => self.pending.read().next(),
                _ => self.chain.read().next(),
            };
            let from = std::mem::replace(&mut f.cursor, to);
            (f.kind.clone(), from, to, f.since)
        };
        let chain_events = || {
            let mut events = self.chain.read().range(from, to);
            events.retain(|e| e.seq >= since);
            events
        };
        Some(match kind {
            Kind::Blocks => {
                let events = chain_events();
                Changes::Hashes(newest(
                    events.iter().flat_map(|e| e.added.iter().map(|b| b.hash)).collect(),
                ))
            }
            Kind::Pending { full } => {
                let txs = self.pending.read().range(from, to);
                if full {
                    Changes::Transactions(txs.iter().map(|t| convert::transaction(t)).collect())
                } else {
                    Changes::Hashes(txs.iter().map(|t| *t.tx.tx_hash()).collect())
                }
            }
            Kind::Logs(filter) => {
                let events = chain_events();
                Changes::Logs(newest(events.iter().flat_map(|e| event_logs(e, &filter)).collect()))
            }
        })
    }

    /// Number of installed filters.
    pub fn len(&self) -> usize {
        self.installed.lock().by_id.len()
    }

    /// Whether no filter is installed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn on_chain(&self, event: Arc<ChainEvent>) {
        let size = event_bytes(&event);
        self.chain.write().push(event, size);
    }

    fn on_pending(&self, tx: Arc<TxView>) {
        use alloy_eips::eip2718::Encodable2718;
        let size = 256 + tx.tx.encode_2718_len();
        self.pending.write().push(tx, size);
    }

    fn expire(&self, now: Instant) {
        let mut installed = self.installed.lock();
        let idle: Vec<String> = installed
            .by_id
            .iter()
            .filter(|(_, f)| now.duration_since(f.last_poll) >= FILTER_TTL)
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            installed.remove(&id);
        }
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
                        Ok(event) => this.on_chain(event),
                        Err(RecvError::Lagged(n)) => {
                            tracing::warn!(target: "lattice::rpc", missed = n, "filters missed chain events");
                        }
                        Err(RecvError::Closed) => return,
                    },
                    tx = pending.recv() => match tx {
                        Ok(tx) => this.on_pending(tx),
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
                let filter = filter.unwrap_or_default();
                crate::logs::check_filter(&filter).map_err(|e| e.to_string())?;
                Ok(Self::Logs(Box::new(filter)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EventBlock;
    use alloy_primitives::{Address, Bloom, Bytes, FixedBytes, U256};
    use lattice_primitives::Header;

    fn event(seq: u64) -> Arc<ChainEvent> {
        let header = Header {
            parents: vec![],
            timestamp_ms: 0,
            producer: Address::ZERO,
            coinbase: Address::ZERO,
            transactions_root: B256::ZERO,
            state_root: B256::ZERO,
            receipts_root: B256::ZERO,
            logs_bloom: Bloom::ZERO,
            gas_used: 0,
            gas_limit: 0,
            base_fee: 0,
            blue_score: 0,
            blue_work: U256::ZERO,
            extra_data: Bytes::new(),
            signature: FixedBytes::ZERO,
        };
        let block = EventBlock {
            number: seq,
            hash: B256::with_last_byte(seq as u8),
            header,
            receipts: vec![],
            entries: vec![],
        };
        Arc::new(ChainEvent { seq, removed: vec![], added: vec![block] })
    }

    fn hashes(changes: Option<Changes>) -> Vec<B256> {
        match changes {
            Some(Changes::Hashes(h)) => h,
            other => panic!("not hashes: {other:?}"),
        }
    }

    /// A block filter installed after the node sent events 1 and 2, which reach the feed only
    /// afterwards (the dispatcher runs on its own task), reports neither: only events sent
    /// after it was installed. Without `since` it reported both (seen as a flaky 4 != 2 in
    /// node/tests/logs_filters.rs under load).
    #[test]
    fn a_filter_skips_events_sent_before_it_was_installed() {
        let filters = Filters::default();
        let id = filters.install(FilterKind::Blocks, 0, 3).unwrap();
        filters.on_chain(event(1));
        filters.on_chain(event(2));
        assert_eq!(hashes(filters.changes(&id)), Vec::<B256>::new());
        filters.on_chain(event(3));
        filters.on_chain(event(4));
        assert_eq!(
            hashes(filters.changes(&id)),
            vec![B256::with_last_byte(3), B256::with_last_byte(4)]
        );
        // a filter installed before them all sees them all
        let early = filters.install(FilterKind::Blocks, 0, 1).unwrap();
        filters.on_chain(event(5));
        assert_eq!(hashes(filters.changes(&early)), vec![B256::with_last_byte(5)]);
    }
}

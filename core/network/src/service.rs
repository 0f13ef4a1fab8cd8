//! The swarm and its event loop.

use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::paced::{Paced, Submitted};
use crate::protocol::{
    blocks_topic, decode_block, encode_transactions, message_id, pack_blocks, transactions_topic,
    Cursor, Request, Response, Status, MAX_BLOCKS_PER_RESPONSE, MAX_BLOCK_BYTES,
    MAX_HASHES_PER_REQUEST, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, MAX_TXS_PER_MESSAGE,
    MAX_TX_MESSAGE_BYTES, SYNC_PROTOCOL,
};
use crate::rate::RateLimits;
use crate::scores::{Offence, Scores, MAX_SCORED_PEERS};
use crate::{ChainAccess, NetworkConfig, Verdict, BAN_DURATION};
use alloy_consensus::TxEnvelope;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Bytes, B256, U256};
use futures::StreamExt;
use lattice_primitives::Block;
use libp2p::gossipsub::{self, MessageAcceptance, MessageAuthenticity, MessageId, ValidationMode};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{
    allow_block_list, connection_limits, identify, kad, noise, ping, tcp, yamux, Multiaddr, PeerId,
    StreamProtocol, Swarm,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Blue work below our sink from which a catching-up node asks for blocks (covers branches
/// that are not on our selected chain).
const SYNC_OVERLAP: u64 = 1_000;
/// The furthest below our sink a catch-up starts again when its pages skipped blocks (four
/// restarts); the next start is genesis. With blocks of the catch-up refused for a local
/// reason (their gap may be those), the missing blocks are asked for by hash instead.
const MAX_SYNC_OVERLAP: u64 = SYNC_OVERLAP * 256;
/// A catch-up that received no page for this long ends (and the peer cools down): beyond the
/// request timeout and a page's import.
const SYNC_STALL: Duration = Duration::from_secs(60);
/// A sync request not answered by then fails (and the catch-up moves to another peer).
const SYNC_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a peer whose catch-up failed is not asked again.
const SYNC_COOLDOWN: Duration = Duration::from_secs(30);
/// How often a catch-up logs its progress line.
const SYNC_LOG_EVERY: Duration = Duration::from_secs(2);
/// Most sync streams open at once per connection.
const MAX_CONCURRENT_SYNC_STREAMS: usize = 16;

/// A connected peer.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    /// Its id.
    pub peer_id: PeerId,
    /// The address of our connection to it.
    pub addr: Multiaddr,
    /// Its last reported status.
    pub status: Option<Status>,
    /// Whether we dialled it.
    pub outbound: bool,
}

/// Initial block download progress (`eth_syncing`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncState {
    /// Catching up with a peer.
    pub syncing: bool,
    /// Our height when the catch-up began.
    pub starting_block: u64,
    /// Our height now.
    pub current_block: u64,
    /// The peer's height.
    pub highest_block: u64,
}

impl SyncState {
    /// How far a catch-up that has run for `elapsed` has come: the share of the way from
    /// `starting_block` to `highest_block` done (0–100), chain blocks per second, and the time
    /// left at that rate (`None` before any progress).
    pub fn progress(&self, elapsed: Duration) -> (f64, f64, Option<Duration>) {
        let done = self.current_block.saturating_sub(self.starting_block);
        let span = self.highest_block.saturating_sub(self.starting_block);
        let percent =
            if span == 0 { 100.0 } else { (done as f64 / span as f64 * 100.0).min(100.0) };
        let rate = done as f64 / elapsed.as_secs_f64().max(1e-3);
        let left = self.highest_block.saturating_sub(self.current_block);
        let eta = (rate > 0.0).then(|| Duration::from_secs_f64(left as f64 / rate));
        (percent, rate, eta)
    }
}

#[derive(Default)]
struct Shared {
    listen_addrs: parking_lot_free::RwLock<Vec<Multiaddr>>,
    peers: parking_lot_free::RwLock<HashMap<PeerId, PeerInfo>>,
    sync: parking_lot_free::RwLock<SyncState>,
    /// Refusals by kind (offences, and messages dropped for a limit).
    refused: parking_lot_free::RwLock<std::collections::BTreeMap<&'static str, u64>>,
    banned: std::sync::atomic::AtomicUsize,
    /// Requests to peers waiting their turn (see [`ASK_PER_SEC`]).
    queued_requests: std::sync::atomic::AtomicUsize,
    /// A peer of this chain (its status checked) has connected since the network started.
    ever_connected: std::sync::atomic::AtomicBool,
}

/// std locks under a short name (the crate keeps no other lock dependency).
mod parking_lot_free {
    /// A `std::sync::RwLock` that recovers from poisoning.
    #[derive(Default, Debug)]
    pub struct RwLock<T>(std::sync::RwLock<T>);
    impl<T> RwLock<T> {
        pub fn read(&self) -> std::sync::RwLockReadGuard<'_, T> {
            self.0.read().unwrap_or_else(|e| e.into_inner())
        }
        pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, T> {
            self.0.write().unwrap_or_else(|e| e.into_inner())
        }
    }
}

enum Command {
    PublishBlock(Vec<u8>),
    PublishTransaction(Vec<u8>),
    Shutdown,
}

/// Talks to the running network.
#[derive(Clone)]
pub struct NetworkHandle {
    commands: mpsc::UnboundedSender<Command>,
    peer_id: PeerId,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for NetworkHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkHandle").field("peer_id", &self.peer_id).finish()
    }
}

impl NetworkHandle {
    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Addresses the node listens on.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.shared.listen_addrs.read().clone()
    }

    /// Connected peers.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.shared.peers.read().values().cloned().collect()
    }

    /// Number of connected peers.
    pub fn peer_count(&self) -> usize {
        self.shared.peers.read().len()
    }

    /// Initial block download progress.
    pub fn sync_state(&self) -> SyncState {
        *self.shared.sync.read()
    }

    /// What the network refused since it started, by kind: peers' offences and messages
    /// dropped at a limit.
    pub fn refusals(&self) -> Vec<(&'static str, u64)> {
        self.shared.refused.read().iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Peers banned now.
    pub fn banned_peers(&self) -> usize {
        self.shared.banned.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a peer of this chain has connected since the network started.
    pub fn has_had_peers(&self) -> bool {
        self.shared.ever_connected.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Requests to peers waiting their turn under this node's own pace.
    pub fn queued_requests(&self) -> usize {
        self.shared.queued_requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Gossips a block this node sealed.
    pub fn publish_block(&self, block: &Block) {
        let _ = self.commands.send(Command::PublishBlock(alloy_rlp::encode(block)));
    }

    /// Gossips a transaction this node accepted.
    pub fn publish_transaction(&self, tx: &TxEnvelope) {
        let _ = self.commands.send(Command::PublishTransaction(tx.encoded_2718()));
    }

    /// Stops the network.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
    }
}

/// Errors starting the network.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// Building the transport or behaviour failed.
    #[error("cannot build the network: {0}")]
    Build(String),
    /// Listening failed.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
}

/// Per-peer sync requests per second served, on average.
const REQUESTS_PER_SEC: f64 = 50.0;
/// Sync requests a peer may send at once.
const REQUEST_BURST: f64 = 200.0;
/// The pace at which this node asks each peer: half the rate peers serve and a quarter of
/// their burst, so that requests bunched on the way (a link that stalls, then delivers) still
/// arrive within the limit. A request beyond it waits its turn.
const ASK_PER_SEC: f64 = REQUESTS_PER_SEC / 2.0;
const ASK_BURST: f64 = REQUEST_BURST / 4.0;
/// Most requests waiting their turn per peer (block requests for the same peer merge while
/// they wait, up to [`MAX_HASHES_PER_REQUEST`] hashes each); beyond it a request is dropped and
/// counted as `request_queue_full` (its blocks are asked for again when next needed).
const MAX_QUEUED_REQUESTS: usize = 256;
/// How often waiting requests are looked at.
const PACE_TICK: Duration = Duration::from_millis(20);

/// Classes of work done off the event loop, each with its own bound, so that no source can
/// take the threads another needs (gossip floods cannot delay serving or sync, nor the node's
/// own producer, which runs elsewhere).
#[derive(Clone, Copy, Debug)]
enum Work {
    /// Validating and importing a gossiped block (at most 32 at once).
    GossipBlock,
    /// Validating and pooling a gossiped transaction message (at most 64 at once).
    GossipTransaction,
    /// Answering a peer's request (at most 8 at once).
    Serve,
    /// Importing blocks this node asked for (at most 32 at once; more wait their turn).
    Import,
}

/// The bounds of [`Work`]: together well below Tokio's 512 blocking threads, which RPC shares.
struct Slots {
    gossip_block: Arc<tokio::sync::Semaphore>,
    gossip_transaction: Arc<tokio::sync::Semaphore>,
    serve: Arc<tokio::sync::Semaphore>,
    import: Arc<tokio::sync::Semaphore>,
}

impl Default for Slots {
    fn default() -> Self {
        let s = |n| Arc::new(tokio::sync::Semaphore::new(n));
        Self { gossip_block: s(32), gossip_transaction: s(64), serve: s(8), import: s(32) }
    }
}

impl Work {
    fn slots(self, slots: &Slots) -> &Arc<tokio::sync::Semaphore> {
        match self {
            Self::GossipBlock => &slots.gossip_block,
            Self::GossipTransaction => &slots.gossip_transaction,
            Self::Serve => &slots.serve,
            Self::Import => &slots.import,
        }
    }

    /// The refusal counted when the class is full.
    fn busy(self) -> &'static str {
        match self {
            Self::GossipBlock => "gossip_block_queue_full",
            Self::GossipTransaction => "gossip_transaction_queue_full",
            Self::Serve => "serve_queue_full",
            Self::Import => "import_queue_full",
        }
    }
}

/// Work done off the event loop, reported back to it.
enum Done {
    Gossip {
        id: MessageId,
        source: PeerId,
        verdict: Verdict,
        offence: Offence,
    },
    Fetched {
        peer: PeerId,
        missing: Vec<B256>,
        invalid: Option<String>,
    },
    Page {
        peer: PeerId,
        received: usize,
        imported: usize,
        /// Blocks not taken for a local reason (a timestamp ahead of our clock, say).
        ignored: usize,
        last: Option<Cursor>,
        more: bool,
        missing: Vec<B256>,
        invalid: Option<String>,
    },
    Serve {
        channel: ResponseChannel<Response>,
        response: Response,
    },
}

enum Pending {
    Status,
    /// The hashes asked for: asked for again only once this request ended.
    Fetch(Vec<B256>),
    Page,
}

impl Pending {
    /// What a request, once sent, waits for.
    fn of(request: &Request) -> Self {
        match request {
            Request::Status => Self::Status,
            Request::Blocks(hashes) => Self::Fetch(hashes.clone()),
            Request::After(_) => Self::Page,
        }
    }
}

/// Merges a block request into the waiting one before it while the hashes fit in one request;
/// gives anything else back.
fn merge_fetches(waiting: &mut Request, next: Request) -> Option<Request> {
    match (waiting, next) {
        (Request::Blocks(hashes), Request::Blocks(more))
            if hashes.len() + more.len() <= MAX_HASHES_PER_REQUEST =>
        {
            hashes.extend(more);
            None
        }
        (_, next) => Some(next),
    }
}

/// Starts the network: builds the swarm, listens, dials the bootstrap nodes and runs the event
/// loop in the background.
pub async fn start(
    config: NetworkConfig,
    chain: Arc<dyn ChainAccess>,
) -> Result<NetworkHandle, NetworkError> {
    let local_peer_id = config.keypair.public().to_peer_id();
    let mut swarm = build_swarm(&config)?;
    swarm.listen_on(config.listen.clone()).map_err(|e| NetworkError::Listen {
        addr: config.listen.clone(),
        reason: with_sources(&e),
    })?;
    let (blocks, txs) = (blocks_topic(config.chain_id), transactions_topic(config.chain_id));
    for topic in [&blocks, &txs] {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(topic)
            .map_err(|e| NetworkError::Build(e.to_string()))?;
    }
    for node in &config.bootstrap_nodes {
        if let Some(peer_id) = node.peer_id {
            swarm.behaviour_mut().kad.add_address(&peer_id, node.addr.clone());
        }
        dial_bootstrap(&mut swarm, node);
    }
    let (commands, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::default());
    let bootstrap_ids = config.bootstrap_nodes.iter().map(|n| n.peer_id).collect();
    let service = Service {
        swarm,
        chain,
        config,
        shared: shared.clone(),
        blocks_topic: blocks.hash(),
        txs_topic: txs.hash(),
        pending: HashMap::new(),
        scores: Scores::default(),
        requested: HashSet::new(),
        syncing_with: None,
        sync_claimed: U256::ZERO,
        sync_base: U256::ZERO,
        sync_overlap: SYNC_OVERLAP,
        sync_ignored: 0,
        sync_progress: Instant::now(),
        sync_started: Instant::now(),
        sync_imported: 0,
        sync_received: 0,
        sync_logged: Instant::now(),
        sync_cooldown: HashMap::new(),
        status_round: 0,
        slots: Slots::default(),
        request_tokens: RateLimits::new(REQUESTS_PER_SEC, REQUEST_BURST, MAX_SCORED_PEERS),
        outgoing: Paced::new(ASK_PER_SEC, ASK_BURST, MAX_SCORED_PEERS, MAX_QUEUED_REQUESTS),
        live: HashMap::new(),
        last_pong: HashMap::new(),
        tx_outbox: TxOutbox::default(),
        bootstrap_ids,
    };
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    tokio::spawn(service.run(rx, done_tx, done_rx));
    Ok(NetworkHandle { commands, peer_id: local_peer_id, shared })
}

fn build_swarm(config: &NetworkConfig) -> Result<Swarm<Behaviour>, NetworkError> {
    let build = |e: &dyn std::fmt::Display| NetworkError::Build(e.to_string());
    let gossip_config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(message_id)
        .max_transmit_size(MAX_BLOCK_BYTES)
        .heartbeat_interval(Duration::from_millis(700))
        .build()
        .map_err(|e| build(&e))?;
    let max_peers = config.max_peers;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| build(&e))?
        .with_behaviour(|key| {
            let peer_id = key.public().to_peer_id();
            // The service bootstraps Kademlia itself once it has peers.
            let mut kad_config = kad::Config::new(StreamProtocol::new("/lattice/kad/1"));
            kad_config.set_periodic_bootstrap_interval(None);
            let mut kad = kad::Behaviour::with_config(
                peer_id,
                kad::store::MemoryStore::new(peer_id),
                kad_config,
            );
            kad.set_mode(Some(kad::Mode::Server));
            Ok(Behaviour {
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_established(Some(max_peers))
                        .with_max_established_per_peer(Some(2)),
                ),
                blocked: allow_block_list::Behaviour::default(),
                gossipsub: gossipsub::Behaviour::new(
                    MessageAuthenticity::Signed(key.clone()),
                    gossip_config,
                )?,
                identify: identify::Behaviour::new(identify::Config::new(
                    "/lattice/1.0.0".into(),
                    key.public(),
                )),
                kad,
                ping: ping::Behaviour::new(
                    ping::Config::new().with_interval(PING_INTERVAL).with_timeout(PING_TIMEOUT),
                ),
                sync: request_response::Behaviour::with_codec(
                    request_response::cbor::codec::Codec::default()
                        .set_request_size_maximum(MAX_REQUEST_BYTES as u64)
                        .set_response_size_maximum(MAX_RESPONSE_BYTES as u64),
                    [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(SYNC_REQUEST_TIMEOUT)
                        .with_max_concurrent_streams(MAX_CONCURRENT_SYNC_STREAMS),
                ),
            })
        })
        .map_err(|e| build(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    Ok(swarm)
}

/// Dials a bootstrap node; one given without a peer id is dialled by address alone, and its
/// identity is learnt from the handshake.
fn dial_bootstrap(swarm: &mut Swarm<Behaviour>, node: &crate::BootstrapNode) {
    match node.peer_id {
        Some(peer) => dial(swarm, peer, node.addr.clone()),
        None => {
            if let Err(e) =
                swarm.dial(DialOpts::unknown_peer_id().address(node.addr.clone()).build())
            {
                tracing::debug!(target: "lattice::network", addr = %node.addr, error = %e, "dial failed");
            }
        }
    }
}

/// `addr` without a trailing `/p2p/<peer-id>`.
fn without_peer_id(addr: &Multiaddr) -> Multiaddr {
    addr.iter().filter(|p| !matches!(p, libp2p::multiaddr::Protocol::P2p(_))).collect()
}

fn dial(swarm: &mut Swarm<Behaviour>, peer: PeerId, addr: Multiaddr) {
    if let Err(e) = swarm.dial(DialOpts::peer_id(peer).addresses(vec![addr]).build()) {
        tracing::debug!(target: "lattice::network", %peer, error = %e, "dial failed");
    }
}

struct Service {
    swarm: Swarm<Behaviour>,
    chain: Arc<dyn ChainAccess>,
    config: NetworkConfig,
    shared: Arc<Shared>,
    blocks_topic: gossipsub::TopicHash,
    txs_topic: gossipsub::TopicHash,
    pending: HashMap<OutboundRequestId, Pending>,
    scores: Scores,
    requested: HashSet<B256>,
    syncing_with: Option<PeerId>,
    /// Blue work the peer we catch up from claimed.
    sync_claimed: U256,
    /// Our sink's blue work when the catch-up began, and how far below it the pages start.
    sync_base: U256,
    sync_overlap: u64,
    /// Blocks of this catch-up not taken for a local reason: a gap may be theirs, so the pages
    /// do not start again further back.
    sync_ignored: usize,
    /// When the catch-up last received a page (or began).
    sync_progress: Instant,
    sync_started: Instant,
    sync_imported: usize,
    sync_received: usize,
    /// When the last catch-up progress line was logged.
    sync_logged: Instant,
    /// Peers whose catch-up failed, not tried again until then.
    sync_cooldown: HashMap<PeerId, Instant>,
    status_round: usize,
    slots: Slots,
    /// Request tokens of peers (token buckets), kept across reconnections.
    request_tokens: RateLimits<PeerId>,
    /// What this node asks of peers, at its own pace.
    outgoing: Paced<PeerId, Request>,
    /// Each peer's connections that are alive (not closed, pings answered).
    live: HashMap<PeerId, HashSet<ConnectionId>>,
    /// When each connection that speaks ping last answered one (or opened).
    last_pong: HashMap<ConnectionId, (PeerId, Instant)>,
    /// This node's transactions waiting to be gossiped as one message.
    tx_outbox: TxOutbox,
    /// The peer id of each of `config.bootstrap_nodes`, once given or learnt.
    bootstrap_ids: Vec<Option<PeerId>>,
}

/// How often each connection is pinged, and how long an answer may take. Two unanswered pings
/// in a row (about 15 s of silence) close the connection: a peer behind a broken link would
/// otherwise hold its slot, and the link's TCP retries, for many minutes.
const PING_INTERVAL: Duration = Duration::from_secs(3);
const PING_TIMEOUT: Duration = Duration::from_secs(6);
/// A connection that speaks ping and answered none for this long is dead.
const PONG_SILENCE: Duration = Duration::from_secs(12);

/// How long a transaction this node accepted waits for others to share its gossip message.
const TX_BATCH_DELAY: Duration = Duration::from_millis(25);

/// Transactions (EIP-2718 bytes) to gossip together, within the bounds of one message.
#[derive(Default)]
struct TxOutbox {
    txs: Vec<Vec<u8>>,
    bytes: usize,
}

impl TxOutbox {
    /// Adds a transaction; returns the batch to send first when it would not fit.
    fn push(&mut self, tx: Vec<u8>) -> Option<Vec<u8>> {
        // An RLP string's header and the list's: a few bytes each, bounded generously.
        let size = tx.len() + 16;
        let full = !self.txs.is_empty()
            && (self.txs.len() == MAX_TXS_PER_MESSAGE || self.bytes + size > MAX_TX_MESSAGE_BYTES);
        let out = if full { self.take() } else { None };
        self.bytes += size;
        self.txs.push(tx);
        out
    }

    /// The waiting transactions as one message, if any.
    fn take(&mut self) -> Option<Vec<u8>> {
        if self.txs.is_empty() {
            return None;
        }
        self.bytes = 0;
        let txs = std::mem::take(&mut self.txs);
        Some(encode_transactions(txs.iter().map(Vec::as_slice)))
    }
}

impl Service {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        done_tx: mpsc::UnboundedSender<Done>,
        mut done: mpsc::UnboundedReceiver<Done>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs(3));
        let mut flush = tokio::time::interval(TX_BATCH_DELAY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pace = tokio::time::interval(PACE_TICK);
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::PublishBlock(bytes)) => self.publish(self.blocks_topic.clone(), bytes),
                    Some(Command::PublishTransaction(bytes)) => {
                        if let Some(batch) = self.tx_outbox.push(bytes) {
                            self.publish(self.txs_topic.clone(), batch);
                        }
                    }
                    Some(Command::Shutdown) | None => break,
                },
                _ = flush.tick(), if !self.tx_outbox.txs.is_empty() => {
                    if let Some(batch) = self.tx_outbox.take() {
                        self.publish(self.txs_topic.clone(), batch);
                    }
                }
                _ = pace.tick(), if self.outgoing.has_queued() => self.send_ready(),
                event = self.swarm.select_next_some() => self.on_swarm_event(event, &done_tx),
                Some(result) = done.recv() => self.on_done(result),
                _ = tick.tick() => self.maintain(),
            }
        }
        tracing::info!(target: "lattice::network", "network stopped");
    }

    fn publish(&mut self, topic: gossipsub::TopicHash, data: Vec<u8>) {
        let topic = gossipsub::IdentTopic::new(topic.into_string());
        match self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
            Ok(_) => {}
            // Alone, or the same bytes again: nothing lost.
            Err(
                e @ (gossipsub::PublishError::NoPeersSubscribedToTopic
                | gossipsub::PublishError::Duplicate),
            ) => {
                tracing::debug!(target: "lattice::network", error = %e, "publish skipped");
            }
            Err(e) => {
                self.count("gossip_publish_failed");
                tracing::debug!(target: "lattice::network", error = %e, "publish failed");
            }
        }
    }

    /// Runs `work` off the event loop, within the bound of its class; `false` (and a counted
    /// refusal) when the class is at its bound. Imports of what we asked for wait their turn.
    fn chain_work<F>(&self, class: Work, done: &mpsc::UnboundedSender<Done>, work: F) -> bool
    where
        F: FnOnce(&dyn ChainAccess) -> Done + Send + 'static,
    {
        let slots = class.slots(&self.slots).clone();
        let (chain, done) = (self.chain.clone(), done.clone());
        let run = move |permit: tokio::sync::OwnedSemaphorePermit| {
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let _ = done.send(work(&*chain));
            });
        };
        match slots.clone().try_acquire_owned() {
            Ok(permit) => run(permit),
            // What we asked for waits its turn (without a thread) rather than be lost.
            Err(_) if matches!(class, Work::Import) => {
                tokio::spawn(async move {
                    if let Ok(permit) = slots.acquire_owned().await {
                        run(permit);
                    }
                });
            }
            Err(_) => {
                self.count(class.busy());
                return false;
            }
        }
        true
    }

    /// Takes one request token of `peer`; `false` when it asks faster than the limit.
    fn within_rate(&mut self, peer: PeerId) -> bool {
        self.request_tokens.take(peer, Instant::now())
    }

    fn on_swarm_event(
        &mut self,
        event: SwarmEvent<BehaviourEvent>,
        done: &mpsc::UnboundedSender<Done>,
    ) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(target: "lattice::network", %address, peer_id = %self.swarm.local_peer_id(), "listening");
                self.shared.listen_addrs.write().push(address);
            }
            SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, .. } => {
                self.live.entry(peer_id).or_default().insert(connection_id);
                self.last_pong.insert(connection_id, (peer_id, Instant::now()));
                let info = PeerInfo {
                    peer_id,
                    addr: endpoint.get_remote_address().clone(),
                    status: None,
                    outbound: endpoint.is_dialer(),
                };
                if endpoint.is_dialer() {
                    self.learn_bootstrap_id(peer_id, endpoint.get_remote_address());
                }
                self.shared.peers.write().insert(peer_id, info);
                tracing::info!(target: "lattice::network", %peer_id, peers = self.shared.peers.read().len(), "peer connected");
                self.request(peer_id, Request::Status);
            }
            SwarmEvent::ConnectionClosed { peer_id, connection_id, .. } => {
                self.connection_gone(peer_id, connection_id, "peer disconnected");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_gossip(propagation_source, message_id, message, done),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                for addr in info.listen_addrs {
                    self.learn_bootstrap_id(peer_id, &addr);
                    self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                }
            }
            // A dead link (a ping unanswered, or the stream failing) is closed, so that the peer
            // is dialled again; a peer that merely does not speak ping keeps its connection.
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                peer,
                connection,
                result: Err(error @ (ping::Failure::Timeout | ping::Failure::Other { .. })),
            })) => {
                tracing::info!(target: "lattice::network", %peer, %error, "peer stopped answering pings; closing the connection");
                self.drop_dead(peer, connection);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                peer,
                connection,
                result,
            })) => match result {
                Ok(_) => {
                    self.last_pong.insert(connection, (peer, Instant::now()));
                }
                // It does not speak ping: its silence says nothing.
                Err(_) => {
                    self.last_pong.remove(&connection);
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer,
                addresses,
                ..
            })) => {
                let connected = self.shared.peers.read().contains_key(&peer);
                if !connected && !self.scores.is_banned(&peer, Instant::now()) && self.peer_room() {
                    dial(&mut self.swarm, peer, addresses.first().clone());
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                peer,
                message,
                ..
            })) => match message {
                request_response::Message::Request { request, channel, .. } => {
                    self.serve(peer, request, channel, done)
                }
                request_response::Message::Response { request_id, response } => {
                    let kind = self.pending.remove(&request_id);
                    self.on_response(peer, kind, response, done);
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::OutboundFailure { peer, request_id, error, .. },
            )) => {
                if let Some(kind) = self.pending.remove(&request_id) {
                    self.gave_up(peer, kind);
                }
                tracing::debug!(target: "lattice::network", %peer, %error, "request failed");
            }
            _ => {}
        }
    }

    /// Closes a connection whose pings went unanswered. Closing gracefully waits on the dead
    /// link (for as long as TCP retries, many minutes): the peer counts as gone now.
    fn drop_dead(&mut self, peer: PeerId, connection: ConnectionId) {
        self.swarm.close_connection(connection);
        self.connection_gone(peer, connection, "peer unreachable");
    }

    /// Forgets a connection that closed or went dead; the peer is gone with its last one: its
    /// catch-up ends and what waits for it is given up.
    fn connection_gone(&mut self, peer: PeerId, connection: ConnectionId, why: &'static str) {
        self.last_pong.remove(&connection);
        let Some(connections) = self.live.get_mut(&peer) else { return };
        connections.remove(&connection);
        if !connections.is_empty() {
            return;
        }
        self.live.remove(&peer);
        self.shared.peers.write().remove(&peer);
        self.finish_sync(peer, false);
        for request in self.outgoing.forget(peer) {
            self.abandon(peer, request);
        }
        tracing::info!(target: "lattice::network", %peer, peers = self.shared.peers.read().len(), "{why}");
    }

    /// Dials each bootstrap node this node is not connected to (by its peer id once known,
    /// so that a dial already under way or a live connection is not doubled), every tick: a
    /// link that broke, and the peers behind it, come back within a tick of the link healing.
    fn redial_bootstrap_nodes(&mut self, connected: &[PeerId], now: Instant) {
        for (i, node) in self.config.bootstrap_nodes.iter().enumerate() {
            match self.bootstrap_ids[i] {
                Some(id) if connected.contains(&id) || self.scores.is_banned(&id, now) => {}
                Some(id) => dial(&mut self.swarm, id, node.addr.clone()),
                None => dial_bootstrap(&mut self.swarm, node),
            }
        }
    }

    /// Records `peer` as the bootstrap node listening on `addr`, if one does.
    fn learn_bootstrap_id(&mut self, peer: PeerId, addr: &Multiaddr) {
        let addr = without_peer_id(addr);
        for (i, node) in self.config.bootstrap_nodes.iter().enumerate() {
            if node.addr == addr && self.bootstrap_ids[i].is_none() {
                self.bootstrap_ids[i] = Some(peer);
            }
        }
    }

    fn peer_room(&self) -> bool {
        (self.shared.peers.read().len() as u32) < self.config.max_peers
    }

    /// Asks `peer`, now if within this node's pace, else when its turn comes. Status and
    /// catch-up pages go ahead of block requests waiting for the same peer.
    fn request(&mut self, peer: PeerId, request: Request) {
        let urgent = !matches!(request, Request::Blocks(_));
        match self.outgoing.submit(peer, request, urgent, Instant::now(), merge_fetches) {
            Submitted::Now(request) => self.send(peer, request),
            Submitted::Queued => {}
            Submitted::Full(request) => {
                self.count("request_queue_full");
                self.abandon(peer, request);
            }
        }
        self.note_queued();
    }

    /// Sends the waiting requests whose turn has come.
    fn send_ready(&mut self) {
        for (peer, request) in self.outgoing.ready(Instant::now()) {
            if self.shared.peers.read().contains_key(&peer) {
                self.send(peer, request);
            } else {
                self.abandon(peer, request);
            }
        }
        self.note_queued();
    }

    fn note_queued(&self) {
        let queued = self.outgoing.queued();
        self.shared.queued_requests.store(queued, std::sync::atomic::Ordering::Relaxed);
    }

    fn send(&mut self, peer: PeerId, request: Request) {
        let request = match request {
            // Blocks that arrived while the request waited (a catch-up brings them) are not
            // asked for again.
            Request::Blocks(hashes) => {
                let (known, wanted): (Vec<B256>, Vec<B256>) =
                    hashes.into_iter().partition(|h| self.chain.has_block(*h));
                self.release(&known);
                if wanted.is_empty() {
                    return;
                }
                Request::Blocks(wanted)
            }
            other => other,
        };
        let kind = Pending::of(&request);
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        self.pending.insert(id, kind);
    }

    /// Gives up a request never sent (see [`Service::gave_up`]).
    fn abandon(&mut self, peer: PeerId, request: Request) {
        self.gave_up(peer, Pending::of(&request));
    }

    /// Ends what waited on a request that brought nothing (never sent, failed, or answered
    /// with what was not asked): its blocks may be asked for again; a catch-up page ends the
    /// catch-up with that peer.
    fn gave_up(&mut self, peer: PeerId, kind: Pending) {
        match kind {
            Pending::Fetch(asked) => self.release(&asked),
            Pending::Page => self.finish_sync(peer, false),
            Pending::Status => {}
        }
    }

    /// Blocks no request is out for any longer: they may be asked for again.
    fn release(&mut self, hashes: &[B256]) {
        for hash in hashes {
            self.requested.remove(hash);
        }
    }

    fn on_gossip(
        &mut self,
        source: PeerId,
        id: MessageId,
        message: gossipsub::Message,
        done: &mpsc::UnboundedSender<Done>,
    ) {
        if message.topic == self.blocks_topic {
            let Ok(block) = crate::protocol::decode_block(&message.data) else {
                self.reject(&id, source, Offence::UndecodableBlock, "undecodable block");
                return;
            };
            let judged = id.clone();
            let queued = self.chain_work(Work::GossipBlock, done, move |chain| {
                let verdict = chain.import_gossip_block(block);
                Done::Gossip { id: judged, source, verdict, offence: Offence::InvalidBlock }
            });
            if !queued {
                self.ignore(&id, source);
            }
        } else if message.topic == self.txs_topic {
            let Ok(txs) = crate::protocol::decode_transactions(&message.data) else {
                self.reject(
                    &id,
                    source,
                    Offence::UndecodableTransaction,
                    "undecodable transaction message",
                );
                return;
            };
            let judged = id.clone();
            let queued = self.chain_work(Work::GossipTransaction, done, move |chain| {
                let verdict = chain.add_transactions(txs);
                Done::Gossip { id: judged, source, verdict, offence: Offence::InvalidTransaction }
            });
            if !queued {
                self.ignore(&id, source);
            }
        }
    }

    /// Neither forwards nor penalises a message (not judged: no room to judge it now).
    fn ignore(&mut self, id: &MessageId, source: PeerId) {
        self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
            id,
            &source,
            MessageAcceptance::Ignore,
        );
    }

    fn reject(&mut self, id: &MessageId, source: PeerId, offence: Offence, why: &str) {
        self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
            id,
            &source,
            MessageAcceptance::Reject,
        );
        self.penalise(source, offence, why);
    }

    /// Counts a refusal of `kind` (a metric per kind).
    fn count(&self, kind: &'static str) {
        *self.shared.refused.write().entry(kind).or_default() += 1;
    }

    fn penalise(&mut self, peer: PeerId, offence: Offence, why: &str) {
        self.count(offence.kind());
        if self.scores.is_banned(&peer, Instant::now()) {
            return; // already out: what was in flight when it was banned adds nothing
        }
        let outcome = self.scores.penalise(peer, offence, Instant::now(), BAN_DURATION);
        tracing::warn!(target: "lattice::network", %peer, score = outcome.score, offence = offence.kind(),
            reason = why, "peer misbehaved");
        if let Some(lifted) = outcome.unbanned {
            self.swarm.behaviour_mut().blocked.unblock_peer(lifted);
        }
        if outcome.banned {
            tracing::warn!(target: "lattice::network", %peer, ban_secs = BAN_DURATION.as_secs(), "banning peer");
            self.swarm.behaviour_mut().blocked.block_peer(peer);
        }
        self.shared.banned.store(self.scores.banned_count(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Answers a peer's request off the event loop. A peer over its request rate is refused
    /// (and penalised a little: the rate is documented); with every serving slot busy the
    /// request is dropped (the peer's request fails, and it may ask another peer).
    fn serve(
        &mut self,
        peer: PeerId,
        request: Request,
        channel: ResponseChannel<Response>,
        done: &mpsc::UnboundedSender<Done>,
    ) {
        if !self.within_rate(peer) {
            return self.penalise(peer, Offence::RateLimited, "sync requests over the rate limit");
        }
        self.chain_work(Work::Serve, done, move |chain| {
            let response = match request {
                Request::Status => Response::Status(chain.status()),
                // Each block is read and encoded only if the response still has room.
                Request::Blocks(hashes) => pack_blocks(
                    hashes
                        .into_iter()
                        .take(MAX_HASHES_PER_REQUEST)
                        .filter_map(|h| chain.block(h))
                        .map(|b| alloy_rlp::encode(&b)),
                ),
                // One more than a response holds, to know whether more follow.
                Request::After(cursor) => pack_blocks(
                    chain
                        .hashes_after(cursor, MAX_BLOCKS_PER_RESPONSE + 1)
                        .into_iter()
                        .filter_map(|h| chain.block(h))
                        .map(|b| alloy_rlp::encode(&b)),
                ),
            };
            Done::Serve { channel, response }
        });
    }

    fn on_response(
        &mut self,
        peer: PeerId,
        kind: Option<Pending>,
        response: Response,
        done: &mpsc::UnboundedSender<Done>,
    ) {
        match (kind, response) {
            (Some(Pending::Status), Response::Status(status)) => self.on_status(peer, status),
            (Some(Pending::Fetch(asked)), Response::Blocks { blocks: raw, .. }) => {
                self.release(&asked);
                let blocks = match decode_blocks(&raw) {
                    Ok(b) => b,
                    Err(e) => return self.penalise(peer, Offence::UndecodableBlock, &e),
                };
                self.chain_work(Work::Import, done, move |chain| {
                    let mut missing = Vec::new();
                    let mut invalid = None;
                    for block in blocks {
                        match chain.import_block(block) {
                            Verdict::MissingParents(m) => missing.extend(m),
                            Verdict::Invalid(e) => invalid = Some(e),
                            _ => {}
                        }
                    }
                    Done::Fetched { peer, missing, invalid }
                });
            }
            (Some(Pending::Page), Response::Blocks { blocks: raw, more }) => {
                let blocks = match decode_blocks(&raw) {
                    Ok(b) => b,
                    Err(e) => {
                        self.finish_sync(peer, false);
                        return self.penalise(peer, Offence::UndecodableBlock, &e);
                    }
                };
                self.chain_work(Work::Import, done, move |chain| {
                    let received = blocks.len();
                    let last = blocks.last().map(|b| Cursor {
                        blue_work: b.header.blue_work,
                        hash: b.header.hash_slow(),
                    });
                    let (mut imported, mut ignored, mut invalid, mut missing) =
                        (0, 0, None, Vec::new());
                    for block in blocks {
                        match chain.import_block(block) {
                            Verdict::Accepted => imported += 1,
                            Verdict::MissingParents(m) => missing.extend(m),
                            Verdict::Invalid(e) => {
                                invalid = Some(e);
                                break;
                            }
                            Verdict::Ignored(_) => ignored += 1,
                            Verdict::Known => {}
                        }
                    }
                    Done::Page { peer, received, imported, ignored, last, more, missing, invalid }
                });
            }
            (None, _) => {} // a request we gave up on
            (Some(kind), _) => {
                self.gave_up(peer, kind);
                self.penalise(peer, Offence::BadResponse, "response does not fit the request")
            }
        }
    }

    fn on_status(&mut self, peer: PeerId, theirs: Status) {
        let ours = self.chain.status();
        if theirs.genesis != ours.genesis || theirs.chain_id != ours.chain_id {
            tracing::warn!(target: "lattice::network", %peer, "peer is on another chain; disconnecting");
            self.penalise(peer, Offence::WrongChain, "different genesis");
            let _ = self.swarm.disconnect_peer_id(peer);
            return;
        }
        // A peer of our chain (not any connection: a crawler or another chain's node is not
        // a network to wait for).
        self.shared.ever_connected.store(true, std::sync::atomic::Ordering::Relaxed);
        if self.syncing_with == Some(peer) {
            // The peer kept producing: the catch-up's target moves with it.
            let mut sync = self.shared.sync.write();
            sync.highest_block = sync.highest_block.max(theirs.height);
        }
        if let Some(info) = self.shared.peers.write().get_mut(&peer) {
            info.status = Some(theirs);
        }
        self.maybe_sync(&ours);
    }

    /// Starts catching up from the connected peer that claims the most blue work above ours,
    /// unless a catch-up runs or no such peer is out of its cool-down.
    fn maybe_sync(&mut self, ours: &Status) {
        if self.syncing_with.is_some() {
            return;
        }
        let now = Instant::now();
        self.sync_cooldown.retain(|_, until| *until > now);
        let best = self
            .shared
            .peers
            .read()
            .values()
            .filter_map(|p| Some((p.peer_id, p.status.clone()?)))
            .filter(|(p, s)| {
                s.sink_blue_work > ours.sink_blue_work && !self.sync_cooldown.contains_key(p)
            })
            .max_by_key(|(_, s)| s.sink_blue_work);
        let Some((peer, theirs)) = best else { return };
        self.sync_base = ours.sink_blue_work;
        self.sync_overlap = SYNC_OVERLAP;
        let cursor = self.sync_start();
        tracing::info!(target: "lattice::network", %peer, our_height = ours.height, their_height = theirs.height,
            "catching up from peer");
        self.syncing_with = Some(peer);
        self.sync_claimed = theirs.sink_blue_work;
        self.sync_started = now;
        self.sync_imported = 0;
        self.sync_received = 0;
        self.sync_ignored = 0;
        self.sync_progress = now;
        *self.shared.sync.write() = SyncState {
            syncing: true,
            starting_block: ours.height,
            current_block: ours.height,
            highest_block: theirs.height,
        };
        self.request(peer, Request::After(cursor));
    }

    /// Where the catch-up's pages start: [`Service::sync_overlap`] below our sink as it was.
    fn sync_start(&self) -> Cursor {
        Cursor {
            blue_work: self.sync_base.saturating_sub(U256::from(self.sync_overlap)),
            hash: B256::ZERO,
        }
    }

    /// Ends the catch-up with `peer`. One that did not complete puts the peer in a cool-down,
    /// so that another peer is tried next.
    fn finish_sync(&mut self, peer: PeerId, completed: bool) {
        if self.syncing_with != Some(peer) {
            return;
        }
        self.syncing_with = None;
        let elapsed = self.sync_started.elapsed().as_secs_f64();
        tracing::info!(target: "lattice::network", %peer, imported = self.sync_imported, secs = elapsed, completed,
            blocks_per_sec = (self.sync_imported as f64 / elapsed.max(1e-9)) as u64, "catch-up finished");
        self.shared.sync.write().syncing = false;
        if !completed {
            self.sync_cooldown.insert(peer, Instant::now() + SYNC_COOLDOWN);
            let ours = self.chain.status();
            self.maybe_sync(&ours);
        }
    }

    fn on_done(&mut self, done: Done) {
        match done {
            Done::Gossip { id, source, verdict, offence } => {
                let acceptance = match &verdict {
                    Verdict::Accepted => MessageAcceptance::Accept,
                    Verdict::Invalid(_) => MessageAcceptance::Reject,
                    _ => MessageAcceptance::Ignore,
                };
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &source, acceptance);
                match verdict {
                    Verdict::Invalid(reason) => self.penalise(source, offence, &reason),
                    Verdict::MissingParents(missing) => self.fetch_unless_syncing(source, missing),
                    _ => {}
                }
            }
            Done::Fetched { peer, missing, invalid } => {
                if let Some(reason) = invalid {
                    self.penalise(peer, Offence::InvalidBlock, &reason);
                }
                // The walk a catch-up itself started (below) goes on; others wait for it.
                if self.syncing_with == Some(peer) {
                    self.fetch(peer, missing);
                } else {
                    self.fetch_unless_syncing(peer, missing);
                }
            }
            Done::Page { peer, received, imported, ignored, last, more, missing, invalid } => {
                tracing::debug!(target: "lattice::network", %peer, received, imported, ignored, more,
                    missing = missing.len(), "catch-up page");
                if self.syncing_with == Some(peer) {
                    self.sync_progress = Instant::now();
                    self.sync_ignored += ignored;
                }
                self.sync_imported += imported;
                self.sync_received += received;
                let status = self.chain.status();
                let state = {
                    let mut sync = self.shared.sync.write();
                    sync.current_block = status.height;
                    sync.highest_block = sync.highest_block.max(status.height);
                    *sync
                };
                // A progress line at most every SYNC_LOG_EVERY: the numbers eth_syncing gives.
                if self.sync_logged.elapsed() >= SYNC_LOG_EVERY {
                    self.sync_logged = Instant::now();
                    let (percent, rate, eta) = state.progress(self.sync_started.elapsed());
                    tracing::info!(target: "lattice::network", %peer,
                        height = state.current_block, highest = state.highest_block,
                        percent = format_args!("{percent:.1}"), blocks_per_sec = rate as u64,
                        left = format_args!("{}", eta.map_or("?".into(), |d| format!("{}s", d.as_secs()))),
                        imported = self.sync_imported, "catching up");
                }
                if let Some(reason) = invalid {
                    self.finish_sync(peer, false);
                    return self.penalise(peer, Offence::InvalidBlock, &reason);
                }
                let from = self.sync_start().blue_work;
                if !missing.is_empty()
                    && self.syncing_with == Some(peer)
                    && !from.is_zero()
                    && self.sync_ignored == 0
                {
                    // The pages began above where the peer's DAG and ours meet (our own branch
                    // is longer than the overlap): start again four times further down, rather
                    // than walk back to the fork one request per block; the last time, from
                    // genesis.
                    self.sync_overlap = self.sync_overlap.saturating_mul(4);
                    if self.sync_overlap > MAX_SYNC_OVERLAP {
                        self.sync_overlap = u64::MAX;
                    }
                    let cursor = self.sync_start();
                    tracing::info!(target: "lattice::network", %peer, missing = missing.len(),
                        from_blue_work = %cursor.blue_work, "catch-up skipped blocks; starting further back");
                    return self.request(peer, Request::After(cursor));
                }
                self.fetch(peer, missing);
                match last {
                    Some(cursor) if more && self.syncing_with == Some(peer) => {
                        self.request(peer, Request::After(cursor))
                    }
                    _ if self.syncing_with != Some(peer) => {}
                    _ => {
                        // An honest peer that claims more blue work than ours has blocks after
                        // our cursor: one that serves none lied about its work.
                        let short = status.sink_blue_work < self.sync_claimed;
                        let lied = self.sync_received == 0 && short;
                        // Nothing new and still short of the claim: another peer next (this one
                        // cools down), not the same catch-up again at once.
                        let fruitless = short && self.sync_imported == 0;
                        self.finish_sync(peer, !lied && !fruitless);
                        if lied {
                            self.penalise(
                                peer,
                                Offence::ClaimedWorkNotServed,
                                "claimed blue work it did not serve",
                            );
                            let _ = self.swarm.disconnect_peer_id(peer);
                        } else if !fruitless {
                            // More may have been produced meanwhile: ask again.
                            self.request(peer, Request::Status);
                        }
                    }
                }
            }
            Done::Serve { channel, response } => {
                let _ = self.swarm.behaviour_mut().sync.send_response(channel, response);
            }
        }
    }

    /// Asks for the missing parents of a gossiped block, or of one fetched for another, unless
    /// a catch-up runs: it brings them in order, and the blocks waiting for them are retried as
    /// it does. Walking back from the gossip instead, one level per request, would ask a
    /// peer once per block this node lacks.
    fn fetch_unless_syncing(&mut self, peer: PeerId, missing: Vec<B256>) {
        if self.syncing_with.is_none() {
            self.fetch(peer, missing);
        }
    }

    /// Asks `peer` for blocks we lack (missing parents), each hash once.
    fn fetch(&mut self, peer: PeerId, missing: Vec<B256>) {
        let wanted: Vec<B256> = missing.into_iter().filter(|h| self.requested.insert(*h)).collect();
        if wanted.is_empty() {
            return;
        }
        if self.requested.len() > 100_000 {
            self.requested.clear();
        }
        self.request(peer, Request::Blocks(wanted));
    }

    fn maintain(&mut self) {
        let now = Instant::now();
        self.request_tokens.prune(now);
        self.outgoing.prune(now);
        // libp2p-ping reports only a second failure, ~20 s after a link dies: a connection
        // silent for four ping intervals is dead sooner.
        let dead: Vec<(ConnectionId, PeerId)> = self
            .last_pong
            .iter()
            .filter(|(_, (_, at))| now.duration_since(*at) > PONG_SILENCE)
            .map(|(c, (p, _))| (*c, *p))
            .collect();
        for (connection, peer) in dead {
            tracing::info!(target: "lattice::network", %peer, "no ping answered for {}s; closing the connection", PONG_SILENCE.as_secs());
            self.drop_dead(peer, connection);
        }
        if let Some(peer) = self.syncing_with {
            if now.duration_since(self.sync_progress) > SYNC_STALL {
                tracing::info!(target: "lattice::network", %peer, "catch-up stalled; trying another peer");
                self.finish_sync(peer, false);
            }
        }
        for peer in self.scores.expire(now) {
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
        self.shared.banned.store(self.scores.banned_count(), std::sync::atomic::Ordering::Relaxed);
        let peers: Vec<PeerId> = self.shared.peers.read().keys().copied().collect();
        if self.peer_room() {
            self.redial_bootstrap_nodes(&peers, now);
        }
        if !peers.is_empty() {
            let _ = self.swarm.behaviour_mut().kad.bootstrap();
            if self.syncing_with.is_none() {
                // Ask one peer how far it is, to notice being behind; a different one each time.
                self.status_round = self.status_round.wrapping_add(1);
                let index = self.status_round % peers.len();
                self.request(peers[index], Request::Status);
            }
        }
        // Forget fetched hashes now and then, so a block that failed can be asked for again.
        if self.requested.len() > 10_000 {
            self.requested.clear();
        }
    }
}

fn decode_blocks(raw: &[Bytes]) -> Result<Vec<Block>, String> {
    raw.iter().map(|b| decode_block(b)).collect()
}

/// An error's message followed by its sources' (libp2p's transport errors keep the reason,
/// such as "Address already in use", in a source and display nothing themselves).
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !part.is_empty() && !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{SyncState, TxOutbox};
    use std::time::Duration;

    #[test]
    fn sync_progress_is_the_share_done_the_rate_and_the_time_left_at_it() {
        let state = SyncState {
            syncing: true,
            starting_block: 100,
            current_block: 400,
            highest_block: 1_100,
        };
        let (percent, rate, eta) = state.progress(Duration::from_secs(10));
        assert_eq!((percent, rate, eta), (30.0, 30.0, Some(Duration::from_secs_f64(700.0 / 30.0))));
        let fresh = SyncState { current_block: 100, ..state };
        assert_eq!(fresh.progress(Duration::from_secs(1)), (0.0, 0.0, None));
        // Past the height the peer announced (it kept producing): done, not above 100%.
        let past = SyncState { current_block: 1_200, ..state };
        assert_eq!(past.progress(Duration::from_secs(10)).0, 100.0);
        let nothing_to_do =
            SyncState { starting_block: 5, current_block: 5, highest_block: 5, ..state };
        assert_eq!(nothing_to_do.progress(Duration::ZERO).0, 100.0);
    }
    use crate::protocol::{MAX_TXS_PER_MESSAGE, MAX_TX_BYTES, MAX_TX_MESSAGE_BYTES};

    fn count(message: &[u8]) -> usize {
        let items: Vec<alloy_primitives::Bytes> = alloy_rlp::decode_exact(message).unwrap();
        items.len()
    }

    #[test]
    fn the_outbox_sends_full_messages_and_never_an_oversize_one() {
        let mut outbox = TxOutbox::default();
        assert!(outbox.take().is_none(), "nothing to send");
        let sent: Vec<Vec<u8>> = (0..MAX_TXS_PER_MESSAGE * 2 + 1)
            .filter_map(|i| outbox.push(vec![i as u8; 100]))
            .collect();
        assert_eq!(sent.iter().map(|m| count(m)).collect::<Vec<_>>(), [256, 256]);
        assert_eq!(count(&outbox.take().unwrap()), 1, "the rest waits for the timer");
        assert!(outbox.take().is_none());

        let big = vec![7u8; MAX_TX_BYTES];
        let sent: Vec<Vec<u8>> = (0..20).filter_map(|_| outbox.push(big.clone())).collect();
        assert!(!sent.is_empty());
        for message in sent.iter().chain(outbox.take().as_ref()) {
            assert!(message.len() <= MAX_TX_MESSAGE_BYTES, "{} bytes", message.len());
        }
    }
}

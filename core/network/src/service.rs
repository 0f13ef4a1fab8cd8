//! The swarm and its event loop.

use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::protocol::{
    blocks_topic, message_id, transactions_topic, Cursor, Request, Response, Status,
    MAX_BLOCKS_PER_RESPONSE, MAX_BLOCK_BYTES, SYNC_PROTOCOL,
};
use crate::{ChainAccess, NetworkConfig, Verdict, BAN_DURATION};
use alloy_consensus::TxEnvelope;
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Bytes, B256, U256};
use futures::StreamExt;
use lattice_primitives::Block;
use libp2p::gossipsub::{self, MessageAcceptance, MessageAuthenticity, MessageId, ValidationMode};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::SwarmEvent;
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
/// Score at which a peer is banned.
const BAN_SCORE: i64 = -100;
const INVALID_BLOCK_PENALTY: i64 = 50;
const INVALID_TX_PENALTY: i64 = 10;
const UNDECODABLE_PENALTY: i64 = 25;

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

#[derive(Default)]
struct Shared {
    listen_addrs: parking_lot_free::RwLock<Vec<Multiaddr>>,
    peers: parking_lot_free::RwLock<HashMap<PeerId, PeerInfo>>,
    sync: parking_lot_free::RwLock<SyncState>,
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

/// Work done off the event loop, reported back to it.
enum Done {
    Gossip {
        id: MessageId,
        source: PeerId,
        verdict: Verdict,
        penalty: i64,
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
        last: Option<Cursor>,
        invalid: Option<String>,
    },
    Serve {
        channel: ResponseChannel<Response>,
        response: Response,
    },
}

enum Pending {
    Status,
    Fetch,
    Page,
}

/// Starts the network: builds the swarm, listens, dials the bootstrap nodes and runs the event
/// loop in the background.
pub async fn start(
    config: NetworkConfig,
    chain: Arc<dyn ChainAccess>,
) -> Result<NetworkHandle, NetworkError> {
    let local_peer_id = config.keypair.public().to_peer_id();
    let mut swarm = build_swarm(&config)?;
    swarm
        .listen_on(config.listen.clone())
        .map_err(|e| NetworkError::Listen { addr: config.listen.clone(), reason: e.to_string() })?;
    let (blocks, txs) = (blocks_topic(config.chain_id), transactions_topic(config.chain_id));
    for topic in [&blocks, &txs] {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(topic)
            .map_err(|e| NetworkError::Build(e.to_string()))?;
    }
    for node in &config.bootstrap_nodes {
        swarm.behaviour_mut().kad.add_address(&node.peer_id, node.addr.clone());
        dial(&mut swarm, node.peer_id, node.addr.clone());
    }
    let (commands, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::default());
    let service = Service {
        swarm,
        chain,
        config,
        shared: shared.clone(),
        blocks_topic: blocks.hash(),
        txs_topic: txs.hash(),
        pending: HashMap::new(),
        scores: HashMap::new(),
        banned: HashMap::new(),
        requested: HashSet::new(),
        syncing_with: None,
        sync_started: Instant::now(),
        sync_imported: 0,
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
                ping: ping::Behaviour::default(),
                sync: request_response::cbor::Behaviour::new(
                    [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(30)),
                ),
            })
        })
        .map_err(|e| build(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    Ok(swarm)
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
    scores: HashMap<PeerId, i64>,
    banned: HashMap<PeerId, Instant>,
    requested: HashSet<B256>,
    syncing_with: Option<PeerId>,
    sync_started: Instant,
    sync_imported: usize,
}

impl Service {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        done_tx: mpsc::UnboundedSender<Done>,
        mut done: mpsc::UnboundedReceiver<Done>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs(3));
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::PublishBlock(bytes)) => self.publish(self.blocks_topic.clone(), bytes),
                    Some(Command::PublishTransaction(bytes)) => self.publish(self.txs_topic.clone(), bytes),
                    Some(Command::Shutdown) | None => break,
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event, &done_tx),
                Some(result) = done.recv() => self.on_done(result),
                _ = tick.tick() => self.maintain(),
            }
        }
        tracing::info!(target: "lattice::network", "network stopped");
    }

    fn publish(&mut self, topic: gossipsub::TopicHash, data: Vec<u8>) {
        let topic = gossipsub::IdentTopic::new(topic.into_string());
        if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
            tracing::debug!(target: "lattice::network", error = %e, "publish skipped");
        }
    }

    fn chain_work<F>(&self, done: &mpsc::UnboundedSender<Done>, work: F)
    where
        F: FnOnce(&dyn ChainAccess) -> Done + Send + 'static,
    {
        let (chain, done) = (self.chain.clone(), done.clone());
        tokio::task::spawn_blocking(move || {
            let _ = done.send(work(&*chain));
        });
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
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } => {
                let info = PeerInfo {
                    peer_id,
                    addr: endpoint.get_remote_address().clone(),
                    status: None,
                    outbound: endpoint.is_dialer(),
                };
                self.shared.peers.write().insert(peer_id, info);
                tracing::info!(target: "lattice::network", %peer_id, peers = self.shared.peers.read().len(), "peer connected");
                self.request(peer_id, Request::Status, Pending::Status);
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                self.shared.peers.write().remove(&peer_id);
                if self.syncing_with == Some(peer_id) {
                    self.finish_sync();
                }
                tracing::info!(target: "lattice::network", %peer_id, peers = self.shared.peers.read().len(), "peer disconnected");
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
                    self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer,
                addresses,
                ..
            })) => {
                let connected = self.shared.peers.read().contains_key(&peer);
                if !connected && !self.banned.contains_key(&peer) && self.peer_room() {
                    dial(&mut self.swarm, peer, addresses.first().clone());
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                peer,
                message,
                ..
            })) => match message {
                request_response::Message::Request { request, channel, .. } => {
                    self.serve(request, channel, done)
                }
                request_response::Message::Response { request_id, response } => {
                    let kind = self.pending.remove(&request_id);
                    self.on_response(peer, kind, response, done);
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::OutboundFailure { peer, request_id, error, .. },
            )) => {
                if let Some(Pending::Page) = self.pending.remove(&request_id) {
                    self.finish_sync();
                }
                tracing::debug!(target: "lattice::network", %peer, %error, "request failed");
            }
            _ => {}
        }
    }

    fn peer_room(&self) -> bool {
        (self.shared.peers.read().len() as u32) < self.config.max_peers
    }

    fn request(&mut self, peer: PeerId, request: Request, kind: Pending) {
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        self.pending.insert(id, kind);
    }

    fn on_gossip(
        &mut self,
        source: PeerId,
        id: MessageId,
        message: gossipsub::Message,
        done: &mpsc::UnboundedSender<Done>,
    ) {
        if message.topic == self.blocks_topic {
            let Ok(block) = alloy_rlp::Decodable::decode(&mut message.data.as_slice()) else {
                self.reject(&id, source, UNDECODABLE_PENALTY, "undecodable block");
                return;
            };
            self.chain_work(done, move |chain| {
                let verdict = chain.import_block(block);
                Done::Gossip { id, source, verdict, penalty: INVALID_BLOCK_PENALTY }
            });
        } else if message.topic == self.txs_topic {
            let Ok(tx) = TxEnvelope::decode_2718(&mut message.data.as_slice()) else {
                self.reject(&id, source, UNDECODABLE_PENALTY, "undecodable transaction");
                return;
            };
            self.chain_work(done, move |chain| {
                let verdict = chain.add_transaction(tx);
                Done::Gossip { id, source, verdict, penalty: INVALID_TX_PENALTY }
            });
        }
    }

    fn reject(&mut self, id: &MessageId, source: PeerId, penalty: i64, why: &str) {
        self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
            id,
            &source,
            MessageAcceptance::Reject,
        );
        self.penalise(source, penalty, why);
    }

    fn penalise(&mut self, peer: PeerId, penalty: i64, why: &str) {
        let score = self.scores.entry(peer).or_default();
        *score -= penalty;
        tracing::warn!(target: "lattice::network", %peer, score = *score, reason = why, "peer sent invalid data");
        if *score <= BAN_SCORE {
            tracing::warn!(target: "lattice::network", %peer, ban_secs = BAN_DURATION.as_secs(), "banning peer");
            self.swarm.behaviour_mut().blocked.block_peer(peer);
            self.banned.insert(peer, Instant::now() + BAN_DURATION);
            self.scores.remove(&peer);
        }
    }

    fn serve(
        &self,
        request: Request,
        channel: ResponseChannel<Response>,
        done: &mpsc::UnboundedSender<Done>,
    ) {
        self.chain_work(done, move |chain| {
            let response = match request {
                Request::Status => Response::Status(chain.status()),
                Request::Blocks(hashes) => {
                    let hashes: Vec<B256> =
                        hashes.into_iter().take(MAX_BLOCKS_PER_RESPONSE).collect();
                    Response::Blocks(
                        chain
                            .blocks(&hashes)
                            .iter()
                            .map(|b| Bytes::from(alloy_rlp::encode(b)))
                            .collect(),
                    )
                }
                Request::After(cursor) => Response::Blocks(
                    chain
                        .blocks_after(cursor, MAX_BLOCKS_PER_RESPONSE)
                        .iter()
                        .map(|b| Bytes::from(alloy_rlp::encode(b)))
                        .collect(),
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
            (Some(Pending::Fetch), Response::Blocks(raw)) => {
                let blocks = match decode_blocks(&raw) {
                    Ok(b) => b,
                    Err(e) => return self.penalise(peer, UNDECODABLE_PENALTY, &e),
                };
                self.chain_work(done, move |chain| {
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
            (Some(Pending::Page), Response::Blocks(raw)) => {
                let blocks = match decode_blocks(&raw) {
                    Ok(b) => b,
                    Err(e) => {
                        self.finish_sync();
                        return self.penalise(peer, UNDECODABLE_PENALTY, &e);
                    }
                };
                self.chain_work(done, move |chain| {
                    let received = blocks.len();
                    let last = blocks.last().map(|b| Cursor {
                        blue_work: b.header.blue_work,
                        hash: b.header.hash_slow(),
                    });
                    let mut imported = 0;
                    let mut invalid = None;
                    for block in blocks {
                        match chain.import_block(block) {
                            Verdict::Accepted => imported += 1,
                            Verdict::Invalid(e) => {
                                invalid = Some(e);
                                break;
                            }
                            _ => {}
                        }
                    }
                    Done::Page { peer, received, imported, last, invalid }
                });
            }
            _ => self.penalise(peer, UNDECODABLE_PENALTY, "unexpected response"),
        }
    }

    fn on_status(&mut self, peer: PeerId, theirs: Status) {
        let ours = self.chain.status();
        if theirs.genesis != ours.genesis || theirs.chain_id != ours.chain_id {
            tracing::warn!(target: "lattice::network", %peer, "peer is on another chain; disconnecting");
            self.penalise(peer, -BAN_SCORE, "different genesis");
            let _ = self.swarm.disconnect_peer_id(peer);
            return;
        }
        if let Some(info) = self.shared.peers.write().get_mut(&peer) {
            info.status = Some(theirs.clone());
        }
        if theirs.sink_blue_work > ours.sink_blue_work && self.syncing_with.is_none() {
            let cursor = Cursor {
                blue_work: ours.sink_blue_work.saturating_sub(U256::from(SYNC_OVERLAP)),
                hash: B256::ZERO,
            };
            tracing::info!(target: "lattice::network", %peer, our_height = ours.height, their_height = theirs.height,
                "catching up from peer");
            self.syncing_with = Some(peer);
            self.sync_started = Instant::now();
            self.sync_imported = 0;
            *self.shared.sync.write() = SyncState {
                syncing: true,
                starting_block: ours.height,
                current_block: ours.height,
                highest_block: theirs.height,
            };
            self.request(peer, Request::After(cursor), Pending::Page);
        }
    }

    fn finish_sync(&mut self) {
        if self.syncing_with.take().is_some() {
            let elapsed = self.sync_started.elapsed().as_secs_f64();
            tracing::info!(target: "lattice::network", imported = self.sync_imported, secs = elapsed,
                blocks_per_sec = (self.sync_imported as f64 / elapsed.max(1e-9)) as u64, "catch-up finished");
        }
        self.shared.sync.write().syncing = false;
    }

    fn on_done(&mut self, done: Done) {
        match done {
            Done::Gossip { id, source, verdict, penalty } => {
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
                    Verdict::Invalid(reason) => self.penalise(source, penalty, &reason),
                    Verdict::MissingParents(missing) => self.fetch(source, missing),
                    _ => {}
                }
            }
            Done::Fetched { peer, missing, invalid } => {
                if let Some(reason) = invalid {
                    self.penalise(peer, INVALID_BLOCK_PENALTY, &reason);
                }
                self.fetch(peer, missing);
            }
            Done::Page { peer, received, imported, last, invalid } => {
                self.sync_imported += imported;
                let height = self.chain.status().height;
                self.shared.sync.write().current_block = height;
                let elapsed = self.sync_started.elapsed().as_secs_f64();
                tracing::info!(target: "lattice::network", %peer, imported = self.sync_imported, height,
                    blocks_per_sec = (self.sync_imported as f64 / elapsed.max(1e-9)) as u64, "catching up");
                if let Some(reason) = invalid {
                    self.finish_sync();
                    return self.penalise(peer, INVALID_BLOCK_PENALTY, &reason);
                }
                match last {
                    Some(cursor)
                        if received == MAX_BLOCKS_PER_RESPONSE
                            && self.syncing_with == Some(peer) =>
                    {
                        self.request(peer, Request::After(cursor), Pending::Page)
                    }
                    _ => {
                        self.finish_sync();
                        // More may have been produced meanwhile: ask again.
                        self.request(peer, Request::Status, Pending::Status);
                    }
                }
            }
            Done::Serve { channel, response } => {
                let _ = self.swarm.behaviour_mut().sync.send_response(channel, response);
            }
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
        self.request(peer, Request::Blocks(wanted), Pending::Fetch);
    }

    fn maintain(&mut self) {
        let now = Instant::now();
        let expired: Vec<PeerId> =
            self.banned.iter().filter(|(_, until)| **until <= now).map(|(p, _)| *p).collect();
        for peer in expired {
            self.banned.remove(&peer);
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
        let peers: Vec<PeerId> = self.shared.peers.read().keys().copied().collect();
        if peers.is_empty() {
            let nodes = self.config.bootstrap_nodes.clone();
            for node in nodes {
                dial(&mut self.swarm, node.peer_id, node.addr);
            }
        } else {
            let _ = self.swarm.behaviour_mut().kad.bootstrap();
            if self.syncing_with.is_none() {
                // Ask one peer how far it is, to notice being behind.
                let index = (now.elapsed().subsec_nanos() as usize) % peers.len();
                self.request(peers[index], Request::Status, Pending::Status);
            }
        }
        // Forget fetched hashes now and then, so a block that failed can be asked for again.
        if self.requested.len() > 10_000 {
            self.requested.clear();
        }
    }
}

fn decode_blocks(raw: &[Bytes]) -> Result<Vec<Block>, String> {
    raw.iter()
        .map(|b| {
            alloy_rlp::Decodable::decode(&mut b.as_ref())
                .map_err(|e| format!("undecodable block: {e}"))
        })
        .collect()
}

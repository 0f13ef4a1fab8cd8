//! A hostile peer for Lattice's tests: it speaks the node's libp2p protocols (gossipsub topics
//! of blocks and transactions, the sync request-response protocol) with its own swarm, and
//! sends whatever bytes it is told to, valid or not. It answers status requests with whatever
//! blue work it is told to claim and serves no blocks.
//!
//! It is not a mock of the node: it is the other side of the wire, so tests drive real nodes
//! with it. It is for tests only; nothing in the node depends on it.

use alloy_primitives::{B256, U256};
use futures::StreamExt;
use lattice_network::protocol::{
    blocks_topic, message_id, transactions_topic, Request, Response, Status, SYNC_PROTOCOL,
};
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, ValidationMode};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identify, noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

#[derive(NetworkBehaviour)]
struct Behaviour {
    gossipsub: gossipsub::Behaviour,
    identify: identify::Behaviour,
    sync: request_response::cbor::Behaviour<Request, Response>,
}

/// What the attacker claims about itself.
#[derive(Clone, Debug)]
pub struct Claims {
    /// Chain id and genesis of the target network (so the node takes it for a peer).
    pub chain_id: u64,
    /// Genesis hash.
    pub genesis: B256,
    /// Blue work it claims to have.
    pub blue_work: U256,
    /// How it answers the target's requests for blocks and catch-up pages.
    pub answers: Answers,
}

/// How an attacker answers requests for blocks and catch-up pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Answers {
    /// With no blocks.
    #[default]
    Empty,
    /// With a status, which was not asked for.
    Status,
}

enum Command {
    Publish(IdentTopic, Vec<u8>),
    Request(Request, oneshot::Sender<Result<Response, String>>),
}

/// A running hostile peer connected to one node.
pub struct Attacker {
    peer_id: PeerId,
    commands: mpsc::UnboundedSender<Command>,
    connected: Arc<AtomicBool>,
    blocks: IdentTopic,
    transactions: IdentTopic,
    /// Blocks gossiped by the network, as received (raw bytes).
    pub seen_blocks: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    /// Catch-up pages (`Request::After`) the target asked of it.
    pages_asked: Arc<AtomicUsize>,
}

impl Attacker {
    /// Connects to `target` (a multiaddr ending in `/p2p/<peer-id>`) with a fresh identity.
    pub async fn connect(target: Multiaddr, claims: Claims) -> Result<Self, String> {
        Self::connect_as(libp2p::identity::Keypair::generate_ed25519(), target, claims).await
    }

    /// Connects to `target` as the peer of `key` (to come back after a disconnection).
    pub async fn connect_as(
        key: libp2p::identity::Keypair,
        target: Multiaddr,
        claims: Claims,
    ) -> Result<Self, String> {
        let peer_id = key.public().to_peer_id();
        let gossip_config = gossipsub::ConfigBuilder::default()
            .validation_mode(ValidationMode::Strict)
            .message_id_fn(message_id)
            // Larger than any node accepts, so that oversize messages can be sent.
            .max_transmit_size(64 * 1024 * 1024)
            .heartbeat_interval(Duration::from_millis(700))
            .build()
            .map_err(|e| e.to_string())?;
        let mut swarm: Swarm<Behaviour> = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| e.to_string())?
            .with_behaviour(|key| {
                Ok(Behaviour {
                    gossipsub: gossipsub::Behaviour::new(
                        MessageAuthenticity::Signed(key.clone()),
                        gossip_config,
                    )?,
                    identify: identify::Behaviour::new(identify::Config::new(
                        "/lattice/1.0.0".into(),
                        key.public(),
                    )),
                    sync: request_response::Behaviour::with_codec(
                        request_response::cbor::codec::Codec::default()
                            .set_request_size_maximum(64 * 1024 * 1024)
                            .set_response_size_maximum(64 * 1024 * 1024),
                        [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                        request_response::Config::default()
                            .with_request_timeout(Duration::from_secs(30)),
                    ),
                })
            })
            .map_err(|e| e.to_string())?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(600)))
            .build();
        let (blocks, transactions) =
            (blocks_topic(claims.chain_id), transactions_topic(claims.chain_id));
        for topic in [&blocks, &transactions] {
            swarm.behaviour_mut().gossipsub.subscribe(topic).map_err(|e| e.to_string())?;
        }
        // No listener: the attacker talks to its target only. A listening attacker is learnt
        // through identify and dialled by the target's other peers, and its requests would be
        // split between nodes.
        swarm.dial(target).map_err(|e| e.to_string())?;
        let (commands, rx) = mpsc::unbounded_channel();
        let connected = Arc::new(AtomicBool::new(false));
        let seen_blocks = Arc::new(std::sync::Mutex::new(Vec::new()));
        let pages_asked = Arc::new(AtomicUsize::new(0));
        let observed = Observed {
            connected: connected.clone(),
            blocks: blocks.hash(),
            seen_blocks: seen_blocks.clone(),
            pages_asked: pages_asked.clone(),
        };
        tokio::spawn(run(swarm, rx, claims, observed));
        Ok(Self { peer_id, commands, connected, blocks, transactions, seen_blocks, pages_asked })
    }

    /// The attacker's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// How many catch-up pages the target asked of it.
    pub fn pages_asked(&self) -> usize {
        self.pages_asked.load(Ordering::Relaxed)
    }

    /// Whether a connection to the target is open.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Gossips `bytes` on the blocks topic.
    pub fn gossip_block(&self, bytes: Vec<u8>) {
        let _ = self.commands.send(Command::Publish(self.blocks.clone(), bytes));
    }

    /// Gossips `bytes` on the transactions topic (a well-formed message is a batch:
    /// `lattice_network::protocol::encode_transactions`).
    pub fn gossip_transaction(&self, bytes: Vec<u8>) {
        let _ = self.commands.send(Command::Publish(self.transactions.clone(), bytes));
    }

    /// Sends a sync request to the target and waits for its answer.
    pub async fn request(&self, request: Request) -> Result<Response, String> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Request(request, tx)).map_err(|_| "attacker stopped")?;
        rx.await.map_err(|_| "attacker stopped".to_string())?
    }
}

/// What the swarm's task reports to the [`Attacker`].
struct Observed {
    connected: Arc<AtomicBool>,
    blocks: gossipsub::TopicHash,
    seen_blocks: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    pages_asked: Arc<AtomicUsize>,
}

async fn run(
    mut swarm: Swarm<Behaviour>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    claims: Claims,
    observed: Observed,
) {
    let Observed { connected, blocks, seen_blocks, pages_asked } = observed;
    let mut target: Option<PeerId> = None;
    let mut waiting = std::collections::HashMap::new();
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => return,
                Some(Command::Publish(topic, bytes)) => {
                    if let Err(e) = swarm.behaviour_mut().gossipsub.publish(topic, bytes) {
                        tracing::debug!(target: "lattice::hostile", error = %e, "publish failed");
                    }
                }
                Some(Command::Request(request, reply)) => match target {
                    Some(peer) => {
                        let id = swarm.behaviour_mut().sync.send_request(&peer, request);
                        waiting.insert(id, reply);
                    }
                    None => { let _ = reply.send(Err("not connected".into())); }
                },
            },
            event = swarm.select_next_some() => match event {
                // The first peer dialled is the target, for as long as the attacker runs.
                SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. }
                    if endpoint.is_dialer() && target.is_none_or(|t| t == peer_id) =>
                {
                    target = Some(peer_id);
                    connected.store(true, Ordering::Relaxed);
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. }
                    if target == Some(peer_id) =>
                {
                    connected.store(false, Ordering::Relaxed);
                }
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message { message, .. }))
                    if message.topic == blocks =>
                {
                    seen_blocks.lock().unwrap().push(message.data);
                }
                SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message { message, .. })) => match message {
                    request_response::Message::Request { request, channel, .. } => {
                        // The lie: more work than anyone, and nothing to show for it.
                        let status = Response::Status(Status {
                            chain_id: claims.chain_id,
                            genesis: claims.genesis,
                            sink: B256::repeat_byte(0xaa),
                            sink_blue_work: claims.blue_work,
                            height: u64::MAX / 2,
                        });
                        if matches!(request, Request::After(_)) {
                            pages_asked.fetch_add(1, Ordering::Relaxed);
                        }
                        let response = match (request, claims.answers) {
                            (Request::Status, _) | (_, Answers::Status) => status,
                            (Request::Blocks(_) | Request::After(_), Answers::Empty) => {
                                Response::Blocks { blocks: vec![], more: false }
                            }
                        };
                        let _ = swarm.behaviour_mut().sync.send_response(channel, response);
                    }
                    request_response::Message::Response { request_id, response } => {
                        if let Some(reply) = waiting.remove(&request_id) {
                            let _ = reply.send(Ok(response));
                        }
                    }
                },
                SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::OutboundFailure { request_id, error, .. })) => {
                    if let Some(reply) = waiting.remove(&request_id) {
                        let _ = reply.send(Err(error.to_string()));
                    }
                }
                _ => {}
            },
        }
    }
}

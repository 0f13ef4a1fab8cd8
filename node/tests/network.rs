//! Several real nodes on loopback over libp2p: they converge on one DAG, order and state;
//! a late joiner catches up from genesis; a restarted node rejoins; conflicting transactions
//! resolve the same way everywhere.

mod common;

use alloy_primitives::{Address, Bytes, U256};
use common::{call, result};
use lattice_node::{launch, NodeConfig, NodeHandle};
use lattice_primitives::dev_signers;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

async fn start(dir: &Path, index: u32, bootstrap: Option<&str>, produce: bool) -> NodeHandle {
    start_with(dir, index, bootstrap, produce, Duration::from_millis(400)).await
}

async fn start_with(
    dir: &Path,
    index: u32,
    bootstrap: Option<&str>,
    produce: bool,
    block_time: Duration,
) -> NodeHandle {
    let args = dev_args(dir, index, bootstrap, produce, block_time);
    launch(NodeConfig::from_args(args).unwrap()).await.unwrap()
}

fn dev_args(
    dir: &Path,
    index: u32,
    bootstrap: Option<&str>,
    produce: bool,
    block_time: Duration,
) -> lattice_node::cli::NodeArgs {
    lattice_node::cli::NodeArgs {
        dev: true,
        dev_producers: Some(3),
        dev_producer_index: Some(index),
        no_produce: !produce,
        block_time: Some(block_time),
        data_dir: Some(dir.to_path_buf()),
        rpc_addr: Some("127.0.0.1:0".parse().unwrap()),
        p2p_addr: Some("/ip4/127.0.0.1/tcp/0".into()),
        bootstrap: bootstrap.is_none(),
        bootstrap_nodes: bootstrap.map(|b| vec![b.to_string()]),
        ..Default::default()
    }
}

/// `<peer-id>@127.0.0.1:<port>` of a running node.
async fn address_of(node: &NodeHandle) -> String {
    let network = node.node.network.get().expect("network on");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(addr) = network.listen_addrs().first() {
            // "/ip4/127.0.0.1/tcp/<port>"
            let port = addr.to_string().rsplit('/').next().unwrap().to_string();
            return format!("{}@127.0.0.1:{port}", network.peer_id());
        }
        assert!(Instant::now() < deadline, "node did not start listening");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn transfer(signer_index: usize, nonce: u64, to: Address, value: u128) -> Bytes {
    common::raw(&common::transfer(&dev_signers(10)[signer_index], nonce, to, value))
}

/// Waits until every node has the same chain block at a depth below all their sinks, and
/// returns that block's number.
async fn wait_agreement(nodes: &[&NodeHandle], min_height: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let heights: Vec<u64> = nodes.iter().map(|n| n.node.chain.head().number).collect();
        let low = *heights.iter().min().unwrap();
        if low >= min_height + 3 {
            let depth = low - 3;
            let hashes: Vec<_> =
                nodes.iter().map(|n| n.node.chain.hash_at(depth).unwrap()).collect();
            if hashes.iter().all(|h| *h == hashes[0]) {
                return depth;
            }
        }
        assert!(Instant::now() < deadline, "nodes did not agree: heights {heights:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_agree_and_late_and_restarted_nodes_catch_up() {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let n0 = start(dirs[0].path(), 0, None, true).await;
    let boot = address_of(&n0).await;
    let n1 = start(dirs[1].path(), 1, Some(&boot), true).await;
    let n2 = start(dirs[2].path(), 2, Some(&boot), true).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while [&n0, &n1, &n2].iter().any(|n| n.node.network.get().unwrap().peer_count() < 2) {
        assert!(Instant::now() < deadline, "peers did not find each other");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rpcs = [n0.rpc_addr.unwrap(), n1.rpc_addr.unwrap(), n2.rpc_addr.unwrap()];
    assert_eq!(result(rpcs[2], "net_peerCount", json!([])).await, "0x2");

    // Conflicting same-nonce transactions to different nodes at the same moment, and one
    // transaction sent to all three.
    let (bob, carol) = (Address::repeat_byte(0xb0), Address::repeat_byte(0xca));
    let x = transfer(5, 0, bob, 10);
    let y = transfer(5, 0, carol, 20);
    let everywhere = transfer(6, 0, bob, 1);
    let (rx, ry) = tokio::join!(
        call(rpcs[0], "eth_sendRawTransaction", json!([x])),
        call(rpcs[1], "eth_sendRawTransaction", json!([y]))
    );
    for rpc in rpcs {
        let _ = call(rpc, "eth_sendRawTransaction", json!([everywhere])).await;
    }
    // Whichever reached a node second may be refused there (same nonce, same fee): at least
    // one was accepted somewhere.
    let sent: Vec<serde_json::Value> =
        [rx["result"].clone(), ry["result"].clone()].into_iter().filter(|h| !h.is_null()).collect();
    assert!(!sent.is_empty(), "{rx} {ry}");
    let everywhere_hash = alloy_primitives::keccak256(&everywhere);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut done = n0.node.chain.tx_location(everywhere_hash).unwrap().is_some();
        let mut any = false;
        for h in &sent {
            any |= !result(rpcs[0], "eth_getTransactionReceipt", json!([h])).await.is_null();
        }
        done &= any;
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "transactions were not executed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let depth = wait_agreement(&[&n0, &n1, &n2], n0.node.chain.head().number).await;
    for n in [&n1, &n2] {
        assert_eq!(
            n.node
                .chain
                .header(n.node.chain.hash_at(depth).unwrap().unwrap())
                .unwrap()
                .unwrap()
                .state_root,
            n0.node
                .chain
                .header(n0.node.chain.hash_at(depth).unwrap().unwrap())
                .unwrap()
                .unwrap()
                .state_root
        );
        for a in [bob, carol] {
            assert_eq!(
                n.node.chain.latest_balance(a).is_zero(),
                n0.node.chain.latest_balance(a).is_zero()
            );
        }
    }
    let bob_balance = n0.node.chain.latest_balance(bob);
    let carol_balance = n0.node.chain.latest_balance(carol);
    assert_eq!(
        bob_balance == U256::from(11),
        carol_balance.is_zero(),
        "exactly one same-nonce transaction executed"
    );
    assert!(bob_balance == U256::from(11) || carol_balance == U256::from(20));

    // A late joiner that does not produce catches up from genesis.
    let started = Instant::now();
    let late = start(dirs[3].path(), 0, Some(&boot), false).await;
    let target = n0.node.chain.head().number;
    while late.node.chain.head().number < target {
        assert!(started.elapsed() < Duration::from_secs(60), "late joiner did not catch up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("late joiner: {} chain blocks in {:.2} s", target, started.elapsed().as_secs_f64());
    wait_agreement(&[&n0, &late], target).await;

    // A node stopped and restarted rejoins and follows again.
    n2.stop().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let n2 = start(dirs[2].path(), 2, Some(&boot), true).await;
    let now = n0.node.chain.head().number;
    wait_agreement(&[&n0, &n1, &n2, &late], now).await;
    for n in [n0, n1, n2, late] {
        n.stop().await.unwrap();
    }
}

/// Refusals of `kind` counted by a node's network.
fn refused(node: &NodeHandle, kind: &str) -> u64 {
    let refusals = node.node.network.get().unwrap().refusals();
    refusals.iter().find(|(k, _)| *k == kind).map_or(0, |(_, n)| *n)
}

/// A node far behind catches up while its peer keeps producing and gossiping blocks whose
/// parents it lacks. It paces what it asks below the rate its peer serves, so it is never
/// refused over the rate, let alone banned, however far behind it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_far_behind_catches_up_under_gossip_within_the_request_rate() {
    const BEHIND: u64 = 1_500;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let fast = Duration::from_millis(10);
    let n0 = start_with(dirs[0].path(), 0, None, true, fast).await;
    let started = Instant::now();
    while n0.node.chain.head().number < BEHIND {
        assert!(started.elapsed() < Duration::from_secs(120), "the producer is too slow");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The same producer again at a pace these machines keep up with while catching up.
    n0.stop().await.unwrap();
    let n0 = start_with(dirs[0].path(), 0, None, true, Duration::from_millis(100)).await;
    let boot = address_of(&n0).await;
    let started = Instant::now();
    let n1 = start_with(dirs[1].path(), 1, Some(&boot), true, Duration::from_millis(100)).await;
    let target = n0.node.chain.head().number;
    while n1.node.chain.head().number < target {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "caught up to {} of {target}; refusals {:?}",
            n1.node.chain.head().number,
            n0.node.network.get().unwrap().refusals()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "{target} chain blocks caught up in {:.2} s; the peer's refusals: {:?}",
        started.elapsed().as_secs_f64(),
        n0.node.network.get().unwrap().refusals()
    );
    wait_agreement(&[&n0, &n1], target).await;
    assert_eq!(refused(&n0, "rate_limited"), 0, "the catching-up node asked over the rate");
    assert_eq!(n0.node.network.get().unwrap().banned_peers(), 0);
    assert_eq!(n1.node.network.get().unwrap().peer_count(), 1, "still connected");
    n0.stop().await.unwrap();
    n1.stop().await.unwrap();
}

/// A producer of a many-producer network that loses every peer waits instead of sealing a
/// branch of its own (which, once deeper than the finality depth, it could never leave), and
/// seals again once a peer is back. The network's first node, with nobody to wait for, seals
/// alone from the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_producer_without_peers_waits_instead_of_sealing_alone() {
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    // The first node comes back on the same port, where node 1 redials it.
    let port = common::free_port();
    let first = || {
        let mut args = dev_args(dirs[0].path(), 0, None, true, Duration::from_millis(400));
        args.p2p_addr = Some(format!("/ip4/127.0.0.1/tcp/{port}"));
        launch(NodeConfig::from_args(args).unwrap())
    };
    let n0 = first().await.unwrap();
    let boot = address_of(&n0).await;
    let mut args = dev_args(dirs[1].path(), 1, Some(&boot), true, Duration::from_millis(400));
    args.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while n0.node.chain.head().number < 3 {
        assert!(Instant::now() < deadline, "the first node does not seal alone");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let n1 = launch(NodeConfig::from_args(args).unwrap()).await.unwrap();
    wait_agreement(&[&n0, &n1], n0.node.chain.head().number).await;
    // Node 1's blocks on its selected chain.
    let ours = |n: &NodeHandle| {
        let me = dev_signers(3)[1].address();
        (1..=n.node.chain.head().number)
            .filter_map(|number| n.node.chain.hash_at(number).unwrap())
            .filter(|hash| n.node.chain.header(*hash).unwrap().unwrap().producer == me)
            .count()
    };
    assert!(ours(&n1) > 0, "node 1 sealed while connected");

    // Node 1 alone: it stops sealing.
    n0.stop().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while n1.node.sealing_paused().is_none() {
        assert!(Instant::now() < deadline, "node 1 did not notice it is alone");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let alone_at = n1.node.chain.head().number;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(n1.node.chain.head().number, alone_at, "node 1 sealed alone");
    let metrics = common::http_get(n1.metrics_addr.unwrap(), "/metrics").await.1;
    assert!(metrics.contains("lattice_producer_paused 1"), "the pause is exported");

    // Its peer is back: it follows and seals again.
    let sealed_before = ours(&n1);
    let n0 = first().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while n1.node.sealing_paused().is_some() || ours(&n1) < sealed_before + 3 {
        assert!(Instant::now() < deadline, "node 1 did not seal again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    n0.stop().await.unwrap();
    n1.stop().await.unwrap();
}

/// A peer that speaks the protocol but lies: it claims to be on the chain and gossips forged
/// blocks.
struct Rogue {
    genesis: alloy_primitives::B256,
}

impl lattice_network::ChainAccess for Rogue {
    fn import_block(&self, _: lattice_primitives::Block) -> lattice_network::Verdict {
        lattice_network::Verdict::Known
    }
    fn add_transaction(&self, _: alloy_consensus::TxEnvelope) -> lattice_network::Verdict {
        lattice_network::Verdict::Known
    }
    fn block(&self, _: alloy_primitives::B256) -> Option<lattice_primitives::Block> {
        None
    }
    fn hashes_after(&self, _: lattice_network::Cursor, _: usize) -> Vec<alloy_primitives::B256> {
        vec![]
    }
    fn status(&self) -> lattice_network::Status {
        lattice_network::Status {
            chain_id: 1337,
            genesis: self.genesis,
            sink: self.genesis,
            sink_blue_work: U256::ZERO,
            height: 0,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_blocks_are_refused_and_their_sender_banned() {
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let n0 = start(dirs[0].path(), 0, None, true).await;
    let boot = address_of(&n0).await;
    let n1 = start(dirs[1].path(), 1, Some(&boot), true).await;
    let rogue_key = lattice_network::Keypair::generate_ed25519();
    let rogue_id = rogue_key.public().to_peer_id();
    let rogue = lattice_network::start(
        lattice_network::NetworkConfig {
            keypair: rogue_key,
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            bootstrap_nodes: vec![lattice_network::parse_bootstrap_node(&boot).unwrap()],
            max_peers: 10,
            chain_id: 1337,
        },
        std::sync::Arc::new(Rogue { genesis: n0.node.chain.genesis() }),
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !n0.node.network.get().unwrap().peers().iter().any(|p| p.peer_id == rogue_id) {
        assert!(Instant::now() < deadline, "rogue did not connect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // let the gossip mesh form

    // Forgeries built on a real block of producer 1 (its test key is public).
    let signer = &dev_signers(2)[1];
    let base = n0.node.chain.block(n0.node.chain.head().hash).unwrap().unwrap().unseal();
    let mut bad_signature = base.clone();
    bad_signature.header.extra_data = Bytes::from_static(b"tampered after signing");
    let mut bad_ghostdag = base.clone();
    bad_ghostdag.header.blue_score += 5;
    bad_ghostdag.header.sign(signer).unwrap();
    let mut bad_root = base.clone();
    bad_root.header.parents = vec![n0.node.chain.head().hash];
    bad_root.header.producer = signer.address();
    bad_root.header.blue_score = n0.node.chain.head().header.blue_score + 1;
    bad_root.header.blue_work = n0.node.chain.head().header.blue_work + U256::from(1);
    bad_root.header.timestamp_ms = n0.node.chain.head().header.timestamp_ms + 1_000;
    bad_root.header.base_fee = n0.node.chain.next_base_fee();
    bad_root.header.state_root = alloy_primitives::B256::repeat_byte(0xee);
    bad_root.header.sign(signer).unwrap();
    let forged: Vec<_> =
        [bad_signature, bad_ghostdag, bad_root].into_iter().map(|b| b.seal()).collect();
    for block in &forged {
        rogue.publish_block(&block.clone().unseal());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The rogue is banned (disconnected) and none of its blocks is on anyone's chain.
    let deadline = Instant::now() + Duration::from_secs(20);
    while n0.node.network.get().unwrap().peers().iter().any(|p| p.peer_id == rogue_id) {
        assert!(Instant::now() < deadline, "rogue was not banned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for node in [&n0, &n1] {
        for block in &forged {
            assert!(
                node.node.chain.number_of(block.hash()).unwrap().is_none(),
                "a forged block is on the chain"
            );
        }
    }
    // The honest nodes stay healthy and agree.
    let now = n0.node.chain.head().number;
    wait_agreement(&[&n0, &n1], now).await;
    rogue.shutdown();
    n0.stop().await.unwrap();
    n1.stop().await.unwrap();
}

#[tokio::test]
async fn a_taken_listen_port_is_refused_with_the_reason() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let refused = lattice_network::start(
        lattice_network::NetworkConfig {
            keypair: lattice_network::Keypair::generate_ed25519(),
            listen: format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap(),
            bootstrap_nodes: Vec::new(),
            max_peers: 10,
            chain_id: 1337,
        },
        std::sync::Arc::new(Rogue { genesis: alloy_primitives::B256::ZERO }),
    )
    .await;
    let Err(error) = refused else { panic!("listened on a taken port") };
    let message = error.to_string();
    assert!(message.contains("in use"), "the reason is said: {message}");
}

//! Partitions between real nodes. Four producing `lattice` processes, each in a network
//! namespace of its own, joined by a bridge (all made here with `ip`; root is needed, as in CI):
//!
//! 1. split 2|2 with producers on both sides, a transaction emitting a log on each side and one
//!    sender's nonce spent differently on the two sides; heal. All four converge on one
//!    selected chain and one state root, the losing side's transaction is accepted again by the
//!    merged chain, the double-spent nonce executes once and its other transaction is reported
//!    as skipped, and log subscribers on the losing side get the undone log with
//!    `removed: true` and then the log again where it now is;
//! 2. one node cut off while the others go on for `LATTICE_CUTOFF_BLOCKS` chain blocks
//!    (default 200; `scripts/partitions.sh` runs 10,000) catches up once the link is back;
//! 3. every node stops cleanly and `lattice verify` passes on each data directory.
//!
//! A partition is made by blackhole routes in the namespaces, so packets between the two sides
//! are dropped as on a broken link; the test process reaches every node's RPC over the bridge.
//! Every node is stopped by its PID; namespaces and the bridge are removed at the end.

mod common;

use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use common::{call, eip1559, raw, result, transfer};
use lattice_primitives::dev_signers;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

const NODES: usize = 4;
const P2P_PORT: u16 = 30303;
const RPC_PORT: u16 = 8545;

/// Every producer's block time: `LATTICE_PARTITION_BLOCK_TIME`, by default 200 ms.
fn block_time() -> String {
    std::env::var("LATTICE_PARTITION_BLOCK_TIME").unwrap_or_else(|_| "200ms".into())
}

/// Runs `ip` with `args`; it must succeed.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("iproute2's ip runs");
    assert!(
        out.status.success(),
        "ip {} failed (network namespaces need root, as in CI): {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// Runs `ip` with `args`, whatever comes of it (clean-up, optional settings).
fn ip_quiet(args: &[&str]) {
    let _ = Command::new("ip").args(args).stderr(Stdio::null()).status();
}

/// The namespaces, their veth links and the bridge joining them; removed when dropped.
struct Net {
    tag: String,
    subnet: u32,
    bridge: String,
    namespaces: Vec<String>,
}

impl Net {
    fn new(nodes: usize) -> Self {
        // Names and addresses from the PID, so that two runs side by side do not collide.
        // 198.18.0.0/15 is reserved for testing network devices (RFC 2544).
        let pid = std::process::id();
        let tag = format!("lt{}", pid % 100_000);
        let net = Self {
            bridge: format!("{tag}br"),
            subnet: pid % 250 + 1,
            namespaces: (0..nodes).map(|i| format!("{tag}n{i}")).collect(),
            tag,
        };
        net.remove(); // what a killed run with the same PID may have left
        ip(&["link", "add", &net.bridge, "type", "bridge"]);
        // Bridged frames must not go through the host's iptables (br_netfilter).
        ip_quiet(&["link", "set", &net.bridge, "type", "bridge", "nf_call_iptables", "0"]);
        ip(&["addr", "add", &format!("{}/24", net.host()), "dev", &net.bridge]);
        ip(&["link", "set", &net.bridge, "up"]);
        for i in 0..nodes {
            let ns = net.namespaces[i].clone();
            let veth = format!("{}v{i}", net.tag);
            ip(&["netns", "add", &ns]);
            ip(&["link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns]);
            ip(&["link", "set", &veth, "master", &net.bridge, "up"]);
            ip(&["-n", &ns, "addr", "add", &format!("{}/24", net.addr(i)), "dev", "eth0"]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        net
    }

    fn addr(&self, i: usize) -> String {
        format!("198.18.{}.{}", self.subnet, i + 1)
    }

    /// The test process's address on the bridge.
    fn host(&self) -> String {
        format!("198.18.{}.254", self.subnet)
    }

    /// Drops every packet between the nodes of `a` and those of `b`, both ways.
    fn cut(&self, a: &[usize], b: &[usize]) {
        self.routes("add", a, b);
    }

    /// Undoes [`Net::cut`].
    fn heal(&self, a: &[usize], b: &[usize]) {
        self.routes("del", a, b);
    }

    fn routes(&self, op: &str, a: &[usize], b: &[usize]) {
        for (&from, &to) in a.iter().flat_map(|x| b.iter().map(move |y| (x, y))) {
            for (node, peer) in [(from, to), (to, from)] {
                let dest = format!("{}/32", self.addr(peer));
                ip(&["-n", &self.namespaces[node], "route", op, "blackhole", &dest]);
            }
        }
    }

    fn remove(&self) {
        for ns in &self.namespaces {
            ip_quiet(&["netns", "del", ns]);
        }
        ip_quiet(&["link", "del", &self.bridge]);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A `lattice` process in node `index`'s namespace, killed by its PID when dropped.
struct Node {
    child: Child,
    rpc: SocketAddr,
    dir: PathBuf,
    log: PathBuf,
    index: usize,
}

impl Node {
    async fn start(net: &Net, index: usize, dir: &Path) -> Self {
        let peers: Vec<String> = (0..NODES)
            .filter(|&j| j != index)
            .map(|j| format!("{}:{P2P_PORT}", net.addr(j)))
            .collect();
        let log = dir.join("node.log");
        // `ip netns exec` execs the program: the child's PID is the node's.
        let child = Command::new("ip")
            .args(["netns", "exec", &net.namespaces[index]])
            .arg(common::lattice_bin())
            .args(["--dev", "--dev.producers", &NODES.to_string(), "--dev.producer-index"])
            .arg(index.to_string())
            .args(["--block-time", &block_time(), "--data-dir"])
            .arg(dir.join("data"))
            .args(["--rpc-addr", &format!("{}:{RPC_PORT}", net.addr(index))])
            .args(["--rpc-vhosts", &net.addr(index)])
            .args(["--p2p-addr", &format!("{}:{P2P_PORT}", net.addr(index))])
            .args(["--bootstrap-nodes", &peers.join(",")])
            .env("RUST_LOG", "info")
            // The node logs to stdout and reports fatal errors on stderr: both go to its log.
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::options().append(true).open(&log).unwrap())
            .spawn()
            .expect("lattice starts");
        let rpc = format!("{}:{RPC_PORT}", net.addr(index)).parse().unwrap();
        let node = Self { child, rpc, dir: dir.to_path_buf(), log, index };
        let deadline = Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(rpc).await.is_err() {
            assert!(Instant::now() < deadline, "node {index}: no RPC port: {}", node.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn height(&self) -> u64 {
        common::qty(&result(self.rpc, "eth_blockNumber", json!([])).await) as u64
    }

    async fn block(&self, number: u64) -> Value {
        result(self.rpc, "eth_getBlockByNumber", json!([format!("{number:#x}"), false])).await
    }

    async fn receipt(&self, tx: B256) -> Value {
        result(self.rpc, "eth_getTransactionReceipt", json!([tx])).await
    }

    async fn peers(&self) -> u64 {
        common::qty(&result(self.rpc, "net_peerCount", json!([])).await) as u64
    }

    async fn send(&self, tx: &Bytes) -> B256 {
        let answer = call(self.rpc, "eth_sendRawTransaction", json!([tx])).await;
        serde_json::from_value(answer["result"].clone())
            .unwrap_or_else(|_| panic!("eth_sendRawTransaction: {answer}"))
    }

    /// SIGTERM by PID; the node must stop cleanly.
    async fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "a clean stop: {}", self.log_text());
                return;
            }
            assert!(Instant::now() < deadline, "no stop on SIGTERM: {}", self.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The logs outlive the temporary directory when the test fails or when asked
        // (`LATTICE_KEEP_LOGS=1`), in /tmp/lattice-partitions-<test pid>/.
        if std::thread::panicking() || std::env::var_os("LATTICE_KEEP_LOGS").is_some() {
            let keep =
                std::env::temp_dir().join(format!("lattice-partitions-{}", std::process::id()));
            let _ = std::fs::create_dir_all(&keep);
            let name = format!("node{}.log", self.index);
            if std::fs::copy(&self.log, keep.join(&name)).is_ok() {
                eprintln!("kept {}", keep.join(name).display());
            }
        }
    }
}

/// Polls `check` every 100 ms until it gives a value; panics with `what` after `within`.
async fn wait_for<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A hash field of a JSON-RPC object.
fn hash(v: &Value, field: &str) -> B256 {
    serde_json::from_value(v[field].clone()).unwrap_or_else(|_| panic!("no {field} in {v}"))
}

/// Whether every node of `nodes` has the same chain block, with the same state root, at a
/// height at least `above` and a few blocks below the lowest sink; that block if so.
async fn agreed(nodes: &[&Node], above: u64) -> Option<(u64, B256, B256)> {
    let mut low = u64::MAX;
    for n in nodes {
        low = low.min(n.height().await);
    }
    if low < above + 2 {
        return None;
    }
    let at = low - 2;
    let first = nodes[0].block(at).await;
    for n in &nodes[1..] {
        let other = n.block(at).await;
        if other["hash"] != first["hash"] || other["stateRoot"] != first["stateRoot"] {
            return None;
        }
    }
    Some((at, hash(&first, "hash"), hash(&first, "stateRoot")))
}

/// The notifications a subscription has delivered so far, waiting up to `within` for one
/// that `wanted` accepts.
async fn logs_until(
    notes: &mut UnboundedReceiver<Value>,
    seen: &mut Vec<Value>,
    within: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if seen.iter().any(&wanted) {
            return true;
        }
        match tokio::time::timeout_at(deadline, notes.recv()).await {
            Ok(Some(note)) => seen.push(note),
            _ => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_networks_merge_and_a_node_cut_off_catches_up() {
    let cutoff_blocks: u64 = std::env::var("LATTICE_CUTOFF_BLOCKS")
        .map(|v| v.parse().expect("LATTICE_CUTOFF_BLOCKS: a number"))
        .unwrap_or(200);
    let signers = dev_signers(10);
    let net = Net::new(NODES);
    let dirs: Vec<_> = (0..NODES).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut nodes = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        nodes.push(Node::start(&net, i, dir.path()).await);
    }
    let all: Vec<&Node> = nodes.iter().collect();
    let started = Instant::now();
    wait_for("every node connected to the 3 others", Duration::from_secs(30), || async {
        for n in &all {
            if n.peers().await < 3 {
                return None;
            }
        }
        Some(())
    })
    .await;
    println!(
        "4 nodes in namespaces, fully connected after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // A contract that emits a log per call, deployed before the split.
    let deploy = eip1559(
        &signers[9],
        0,
        TxKind::Create,
        U256::ZERO,
        200_000,
        common::deploy_code(&common::emitter_runtime()),
    );
    let deployed = nodes[0].send(&raw(&deploy)).await;
    let emitter: Address =
        wait_for("the emitter deployed everywhere", Duration::from_secs(30), || async {
            let mut address = None;
            for n in &all {
                let r = n.receipt(deployed).await;
                address = Some(serde_json::from_value(r.get("contractAddress")?.clone()).ok()?);
            }
            address
        })
        .await;
    let mut subscriptions = Vec::new();
    for n in &all {
        let url = format!("ws://{}", n.rpc);
        let notes = lattice_loadgen::subscribe(&url, json!(["logs", {"address": emitter}]))
            .await
            .expect("a logs subscription");
        subscriptions.push((notes, Vec::new()));
    }

    // Split 2|2. Each side: a log-emitting call, and sender 3's nonce 0 spent differently.
    let (side_a, side_b) = ([0usize, 1], [2usize, 3]);
    net.cut(&side_a, &side_b);
    let split_height = nodes[0].height().await.max(nodes[2].height().await);
    let emit = |signer: usize, tag: u8| {
        let mut input = B256::repeat_byte(tag).to_vec();
        input.extend_from_slice(B256::ZERO.as_slice());
        raw(&eip1559(&signers[signer], 0, TxKind::Call(emitter), U256::ZERO, 60_000, input.into()))
    };
    let emitted = [nodes[0].send(&emit(1, 0xaa)).await, nodes[2].send(&emit(2, 0xbb)).await];
    let spent = [
        nodes[1].send(&raw(&transfer(&signers[3], 0, Address::repeat_byte(0xa1), 1))).await,
        nodes[3].send(&raw(&transfer(&signers[3], 0, Address::repeat_byte(0xb1), 2))).await,
    ];
    let sides = [&side_a, &side_b];
    // Each side accepts its own transactions and goes on a few blocks; the sides now differ.
    let mut before = Vec::new(); // per side: (emitted tx's block, spent tx's carrier)
    for (s, side) in sides.iter().enumerate() {
        let n = &nodes[side[0]];
        let (emit_block, carrier) =
            wait_for("each side accepted its transactions", Duration::from_secs(30), || async {
                let e = n.receipt(emitted[s]).await;
                let t = n.receipt(spent[s]).await;
                (!e.is_null() && !t.is_null())
                    .then(|| (hash(&e, "blockHash"), hash(&t, "carrierBlockHash")))
            })
            .await;
        before.push((emit_block, carrier));
    }
    let apart = nodes[0].height().await.max(nodes[2].height().await) + 5;
    wait_for("both sides built on", Duration::from_secs(30), || async {
        (nodes[0].height().await >= apart && nodes[2].height().await >= apart).then_some(())
    })
    .await;
    assert!(nodes[0].receipt(emitted[1]).await.is_null(), "side A saw side B's transaction");
    assert!(nodes[2].receipt(emitted[0]).await.is_null(), "side B saw side A's transaction");
    // Where each side holds its transactions now, agreed by both of its nodes: the first sight
    // above may have moved since, when the side's own two producers reorganised its chain.
    for (s, side) in sides.iter().enumerate() {
        before[s] = wait_for("each side agreed within itself", Duration::from_secs(30), || async {
            let mut seen = None;
            for &i in side.iter() {
                let e = nodes[i].receipt(emitted[s]).await;
                let t = nodes[i].receipt(spent[s]).await;
                if e.is_null() || t.is_null() {
                    return None;
                }
                let here = (hash(&e, "blockHash"), hash(&t, "carrierBlockHash"));
                if seen.is_some_and(|s| s != here) {
                    return None;
                }
                seen = Some(here);
            }
            seen
        })
        .await;
    }
    let ahead = [nodes[0].height().await, nodes[2].height().await];
    println!("split at chain block {split_height}: side A at {}, side B at {}", ahead[0], ahead[1]);

    // Heal: one chain, one state root; both log calls executed on it; the double spend once.
    net.heal(&side_a, &side_b);
    let healed = Instant::now();
    let (emit_blocks, winner) =
        wait_for("one chain after the heal", Duration::from_secs(30), || async {
            let mut emit_blocks = Vec::new();
            let mut winner = None;
            for n in &all {
                let mut blocks = Vec::new();
                for tx in emitted {
                    let r = n.receipt(tx).await;
                    if r.is_null() {
                        return None;
                    }
                    blocks.push(hash(&r, "blockHash"));
                }
                let mut found = Vec::new();
                for (i, tx) in spent.iter().enumerate() {
                    if !n.receipt(*tx).await.is_null() {
                        found.push(i);
                    }
                }
                if found.len() != 1 || winner.is_some_and(|w| w != found[0]) {
                    return None;
                }
                winner = Some(found[0]);
                if !emit_blocks.is_empty() && emit_blocks != blocks {
                    return None;
                }
                emit_blocks = blocks;
            }
            Some((emit_blocks, winner?))
        })
        .await;
    let mut top = 0;
    for tx in emitted {
        top = top.max(common::qty(&nodes[0].receipt(tx).await["blockNumber"]) as u64);
    }
    let (at, block, state_root) = wait_for(
        "the same chain block and state root on all four",
        Duration::from_secs(30),
        || agreed(&all, top),
    )
    .await;
    let converged = healed.elapsed();
    println!(
        "healed: all four agree on chain block {at} ({block}, state root {state_root}) {:.2} s after the heal",
        converged.as_secs_f64()
    );

    // The losing side's chain blocks are merged, no longer chain blocks: its call was accepted
    // again by the merged chain, and its subscribers saw the log undone and redone.
    let moved: Vec<usize> = (0..2).filter(|&s| emit_blocks[s] != before[s].0).collect();
    assert!(!moved.is_empty(), "no side's transaction moved: the partition made no fork");
    for &s in &moved {
        for &i in sides[s] {
            let (notes, seen) = &mut subscriptions[i];
            let (tx, old, new) = (emitted[s], before[s].0, emit_blocks[s]);
            let is = |note: &Value, removed: bool, block: B256| {
                note["transactionHash"] == json!(tx)
                    && note["removed"] == json!(removed)
                    && note["blockHash"] == json!(block)
            };
            assert!(
                logs_until(notes, seen, Duration::from_secs(10), |n| is(n, true, old)).await,
                "node {i} did not deliver the undone log with removed: true: {seen:?}"
            );
            assert!(
                logs_until(notes, seen, Duration::from_secs(10), |n| is(n, false, new)).await,
                "node {i} did not deliver the log again in block {new}: {seen:?}"
            );
        }
    }
    // The nonce spent on both sides executed once; the other transaction is reported skipped
    // by the chain block that accepted its carrier.
    let loser = 1 - winner;
    let carrier = before[loser].1;
    let skip = wait_for("the losing double spend reported", Duration::from_secs(10), || async {
        let mut number = split_height;
        while number <= at {
            let b = nodes[0].block(number).await;
            let view = result(nodes[0].rpc, "dag_getBlock", json!([b["hash"]])).await;
            for entry in view["acceptance"].as_array().into_iter().flatten() {
                if entry["txHash"] == json!(spent[loser]) && entry["carrier"] == json!(carrier) {
                    return Some(entry.clone());
                }
            }
            number += 1;
        }
        None
    })
    .await;
    assert_eq!(skip["status"], "skipped", "{skip}");
    println!(
        "side {} lost; its call moved, its subscribers saw removed: true; the double spend: {} skipped ({})",
        if moved == [0] { "A" } else if moved == [1] { "B" } else { "A and B" },
        spent[loser],
        skip["reason"]
    );

    // Node 3 cut off from the rest while they go on; then it catches up.
    let (rest, alone) = ([0usize, 1, 2], [3usize]);
    net.cut(&rest, &alone);
    let from = nodes[0].height().await;
    let target = from + cutoff_blocks;
    let cut_at = Instant::now();
    wait_for(
        "the others built on while node 3 was cut off",
        Duration::from_secs(60 + cutoff_blocks / 2),
        || async { (nodes[0].height().await >= target).then_some(()) },
    )
    .await;
    println!(
        "node 3 cut off for {} chain blocks ({:.0} s); it built {} of its own",
        cutoff_blocks,
        cut_at.elapsed().as_secs_f64(),
        nodes[3].height().await.saturating_sub(from)
    );
    net.heal(&rest, &alone);
    let healed = Instant::now();
    let (at, _, _) =
        wait_for("node 3 caught up", Duration::from_secs(60 + cutoff_blocks / 10), || {
            agreed(&all, target)
        })
        .await;
    println!(
        "node 3 caught up: all four agree on chain block {at} {:.2} s after the link came back",
        healed.elapsed().as_secs_f64()
    );

    // Clean stops, and every data directory verifies.
    drop(all);
    for node in nodes {
        let dir = node.dir.join("data");
        node.stop().await;
        println!("{}", common::verify_chain(&dir, &["--dev", "--dev.producers", "4"]));
    }
}

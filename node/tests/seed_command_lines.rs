//! The command lines of the earlier Lattice/Citrate node's 3-node script run unchanged, but for
//! the ports (free ones substituted): `ip:port` P2P and bootstrap addresses without peer ids,
//! `--mine` and `--coinbase` on the built-in devnet. The three nodes form one network: they
//! agree on a chain block's hash and state root, all three seal blocks, and a transaction sent
//! through node 3 executes on node 1.

mod common;

use alloy_primitives::Address;
use common::{free_port, result};
use lattice_primitives::dev_signers;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A `lattice` process, stopped by its PID when dropped.
struct Node {
    child: Child,
    rpc: SocketAddr,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `line` (split on spaces, as a shell would split it: no value holds a space) in `dir`.
fn start(dir: &Path, name: &str, line: &str) -> Node {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let args: Vec<&str> = line.split_whitespace().collect();
    let rpc = args[args.iter().position(|a| *a == "--rpc-addr").unwrap() + 1].parse().unwrap();
    let child = Command::new(common::lattice_bin())
        .args(&args)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("lattice starts");
    Node { child, rpc }
}

async fn wait_for<T>(what: &str, secs: u64, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `result` that answers `None` while the node is not up yet.
async fn try_result(rpc: SocketAddr, method: &str, params: Value) -> Option<Value> {
    if tokio::net::TcpStream::connect(rpc).await.is_err() {
        return None;
    }
    Some(result(rpc, method, params).await)
}

fn number(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_three_seed_command_lines_form_one_network() {
    let dir = tempfile::tempdir().unwrap();
    let (p1, p2, p3) = (free_port(), free_port(), free_port());
    let (r1, r2, r3) = (free_port(), free_port(), free_port());
    // Verbatim from the old script but for the ports (and the shell's quotes around the
    // bootstrap address).
    let lines = [
        format!("--data-dir .lattice-test-node1 --p2p-addr 127.0.0.1:{p1} --rpc-addr 127.0.0.1:{r1} --bootstrap --mine --coinbase 0x1111111111111111111111111111111111111111"),
        format!("--data-dir .lattice-test-node2 --p2p-addr 127.0.0.1:{p2} --rpc-addr 127.0.0.1:{r2} --bootstrap-nodes 127.0.0.1:{p1} --mine --coinbase 0x2222222222222222222222222222222222222222"),
        format!("--data-dir .lattice-test-node3 --p2p-addr 127.0.0.1:{p3} --rpc-addr 127.0.0.1:{r3} --bootstrap-nodes 127.0.0.1:{p1} --mine --coinbase 0x3333333333333333333333333333333333333333"),
    ];
    let nodes: Vec<Node> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| start(dir.path(), &format!("node{}", i + 1), l))
        .collect();
    let rpcs: Vec<SocketAddr> = nodes.iter().map(|n| n.rpc).collect();

    // Everyone is up and node 1 sees the other two.
    for rpc in &rpcs {
        wait_for("the RPC", 60, async || try_result(*rpc, "eth_chainId", json!([])).await).await;
    }
    wait_for("node 1 to have two peers", 60, async || {
        (number(&result(rpcs[0], "net_peerCount", json!([])).await) >= 2).then_some(())
    })
    .await;

    // All three agree on a chain block several blocks deep: hash and state root.
    let agreed = wait_for("the three nodes to agree on a chain block", 90, async || {
        let mut heights = Vec::new();
        for rpc in &rpcs {
            heights.push(number(&result(*rpc, "eth_blockNumber", json!([])).await));
        }
        let n = heights.iter().min().copied()?.checked_sub(2).filter(|n| *n >= 5)?;
        let mut seen = Vec::new();
        for rpc in &rpcs {
            let b = result(*rpc, "eth_getBlockByNumber", json!([format!("{n:#x}"), false])).await;
            seen.push((b["hash"].clone(), b["stateRoot"].clone()));
        }
        seen.windows(2).all(|w| w[0] == w[1]).then(|| (n, seen[0].clone()))
    })
    .await;
    println!("agreed on chain block {}: {:?}", agreed.0, agreed.1);

    // A transfer sent through node 3 executes on node 1.
    let sender = &dev_signers(2)[1];
    let to = Address::repeat_byte(0x77);
    let nonce = number(
        &result(rpcs[2], "eth_getTransactionCount", json!([sender.address(), "pending"])).await,
    );
    let raw = common::raw(&common::transfer(sender, nonce, to, 12_345));
    let hash = result(rpcs[2], "eth_sendRawTransaction", json!([raw])).await;
    let receipt = wait_for("node 1 to execute the transaction", 60, async || {
        let r = result(rpcs[0], "eth_getTransactionReceipt", json!([hash])).await;
        (!r.is_null()).then_some(r)
    })
    .await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(number(&result(rpcs[0], "eth_getBalance", json!([to, "latest"])).await), 12_345);

    // Every node seals: all three coinbases appear among node 1's chain blocks.
    let coinbases: Vec<String> = ["0x1111", "0x2222", "0x3333"]
        .iter()
        .map(|p| format!("{p}{}", &p[2..].repeat(9)))
        .collect();
    wait_for("blocks of all three producers on node 1's chain", 60, async || {
        let latest = number(&result(rpcs[0], "eth_blockNumber", json!([])).await);
        let mut miners = std::collections::BTreeSet::new();
        for n in 1..=latest {
            let b =
                result(rpcs[0], "eth_getBlockByNumber", json!([format!("{n:#x}"), false])).await;
            miners.insert(b["miner"].as_str().unwrap().to_lowercase());
        }
        coinbases.iter().all(|c| miners.contains(c)).then_some(())
    })
    .await;
    drop(nodes);
}

//! The crash loop: a loaded `lattice --dev` is killed with SIGKILL at random moments and
//! restarted on its data directory, again and again. After every restart each transaction
//! whose receipt had been seen is still there, in the same block; at the end `lattice verify`
//! passes. `LATTICE_CRASH_ROUNDS` sets the number of kills (default 5; `scripts/crash_loop.sh`
//! runs 50).

mod common;

use alloy_primitives::{Address, B256};
use common::{free_port, post, raw, result, transfer};
use lattice_primitives::dev_signers;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Transactions sent per JSON-RPC batch.
const BATCH: u64 = 25;

/// A running node, killed with SIGKILL (by its PID) when dropped.
struct Crashable {
    child: Child,
    addr: SocketAddr,
}

impl Crashable {
    async fn start(dir: &Path, round: usize) -> Self {
        let port = free_port();
        let log = std::fs::File::create(dir.join(format!("node-{round}.log"))).unwrap();
        let child = Command::new(common::lattice_bin())
            .args(["--dev", "--block-time", "100ms", "--rpc-addr"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir.join("data"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("lattice starts");
        let node = Self { child, addr: format!("127.0.0.1:{port}").parse().unwrap() };
        let deadline = Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(node.addr).await.is_err() {
            assert!(Instant::now() < deadline, "lattice did not open its RPC port (round {round})");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        node
    }
}

impl Drop for Crashable {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the load task panics when the node refuses a transaction.
const TX_REFUSED: &str = "the node refused a transaction";

/// Receipts seen: transaction → (block number, block hash).
type Seen = Arc<Mutex<HashMap<B256, (u64, B256)>>>;

/// Sends transfers from `from` in batches and records every receipt it sees, until aborted.
async fn load(addr: SocketAddr, from: alloy_signer_local::PrivateKeySigner, seen: Seen) {
    let to = Address::repeat_byte(0x42);
    let start = result(addr, "eth_getTransactionCount", json!([from.address(), "latest"])).await;
    let mut nonce = common::qty(&start) as u64;
    let mut waiting: Vec<B256> = Vec::new();
    loop {
        let txs: Vec<_> = (nonce..nonce + BATCH).map(|n| transfer(&from, n, to, 1)).collect();
        let calls: Vec<Value> = txs
            .iter()
            .enumerate()
            .map(|(i, tx)| {
                json!({"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [raw(tx)]})
            })
            .collect();
        let answers = post(addr, &Value::Array(calls).to_string()).await;
        let mut behind = false;
        for (tx, answer) in txs.iter().zip(answers.as_array().expect("a batch answer")) {
            match answer["error"]["message"].as_str() {
                None => waiting.push(*tx.tx_hash()),
                // After a restart, transactions carried by the last blocks are executed by the
                // next one: the nonce read at the start may be behind. Read it again.
                Some(m) if m.contains("nonce too low") => behind = true,
                Some(_) => panic!("{TX_REFUSED}: {answer}"),
            }
        }
        nonce += BATCH;
        if behind {
            let next =
                result(addr, "eth_getTransactionCount", json!([from.address(), "latest"])).await;
            nonce = nonce.max(common::qty(&next) as u64);
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
        if waiting.is_empty() {
            // Every send was behind (an empty batch is an invalid request, not an empty answer).
            continue;
        }
        let calls: Vec<Value> = waiting
            .iter()
            .enumerate()
            .map(|(i, h)| {
                json!({"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionReceipt", "params": [h]})
            })
            .collect();
        let answers = post(addr, &Value::Array(calls).to_string()).await;
        let mut still = Vec::new();
        for (hash, answer) in waiting.iter().zip(answers.as_array().expect("a batch answer")) {
            let r = &answer["result"];
            if r.is_null() {
                still.push(*hash);
                continue;
            }
            let block: B256 = r["blockHash"].as_str().unwrap().parse().unwrap();
            let number = common::qty(&r["blockNumber"]) as u64;
            seen.lock().unwrap().insert(*hash, (number, block));
        }
        waiting = still;
    }
}

/// Every receipt in `seen` is still served, in the same block.
async fn check_seen(addr: SocketAddr, seen: &Seen, round: usize) {
    let seen: Vec<_> = seen.lock().unwrap().iter().map(|(h, b)| (*h, *b)).collect();
    for chunk in seen.chunks(200) {
        let calls: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, (h, _))| {
                json!({"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionReceipt", "params": [h]})
            })
            .collect();
        let answers = post(addr, &Value::Array(calls).to_string()).await;
        for ((hash, (number, block)), answer) in chunk.iter().zip(answers.as_array().unwrap()) {
            let r = &answer["result"];
            assert!(!r.is_null(), "round {round}: receipt of {hash} (block {number}) was lost");
            assert_eq!(
                r["blockHash"].as_str().unwrap().parse::<B256>().unwrap(),
                *block,
                "round {round}: {hash} moved to another block"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_transactions_survive_kill_9_at_random_moments() {
    let rounds: usize =
        std::env::var("LATTICE_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let seed: u64 = rand::random();
    eprintln!("crash loop: {rounds} rounds, seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let sender = dev_signers(10)[7].clone();
    let seen: Seen = Arc::default();
    for round in 0..rounds {
        let node = Crashable::start(dir.path(), round).await;
        check_seen(node.addr, &seen, round).await;
        let before = seen.lock().unwrap().len();
        let loader = tokio::spawn(load(node.addr, sender.clone(), seen.clone()));
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..2_000))).await;
        drop(node); // SIGKILL, wherever the node is
        loader.abort();
        if let Err(e) = loader.await {
            // Cancelled is how it should end. A request the kill cut short panics in the
            // client (a reset, or "Connection refused" once the node is gone), which is
            // expected; a transaction the node refused is a failure.
            if e.is_panic() {
                let msg = e.into_panic();
                let text = msg.downcast_ref::<String>().cloned().unwrap_or_default();
                assert!(!text.contains(TX_REFUSED), "round {round}: {text}");
            }
        }
        let now = seen.lock().unwrap().len();
        eprintln!("round {round}: {now} receipts seen so far (+{})", now - before);
    }
    // A last start: everything acknowledged is there; then a clean stop and a full replay.
    let mut node = Crashable::start(dir.path(), rounds).await;
    check_seen(node.addr, &seen, rounds).await;
    assert!(!seen.lock().unwrap().is_empty(), "the load saw no receipt in {rounds} rounds");
    let _ = Command::new("kill").args(["-TERM", &node.child.id().to_string()]).status();
    let _ = node.child.wait();
    eprintln!("{}", common::verify(&dir.path().join("data")));
}

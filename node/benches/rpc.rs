//! RPC figures, side by side with anvil on the same machine and the same load:
//! - `eth_getLogs` latency over 10,000 blocks holding 100,000 logs (a contract whose every call
//!   emits ten logs, one call per block), for three queries: every log, one topic (a tenth),
//!   and a topic no log has;
//! - `eth_getBalance` and `eth_call` requests per second from 64 concurrent keep-alive clients.
//!
//! Lattice's chain is built in-process (blocks sealed directly, then served by a launched
//! node); anvil (from `scripts/install_foundry.sh`, `.tools/bin/anvil`) gets the same contract
//! and the same 10,000 calls over RPC, one block each. `LATTICE_BENCH_BLOCKS` changes the block
//! count, `LATTICE_BENCH_SECS` the duration of each throughput run (default 5).
//! Run: `cargo bench --profile dev -p lattice-node --bench rpc`.

use alloy_consensus::{TxEip1559, TypedTransaction};
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use lattice_node::{launch, NodeConfig};
use lattice_primitives::{dev_signers, sign_transaction};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const CLIENTS: usize = 64;
const LOGS_PER_CALL: u8 = 10;

/// Runtime code: `LOG1(topic = i)` with no data for i in 0..10, then STOP.
fn emitter_runtime() -> Vec<u8> {
    let mut code = Vec::new();
    for i in 0..LOGS_PER_CALL {
        code.extend_from_slice(&[0x60, i, 0x60, 0x00, 0x60, 0x00, 0xa1]);
    }
    code.push(0x00);
    code
}

fn init_code() -> Bytes {
    let runtime = emitter_runtime();
    let len = runtime.len() as u8;
    let mut init = vec![0x60, len, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, len, 0x60, 0x00, 0xf3];
    init.extend(runtime);
    init.into()
}

/// One keep-alive HTTP/1.1 JSON-RPC connection.
struct Conn {
    addr: SocketAddr,
    stream: BufReader<TcpStream>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self { addr, stream: BufReader::new(stream) }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let req = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        self.stream.get_mut().write_all(req.as_bytes()).await.expect("write");
        let mut length = None;
        let mut line = String::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.expect("read header");
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = Some(value.trim().parse::<usize>().expect("length"));
                }
            }
        }
        let mut body = vec![0; length.expect("responses carry Content-Length")];
        self.stream.read_exact(&mut body).await.expect("read body");
        let value: Value = serde_json::from_slice(&body).expect("JSON");
        if let Some(err) = value.get("error") {
            panic!("{method} failed: {err}");
        }
        value["result"].clone()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

struct Anvil(Child);

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_anvil() -> Option<(Anvil, SocketAddr)> {
    // Read at run time: the target directory is shared between clones, so a compiled-in path
    // may name another clone.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo, which sets it");
    let root = std::path::Path::new(&dir).join("..");
    let bin = root.join(".tools/bin/anvil");
    if !bin.exists() {
        println!(
            "anvil not found at {} (run scripts/install_foundry.sh); Lattice only",
            bin.display()
        );
        return None;
    }
    let port = free_port();
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--silent", "--chain-id", "1337"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn anvil");
    let anvil = Anvil(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_ok() {
            return Some((anvil, addr));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("anvil did not start");
}

/// Deploys the emitter on anvil and calls it `blocks` times, one block each.
async fn fill_anvil(addr: SocketAddr, blocks: u64) -> Address {
    let mut c = Conn::open(addr).await;
    let from = dev_signers(1)[0].address();
    let hash = c.call("eth_sendTransaction", json!([{"from": from, "data": init_code()}])).await;
    let receipt = loop {
        let receipt = c.call("eth_getTransactionReceipt", json!([hash])).await;
        if !receipt.is_null() {
            break receipt;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let emitter: Address =
        serde_json::from_value(receipt["contractAddress"].clone()).expect("address");
    for _ in 0..blocks {
        c.call("eth_sendTransaction", json!([{"from": from, "to": emitter, "gas": "0x20000"}]))
            .await;
    }
    emitter
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

/// Median latency (ms) of `query` over 5 runs, and the number of logs it returns.
async fn logs_latency(addr: SocketAddr, query: &Value) -> (f64, usize) {
    let mut c = Conn::open(addr).await;
    let mut times = Vec::new();
    let mut count = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let logs = c.call("eth_getLogs", json!([query])).await;
        times.push(started.elapsed().as_secs_f64() * 1_000.0);
        count = logs.as_array().expect("array").len();
    }
    (median(times), count)
}

/// Requests per second of `method(params)` from [`CLIENTS`] keep-alive connections.
async fn throughput(addr: SocketAddr, method: &'static str, params: Value, secs: u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (done, params) = (done.clone(), params.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr).await;
            while Instant::now() < deadline {
                c.call(method, params.clone()).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let started = Instant::now();
    for t in tasks {
        t.await.expect("client");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

struct Figures {
    logs: Vec<(f64, usize)>,
    balance_rps: f64,
    call_rps: f64,
}

async fn measure(addr: SocketAddr, emitter: Address, secs: u64) -> Figures {
    let topic = |i: u8| B256::from(U256::from(i));
    let mut c = Conn::open(addr).await;
    let latest = c.call("eth_blockNumber", json!([])).await;
    let latest = u64::from_str_radix(latest.as_str().expect("hex").trim_start_matches("0x"), 16)
        .expect("number");
    let last_thousand = format!("0x{:x}", latest.saturating_sub(999));
    let queries = [
        json!({"fromBlock": last_thousand, "toBlock": "latest", "address": emitter}),
        json!({"fromBlock": "0x0", "toBlock": "latest", "address": emitter}),
        json!({"fromBlock": "0x0", "toBlock": "latest", "topics": [topic(3)]}),
        json!({"fromBlock": "0x0", "toBlock": "latest", "address": emitter, "topics": [topic(200)]}),
    ];
    let mut logs = Vec::new();
    for q in &queries {
        logs.push(logs_latency(addr, q).await);
    }
    let who = dev_signers(2)[1].address();
    let balance_rps = throughput(addr, "eth_getBalance", json!([who, "latest"]), secs).await;
    let call_rps = throughput(addr, "eth_call", json!([{"to": emitter}, "latest"]), secs).await;
    Figures { logs, balance_rps, call_rps }
}

fn main() {
    let blocks: u64 =
        std::env::var("LATTICE_BENCH_BLOCKS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let secs: u64 =
        std::env::var("LATTICE_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("dir");
        let args = lattice_node::cli::NodeArgs {
            dev: true,
            no_produce: true,
            data_dir: Some(dir.path().to_path_buf()),
            rpc_addr: Some("127.0.0.1:0".parse().expect("addr")),
            rpc_max_logs: Some(1_000_000),
            rpc_max_connections: Some(1_000),
            ..Default::default()
        };
        let node = launch(NodeConfig::from_args(args).expect("config")).await.expect("node");
        let signers = dev_signers(2);
        let (producer, sender) = (&signers[0], &signers[1]);
        let tx = |nonce: u64, to: TxKind, input: Bytes| {
            let tx = TxEip1559 {
                chain_id: 1337,
                nonce,
                gas_limit: 200_000,
                max_fee_per_gas: 2_000_000_000,
                max_priority_fee_per_gas: 1,
                to,
                value: U256::ZERO,
                access_list: Default::default(),
                input,
            };
            sign_transaction(sender, TypedTransaction::Eip1559(tx)).expect("sign")
        };
        let started = Instant::now();
        let chain = &node.node.chain;
        let mut now = 1_700_000_000_000u64;
        let mut seal = |txs| {
            now += 100;
            chain.produce(producer, producer.address(), txs, now).expect("block")
        };
        seal(vec![tx(0, TxKind::Create, init_code())]);
        seal(vec![]);
        let emitter = sender.address().create(0);
        for i in 0..blocks {
            seal(vec![tx(1 + i, TxKind::Call(emitter), Bytes::new())]);
        }
        seal(vec![]);
        let logs: u64 = (0..=chain.head().number)
            .filter_map(|n| chain.hash_at(n).ok().flatten())
            .map(|h| {
                chain
                    .receipts(h)
                    .map(|r| r.iter().map(|r| r.logs.len() as u64).sum::<u64>())
                    .unwrap_or(0)
            })
            .sum();
        println!(
            "lattice: built {} blocks with {logs} logs in {:.1} s",
            chain.head().number,
            started.elapsed().as_secs_f64()
        );
        let lattice = measure(node.rpc_addr.unwrap(), emitter, secs).await;

        let anvil = match start_anvil().await {
            Some((guard, addr)) => {
                let started = Instant::now();
                let emitter = fill_anvil(addr, blocks).await;
                println!("anvil: {blocks} calls mined in {:.1} s", started.elapsed().as_secs_f64());
                let figures = measure(addr, emitter, secs).await;
                drop(guard);
                Some(figures)
            }
            None => None,
        };

        let names = [
            "eth_getLogs, last 1,000 blocks of the address",
            "eth_getLogs, every log of the address",
            "eth_getLogs, one topic (a tenth)",
            "eth_getLogs, no match",
        ];
        println!("\n| measure | lattice | anvil |\n|---|---|---|");
        for (i, name) in names.iter().enumerate() {
            let (ms, n) = lattice.logs[i];
            let other = anvil
                .as_ref()
                .map(|a| format!("{:.1} ms ({} logs)", a.logs[i].0, a.logs[i].1))
                .unwrap_or_default();
            println!("| {name} | {ms:.1} ms ({n} logs) | {other} |");
        }
        let other = |f: fn(&Figures) -> f64| {
            anvil.as_ref().map(|a| format!("{:.0} req/s", f(a))).unwrap_or_default()
        };
        println!(
            "| eth_getBalance, {CLIENTS} clients | {:.0} req/s | {} |",
            lattice.balance_rps,
            other(|f| f.balance_rps)
        );
        println!(
            "| eth_call, {CLIENTS} clients | {:.0} req/s | {} |",
            lattice.call_rps,
            other(|f| f.call_rps)
        );
        node.stop().await.expect("stop");
    });
}

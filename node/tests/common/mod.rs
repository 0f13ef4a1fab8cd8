//! Helpers shared by the node's integration tests.
#![allow(dead_code)]

use alloy_consensus::{TxEip1559, TxEnvelope, TypedTransaction};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_signer_local::PrivateKeySigner;
use serde_json::{json, Value};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends one JSON-RPC request body over HTTP/1.1 and returns the parsed response body.
pub async fn post(addr: SocketAddr, body: &str) -> Value {
    let mut stream = TcpStream::connect(addr).await.expect("connect to RPC");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (_, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("bad JSON body {body:?}: {e}"))
}

/// `GET path` over HTTP/1.1; returns the status code and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

/// The payload of a chunked HTTP body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// Calls `method` and returns the whole response object.
pub async fn call(addr: SocketAddr, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    post(addr, &body).await
}

/// Calls `method` and returns its result, panicking on an error response.
pub async fn result(addr: SocketAddr, method: &str, params: Value) -> Value {
    let resp = call(addr, method, params).await;
    if let Some(err) = resp.get("error") {
        panic!("{method} failed: {err}");
    }
    resp["result"].clone()
}

/// Polls filter `id` until it has returned `want` items in all (a poll drains the filter's
/// buffer, so the items of every poll are collected) or `deadline` passes, and returns them.
/// Pending-transaction filters are fed asynchronously, as geth's are: what a call just pooled
/// shows up shortly after, not necessarily by the time the call returned.
pub async fn filter_changes_until(
    addr: SocketAddr,
    id: &Value,
    want: usize,
    deadline: std::time::Duration,
) -> Vec<Value> {
    let until = std::time::Instant::now() + deadline;
    let mut seen = Vec::new();
    loop {
        let changes = result(addr, "eth_getFilterChanges", json!([id])).await;
        seen.extend(changes.as_array().expect("filter changes are an array").iter().cloned());
        if seen.len() >= want || std::time::Instant::now() >= until {
            return seen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A hex quantity as u128.
pub fn qty(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().expect("hex string").trim_start_matches("0x"), 16)
        .expect("hex quantity")
}

/// The repository's root directory, read when the test runs: the target directory is shared
/// between clones, so a path compiled in (`env!("CARGO_MANIFEST_DIR")`) may name another
/// clone, or one since deleted.
pub fn repo_root() -> std::path::PathBuf {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo, which sets it");
    std::path::Path::new(&dir).parent().expect("the node crate is in the repository").to_path_buf()
}

/// The `lattice` binary the tests start: `$LATTICE_BIN` when set (scripts/flake_hunt.sh runs
/// the tests against a snapshot of the build), else the one cargo built for this test.
pub fn lattice_bin() -> std::path::PathBuf {
    std::env::var_os("LATTICE_BIN")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_lattice").into())
}

/// Runs `lattice verify --dev` on `data_dir`, which must pass; returns its report line.
pub fn verify(data_dir: &std::path::Path) -> String {
    verify_chain(data_dir, &["--dev"])
}

/// Runs `lattice verify` with the chain's flags (`--dev`, `--dev.producers 4`, …) on
/// `data_dir`, which must pass; returns its report line.
pub fn verify_chain(data_dir: &std::path::Path, chain_flags: &[&str]) -> String {
    let out = std::process::Command::new(lattice_bin())
        .arg("verify")
        .args(chain_flags)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "lattice verify failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("every state root matches"), "{text}");
    text
}

/// A `lattice` process, killed by its PID when dropped.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `lattice --dev` on `data_dir` with RPC on 127.0.0.1:`rpc_port` and `extra` flags,
/// and waits (up to 60 s) until its RPC port answers.
pub async fn start_dev(data_dir: &std::path::Path, rpc_port: u16, extra: &[&str]) -> Running {
    use std::process::{Command, Stdio};
    let child = Command::new(lattice_bin())
        .args(["--dev", "--rpc-addr", &format!("127.0.0.1:{rpc_port}")])
        .args(extra)
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("lattice starts");
    let node = Running(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", rpc_port)).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "no RPC port");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    node
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Init code that deploys `runtime` as the contract's code.
pub fn deploy_code(runtime: &[u8]) -> alloy_primitives::Bytes {
    let len = u8::try_from(runtime.len()).expect("runtime under 256 bytes");
    let mut init = vec![0x60, len, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, len, 0x60, 0x00, 0xf3];
    init.extend_from_slice(runtime);
    init.into()
}

/// Topic 0 of the logs [`emitter_runtime`] emits.
pub const EMITTER_TOPIC0: alloy_primitives::B256 = alloy_primitives::B256::repeat_byte(0xee);

/// Code that emits `LOG2(topic0 = 0xee…, topic1 = calldata[0..32])` with `calldata[32..64]`
/// as data.
pub fn emitter_runtime() -> Vec<u8> {
    let mut runtime = vec![0x60, 0x20, 0x35, 0x60, 0x00, 0x52, 0x60, 0x00, 0x35, 0x7f];
    runtime.extend_from_slice(EMITTER_TOPIC0.as_slice());
    runtime.extend_from_slice(&[0x60, 0x20, 0x60, 0x00, 0xa2, 0x00]);
    runtime
}

/// One gwei in wei.
pub const GWEI: u128 = 1_000_000_000;

/// A signed EIP-1559 transaction of the dev chain (id 1337): max fee 3 gwei, tip 1 gwei.
pub fn eip1559(
    signer: &PrivateKeySigner,
    nonce: u64,
    to: TxKind,
    value: U256,
    gas_limit: u64,
    input: Bytes,
) -> TxEnvelope {
    let tx = TxEip1559 {
        chain_id: 1337,
        nonce,
        gas_limit,
        max_fee_per_gas: 3 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to,
        value,
        access_list: Default::default(),
        input,
    };
    lattice_primitives::sign_transaction(signer, TypedTransaction::Eip1559(tx)).unwrap()
}

/// A signed plain transfer (21,000 gas).
pub fn transfer(signer: &PrivateKeySigner, nonce: u64, to: Address, value: u128) -> TxEnvelope {
    eip1559(signer, nonce, TxKind::Call(to), U256::from(value), 21_000, Bytes::new())
}

/// The EIP-2718 bytes `eth_sendRawTransaction` takes.
pub fn raw(tx: &TxEnvelope) -> Bytes {
    tx.encoded_2718().into()
}

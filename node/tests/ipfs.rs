//! The node's IPFS side against a real Kubo (`scripts/kubo-dev`, Kubo 0.22 as a library behind
//! its HTTP RPC): `lattice_ipfsStatus` reports it, and the node keeps running when it goes.

mod common;

use common::result;
use lattice_ipfs::dev::{checkout_root, KuboDev};
use lattice_ipfs::{ClientConfig, IpfsClient};
use lattice_node::{launch, NodeConfig};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

async fn status_until(rpc: SocketAddr, want: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let status = result(rpc, "lattice_ipfsStatus", json!([])).await;
        if want(&status) {
            return status;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "status never came: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn height(rpc: SocketAddr) -> u128 {
    common::qty(&result(rpc, "eth_blockNumber", json!([])).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_node_reports_its_kubo_and_keeps_running_when_it_goes() {
    let mut kubo = KuboDev::start(&checkout_root()).expect("the development Kubo starts");
    let dir = tempfile::tempdir().unwrap();
    let mut config = NodeConfig::dev(
        dir.path().to_path_buf(),
        "127.0.0.1:0".parse().unwrap(),
        Duration::from_millis(200),
    );
    config.ipfs = Some(IpfsClient::new(kubo.url(), ClientConfig::default()).unwrap());
    let node = launch(config).await.unwrap();
    let rpc = node.rpc_addr.unwrap();

    let up = status_until(rpc, |s| s["reachable"] == json!(true)).await;
    assert_eq!(up["configured"], json!(true), "{up}");
    assert_eq!(up["api"], json!(kubo.url()), "{up}");
    assert_eq!(up["version"], json!("0.22.0"), "{up}");
    assert!(up["peerId"].as_str().is_some_and(|p| !p.is_empty()), "{up}");
    assert!(up["repoSize"].as_u64().is_some_and(|n| n > 0), "{up}");
    assert!(up["lastError"].is_null(), "{up}");

    kubo.stop();
    let down = status_until(rpc, |s| s["reachable"] == json!(false)).await;
    assert!(down["lastError"].as_str().is_some_and(|e| e.contains("unreachable")), "{down}");
    assert_eq!(down["peerId"], up["peerId"], "what was learnt is kept: {down}");
    // Kubo gone costs the chain nothing.
    let gone_at = height(rpc).await;
    let started = Instant::now();
    while height(rpc).await < gone_at + 5 {
        assert!(started.elapsed() < Duration::from_secs(60), "the node stopped producing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_ipfs_api_the_status_says_it_is_not_configured() {
    let dir = tempfile::tempdir().unwrap();
    let config = NodeConfig::dev(
        dir.path().to_path_buf(),
        "127.0.0.1:0".parse().unwrap(),
        Duration::from_secs(1),
    );
    let node = launch(config).await.unwrap();
    let status = result(node.rpc_addr.unwrap(), "lattice_ipfsStatus", json!([])).await;
    assert_eq!(status["configured"], json!(false), "{status}");
    assert!(status["message"].as_str().unwrap().contains("--ipfs-api"), "{status}");
    node.stop().await.unwrap();
}

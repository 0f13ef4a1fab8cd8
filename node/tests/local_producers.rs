//! `--dev.local-producers`: four producers in one process with 300 ms between them build a
//! wide DAG, transactions sent to the RPC all execute once, and the producers agree.

mod common;

use alloy_primitives::Address;
use common::{qty, result};
use lattice_node::{launch, NodeConfig};
use lattice_primitives::dev_signers;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_local_producers_build_a_wide_dag_and_agree() {
    let dir = tempfile::tempdir().unwrap();
    let args = lattice_node::cli::NodeArgs {
        dev: true,
        dev_producers: Some(4),
        dev_local_producers: true,
        dev_delay_ms: Some(300),
        block_time: Some(Duration::from_millis(400)),
        data_dir: Some(dir.path().to_path_buf()),
        rpc_addr: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    };
    let node = launch(NodeConfig::from_args(args).unwrap()).await.unwrap();
    let rpc = node.rpc_addr.unwrap();
    assert_eq!(node.local.len(), 3);
    let signers = dev_signers(10);
    let bob = Address::repeat_byte(0xb0);
    let mut hashes = Vec::new();
    for (i, signer) in signers.iter().enumerate().skip(4) {
        for nonce in 0..3u64 {
            let raw = common::raw(&common::transfer(signer, nonce, bob, 1 + i as u128));
            hashes.push(result(rpc, "eth_sendRawTransaction", json!([raw])).await);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for hash in &hashes {
        loop {
            let receipt = result(rpc, "eth_getTransactionReceipt", json!([hash])).await;
            if !receipt.is_null() {
                assert_eq!(receipt["status"], "0x1");
                break;
            }
            assert!(Instant::now() < deadline, "transaction {hash} was not executed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let expected: u128 = (4..10).map(|i| 3 * (1 + i as u128)).sum();
    assert_eq!(
        qty(&result(rpc, "eth_getBalance", json!([bob, "latest"])).await),
        expected,
        "each executed once"
    );

    // A wide DAG: more blocks than chain positions, with merged (and usually red) blocks.
    let head = node.node.chain.head();
    let blocks = node.node.chain.block_count();
    assert!(
        blocks as f64 > 1.3 * head.number as f64,
        "{blocks} blocks for {} chain blocks",
        head.number
    );
    let latest = result(rpc, "eth_getBlockByNumber", json!(["latest", false])).await;
    assert!(!latest["mergesetBlues"].as_array().unwrap().is_empty());

    // The dag_ namespace.
    let tips = result(rpc, "dag_getTips", json!([])).await;
    assert!(!tips.as_array().unwrap().is_empty());
    let chain = result(rpc, "dag_getVirtualChain", json!([])).await;
    let chain = chain.as_array().unwrap();
    assert_eq!(chain.first().unwrap()["number"], "0x0");
    let receipt = result(rpc, "eth_getTransactionReceipt", json!([hashes[0]])).await;
    let accepting = result(rpc, "dag_getBlock", json!([receipt["blockHash"]])).await;
    assert_eq!(accepting["chainNumber"].as_u64(), Some(qty(&receipt["blockNumber"]) as u64));
    let entry = accepting["acceptance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["txHash"] == hashes[0])
        .unwrap();
    assert_eq!(entry["status"], "executed");
    assert_eq!(entry["carrier"], receipt["carrierBlockHash"]);
    let carrier = result(rpc, "dag_getBlock", json!([receipt["carrierBlockHash"]])).await;
    assert!(carrier["transactions"].as_array().unwrap().contains(&hashes[0]));
    assert!(result(rpc, "dag_getBlock", json!([format!("0x{}", "11".repeat(32))])).await.is_null());

    // All producers agree on the chain a few blocks below their sinks.
    let min_head =
        node.local.iter().map(|n| n.chain.head().number).chain([head.number]).min().unwrap();
    let depth = min_head.saturating_sub(4);
    let ours = node.node.chain.hash_at(depth).unwrap();
    for peer in &node.local {
        assert_eq!(
            peer.chain.hash_at(depth).unwrap(),
            ours,
            "chain block {depth} differs between producers"
        );
    }
    // The duplicate rate: every block stored counts what it carries, and what an earlier
    // block had already carried; the difference is the distinct transactions, all of them.
    let (carried, duplicates) = node.node.chain.carried_counts();
    println!("blocks {blocks}, chain {}, carried {carried}, duplicates {duplicates}", head.number);
    assert_eq!(carried - duplicates, hashes.len() as u64);
    assert!(node.node.metrics.txs_carried.get() <= carried);
    assert!(node.node.metrics.txs_carried.get() >= hashes.len() as u64, "exported as a metric");
    node.stop().await.unwrap();
}

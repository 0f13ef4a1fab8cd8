//! The node's IPFS side against a real Kubo (`scripts/kubo-dev`, Kubo 0.22 as a library behind
//! its HTTP RPC): `lattice_ipfsStatus` reports it, the node keeps running when it goes, and
//! the pinning service pins announced records whose content matches their commitment.

mod common;

use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use common::result;
use lattice_ipfs::dev::{checkout_root, KuboDev};
use lattice_ipfs::pinning::PinPolicy;
use lattice_ipfs::{ClientConfig, IpfsClient};
use lattice_node::{launch, NodeConfig};
use lattice_primitives::dev_signers;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Polls `method` (no params) until its answer satisfies `want`.
async fn answer_until(rpc: SocketAddr, method: &str, want: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let answer = result(rpc, method, json!([])).await;
        if want(&answer) {
            return answer;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{method} never came: {answer}");
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

    let up = answer_until(rpc, "lattice_ipfsStatus", |s| s["reachable"] == json!(true)).await;
    assert_eq!(up["configured"], json!(true), "{up}");
    assert_eq!(up["api"], json!(kubo.url()), "{up}");
    assert_eq!(up["version"], json!("0.22.0"), "{up}");
    assert!(up["peerId"].as_str().is_some_and(|p| !p.is_empty()), "{up}");
    assert!(up["repoSize"].as_u64().is_some_and(|n| n > 0), "{up}");
    assert!(up["lastError"].is_null(), "{up}");

    kubo.stop();
    let down = answer_until(rpc, "lattice_ipfsStatus", |s| s["reachable"] == json!(false)).await;
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

/// Code that emits `LOG3` with topics `calldata[0..32]`, `[32..64]`, `[64..96]` and the rest
/// of the calldata as data: it emits exactly the `RecordOpened` the test encodes, standing in
/// for IPFSIncentives (whose own tests are the Foundry suite's).
fn log3_runtime() -> Vec<u8> {
    vec![
        0x60, 0x60, 0x36, 0x03, 0x60, 0x60, 0x60, 0x00, 0x37, // copy calldata[96..] to memory
        0x60, 0x40, 0x35, 0x60, 0x20, 0x35, 0x60, 0x00, 0x35, // the three topics
        0x60, 0x60, 0x36, 0x03, 0x60, 0x00, 0xa3, 0x00, // LOG3(0, len), STOP
    ]
}

fn record_opened(id: u64, funder: Address, cid: &str, committed: &[u8]) -> Bytes {
    use alloy_sol_types::SolEvent;
    use lattice_node::pinning::{ContentSpec, RecordOpened};
    let c = lattice_ipfs::merkle::commitment(committed).unwrap();
    let event = RecordOpened {
        recordId: U256::from(id),
        funder,
        cid: cid.to_string(),
        spec: ContentSpec {
            sizeBytes: c.size_bytes,
            merkleRoot: c.merkle_root.into(),
            leafCount: c.leaf_count,
            replicationTarget: 3,
            durationEpochs: 10,
            rewardPerByteEpoch: 1,
        },
        startEpoch: 1,
        endEpoch: 11,
    };
    let mut calldata = RecordOpened::SIGNATURE_HASH.to_vec();
    calldata.extend_from_slice(B256::from(U256::from(id)).as_slice());
    calldata.extend_from_slice(funder.into_word().as_slice());
    calldata.extend_from_slice(&event.encode_data());
    calldata.into()
}

#[tokio::test(flavor = "multi_thread")]
async fn announced_records_are_pinned_only_when_their_content_matches() {
    let kubo = KuboDev::start(&checkout_root()).expect("the development Kubo starts");
    let client = IpfsClient::new(kubo.url(), ClientConfig::default()).unwrap();
    let good: Vec<u8> = (0..5_000u32).map(|i| (i * 7 + 3) as u8).collect();
    let other: Vec<u8> = (0..5_000u32).map(|i| (i * 11 + 5) as u8).collect();
    let good_cid = client.add("good", good.clone()).await.unwrap().cid;
    let other_cid = client.add("other", other).await.unwrap().cid;
    // `add` pins what it stores, as Kubo's does: start from nothing pinned.
    for cid in [&good_cid, &other_cid] {
        client.pin_rm(cid).await.unwrap();
    }

    let deployer = &dev_signers(10)[9];
    let contract = deployer.address().create(0);
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut config = NodeConfig::dev(
            dir.path().to_path_buf(),
            "127.0.0.1:0".parse().unwrap(),
            Duration::from_millis(200),
        );
        config.ipfs = Some(client.clone());
        config.pinning = Some((contract, PinPolicy::default()));
        config
    };
    let node = launch(config()).await.unwrap();
    let rpc = node.rpc_addr.unwrap();
    let deploy = common::eip1559(
        deployer,
        0,
        TxKind::Create,
        U256::ZERO,
        200_000,
        common::deploy_code(&log3_runtime()),
    );
    // Record 1 commits to its CID's content; record 2 to other content than its CID holds.
    let opens = [
        record_opened(1, deployer.address(), &good_cid, &good),
        record_opened(2, deployer.address(), &other_cid, &good),
    ];
    let mut txs = vec![deploy];
    for (i, calldata) in opens.into_iter().enumerate() {
        txs.push(common::eip1559(
            deployer,
            1 + i as u64,
            TxKind::Call(contract),
            U256::ZERO,
            200_000,
            calldata,
        ));
    }
    for tx in &txs {
        result(rpc, "eth_sendRawTransaction", json!([common::raw(tx)])).await;
    }

    let summary = answer_until(rpc, "lattice_pinningSummary", |s| {
        s["pinned"] == json!(1) && s["mismatch"] == json!(1)
    })
    .await;
    assert_eq!(summary["configured"], json!(true), "{summary}");
    assert_eq!(summary["records"], json!(2), "{summary}");
    assert_eq!(summary["pinnedBytes"], json!(5_000), "{summary}");
    assert_eq!(client.pin_ls(Some(&good_cid)).await.unwrap(), vec![good_cid.clone()]);
    assert!(client.pin_ls(Some(&other_cid)).await.unwrap().is_empty(), "a mismatch was pinned");
    let pins = result(rpc, "lattice_pins", json!([0, 10])).await;
    assert_eq!(pins["total"], json!(2), "{pins}");
    let states: Vec<&str> =
        pins["entries"].as_array().unwrap().iter().map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["pinned", "mismatch"], "{pins}");
    assert!(pins["entries"][1]["lastError"].as_str().unwrap().contains("does not match"), "{pins}");

    // The work list is on disk: a restarted node has it before scanning anything.
    node.stop().await.unwrap();
    let node = launch(config()).await.unwrap();
    let again = result(node.rpc_addr.unwrap(), "lattice_pinningSummary", json!([])).await;
    assert_eq!((&again["pinned"], &again["mismatch"]), (&json!(1), &json!(1)), "{again}");
    assert!(again["scannedThrough"].as_u64().unwrap() > 0, "{again}");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn pinning_without_a_kubo_is_a_usage_error() {
    let args = lattice_node::cli::NodeArgs {
        dev: true,
        ipfs_incentives: Some(Address::repeat_byte(1)),
        ..Default::default()
    };
    let err = NodeConfig::from_args(args).unwrap_err();
    assert!(err.to_string().contains("--ipfs-incentives needs a Kubo"), "{err}");
}

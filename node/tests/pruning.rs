//! State-history pruning (`--prune N`): a node that keeps the history of the last N chain
//! blocks answers state reads at those blocks exactly as an archive node does, refuses older
//! ones with "historical state not available", deletes the change sets below its floor, keeps
//! the floor across a restart, and still verifies.

mod common;

use alloy_primitives::{Address, Bytes, TxKind, U256};
use common::{call, eip1559, raw, result, transfer};
use lattice_evm::StateReader;
use lattice_node::cli::NodeArgs;
use lattice_node::{launch, produce_one, NodeConfig, NodeHandle, ProducerConfig};
use lattice_primitives::dev_signers;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// Chain blocks of history the test node keeps (below the minimum the flags accept, which is
/// the finality depth: the test sets it directly, as a chain with a small finality depth would).
const KEEP: u64 = 10;
/// Chain blocks the test builds.
const BLOCKS: u64 = 40;

/// A contract whose code is `SSTORE(0, calldata[0..32])`.
const STORE_RUNTIME: [u8; 7] = [0x60, 0x00, 0x35, 0x60, 0x00, 0x55, 0x00];

/// A dev node whose blocks the test seals (with the producer returned).
async fn start(dir: &Path, prune: Option<u64>) -> (NodeHandle, ProducerConfig) {
    let mut config =
        NodeConfig::dev(dir.to_path_buf(), "127.0.0.1:0".parse().unwrap(), Duration::from_secs(1));
    let producer = config.producer.take().expect("dev config produces");
    config.prune = prune;
    (launch(config).await.expect("node launches"), producer)
}

fn seal(node: &NodeHandle, producer: &ProducerConfig) {
    produce_one(&node.node, producer).expect("block sealed");
}

/// Bob's balance and the contract's slot 0 at chain block `n`, or the error the node gave.
async fn reads(rpc: SocketAddr, bob: Address, store: Address, n: u64) -> (Value, Value) {
    let at = format!("{n:#x}");
    let balance = call(rpc, "eth_getBalance", json!([bob, at])).await;
    let slot = call(rpc, "eth_getStorageAt", json!([store, "0x0", at])).await;
    (balance, slot)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pruned_node_reads_recent_state_and_refuses_older_state() {
    let dir = tempfile::tempdir().unwrap();
    let (node, producer) = start(dir.path(), Some(KEEP)).await;
    let rpc = node.rpc_addr.unwrap();
    let accounts = dev_signers(3);
    let (alice, carol, bob) = (&accounts[0], &accounts[1], Address::repeat_byte(0xb0));
    let deploy = common::deploy_code(&STORE_RUNTIME);
    let tx = eip1559(carol, 0, TxKind::Create, U256::ZERO, 100_000, deploy);
    result(rpc, "eth_sendRawTransaction", json!([raw(&tx)])).await;
    let store = carol.address().create(0);
    // Every block moves Bob's balance and the contract's slot, so each state differs.
    let mut first_payment = Value::Null;
    for i in 0..BLOCKS {
        let pay = transfer(alice, i, bob, 1 + i as u128);
        let hash = result(rpc, "eth_sendRawTransaction", json!([raw(&pay)])).await;
        if i == 0 {
            first_payment = hash;
        }
        let word = Bytes::from(U256::from(i + 1).to_be_bytes::<32>().to_vec());
        let write = eip1559(carol, i + 1, TxKind::Call(store), U256::ZERO, 60_000, word);
        result(rpc, "eth_sendRawTransaction", json!([raw(&write)])).await;
        seal(&node, &producer);
    }
    seal(&node, &producer);
    let head = node.node.chain.head().number;
    assert!(head > BLOCKS);

    // The background pruner (every few seconds, in steps) brings the floor to head − KEEP.
    let deadline = Instant::now() + Duration::from_secs(60);
    while node.node.chain.history_floor() < head - KEEP {
        assert!(Instant::now() < deadline, "floor {}", node.node.chain.history_floor());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let floor = node.node.chain.history_floor();
    assert_eq!(floor, head - KEEP);
    // Nothing at or below the floor is stored any more; the history above it is.
    let oldest = node.node.chain.oldest_history().unwrap().expect("recent history kept");
    assert_eq!(oldest, floor + 1, "change sets at or below the floor are deleted");

    // An archive node built from the same blocks answers every read; the pruned one answers
    // the same from the floor up and refuses below it.
    let archive_dir = tempfile::tempdir().unwrap();
    let (archive, _) = start(archive_dir.path(), None).await;
    // One producer: every block is a chain block.
    for n in 1..=head {
        let hash = node.node.chain.hash_at(n).unwrap().unwrap();
        let block = node.node.chain.block(hash).unwrap().expect("stored block");
        archive.node.import_block(block).expect("the archive node imports the block");
    }
    assert_eq!(archive.node.chain.head().hash, node.node.chain.head().hash);
    let archive_rpc = archive.rpc_addr.unwrap();
    for n in 0..=head {
        let (balance, slot) = reads(rpc, bob, store, n).await;
        let (want_balance, want_slot) = reads(archive_rpc, bob, store, n).await;
        if n >= floor {
            assert_eq!((&balance, &slot), (&want_balance, &want_slot), "block {n}");
        } else {
            for answer in [&balance, &slot] {
                assert_eq!(answer["error"]["code"], -32000, "block {n}: {answer}");
                let message = answer["error"]["message"].as_str().unwrap();
                assert!(message.starts_with("historical state not available"), "{message}");
            }
        }
    }
    // The archive's answers differ from block to block: the comparison above meant something.
    let first = reads(archive_rpc, bob, store, floor).await;
    let last = reads(archive_rpc, bob, store, head).await;
    assert_ne!(first.0["result"], last.0["result"]);
    assert_ne!(first.1["result"], last.1["result"]);
    // A call at a pruned block is refused the same way; at the floor it runs.
    let get = json!({"to": store, "data": "0x"});
    let refused = call(rpc, "eth_call", json!([get, format!("{:#x}", floor - 1)])).await;
    assert_eq!(refused["error"]["code"], -32000, "{refused}");
    let ran = call(rpc, "eth_call", json!([get, format!("{floor:#x}")])).await;
    assert!(ran.get("error").is_none(), "{ran}");
    // So are a trace of a transaction executed below the floor and a proof there.
    let pruned = |answer: &Value| {
        answer["error"]["code"] == -32000
            && answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("historical state not available"))
    };
    let trace = call(rpc, "debug_traceTransaction", json!([first_payment])).await;
    assert!(pruned(&trace), "{trace}");
    let proof = call(rpc, "eth_getProof", json!([bob, [], format!("{:#x}", floor - 1)])).await;
    assert!(pruned(&proof), "{proof}");
    let proof = call(rpc, "eth_getProof", json!([bob, [], format!("{floor:#x}")])).await;
    assert!(proof.get("error").is_none(), "{proof}");

    // A reader taken before pruning overtakes it fails instead of reading half-deleted history.
    let reader = node.node.chain.state_at(floor);
    for _ in 0..3 {
        seal(&node, &producer);
    }
    while node.node.chain.history_floor() <= floor {
        assert!(Instant::now() < deadline + Duration::from_secs(30), "the pruner stopped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let overtaken = reader.account(bob).unwrap_err().to_string();
    assert!(overtaken.starts_with("historical state not available"), "{overtaken}");
    drop(reader);

    // The floor survives a restart, and the pruned database still verifies.
    let floor = node.node.chain.history_floor();
    node.stop().await.unwrap();
    archive.stop().await.unwrap();
    let (node, _) = start(dir.path(), Some(KEEP)).await;
    assert_eq!(node.node.chain.history_floor(), floor);
    let (balance, _) = reads(node.rpc_addr.unwrap(), bob, store, floor - 1).await;
    assert_eq!(balance["error"]["code"], -32000, "{balance}");
    node.stop().await.unwrap();
    common::verify(dir.path());
}

#[test]
fn prune_below_the_finality_depth_is_refused_and_dev_keeps_everything() {
    let args = |dev: bool, prune: Option<u64>, archive: bool| NodeArgs {
        dev,
        prune,
        archive,
        data_dir: Some(std::env::temp_dir().join("lattice-prune-args")),
        ..Default::default()
    };
    let refused = NodeConfig::from_args(args(true, Some(100), false)).unwrap_err();
    let text = format!("{refused:#}");
    assert!(text.contains("--prune 100 keeps less state history"), "{text}");
    assert!(refused.chain().any(|c| c.is::<lattice_node::UsageError>()), "a usage error");
    let dev = NodeConfig::from_args(args(true, None, false)).unwrap();
    assert_eq!(dev.prune, None, "a dev chain is an archive by default");
    let depth = dev.spec.finality_depth;
    let kept = NodeConfig::from_args(args(true, Some(depth), false)).unwrap();
    assert_eq!(kept.prune, Some(depth));
    assert_eq!(NodeConfig::from_args(args(true, None, true)).unwrap().prune, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn lattice_dev_with_prune_keeps_the_last_n_chain_blocks() {
    let args = NodeArgs { dev: true, ..Default::default() };
    let depth = NodeConfig::from_args(args).unwrap().spec.finality_depth;
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let keep = depth.to_string();
    let _node =
        common::start_dev(dir.path(), port, &["--prune", &keep, "--block-time", "20ms"]).await;
    let rpc: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let alice = dev_signers(1)[0].address();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let head = common::qty(&result(rpc, "eth_blockNumber", json!([])).await) as u64;
        let old = call(rpc, "eth_getBalance", json!([alice, "0x1"])).await;
        if head > depth + 1 && old.get("error").is_some() {
            let message = old["error"]["message"].as_str().unwrap();
            assert!(message.starts_with("historical state not available"), "{old}");
            // A block inside the kept window still reads.
            let kept = format!("{:#x}", head - depth / 2);
            result(rpc, "eth_getBalance", json!([alice, kept])).await;
            break;
        }
        assert!(Instant::now() < deadline, "block 1's state was never pruned (head {head})");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

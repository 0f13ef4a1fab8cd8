//! The dev chain in-process: blocks are sealed on demand, RPC is spoken over real HTTP.

mod common;

use alloy_consensus::{TxEip2930, TxLegacy, TypedTransaction};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{hex, Address, Bytes, TxKind, U256};
use alloy_signer_local::PrivateKeySigner;
use common::{call, qty, result};
use lattice_node::{launch, produce_one, NodeConfig, NodeHandle, ProducerConfig};
use lattice_primitives::{dev_signers, sign_transaction};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

use common::GWEI;
const ETH: u128 = 1_000_000_000_000_000_000;

async fn start(dir: &Path) -> (NodeHandle, ProducerConfig) {
    let mut config =
        NodeConfig::dev(dir.to_path_buf(), "127.0.0.1:0".parse().unwrap(), Duration::from_secs(1));
    config.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    let producer = config.producer.take().expect("dev config produces");
    (launch(config).await.expect("node launches"), producer)
}

fn transfer(signer: &PrivateKeySigner, nonce: u64, to: Address, value: u128) -> Bytes {
    common::raw(&common::transfer(signer, nonce, to, value))
}

fn seal(handle: &NodeHandle, producer: &ProducerConfig) {
    produce_one(&handle.node, producer).expect("block sealed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transfer_is_carried_then_accepted_by_the_next_block() {
    let dir = tempfile::tempdir().unwrap();
    let (node, producer) = start(dir.path()).await;
    let rpc = node.rpc_addr.unwrap();
    let accounts = dev_signers(10);
    let (alice, bob) = (&accounts[0], accounts[9].address());

    assert_eq!(result(rpc, "eth_chainId", json!([])).await, "0x539");
    assert_eq!(result(rpc, "net_version", json!([])).await, "1337");
    assert_eq!(qty(&result(rpc, "eth_getBalance", json!([bob, "latest"])).await), 10_000 * ETH);

    let hash = result(rpc, "eth_sendRawTransaction", json!([transfer(alice, 0, bob, ETH)])).await;
    assert_eq!(
        qty(&result(rpc, "eth_getTransactionCount", json!([alice.address(), "pending"])).await),
        1
    );
    assert_eq!(
        qty(&result(rpc, "eth_getTransactionCount", json!([alice.address(), "latest"])).await),
        0
    );

    seal(&node, &producer); // block 1 carries it
    assert!(
        result(rpc, "eth_getTransactionReceipt", json!([hash])).await.is_null(),
        "not executed yet"
    );
    let pending = result(rpc, "eth_getTransactionByHash", json!([hash])).await;
    assert!(pending["blockNumber"].is_null());
    assert!(!pending["carrierBlockHash"].is_null(), "the carrier is known");

    seal(&node, &producer); // block 2 accepts block 1's transactions
    let receipt = result(rpc, "eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["blockNumber"], "0x2");
    assert_eq!(qty(&receipt["gasUsed"]), 21_000);
    let block1 = result(rpc, "eth_getBlockByNumber", json!(["0x1", false])).await;
    assert_eq!(receipt["carrierBlockHash"], block1["hash"]);
    assert_eq!(qty(&result(rpc, "eth_getBalance", json!([bob, "latest"])).await), 10_001 * ETH);
    assert_eq!(
        qty(&result(rpc, "eth_getBalance", json!([bob, "0x1"])).await),
        10_000 * ETH,
        "history"
    );
    assert_eq!(
        qty(&result(rpc, "eth_getTransactionCount", json!([alice.address(), "latest"])).await),
        1
    );

    let block2 = result(rpc, "eth_getBlockByNumber", json!(["latest", true])).await;
    assert_eq!(block2["number"], "0x2");
    assert_eq!(block2["parentHash"], block1["hash"]);
    assert_eq!(block2["transactions"][0]["hash"], hash);
    assert_eq!(block2["baseFeePerGas"], "0x3b9aca00");
    assert_eq!(block2["blueScore"], "0x2");
    assert_eq!(block2["mergesetBlues"], json!([block1["hash"]]));
    let by_hash = result(rpc, "eth_getBlockByHash", json!([block2["hash"], false])).await;
    assert_eq!(by_hash["transactions"], json!([hash]));
    assert!(result(rpc, "eth_getBlockByNumber", json!(["0x99", false])).await.is_null());
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_legacy_and_typed_transaction_executes() {
    let dir = tempfile::tempdir().unwrap();
    let (node, producer) = start(dir.path()).await;
    let rpc = node.rpc_addr.unwrap();
    let accounts = dev_signers(3);
    let to = accounts[2].address();
    let legacy = TxLegacy {
        chain_id: Some(1337),
        nonce: 0,
        gas_price: 2 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(to),
        value: U256::from(5),
        input: Bytes::new(),
    };
    let eip2930 = TxEip2930 {
        chain_id: 1337,
        nonce: 1,
        gas_price: 2 * GWEI,
        gas_limit: 30_000,
        to: TxKind::Call(to),
        value: U256::from(7),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let s = &accounts[1];
    let h0 = result(
        rpc,
        "eth_sendRawTransaction",
        json!([Bytes::from(
            sign_transaction(s, TypedTransaction::Legacy(legacy)).unwrap().encoded_2718()
        )]),
    )
    .await;
    let h1 = result(
        rpc,
        "eth_sendRawTransaction",
        json!([Bytes::from(
            sign_transaction(s, TypedTransaction::Eip2930(eip2930)).unwrap().encoded_2718()
        )]),
    )
    .await;
    seal(&node, &producer);
    seal(&node, &producer);
    for (h, ty) in [(h0, "0x0"), (h1, "0x1")] {
        let r = result(rpc, "eth_getTransactionReceipt", json!([h])).await;
        assert_eq!(r["status"], "0x1");
        assert_eq!(r["type"], ty);
    }
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_refuses_bad_transactions_with_geth_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (node, producer) = start(dir.path()).await;
    let rpc = node.rpc_addr.unwrap();
    let alice = &dev_signers(1)[0];
    let bob = Address::repeat_byte(0xb0);
    let raw = transfer(alice, 0, bob, 1);
    result(rpc, "eth_sendRawTransaction", json!([raw])).await;

    let err = &call(rpc, "eth_sendRawTransaction", json!([raw])).await["error"];
    assert_eq!(err["code"], -32000);
    assert_eq!(err["message"], "already known");

    let poor = PrivateKeySigner::random();
    let err =
        &call(rpc, "eth_sendRawTransaction", json!([transfer(&poor, 0, bob, 1)])).await["error"];
    assert!(
        err["message"].as_str().unwrap().starts_with("insufficient funds for gas * price + value"),
        "{err}"
    );

    seal(&node, &producer);
    seal(&node, &producer);
    let err =
        &call(rpc, "eth_sendRawTransaction", json!([transfer(alice, 0, bob, 2)])).await["error"];
    assert!(err["message"].as_str().unwrap().starts_with("nonce too low"), "{err}");

    let wrong_chain = TxLegacy {
        chain_id: Some(1),
        nonce: 1,
        gas_price: 2 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(bob),
        value: U256::ZERO,
        input: Bytes::new(),
    };
    let raw: Bytes = sign_transaction(alice, TypedTransaction::Legacy(wrong_chain))
        .unwrap()
        .encoded_2718()
        .into();
    let err = &call(rpc, "eth_sendRawTransaction", json!([raw])).await["error"];
    assert!(err["message"].as_str().unwrap().starts_with("invalid chain id"), "{err}");

    let err = &call(rpc, "eth_sendRawTransaction", json!(["0xdeadbeef"])).await["error"];
    assert_eq!(err["code"], -32602);
    // A valid transaction followed by anything more is not one transaction.
    let mut trailing = transfer(alice, 1, bob, 3).to_vec();
    trailing.push(0);
    let err = &call(rpc, "eth_sendRawTransaction", json!([Bytes::from(trailing)])).await["error"];
    assert_eq!(err["code"], -32602, "{err}");

    let resp = common::post(rpc, "{not json").await;
    assert_eq!(resp["error"]["code"], -32700);
    let resp = call(rpc, "eth_noSuchMethod", json!([])).await;
    assert_eq!(resp["error"]["code"], -32601);
    node.stop().await.unwrap();
}

/// Init code that reverts with `Error("nope")` while deploying.
fn reverting_initcode() -> Bytes {
    let mut payload = hex!("08c379a0").to_vec();
    payload.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
    payload.extend_from_slice(&U256::from(4).to_be_bytes::<32>());
    let mut text = b"nope".to_vec();
    text.resize(32, 0);
    payload.extend_from_slice(&text);
    payload.resize(128, 0);
    let mut code = Vec::new();
    for (i, chunk) in payload.chunks(32).enumerate() {
        code.push(0x7f); // PUSH32
        code.extend_from_slice(chunk);
        code.extend_from_slice(&[0x60, (i * 32) as u8, 0x52]); // PUSH1 offset, MSTORE
    }
    code.extend_from_slice(&[0x60, 100, 0x60, 0, 0xfd]); // PUSH1 100, PUSH1 0, REVERT
    code.into()
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_report_reverts_with_code_3_and_estimates_gas() {
    let dir = tempfile::tempdir().unwrap();
    let (node, _producer) = start(dir.path()).await;
    let rpc = node.rpc_addr.unwrap();
    let alice = dev_signers(1)[0].address();
    let resp =
        call(rpc, "eth_call", json!([{"from": alice, "data": reverting_initcode()}, "latest"]))
            .await;
    assert_eq!(resp["error"]["code"], 3);
    assert_eq!(resp["error"]["message"], "execution reverted: nope");
    assert!(resp["error"]["data"].as_str().unwrap().starts_with("0x08c379a0"));
    let resp =
        call(rpc, "eth_estimateGas", json!([{"from": alice, "data": reverting_initcode()}])).await;
    assert_eq!(resp["error"]["code"], 3);

    let gas = qty(&result(
        rpc,
        "eth_estimateGas",
        json!([{"from": alice, "to": Address::repeat_byte(1), "value": "0x1"}]),
    )
    .await);
    assert_eq!(gas, 21_000);
    let price = qty(&result(rpc, "eth_gasPrice", json!([])).await);
    assert_eq!(price, 2 * GWEI, "base fee 1 gwei + 1 gwei tip");
    let history = result(rpc, "eth_feeHistory", json!(["0x5", "latest", [25.0, 75.0]])).await;
    assert_eq!(history["oldestBlock"], "0x0");
    assert_eq!(
        history["baseFeePerGas"].as_array().unwrap().len(),
        2,
        "clamped to the chain length + next"
    );
    let resp = call(rpc, "eth_feeHistory", json!(["0x5", "latest", [75.0, 25.0]])).await;
    assert_eq!(resp["error"]["code"], -32602);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_node_continues_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = dev_signers(10);
    let bob = accounts[9].address();
    let (root, number) = {
        let (node, producer) = start(dir.path()).await;
        let rpc = node.rpc_addr.unwrap();
        for nonce in 0..3 {
            result(rpc, "eth_sendRawTransaction", json!([transfer(&accounts[0], nonce, bob, ETH)]))
                .await;
        }
        for _ in 0..3 {
            seal(&node, &producer);
        }
        let block = result(rpc, "eth_getBlockByNumber", json!(["latest", false])).await;
        node.stop().await.unwrap();
        (block["stateRoot"].clone(), block["number"].clone())
    };
    let (node, producer) = start(dir.path()).await;
    let rpc = node.rpc_addr.unwrap();
    let block = result(rpc, "eth_getBlockByNumber", json!(["latest", false])).await;
    assert_eq!(block["number"], number);
    assert_eq!(block["stateRoot"], root);
    assert_eq!(qty(&result(rpc, "eth_getBalance", json!([bob, "latest"])).await), 10_003 * ETH);
    seal(&node, &producer);
    assert_eq!(qty(&result(rpc, "eth_blockNumber", json!([])).await), qty(&number) + 1);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_blocks_transactions_and_rpc_calls() {
    let dir = tempfile::tempdir().unwrap();
    let (node, producer) = start(dir.path()).await;
    let rpc = node.rpc_addr.unwrap();
    let alice = &dev_signers(1)[0];
    result(rpc, "eth_sendRawTransaction", json!([transfer(alice, 0, Address::repeat_byte(1), 1)]))
        .await;
    seal(&node, &producer);
    seal(&node, &producer);
    result(rpc, "eth_blockNumber", json!([])).await;
    let (_, text) = common::http_get(node.metrics_addr.unwrap(), "/metrics").await;
    assert!(text.contains("lattice_blocks_produced_total 2"), "{text}");
    // Its own blocks are produced, not imported; both are applied to the chain.
    assert!(text.contains("lattice_blocks_imported_total 0"), "{text}");
    assert!(text.contains("lattice_chain_blocks_applied_total 2"), "{text}");
    assert!(text.contains("lattice_transactions_executed_total 1"), "{text}");
    assert!(text.contains("lattice_chain_height 2"), "{text}");
    assert!(
        text.contains(r#"lattice_rpc_calls_total{method="eth_blockNumber",outcome="ok"} 1"#),
        "{text}"
    );
    assert!(text.contains("lattice_state_root_seconds_count 2"), "{text}");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_eip7702_transaction_delegates_an_accounts_code() {
    use alloy_consensus::TxEip7702;
    use alloy_eips::eip7702::Authorization;
    use alloy_signer::SignerSync;
    let dir = tempfile::tempdir().unwrap();
    let (node, producer) = start(dir.path()).await;
    let rpc = node.rpc_addr.unwrap();
    let accounts = dev_signers(4);
    let (sender, delegator) = (&accounts[2], &accounts[3]);
    let target = lattice_primitives::CREATE2_DEPLOYER;
    let auth = Authorization { chain_id: U256::from(1337), address: target, nonce: 0 };
    let signature = delegator.sign_hash_sync(&auth.signature_hash()).unwrap();
    let tx = TxEip7702 {
        chain_id: 1337,
        nonce: 0,
        gas_limit: 100_000,
        max_fee_per_gas: 3 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: Address::repeat_byte(0x42),
        value: U256::ZERO,
        access_list: Default::default(),
        authorization_list: vec![auth.into_signed(signature)],
        input: Bytes::new(),
    };
    let raw: Bytes =
        sign_transaction(sender, TypedTransaction::Eip7702(tx)).unwrap().encoded_2718().into();
    let hash = result(rpc, "eth_sendRawTransaction", json!([raw])).await;
    seal(&node, &producer);
    seal(&node, &producer);
    let receipt = result(rpc, "eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["type"], "0x4");
    let code = result(rpc, "eth_getCode", json!([delegator.address(), "latest"])).await;
    let expected = format!("0xef0100{}", alloy_primitives::hex::encode(target));
    assert_eq!(
        code.as_str().unwrap().to_lowercase(),
        expected.to_lowercase(),
        "delegation designator"
    );
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_skipped_for_what_may_change_stays_pooled() {
    use lattice_node::chain::{AppliedBlock, ChainUpdate};
    use lattice_primitives::{AcceptanceEntry, SkipReason};
    let dir = tempfile::tempdir().unwrap();
    let (handle, _producer) = start(dir.path()).await;
    let node = &handle.node;
    let s = dev_signers(3);
    let head = node.chain.head();
    // One transaction per skip reason, each pooled and carried (packed).
    let cases = [
        (SkipReason::FeeCapTooLow, true),
        (SkipReason::InsufficientFunds, true),
        (SkipReason::NonceTooHigh, true),
        (SkipReason::Invalid, false),
    ];
    let mut entries = Vec::new();
    for (i, (reason, _)) in cases.iter().enumerate() {
        let signer = &s[i % 3];
        let nonce = (i / 3) as u64;
        let tx = common::transfer(signer, nonce, Address::repeat_byte(9), 1);
        let hash = node.add_to_pool(tx).unwrap();
        node.pool.mark_packed(&[hash]);
        entries.push(AcceptanceEntry {
            tx_hash: hash,
            carrier: head.hash,
            carrier_index: i as u64,
            skip: *reason as u8,
        });
    }
    let applied = AppliedBlock {
        number: head.number,
        hash: head.hash,
        header: head.header,
        gas_used: 0,
        entries: entries.clone(),
        receipts: Vec::new(),
    };
    node.on_chain_update(&ChainUpdate::added(applied));
    let offered: Vec<_> =
        node.pool.best(u64::MAX, 0, |_| 0, |_| Some(0)).iter().map(|t| t.hash).collect();
    for ((reason, stays), entry) in cases.iter().zip(&entries) {
        assert_eq!(node.pool.contains(&entry.tx_hash), *stays, "{reason} skip: pooled?");
        assert_eq!(offered.contains(&entry.tx_hash), *stays, "{reason} skip: offered again?");
    }
}

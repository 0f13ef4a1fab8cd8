//! The RPC methods beyond MetaMask's set: node-side signing with the dev accounts, the pool's
//! view, transactions by block and index.

mod common;

use alloy_primitives::{b256, eip191_hash_message, Address, Bytes, Signature, B256, U256};
use common::{call, qty, result};
use lattice_node::{launch, produce_one, NodeConfig, NodeHandle, ProducerConfig};
use lattice_primitives::dev_signers;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

async fn start(dir: &Path, dev_accounts: bool) -> (NodeHandle, ProducerConfig) {
    let mut config =
        NodeConfig::dev(dir.to_path_buf(), "127.0.0.1:0".parse().unwrap(), Duration::from_secs(1));
    if !dev_accounts {
        config.dev_accounts.clear();
    }
    let producer = config.producer.take().unwrap();
    (launch(config).await.unwrap(), producer)
}

fn recover(signature: &Value, hash: B256) -> Address {
    let bytes: Bytes = serde_json::from_value(signature.clone()).unwrap();
    assert_eq!(bytes.len(), 65);
    assert!(bytes[64] == 27 || bytes[64] == 28, "v is 27 or 28");
    Signature::try_from(bytes.as_ref()).unwrap().recover_address_from_prehash(&hash).unwrap()
}

/// EIP-712's own example, whose signing hash the EIP gives.
fn mail() -> Value {
    json!({
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}
            ],
            "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
            "Mail": [
                {"name": "from", "type": "Person"}, {"name": "to", "type": "Person"},
                {"name": "contents", "type": "string"}
            ]
        },
        "primaryType": "Mail",
        "domain": {
            "name": "Ether Mail", "version": "1", "chainId": 1,
            "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"
        },
        "message": {
            "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
            "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
            "contents": "Hello, Bob!"
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_accounts_sign_messages_typed_data_and_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let (node, producer) = start(dir.path(), true).await;
    let rpc = node.rpc_addr.unwrap();
    let accounts = dev_signers(10);
    let (alice, bob) = (accounts[0].address(), accounts[9].address());
    assert_eq!(result(rpc, "eth_accounts", json!([])).await.as_array().unwrap().len(), 10);

    let message = Bytes::from_static(b"hello lattice");
    let signed = result(rpc, "eth_sign", json!([alice, message])).await;
    assert_eq!(recover(&signed, eip191_hash_message(&message)), alice);
    let personal = result(rpc, "personal_sign", json!([message, alice])).await;
    assert_eq!(personal, signed, "personal_sign takes the same arguments the other way round");

    let mail_hash = b256!("be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");
    let typed = result(rpc, "eth_signTypedData_v4", json!([alice, mail()])).await;
    assert_eq!(recover(&typed, mail_hash), alice);
    let as_string = result(rpc, "eth_signTypedData_v4", json!([alice, mail().to_string()])).await;
    assert_eq!(as_string, typed, "MetaMask sends the typed data as a JSON string");
    let bad = call(rpc, "eth_signTypedData_v4", json!([alice, {"types": {}}])).await;
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    let stranger = call(rpc, "eth_sign", json!([Address::repeat_byte(7), message])).await;
    assert!(stranger["error"]["message"].as_str().unwrap().starts_with("unknown account"));

    // eth_sendTransaction fills nonce, fees and gas.
    let hash =
        result(rpc, "eth_sendTransaction", json!([{"from": alice, "to": bob, "value": "0x10"}]))
            .await;
    let pooled = result(rpc, "eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(pooled["type"], "0x2");
    assert_eq!(qty(&pooled["gas"]), 21_000);
    assert_eq!(pooled["nonce"], "0x0");
    let raw = result(
        rpc,
        "eth_signTransaction",
        json!([{"from": alice, "to": bob, "nonce": "0x1", "gasPrice": "0x77359400"}]),
    )
    .await;
    assert!(raw.as_str().unwrap().len() > 100);
    produce_one(&node.node, &producer).unwrap();
    produce_one(&node.node, &producer).unwrap();
    let receipt = result(rpc, "eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["from"], json!(alice));

    // Transactions by block and index.
    let number = receipt["blockNumber"].clone();
    let by_number =
        result(rpc, "eth_getTransactionByBlockNumberAndIndex", json!([number, "0x0"])).await;
    let by_hash =
        result(rpc, "eth_getTransactionByBlockHashAndIndex", json!([receipt["blockHash"], "0x0"]))
            .await;
    let by_tx = result(rpc, "eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(by_number, by_tx);
    assert_eq!(by_hash, by_tx);
    assert!(result(rpc, "eth_getTransactionByBlockNumberAndIndex", json!([number, "0x5"]))
        .await
        .is_null());
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_dev_no_account_is_unlocked() {
    let dir = tempfile::tempdir().unwrap();
    let (node, _) = start(dir.path(), false).await;
    let rpc = node.rpc_addr.unwrap();
    assert_eq!(result(rpc, "eth_accounts", json!([])).await, json!([]));
    let alice = dev_signers(1)[0].address();
    for (method, params) in [
        ("eth_sendTransaction", json!([{"from": alice, "to": alice}])),
        ("eth_sign", json!([alice, "0x00"])),
        ("personal_sign", json!(["0x00", alice])),
        ("eth_signTypedData_v4", json!([alice, mail()])),
    ] {
        let resp = call(rpc, method, params).await;
        let message = resp["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("no accounts are unlocked"), "{method}: {resp}");
    }
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_reports_pending_and_queued_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let (node, _) = start(dir.path(), true).await;
    let rpc = node.rpc_addr.unwrap();
    let signer = &dev_signers(3)[2];
    let to = Address::repeat_byte(0x42);
    for nonce in [0u64, 1, 5] {
        let raw = common::raw(&common::transfer(signer, nonce, to, 7));
        result(rpc, "eth_sendRawTransaction", json!([raw])).await;
    }
    assert_eq!(
        result(rpc, "txpool_status", json!([])).await,
        json!({"pending": "0x2", "queued": "0x1"})
    );
    let content = result(rpc, "txpool_content", json!([])).await;
    let sender = signer.address().to_checksum(None);
    assert_eq!(content["pending"][&sender]["0"]["nonce"], "0x0");
    assert_eq!(content["pending"][&sender]["1"]["nonce"], "0x1");
    assert_eq!(content["queued"][&sender]["5"]["nonce"], "0x5");
    assert_eq!(content["queued"][&sender]["5"]["from"], json!(signer.address()));
    let inspect = result(rpc, "txpool_inspect", json!([])).await;
    assert_eq!(
        inspect["pending"][&sender]["0"],
        format!("{}: 7 wei + 21000 gas × 3000000000 wei", to.to_checksum(None))
    );
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn traces_and_access_lists() {
    let dir = tempfile::tempdir().unwrap();
    let (node, producer) = start(dir.path(), true).await;
    let rpc = node.rpc_addr.unwrap();
    let alice = dev_signers(1)[0].address();
    let seal = || produce_one(&node.node, &producer).unwrap();

    // A contract that reads its slot 0 and another account's balance.
    let other = Address::repeat_byte(0x77);
    let mut runtime = vec![0x60, 0x00, 0x54, 0x50, 0x73];
    runtime.extend_from_slice(other.as_slice());
    runtime.extend_from_slice(&[0x31, 0x50, 0x00]);
    let deploy = result(
        rpc,
        "eth_sendTransaction",
        json!([{"from": alice, "data": common::deploy_code(&runtime)}]),
    )
    .await;
    let emit = result(rpc, "eth_sendTransaction", json!([{"from": alice, "data": common::deploy_code(&common::emitter_runtime()), "nonce": "0x1", "gas": "0x30000"}])).await;
    seal();
    seal();
    let reader =
        result(rpc, "eth_getTransactionReceipt", json!([deploy])).await["contractAddress"].clone();
    let emitter =
        result(rpc, "eth_getTransactionReceipt", json!([emit])).await["contractAddress"].clone();

    // eth_createAccessList lists the other account and the slot, not the sender or callee.
    let list = result(rpc, "eth_createAccessList", json!([{"from": alice, "to": reader}])).await;
    assert_eq!(
        list["accessList"],
        json!([
            {"address": reader, "storageKeys": [B256::ZERO]},
            {"address": other, "storageKeys": []}
        ])
        .as_array()
        .map(|items| {
            let mut items = items.clone();
            items.sort_by_key(|i| i["address"].as_str().unwrap().to_lowercase());
            Value::Array(items)
        })
        .unwrap(),
    );
    assert!(qty(&list["gasUsed"]) > 21_000);
    assert!(list.get("error").is_none());

    // An emitting call, sent and traced.
    let mut input = B256::with_last_byte(5).to_vec();
    input.extend_from_slice(B256::with_last_byte(6).as_slice());
    let input = Bytes::from(input);
    let sent =
        result(rpc, "eth_sendTransaction", json!([{"from": alice, "to": emitter, "data": input}]))
            .await;
    seal();
    seal();
    let receipt = result(rpc, "eth_getTransactionReceipt", json!([sent])).await;
    assert_eq!(receipt["status"], "0x1");

    let structs = result(rpc, "debug_traceTransaction", json!([sent])).await;
    assert_eq!(structs["failed"], false);
    assert_eq!(u128::from(structs["gas"].as_u64().unwrap()), qty(&receipt["gasUsed"]));
    let ops: Vec<&str> = structs["structLogs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops.first(), Some(&"PUSH1"));
    assert!(ops.contains(&"LOG2"));
    assert_eq!(ops.last(), Some(&"STOP"));

    let calls = result(
        rpc,
        "debug_traceTransaction",
        json!([sent, {"tracer": "callTracer", "tracerConfig": {"withLog": true}}]),
    )
    .await;
    assert_eq!(calls["type"], "CALL");
    assert_eq!(calls["from"].as_str().unwrap().to_lowercase(), alice.to_string().to_lowercase());
    assert_eq!(calls["to"], emitter);
    assert_eq!(calls["input"], json!(input));
    assert_eq!(calls["logs"][0]["topics"][1], json!(B256::with_last_byte(5)));

    let traced_call = result(
        rpc,
        "debug_traceCall",
        json!([{"from": alice, "to": emitter, "data": input}, "latest", {"tracer": "callTracer"}]),
    )
    .await;
    assert_eq!(traced_call["type"], "CALL");
    assert_eq!(traced_call["to"], emitter);
    let missing = call(rpc, "debug_traceTransaction", json!([B256::repeat_byte(3)])).await;
    assert!(missing["error"]["message"].as_str().unwrap().contains("not found"), "{missing}");
    let bad = call(rpc, "debug_traceTransaction", json!([sent, {"tracer": "noSuchTracer"}])).await;
    assert!(bad.get("error").is_some(), "{bad}");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn proofs_verify_against_the_state_root() {
    use alloy_trie::{proof::verify_proof, Nibbles, TrieAccount};
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        NodeConfig::dev(dir.path().into(), "127.0.0.1:0".parse().unwrap(), Duration::from_secs(1));
    config.rpc.proof_window = 1;
    let producer = config.producer.take().unwrap();
    let node = launch(config).await.unwrap();
    let rpc = node.rpc_addr.unwrap();
    let alice = dev_signers(1)[0].address();
    // Init code that stores 42 at slot 1 and 7 at slot 2, and deploys no code.
    let init =
        Bytes::from_static(&[0x60, 0x2a, 0x60, 0x01, 0x55, 0x60, 0x07, 0x60, 0x02, 0x55, 0x00]);
    let hash = result(rpc, "eth_sendTransaction", json!([{"from": alice, "data": init}])).await;
    produce_one(&node.node, &producer).unwrap();
    produce_one(&node.node, &producer).unwrap();
    let receipt = result(rpc, "eth_getTransactionReceipt", json!([hash])).await;
    let contract: Address = serde_json::from_value(receipt["contractAddress"].clone()).unwrap();
    let latest = result(rpc, "eth_getBlockByNumber", json!(["latest", false])).await;
    let state_root: B256 = serde_json::from_value(latest["stateRoot"].clone()).unwrap();

    let slot = |n: u8| B256::with_last_byte(n);
    let proof =
        result(rpc, "eth_getProof", json!([contract, [slot(1), slot(2), slot(3)], "latest"])).await;
    let parse = |v: &Value| -> Vec<Bytes> { serde_json::from_value(v.clone()).unwrap() };
    let account = TrieAccount {
        nonce: qty(&proof["nonce"]) as u64,
        balance: U256::from(qty(&proof["balance"])),
        storage_root: serde_json::from_value(proof["storageHash"].clone()).unwrap(),
        code_hash: serde_json::from_value(proof["codeHash"].clone()).unwrap(),
    };
    assert_eq!(account.nonce, 1);
    let key = Nibbles::unpack(alloy_primitives::keccak256(contract));
    verify_proof(
        state_root,
        key,
        Some(alloy_rlp::encode(account)),
        parse(&proof["accountProof"]).iter(),
    )
    .expect("the account proof verifies against the block's state root");
    let values = [42u64, 7, 0];
    for (i, item) in proof["storageProof"].as_array().unwrap().iter().enumerate() {
        assert_eq!(qty(&item["value"]), values[i] as u128);
        let expected = (values[i] != 0).then(|| alloy_rlp::encode(U256::from(values[i])));
        let key = Nibbles::unpack(alloy_primitives::keccak256(slot(i as u8 + 1)));
        verify_proof(account.storage_root, key, expected, parse(&item["proof"]).iter())
            .unwrap_or_else(|e| panic!("slot {}: {e}", i + 1));
    }
    // An absent account is proven absent.
    let nobody = Address::repeat_byte(0x99);
    let absent = result(rpc, "eth_getProof", json!([nobody, [], "latest"])).await;
    assert_eq!(absent["balance"], "0x0");
    let key = Nibbles::unpack(alloy_primitives::keccak256(nobody));
    verify_proof(state_root, key, None, parse(&absent["accountProof"]).iter())
        .expect("absence proof");
    // Block 1 carried the deployment, which block 2 executed: at block 1 the contract is
    // proven absent, against block 1's state root.
    let block1 = result(rpc, "eth_getBlockByNumber", json!(["0x1", false])).await;
    let root1: B256 = serde_json::from_value(block1["stateRoot"].clone()).unwrap();
    assert_ne!(root1, state_root);
    let before = result(rpc, "eth_getProof", json!([contract, [slot(1)], "0x1"])).await;
    assert_eq!(before["nonce"], "0x0");
    assert_eq!(before["storageProof"][0]["value"], "0x0");
    let key = Nibbles::unpack(alloy_primitives::keccak256(contract));
    verify_proof(root1, key, None, parse(&before["accountProof"]).iter())
        .expect("the contract is proven absent at block 1");
    // Older than the window (1 block here): a clear error.
    let old = call(rpc, "eth_getProof", json!([contract, [], "0x0"])).await;
    let message = old["error"]["message"].as_str().unwrap();
    assert!(message.contains("--rpc-proof-window"), "{old}");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_and_body_limits_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let args = lattice_node::cli::NodeArgs {
        dev: true,
        data_dir: Some(dir.path().to_path_buf()),
        rpc_addr: Some("127.0.0.1:0".parse().unwrap()),
        rpc_max_batch: Some(2),
        rpc_max_request_bytes: Some(1_000),
        no_produce: true,
        ..Default::default()
    };
    let node = launch(NodeConfig::from_args(args).unwrap()).await.unwrap();
    let rpc = node.rpc_addr.unwrap();
    let one = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
    let ok = common::post(rpc, &json!([one, one]).to_string()).await;
    assert_eq!(ok.as_array().unwrap().len(), 2);
    let over = common::post(rpc, &json!([one, one, one]).to_string()).await;
    assert_eq!(over["error"]["code"], -32010, "a batch of 3 over a limit of 2: {over}");
    assert_eq!(over["error"]["data"], "Exceeded max limit of 2");
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "web3_sha3", "params": [format!("0x{}", "ab".repeat(600))]});
    let too_big = common::post(rpc, &big.to_string()).await;
    assert_eq!(too_big["error"]["code"], -32007, "{too_big}");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn dag_get_block_reports_skipped_transactions_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (node, producer) = start(dir.path(), false).await;
    let rpc = node.rpc_addr.unwrap();
    let sender = &dev_signers(6)[5];
    // Nonce 1 while the sender is at 0: the block carries it, its acceptance skips it.
    let gapped = common::transfer(sender, 1, Address::repeat_byte(0xb0), 1);
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
            as u64;
    let carrier = node
        .node
        .chain
        .produce(&producer.signer, producer.coinbase, vec![gapped.clone()], now)
        .unwrap()
        .block;
    tokio::time::sleep(Duration::from_millis(100)).await; // the producer's minimum interval
    let accepting = produce_one(&node.node, &producer).unwrap();
    let view = result(rpc, "dag_getBlock", json!([accepting.hash()])).await;
    let entries = view["acceptance"].as_array().expect("a chain block lists its acceptance");
    let entry = entries
        .iter()
        .find(|e| e["txHash"] == json!(gapped.tx_hash()))
        .unwrap_or_else(|| panic!("the carried transaction is listed: {view}"));
    assert_eq!(entry["status"], "skipped");
    assert_eq!(entry["reason"], "nonce too high");
    assert_eq!(entry["carrier"], json!(carrier.hash()));
    let carried = result(rpc, "dag_getBlock", json!([carrier.hash()])).await;
    assert_eq!(carried["transactions"], json!([gapped.tx_hash()]));
    let receipt = result(rpc, "eth_getTransactionReceipt", json!([gapped.tx_hash()])).await;
    assert!(receipt.is_null(), "a skipped transaction has no receipt");
    node.stop().await.unwrap();
}

/// Runtime that loops until it runs out of gas: JUMPDEST PUSH1 0 JUMP.
const LOOP_RUNTIME: [u8; 4] = [0x5b, 0x60, 0x00, 0x56];

#[tokio::test(flavor = "multi_thread")]
async fn calls_traces_and_queries_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let args = lattice_node::cli::NodeArgs {
        dev: true,
        data_dir: Some(dir.path().to_path_buf()),
        rpc_addr: Some("127.0.0.1:0".parse().unwrap()),
        rpc_evm_timeout: Some(Duration::from_millis(50)),
        rpc_trace_max_steps: Some(1_000),
        ..Default::default()
    };
    let mut config = NodeConfig::from_args(args).unwrap();
    let producer = config.producer.take().unwrap();
    let node = launch(config).await.unwrap();
    let rpc = node.rpc_addr.unwrap();
    let deploy = common::eip1559(
        &dev_signers(4)[3],
        0,
        alloy_primitives::TxKind::Create,
        U256::ZERO,
        200_000,
        common::deploy_code(&LOOP_RUNTIME),
    );
    result(rpc, "eth_sendRawTransaction", json!([common::raw(&deploy)])).await;
    produce_one(&node.node, &producer).unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    produce_one(&node.node, &producer).unwrap();
    let receipt = result(rpc, "eth_getTransactionReceipt", json!([deploy.tx_hash()])).await;
    let looper = receipt["contractAddress"].clone();

    // A maximum-gas loop is stopped by the deadline, not left to burn 50M gas.
    let spin = json!({"to": looper, "gas": "0x2faf080"});
    for method in ["eth_call", "eth_estimateGas"] {
        let stopped = call(rpc, method, json!([spin, "latest"])).await;
        assert_eq!(stopped["error"]["code"], -32000, "{stopped}");
        assert_eq!(stopped["error"]["message"], "execution aborted: execution timeout");
    }
    // A struct-logger trace stops at its step budget; another tracer is not limited by it.
    let small = json!({"to": looper, "gas": "0x186a0"});
    let traced = call(rpc, "debug_traceCall", json!([small, "latest", {}])).await;
    assert_eq!(
        traced["error"]["message"], "execution aborted: execution step budget exhausted",
        "{traced}"
    );
    let calls =
        result(rpc, "debug_traceCall", json!([small, "latest", {"tracer": "callTracer"}])).await;
    assert_eq!(calls["error"], "out of gas");

    // Requests over the query limits are refused with what the limit is.
    let percentiles: Vec<u32> = (0..101).collect();
    let history = call(rpc, "eth_feeHistory", json!(["0x4", "latest", percentiles])).await;
    assert_eq!(history["error"]["code"], -32602);
    assert!(history["error"]["message"].as_str().unwrap().contains("at most 100"), "{history}");
    let addresses: Vec<Address> =
        (0..1_001u32).map(|i| Address::left_padding_from(&i.to_be_bytes())).collect();
    let logs = call(rpc, "eth_getLogs", json!([{"fromBlock": "0x0", "address": addresses}])).await;
    assert!(logs["error"]["message"].as_str().unwrap().contains("at most 1000"), "{logs}");
    let filter = call(rpc, "eth_newFilter", json!([{"address": addresses}])).await;
    assert_eq!(filter["error"]["code"], -32602, "{filter}");
    node.stop().await.unwrap();
}

/// Outside `--dev`: only the default namespaces, and no CORS headers unless asked for.
#[tokio::test(flavor = "multi_thread")]
async fn outside_dev_debug_and_admin_are_off_and_cors_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let start = |apis: Option<Vec<String>>, cors: Option<Vec<String>>, sub: &str| {
        lattice_node::cli::NodeArgs {
            data_dir: Some(dir.path().join(sub)),
            rpc_addr: Some("127.0.0.1:0".parse().unwrap()),
            p2p_addr: Some("127.0.0.1:0".into()),
            bootstrap: true,
            rpc_api: apis,
            rpc_cors: cors,
            ..Default::default()
        }
    };
    let node = launch(NodeConfig::from_args(start(None, None, "a")).unwrap()).await.unwrap();
    let rpc = node.rpc_addr.unwrap();
    assert_eq!(result(rpc, "eth_chainId", json!([])).await, "0x539");
    for method in ["debug_traceCall", "admin_nodeInfo", "personal_sign"] {
        let off = call(rpc, method, json!([])).await;
        assert_eq!(off["error"]["code"], -32601, "{method} is not served: {off}");
    }
    let preflight = format!(
        "OPTIONS / HTTP/1.1\r\nHost: {rpc}\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n"
    );
    let headers = raw_http(rpc, &preflight).await.to_lowercase();
    assert!(!headers.contains("access-control-allow-origin"), "{headers}");
    // DNS rebinding: a page under another name that resolves to 127.0.0.1 is refused.
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    let rebound = format!(
        "POST / HTTP/1.1\r\nHost: evil.example:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        rpc.port(),
        body.len()
    );
    assert!(raw_http(rpc, &rebound).await.starts_with("HTTP/1.1 403"), "Host is checked");
    // A browser page's WebSocket (it sends Origin) is refused; a library's (no Origin) is not.
    let upgrade = |origin: &str| {
        format!(
            "GET / HTTP/1.1\r\nHost: {rpc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{origin}\r\n"
        )
    };
    let page = raw_http_head(rpc, &upgrade("Origin: https://evil.example\r\n")).await;
    assert!(page.starts_with("HTTP/1.1 403"), "{page}");
    let library = raw_http_head(rpc, &upgrade("")).await;
    assert!(library.starts_with("HTTP/1.1 101"), "{library}");
    node.stop().await.unwrap();

    let apis = Some(vec!["eth".into(), "admin".into()]);
    let cors = Some(vec!["https://dapp.example".into()]);
    let node = launch(NodeConfig::from_args(start(apis, cors, "b")).unwrap()).await.unwrap();
    let rpc = node.rpc_addr.unwrap();
    assert!(result(rpc, "admin_nodeInfo", json!([])).await["peerId"].is_string());
    assert_eq!(call(rpc, "net_version", json!([])).await["error"]["code"], -32601);
    let preflight = preflight.replace("https://evil.example", "https://dapp.example");
    let headers = raw_http(rpc, &preflight).await.to_lowercase();
    assert!(headers.contains("access-control-allow-origin: https://dapp.example"), "{headers}");
    node.stop().await.unwrap();

    let unknown = start(Some(vec!["eth".into(), "nope".into()]), None, "c");
    let err = NodeConfig::from_args(unknown).unwrap_err().to_string();
    assert!(err.contains("unknown RPC API `nope`"), "{err}");
}

async fn raw_http(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    String::from_utf8_lossy(&raw).to_string()
}

/// The first response line and headers of `request` (for upgrades that keep the connection).
async fn raw_http_head(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).to_string()
}

/// One HTTP/1.1 connection kept alive across requests.
struct KeepAlive {
    stream: tokio::net::TcpStream,
    addr: std::net::SocketAddr,
}

impl KeepAlive {
    async fn post(&mut self, body: &str) -> Value {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        self.stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            self.stream.read_exact(&mut byte).await.unwrap();
            raw.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&raw).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().unwrap())
            .expect("a content length");
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_connection_cannot_take_every_filter() {
    let dir = tempfile::tempdir().unwrap();
    let (node, _) = start(dir.path(), false).await;
    let rpc = node.rpc_addr.unwrap();
    let stream = tokio::net::TcpStream::connect(rpc).await.unwrap();
    let mut conn = KeepAlive { stream, addr: rpc };
    let filter = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_newBlockFilter", "params": []});
    let per = lattice_rpc::filters::MAX_FILTERS_PER_CONNECTION;
    for _ in 0..per / 100 {
        let batch = Value::Array(vec![filter.clone(); 100]);
        let answers = conn.post(&batch.to_string()).await;
        assert!(answers.as_array().unwrap().iter().all(|a| a["result"].is_string()), "{answers}");
    }
    let over = conn.post(&filter.to_string()).await;
    assert_eq!(over["error"]["code"], -32005, "{over}");
    assert!(over["error"]["message"].as_str().unwrap().contains("by this connection"), "{over}");
    // Another connection is not held back by this one.
    let other = result(rpc, "eth_newBlockFilter", json!([])).await;
    assert!(other.as_str().unwrap().starts_with("0x"));
    node.stop().await.unwrap();
}

/// A batch made only of `eth_sendRawTransaction` takes the batch path (one blocking hop,
/// senders recovered on all cores): every call is answered as the one-by-one path answers it,
/// in order, with bad entries refused alone.
#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_raw_transactions_answers_each_call_as_one_by_one() {
    let (batch_dir, single_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (batch_node, _) = start(batch_dir.path(), false).await;
    let (single_node, _) = start(single_dir.path(), false).await;
    let signers = dev_signers(3);
    let (a, b) = (&signers[1], &signers[2]);
    let to = Address::repeat_byte(0xb7);
    let hex = |bytes: &[u8]| format!("0x{}", alloy_primitives::hex::encode(bytes));
    // More than two recovery threads' worth, then every kind of refusal among them.
    let mut params: Vec<Value> =
        (0..150).map(|n| json!([hex(&common::raw(&common::transfer(a, n, to, 1)))])).collect();
    let mut trailing = common::raw(&common::transfer(b, 0, to, 1)).to_vec();
    trailing.push(0);
    let mut forged = common::raw(&common::transfer(b, 1, to, 1)).to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 0x01;
    params.extend([
        json!(["0xzz"]),
        json!([]),
        params[0].clone(),
        json!([hex(&trailing)]),
        json!([hex(&forged)]),
        json!([hex(&common::raw(&common::transfer(b, 5, to, 1)))]),
        json!([hex(&common::raw(&common::transfer(b, 0, to, 1)))]),
        json!([hex(&common::raw(&common::transfer(a, 0, to, 2)))]),
    ]);
    let calls: Vec<Value> = params
        .iter()
        .enumerate()
        .map(|(id, p)| json!({"jsonrpc": "2.0", "id": id, "method": "eth_sendRawTransaction", "params": p}))
        .collect();

    let batch =
        common::post(batch_node.rpc_addr.unwrap(), &Value::Array(calls.clone()).to_string()).await;
    let batch = batch.as_array().expect("a batch answer").clone();
    assert_eq!(batch.len(), calls.len());
    let mut single = Vec::new();
    for call in &calls {
        single.push(common::post(single_node.rpc_addr.unwrap(), &call.to_string()).await);
    }
    for (i, (got, want)) in batch.iter().zip(&single).enumerate() {
        assert_eq!(got, want, "call {i}: the batch answered {got}, one by one {want}");
    }
    // The answers themselves: hashes for the good ones, each refusal its own.
    let errors: Vec<(i64, String)> = batch[150..]
        .iter()
        .filter_map(|r| {
            let e = r.get("error")?;
            Some((e["code"].as_i64().unwrap(), e["message"].as_str().unwrap().to_string()))
        })
        .collect();
    assert_eq!(batch[0]["result"], json!(common::transfer(a, 0, to, 1).tx_hash()));
    assert_eq!(errors.len(), 6, "{errors:?}");
    assert!(errors[0].0 == -32602 && errors[1].0 == -32602, "{errors:?}");
    assert!(errors[2].1.contains("already known"), "{errors:?}");
    assert!(errors[3].1.contains("invalid transaction"), "{errors:?}");
    assert!(errors[5].1.contains("replacement"), "{errors:?}");
    let status = result(batch_node.rpc_addr.unwrap(), "txpool_status", json!([])).await;
    assert_eq!(qty(&status["pending"]), 151, "{status}");
    assert_eq!(qty(&status["queued"]), 1, "{status}");
    batch_node.stop().await.unwrap();
    single_node.stop().await.unwrap();
}

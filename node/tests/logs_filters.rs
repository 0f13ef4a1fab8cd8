//! Logs over RPC: `eth_getLogs` served from the log index (ranges, hashes, address and topic
//! filters, limits), polled filters, and a reorg that takes logs away (`removed: true`) and
//! brings them back when the old branch is merged.

mod common;

use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use common::{call, result};
use lattice_node::chain::Chain;
use lattice_node::{launch, produce_one, NodeConfig};
use lattice_primitives::dev_signers;
use lattice_storage::Db;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TOPIC0: B256 = common::EMITTER_TOPIC0;

fn emitter_initcode() -> Bytes {
    common::deploy_code(&common::emitter_runtime())
}

fn tx(signer: &PrivateKeySigner, nonce: u64, to: TxKind, input: Bytes) -> Bytes {
    common::raw(&common::eip1559(signer, nonce, to, U256::ZERO, 200_000, input))
}

fn emit_input(topic1: u8, data: u8) -> Bytes {
    let mut input = B256::with_last_byte(topic1).to_vec();
    input.extend_from_slice(B256::with_last_byte(data).as_slice());
    input.into()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Filters are fed asynchronously (as geth's are): collect a filter's changes until `want`
/// items arrived, waiting at most 10 s.
async fn changes_until(rpc: std::net::SocketAddr, id: &Value, want: usize) -> Value {
    Value::Array(common::filter_changes_until(rpc, id, want, Duration::from_secs(10)).await)
}

fn topics1(logs: &Value) -> Vec<u8> {
    logs.as_array()
        .unwrap()
        .iter()
        .map(|l| u8::from_str_radix(&l["topics"][1].as_str().unwrap()[64..], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_are_indexed_filtered_limited_and_follow_reorgs() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = NodeConfig::dev(
        dir.path().join("a"),
        "127.0.0.1:0".parse().unwrap(),
        Duration::from_secs(1),
    );
    config.rpc.log_limits.max_logs = 4;
    config.rpc.log_limits.max_blocks = 8;
    let producer = config.producer.take().unwrap();
    let spec = config.spec.clone();
    let node = launch(config).await.unwrap();
    let rpc = node.rpc_addr.unwrap();
    let seal = || produce_one(&node.node, &producer).unwrap();
    let s = dev_signers(10);

    // Deploy the emitter, then install the filters.
    let deploy = result(
        rpc,
        "eth_sendRawTransaction",
        json!([tx(&s[1], 0, TxKind::Create, emitter_initcode())]),
    )
    .await;
    seal();
    seal();
    let receipt = result(rpc, "eth_getTransactionReceipt", json!([deploy])).await;
    let emitter: Address = serde_json::from_value(receipt["contractAddress"].clone()).unwrap();
    let log_filter = result(rpc, "eth_newFilter", json!([{"address": emitter}])).await;
    let block_filter = result(rpc, "eth_newBlockFilter", json!([])).await;
    let pending_filter = result(rpc, "eth_newPendingTransactionFilter", json!([])).await;
    assert!(log_filter.as_str().unwrap().starts_with("0x"));

    let mut sent = Vec::new();
    for (i, (t1, data)) in [(1u8, 10u8), (2, 20), (3, 30)].into_iter().enumerate() {
        let raw = tx(&s[1], 1 + i as u64, TxKind::Call(emitter), emit_input(t1, data));
        sent.push(result(rpc, "eth_sendRawTransaction", json!([raw])).await);
    }
    // The pending feed is filled asynchronously, as geth's is: the deploy, pooled just before
    // the filter was made, may still reach it; nothing else may, and every later one must.
    let mut pending: Vec<Value> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !sent.iter().all(|h| pending.contains(h)) && std::time::Instant::now() < deadline {
        let changes = result(rpc, "eth_getFilterChanges", json!([pending_filter])).await;
        pending.extend(changes.as_array().unwrap().iter().cloned());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pending.retain(|h| *h != deploy);
    assert_eq!(json!(pending), json!(sent), "the pending filter sees every pooled transaction");
    seal();
    seal();
    let accepting = result(rpc, "eth_getBlockByNumber", json!(["latest", false])).await;
    let n = accepting["number"].clone();

    // A block's receipts, read in one pass, are the receipts read one transaction at a time.
    let block_receipts = result(rpc, "eth_getBlockReceipts", json!([n])).await;
    let mut one_by_one = Vec::new();
    for hash in &sent {
        one_by_one.push(result(rpc, "eth_getTransactionReceipt", json!([hash])).await);
    }
    assert_eq!(block_receipts, json!(one_by_one), "eth_getBlockReceipts");
    assert_eq!(block_receipts[2]["logs"][0]["logIndex"], "0x2");

    // eth_getLogs: everything, by address, by topic positions with OR and null, by hash.
    let all = result(rpc, "eth_getLogs", json!([{"fromBlock": "0x0"}])).await;
    assert_eq!(topics1(&all), vec![1, 2, 3]);
    let first = &all[0];
    assert_eq!(first["address"], json!(emitter));
    assert_eq!(first["blockNumber"], n);
    assert_eq!(first["blockHash"], accepting["hash"]);
    assert_eq!(first["transactionHash"], sent[0]);
    assert_eq!(first["logIndex"], "0x0");
    assert_eq!(all[2]["logIndex"], "0x2");
    assert_eq!(all[2]["transactionIndex"], "0x2");
    assert_eq!(first["data"], json!(B256::with_last_byte(10)));
    assert_eq!(first["removed"], false);
    let by_address =
        result(rpc, "eth_getLogs", json!([{"fromBlock": "earliest", "address": [emitter]}])).await;
    assert_eq!(by_address, all);
    let or_topics = json!([{"fromBlock": "0x0", "topics": [null, [B256::with_last_byte(1), B256::with_last_byte(3)]]}]);
    assert_eq!(topics1(&result(rpc, "eth_getLogs", or_topics).await), vec![1, 3]);
    let wrong_position = json!([{"fromBlock": "0x0", "topics": [B256::with_last_byte(1)]}]);
    assert_eq!(
        result(rpc, "eth_getLogs", wrong_position).await,
        json!([]),
        "topics are positional"
    );
    let both = json!([{"fromBlock": "0x0", "topics": [TOPIC0, B256::with_last_byte(2)]}]);
    assert_eq!(topics1(&result(rpc, "eth_getLogs", both).await), vec![2]);
    let other = json!([{"fromBlock": "0x0", "address": Address::repeat_byte(9)}]);
    assert_eq!(result(rpc, "eth_getLogs", other).await, json!([]));
    let by_hash = result(rpc, "eth_getLogs", json!([{"blockHash": accepting["hash"]}])).await;
    assert_eq!(by_hash, all);
    let before = json!([{"fromBlock": "0x0", "toBlock": "0x2"}]);
    assert_eq!(result(rpc, "eth_getLogs", before).await, json!([]));
    let future = json!([{"fromBlock": "0x1000"}]);
    assert_eq!(result(rpc, "eth_getLogs", future).await, json!([]));

    // Errors that say what is wrong.
    let reversed = call(rpc, "eth_getLogs", json!([{"fromBlock": "0x3", "toBlock": "0x1"}])).await;
    assert_eq!(reversed["error"]["code"], -32602, "{reversed}");
    let unknown = call(rpc, "eth_getLogs", json!([{"blockHash": B256::repeat_byte(1)}])).await;
    assert!(unknown["error"]["message"].as_str().unwrap().contains("unknown block"), "{unknown}");

    // Polled filters.
    let changes = changes_until(rpc, &log_filter, 3).await;
    assert_eq!(changes, all);
    assert_eq!(
        result(rpc, "eth_getFilterChanges", json!([log_filter])).await,
        json!([]),
        "drained"
    );
    assert_eq!(result(rpc, "eth_getFilterLogs", json!([log_filter])).await, all);
    let blocks = changes_until(rpc, &block_filter, 2).await;
    assert_eq!(blocks.as_array().unwrap().len(), 2);
    assert_eq!(blocks[1], accepting["hash"]);

    // The result limit: two more logs make five, one over the limit of four.
    for (i, t1) in [4u8, 5].into_iter().enumerate() {
        let raw = tx(&s[1], 4 + i as u64, TxKind::Call(emitter), emit_input(t1, 0));
        result(rpc, "eth_sendRawTransaction", json!([raw])).await;
    }
    seal();
    seal();
    let over = call(rpc, "eth_getLogs", json!([{"fromBlock": "0x0"}])).await;
    let message = over["error"]["message"].as_str().unwrap();
    assert_eq!(over["error"]["code"], -32005);
    assert!(
        message.contains("max results 4") && message.contains("retry with the range 0-"),
        "{over}"
    );
    assert_eq!(topics1(&changes_until(rpc, &log_filter, 2).await), vec![4, 5]);

    // A heavier branch that never saw any of this arrives: every log is undone.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Chain::open(
        Arc::new(Db::open(other_dir.path(), &lattice_node::chain::all_tables()).unwrap()),
        spec,
    )
    .unwrap();
    let height = result(rpc, "eth_blockNumber", json!([])).await;
    let height = u64::from_str_radix(&height.as_str().unwrap()[2..], 16).unwrap();
    let start = now_ms() - 5_000;
    let producer_key = &s[0];
    for i in 0..height + 3 {
        let built =
            other.produce(producer_key, producer_key.address(), vec![], start + i * 100).unwrap();
        node.node.import_block(built.block).unwrap();
    }
    let undone = json!([{"fromBlock": "0x1", "toBlock": "0x8"}]);
    assert_eq!(result(rpc, "eth_getLogs", undone).await, json!([]), "the index follows");
    // The range limit counts blocks that exist: the chain is now longer than 8 blocks.
    let too_wide =
        call(rpc, "eth_getLogs", json!([{"fromBlock": "0x0", "toBlock": "0x100"}])).await;
    assert!(
        too_wide["error"]["message"].as_str().unwrap().contains("max block range 8"),
        "{too_wide}"
    );
    let removed = changes_until(rpc, &log_filter, 5).await;
    assert_eq!(topics1(&removed), vec![4, 5, 1, 2, 3], "newest block undone first");
    assert!(removed.as_array().unwrap().iter().all(|l| l["removed"] == true));
    assert!(result(rpc, "eth_getTransactionReceipt", json!([sent[0]])).await.is_null());

    // The next block merges the old branch: the transactions execute again.
    seal();
    let back = changes_until(rpc, &log_filter, 5).await;
    assert_eq!(topics1(&back), vec![1, 2, 3, 4, 5]);
    assert!(back.as_array().unwrap().iter().all(|l| l["removed"] == false));
    let latest = result(rpc, "eth_getBlockByNumber", json!(["latest", false])).await;
    assert_eq!(back[0]["blockHash"], latest["hash"]);
    let three = [1u8, 2, 3].map(B256::with_last_byte);
    let again =
        json!([{"fromBlock": latest["number"], "address": emitter, "topics": [null, three]}]);
    assert_eq!(result(rpc, "eth_getLogs", again).await, json!(back.as_array().unwrap()[..3]));
    // One block alone over the result limit: no smaller range to suggest.
    let alone = call(rpc, "eth_getLogs", json!([{"fromBlock": latest["number"]}])).await;
    assert_eq!(alone["error"]["message"], "query exceeds max results 4", "{alone}");

    // Uninstalled and unknown filters.
    assert_eq!(result(rpc, "eth_uninstallFilter", json!([log_filter])).await, true);
    assert_eq!(result(rpc, "eth_uninstallFilter", json!([log_filter])).await, false);
    let gone = call(rpc, "eth_getFilterChanges", json!([log_filter])).await;
    assert_eq!(gone["error"]["message"], "filter not found");
    node.stop().await.unwrap();
}

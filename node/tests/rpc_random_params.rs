//! Randomised JSON-RPC parameters against a real dev node: every method, thousands of calls
//! with values of every JSON type, hex of every length, block tags, call and filter objects,
//! nested at random, plus malformed bodies and batches. Every answer must be a JSON-RPC
//! response with a result or an error a client can act on: no internal error (-32603), no
//! dropped connection, and the node keeps serving. The seed is printed; set
//! `LATTICE_RPC_FUZZ_SEED` to replay one, `LATTICE_RPC_FUZZ_CALLS` to run longer.
//!
//! (The cargo-fuzz targets in `fuzz/` cover what peers send; this covers RPC parameters
//! through the real server and node, on the stable toolchain.)

mod common;

use common::post;
use lattice_node::{launch, NodeConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use std::time::Duration;

const METHODS: &[&str] = &[
    "admin_nodeInfo",
    "admin_peers",
    "dag_getBlock",
    "dag_getTips",
    "dag_getVirtualChain",
    "debug_traceCall",
    "debug_traceTransaction",
    "eth_accounts",
    "eth_blockNumber",
    "eth_call",
    "eth_chainId",
    "eth_createAccessList",
    "eth_estimateGas",
    "eth_feeHistory",
    "eth_gasPrice",
    "eth_getBalance",
    "eth_getBlockByHash",
    "eth_getBlockByNumber",
    "eth_getBlockReceipts",
    "eth_getBlockTransactionCountByHash",
    "eth_getBlockTransactionCountByNumber",
    "eth_getCode",
    "eth_getFilterChanges",
    "eth_getFilterLogs",
    "eth_getLogs",
    "eth_getProof",
    "eth_getStorageAt",
    "eth_getTransactionByBlockHashAndIndex",
    "eth_getTransactionByBlockNumberAndIndex",
    "eth_getTransactionByHash",
    "eth_getTransactionCount",
    "eth_getTransactionReceipt",
    "eth_getUncleCountByBlockHash",
    "eth_getUncleCountByBlockNumber",
    "eth_maxPriorityFeePerGas",
    "eth_newBlockFilter",
    "eth_newFilter",
    "eth_newPendingTransactionFilter",
    "eth_sendRawTransaction",
    "eth_sendTransaction",
    "eth_sign",
    "eth_signTransaction",
    "eth_signTypedData_v4",
    "eth_syncing",
    "eth_uninstallFilter",
    "net_listening",
    "net_peerCount",
    "net_version",
    "personal_sign",
    "txpool_content",
    "txpool_inspect",
    "txpool_status",
    "web3_clientVersion",
    "web3_sha3",
];

/// Error codes a client can act on: parse, request, params, method, server-side refusals
/// (-32000), limits (-32005, -32007, -32010) and reverts (3).
const ACTIONABLE: &[i64] = &[-32700, -32600, -32601, -32602, -32000, -32005, -32007, -32010, 3];

fn hex(rng: &mut StdRng, bytes: usize) -> String {
    let mut s = String::from("0x");
    for _ in 0..bytes {
        s.push_str(&format!("{:02x}", rng.gen::<u8>()));
    }
    s
}

fn value(rng: &mut StdRng, depth: u32) -> Value {
    let pick = if depth >= 3 { rng.gen_range(0..12) } else { rng.gen_range(0..16) };
    match pick {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(rng.gen_range(-5i64..1_000)),
        3 => json!(rng.gen::<u64>()),
        4 => json!(rng.gen::<f64>() * 1e6),
        5 => json!(format!("0x{:x}", rng.gen::<u64>() >> rng.gen_range(0..64))),
        6 => {
            let n = rng.gen_range(0..40);
            json!(hex(rng, n))
        }
        7 => json!(hex(rng, 20)),
        8 => json!(hex(rng, 32)),
        9 => json!(
            [
                "latest",
                "earliest",
                "pending",
                "safe",
                "finalized",
                "0x0",
                "0x1",
                "0xffffffffffffffff",
                "0x",
                "0x0g",
                ""
            ][rng.gen_range(0..11)]
        ),
        10 => {
            let n = rng.gen_range(0..12);
            json!((0..n).map(|_| rng.gen_range(32u8..127) as char).collect::<String>())
        }
        11 => json!(format!("0x{}", "f".repeat(rng.gen_range(60..70)))),
        12 | 13 => {
            let keys = [
                "from",
                "to",
                "gas",
                "gasPrice",
                "maxFeePerGas",
                "maxPriorityFeePerGas",
                "value",
                "data",
                "input",
                "nonce",
                "accessList",
                "chainId",
                "type",
                "fromBlock",
                "toBlock",
                "address",
                "topics",
                "blockHash",
                "tracer",
                "tracerConfig",
                "disableStack",
                "limit",
                "types",
                "primaryType",
                "domain",
                "message",
            ];
            let mut object = Map::new();
            for _ in 0..rng.gen_range(0..6) {
                let key = keys[rng.gen_range(0..keys.len())];
                object.insert(key.to_string(), value(rng, depth + 1));
            }
            Value::Object(object)
        }
        _ => {
            let n = rng.gen_range(0..5);
            Value::Array((0..n).map(|_| value(rng, depth + 1)).collect())
        }
    }
}

fn check(answer: &Value, request: &str) -> Result<(), String> {
    let one = |a: &Value| -> Result<(), String> {
        if a["jsonrpc"] != "2.0" {
            return Err(format!("not a JSON-RPC response: {a}"));
        }
        if a.get("result").is_some() {
            return Ok(());
        }
        let code =
            a["error"]["code"].as_i64().ok_or_else(|| format!("no result nor error: {a}"))?;
        if !ACTIONABLE.contains(&code) {
            return Err(format!("error code {code}: {a}"));
        }
        if a["error"]["message"].as_str().is_none_or(|m| m.is_empty()) {
            return Err(format!("an error without a message: {a}"));
        }
        Ok(())
    };
    match answer {
        Value::Array(all) => all.iter().try_for_each(one),
        a => one(a),
    }
    .map_err(|e| format!("{e}\n  request: {request}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn random_parameters_get_actionable_answers() {
    let seed: u64 = std::env::var("LATTICE_RPC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let calls: usize =
        std::env::var("LATTICE_RPC_FUZZ_CALLS").ok().and_then(|s| s.parse().ok()).unwrap_or(3_000);
    println!("seed {seed} ({calls} calls)");
    let dir = tempfile::tempdir().unwrap();
    let mut config = NodeConfig::dev(
        dir.path().into(),
        "127.0.0.1:0".parse().unwrap(),
        Duration::from_millis(300),
    );
    config.rpc.evm_timeout = Duration::from_millis(200);
    let node = launch(config).await.unwrap();
    let rpc = node.rpc_addr.unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut found = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    let mut outcomes = std::collections::BTreeMap::new();
    for i in 0..calls {
        let body = match rng.gen_range(0..20) {
            // Malformed bodies and batches now and then.
            0 => {
                let n = rng.gen_range(0..64);
                let junk: String = (0..n).map(|_| rng.gen_range(32u8..127) as char).collect();
                junk
            }
            1 => {
                let batch: Vec<Value> = (0..rng.gen_range(0..5))
                    .map(|j| {
                        let method = METHODS[rng.gen_range(0..METHODS.len())];
                        json!({"jsonrpc": "2.0", "id": j, "method": method, "params": value(&mut rng, 1)})
                    })
                    .collect();
                Value::Array(batch).to_string()
            }
            _ => {
                let method = METHODS[rng.gen_range(0..METHODS.len())];
                let params = if rng.gen_range(0..10) == 0 {
                    value(&mut rng, 1)
                } else {
                    Value::Array((0..rng.gen_range(0..5)).map(|_| value(&mut rng, 1)).collect())
                };
                json!({"jsonrpc": "2.0", "id": i, "method": method, "params": params}).to_string()
            }
        };
        let answer = post(rpc, &body).await;
        for a in answer.as_array().cloned().unwrap_or_else(|| vec![answer.clone()]) {
            let code = a["error"]["code"].as_i64().map_or("result".to_string(), |c| c.to_string());
            *outcomes.entry(code).or_insert(0usize) += 1;
        }
        if let Value::Object(a) = &answer {
            if a.get("error").and_then(|e| e["code"].as_i64()) != Some(-32601) {
                if let Some(m) = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|b| b["method"].as_str().map(String::from))
                {
                    found.insert(m);
                }
            }
        }
        // An empty batch is answered with an error object, as jsonrpsee does.
        if let Err(problem) = check(&answer, &body) {
            problems.push(problem);
            if problems.len() >= 10 {
                break;
            }
        }
    }
    println!("answers by error code: {outcomes:?}");
    assert!(
        problems.is_empty(),
        "seed {seed}: {} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The method list is the node's: each was found (answered other than "not found").
    if calls >= 3_000 {
        let missing: Vec<_> = METHODS.iter().filter(|m| !found.contains(**m)).collect();
        assert!(missing.is_empty(), "not served: {missing:?}");
    }
    // And the node still works.
    let height = common::result(rpc, "eth_blockNumber", json!([])).await;
    assert!(height.as_str().unwrap().starts_with("0x"));
    node.stop().await.unwrap();
}

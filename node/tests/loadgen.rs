//! `lattice loadgen` against a dev node: every accepted transaction is included and did what
//! its kind says (this checks the load, not a speed).

mod common;

use alloy_primitives::{Address, U256};
use common::{qty, result};
use lattice_loadgen::{kind_of, recipient, Kind};
use lattice_node::{launch, NodeConfig};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_load_is_included_and_does_what_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = NodeConfig::dev(
        dir.path().to_path_buf(),
        "127.0.0.1:0".parse().unwrap(),
        Duration::from_millis(200),
    );
    // A small pool, so that the load meets "the pool is full" and must send those again, in
    // nonce order, for every transaction to be included.
    config.pool.global_slots = 64;
    config.pool.global_queue = 16;
    let node = launch(config).await.unwrap();
    let rpc = node.rpc_addr.unwrap();

    let (txs, senders) = (600u64, 20u64);
    let out = tokio::process::Command::new(common::lattice_bin())
        .args(["loadgen", "--rpc-url", &format!("http://{rpc}"), "--kind", "mix", "--json"])
        .args(["--txs", &txs.to_string(), "--senders", &senders.to_string()])
        .args(["--batch", "50", "--concurrent", "4", "--timeout", "60", "--quiet"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "loadgen failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["sent"], txs, "{report}");
    assert_eq!(report["accepted"], txs, "{report}");
    assert_eq!(report["rejected"], json!({}), "{report}");
    assert_eq!(report["included"], txs, "{report}");
    assert_eq!(report["reverted"], 0, "{report}");
    assert_eq!(report["missing"], 0, "{report}");
    assert!(report["tps"].as_f64().unwrap() > 0.0);
    assert!(report["retried"].as_u64().unwrap() > 0, "the pool was never full: {report}");

    // What the transactions did: 1 wei and 1 token to their recipients, and each sender's
    // last stored value in the writer.
    let token: Address = serde_json::from_value(report["token"].clone()).unwrap();
    let writer: Address = serde_json::from_value(report["writer"].clone()).unwrap();
    for i in 0..txs {
        let to = recipient(i);
        match kind_of(Kind::Mix, i) {
            Kind::Transfer => {
                let balance = result(rpc, "eth_getBalance", json!([to, "latest"])).await;
                assert_eq!(qty(&balance), 1, "ETH of recipient {i}");
            }
            Kind::Erc20 => {
                let data = lattice_loadgen::balance_of_call(to);
                let balance =
                    result(rpc, "eth_call", json!([{"to": token, "data": data}, "latest"])).await;
                assert_eq!(qty(&balance), 1, "tokens of recipient {i}");
            }
            _ => {}
        }
    }
    // The storage load: each sender's last call stored i + 1 under the sender's address,
    // for the largest such i among its transactions (i ≡ s mod senders).
    let seed = report["seed"].as_u64().unwrap();
    for s in 0..senders {
        let sender = lattice_loadgen::sender_key(seed, s as u32).address();
        let last =
            (0..txs).filter(|i| i % senders == s && kind_of(Kind::Mix, *i) == Kind::Storage).max();
        let slot = U256::from_be_slice(sender.as_slice());
        let value = result(rpc, "eth_getStorageAt", json!([writer, slot, "latest"])).await;
        assert_eq!(qty(&value), last.map_or(0, |i| u128::from(i) + 1), "slot of sender {s}");
    }
    node.stop().await.unwrap();
}

//! The binary's tools: `lattice verify` and `lattice dag replay`.

mod common;

use alloy_primitives::B256;
use lattice_node::{launch, produce_one, NodeConfig};
use lattice_primitives::StoredReceipt;
use lattice_storage::{tables, Db};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn lattice(args: &[&str]) -> std::process::Output {
    Command::new(common::lattice_bin()).args(args).env("RUST_LOG", "warn").output().unwrap()
}

async fn make_chain(dir: &Path) {
    let mut config =
        NodeConfig::dev(dir.to_path_buf(), "127.0.0.1:0".parse().unwrap(), Duration::from_secs(1));
    let producer = config.producer.take().unwrap();
    let node = launch(config).await.unwrap();
    let alice = &lattice_primitives::dev_signers(1)[0];
    for nonce in 0..3 {
        let tx = common::transfer(alice, nonce, alloy_primitives::Address::repeat_byte(1), 1);
        node.node.submit_transaction(tx).unwrap();
        produce_one(&node.node, &producer).unwrap();
    }
    produce_one(&node.node, &producer).unwrap();
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_accepts_a_sound_database_and_reports_a_tampered_one() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path()).await;
    let data_dir = dir.path().to_str().unwrap();
    let out = lattice(&["verify", "--dev", "--data-dir", data_dir]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("4 chain blocks, 3 transactions")
            && text.contains("every state root matches"),
        "{text}"
    );

    // Tamper with a stored receipt: verify must notice and fail.
    {
        let db = Db::open(&dir.path().join("db"), &lattice_node::chain::all_tables()).unwrap();
        let hash: B256 = db.get::<tables::ChainByNumber>(&2).unwrap().unwrap();
        let mut receipts: Vec<StoredReceipt> = db.get::<tables::Receipts>(&hash).unwrap().unwrap();
        receipts[0].gas_used += 1;
        let mut batch = db.batch();
        batch.put::<tables::Receipts>(&hash, &receipts).unwrap();
        batch.commit().unwrap();
    }
    let out = lattice(&["verify", "--dev", "--data-dir", data_dir]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("receipts of chain block 2"), "{text}");
}

#[test]
fn dag_replay_prints_kaspa_vectors_block_by_block() {
    let file = common::repo_root().join("testdata/ghostdag/dag0.json");
    let out = lattice(&["dag", "replay", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let blocks = expected["Blocks"].as_array().unwrap();
    assert_eq!(lines.len(), blocks.len() + 1, "one line per block, genesis included");
    for block in blocks {
        let line = lines.iter().find(|l| l["id"] == block["ID"]).unwrap();
        assert_eq!(line["selected_parent"], block["ExpectedSelectedParent"]);
        assert_eq!(line["blue_score"], block["ExpectedScore"]);
        assert_eq!(line["blues"], block["ExpectedBlues"]);
        assert_eq!(line["reds"], block["ExpectedReds"]);
    }
    let bad = lattice(&["dag", "replay", "/no/such/file.json"]);
    assert!(!bad.status.success());
}

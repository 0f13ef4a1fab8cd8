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

fn stdout_json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_init_and_genesis_info_work_together() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");

    // keygen: both keys printed and written owner-only, never overwritten.
    let k = stdout_json(&lattice(&["keygen", "--out", keys.to_str().unwrap()]));
    let producer_file = keys.join(lattice_node::PRODUCER_KEY_FILE);
    assert_eq!(mode(&producer_file), 0o600);
    assert_eq!(mode(&keys.join("node-key")), 0o600);
    assert_eq!(
        std::fs::read_to_string(&producer_file).unwrap(),
        k["producerKey"].as_str().unwrap()
    );
    let signer: alloy_signer_local::PrivateKeySigner =
        k["producerKey"].as_str().unwrap().trim_start_matches("0x").parse().unwrap();
    assert_eq!(serde_json::json!(signer.address()), k["producerAddress"]);
    assert!(k["peerId"].as_str().unwrap().starts_with("12D3KooW"));
    let again = lattice(&["keygen", "--out", keys.to_str().unwrap()]);
    assert!(!again.status.success(), "an existing key is never replaced");

    // A chain of our own whose one producer is the new key.
    let spec = serde_json::json!({
        "chainId": 4242,
        "producers": [k["producerAddress"]],
        "alloc": {"0x00000000000000000000000000000000000000aa": {"balance": "0x64"}},
    });
    let spec_file = dir.path().join("spec.json");
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    let info = stdout_json(&lattice(&["genesis-info", "--chain", spec_file.to_str().unwrap()]));
    assert_eq!(info["chainId"], 4242);
    assert_eq!(info["producers"], serde_json::json!([k["producerAddress"]]));
    let alloc = info["alloc"].as_object().unwrap();
    let (_, funded) = alloc.iter().find(|(a, _)| a.to_lowercase().ends_with("aa")).unwrap();
    assert_eq!(funded["balance"], "0x64");

    // init writes the spec and the genesis; the same genesis genesis-info computed.
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let init = stdout_json(&lattice(&["init", "-d", d, "--chain", spec_file.to_str().unwrap()]));
    assert_eq!(init["genesisHash"], info["genesisHash"]);
    assert!(data.join(lattice_node::CHAIN_SPEC_FILE).exists());
    // A data directory made by init needs no chain flag.
    let reinfo = stdout_json(&lattice(&["genesis-info", "-d", d]));
    assert_eq!(reinfo["genesisHash"], info["genesisHash"]);
    // Another chain's genesis differs (the genesis commits to the whole specification), and
    // the devnet and --dev differ from each other.
    let devnet = stdout_json(&lattice(&["genesis-info"]));
    let dev = stdout_json(&lattice(&["genesis-info", "--dev"]));
    assert_eq!(devnet["openProducers"], true);
    assert_eq!(dev["openProducers"], false);
    assert_ne!(devnet["genesisHash"], dev["genesisHash"]);
    assert_eq!(devnet["stateRoot"], dev["stateRoot"], "the same allocations");
}

#[test]
fn bad_command_lines_say_which_flag_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--dev", "--p2p-addr", "127.0.0.1"], "--p2p-addr"),
        (&["--dev", "--bootstrap-nodes", "127.0.0.1:99999"], "invalid port"),
        (&["--dev", "--bootstrap-nodes", "abc@127.0.0.1:1"], "invalid peer id"),
        (&["--mine", "--no-produce"], "cannot be used with"),
        (&["--chain", "/nonexistent/spec.json", "--mine"], "cannot read the chain specification"),
    ];
    for (args, expected) in cases {
        let out = lattice(&[args, &["-d", d]].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    // --mine on a chain of one's own without a key: one line that names the flag to add.
    let spec = dir.path().join("spec.json");
    std::fs::write(
        &spec,
        r#"{"chainId": 7, "producers": ["0x00000000000000000000000000000000000000aa"]}"#,
    )
    .unwrap();
    let out = lattice(&["--chain", spec.to_str().unwrap(), "--mine", "--bootstrap", "-d", d]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--mine needs a producer key") && err.contains("--producer-key-file"),
        "{err}"
    );
}

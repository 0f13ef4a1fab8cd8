//! A user's mistake in starting the node (a bad flag value, a missing chain specification, a
//! port in use, a data directory of another chain or of a running node) gets one line saying
//! what is wrong, one line of hint and exit status 2, with no backtrace even when
//! `RUST_BACKTRACE=1`. A `--dev` node given only `--p2p-addr` listens and waits for peers.

mod common;

use common::{free_port, result, start_dev};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `lattice` with `args` (with `RUST_BACKTRACE=1`) until it exits.
fn lattice(args: &[&str], data_dir: &Path) -> Output {
    Command::new(common::lattice_bin())
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .output()
        .expect("lattice runs")
}

/// The run was refused as a usage mistake: status 2, stderr `error: …` naming `what`, then
/// `hint: …` naming `hint`, and nothing else.
fn refused(out: &Output, what: &str, hint: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit status 2: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "one line and a hint: {stderr}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains(what), "{stderr}");
    assert!(lines[1].starts_with("hint: ") && lines[1].contains(hint), "{stderr}");
    for word in ["backtrace", "Location", "panicked", ".rs:"] {
        assert!(!stderr.contains(word), "no backtrace: {stderr}");
    }
}

#[test]
fn a_bad_flag_value_is_refused_by_the_parser() {
    let dir = tempfile::tempdir().unwrap();
    let out = lattice(&["--dev", "--block-time", "fast"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--block-time") && stderr.contains("fast"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn an_ipfs_api_that_is_not_an_http_url_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = lattice(&["--dev", "--ipfs-api", "localhost:5001"], dir.path());
    refused(&out, "--ipfs-api", "--ipfs-api http://127.0.0.1:5001");
}

#[test]
fn storage_provider_mode_without_the_pinning_service_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("provider-key");
    std::fs::write(&key, "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6\n")
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let key = key.to_str().unwrap();
    let out = lattice(&["--dev", "--ipfs-provider-key-file", key], dir.path());
    refused(&out, "storage-provider mode needs the pinning service", "--ipfs-incentives");
    let out = lattice(&["--dev", "--ipfs-provider-max-stake=-1"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--ipfs-provider-max-stake"), "{stderr}");
}

#[test]
fn a_missing_chain_specification_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-spec.json");
    let out =
        lattice(&["--chain", missing.to_str().unwrap(), "--bootstrap"], &dir.path().join("d"));
    refused(&out, "cannot read the chain specification", "--chain");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let out = lattice(&["--chain", bad.to_str().unwrap(), "--bootstrap"], &dir.path().join("d"));
    refused(&out, "invalid chain specification", "fix the file");
}

#[tokio::test]
async fn a_port_in_use_and_a_data_dir_in_use_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out =
        lattice(&["--dev", "--rpc-addr", &format!("127.0.0.1:{port}")], &dir.path().join("a"));
    refused(&out, "in use", "--rpc-addr");
    let out = lattice(
        &["--dev", "--rpc-addr", "127.0.0.1:0", "--p2p-addr", &format!("127.0.0.1:{port}")],
        &dir.path().join("b"),
    );
    refused(&out, "in use", "--p2p-addr");

    let data = dir.path().join("running");
    let _running = start_dev(&data, free_port(), &[]).await;
    let out = lattice(&["--dev", "--rpc-addr", "127.0.0.1:0"], &data);
    refused(&out, "in use by another process", "--data-dir");
}

#[test]
fn a_data_dir_of_another_chain_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let init = lattice(&["init", "--dev"], dir.path());
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let out = lattice(&["--dev", "--dev.producers", "2", "--rpc-addr", "127.0.0.1:0"], dir.path());
    refused(&out, "holds a different chain", "--data-dir");
}

#[tokio::test]
async fn a_dev_node_given_a_p2p_address_listens_and_waits_for_peers() {
    let dir = tempfile::tempdir().unwrap();
    let (rpc_port, p2p_port) = (free_port(), free_port());
    let _node =
        start_dev(dir.path(), rpc_port, &["--p2p-addr", &format!("127.0.0.1:{p2p_port}")]).await;
    let rpc = format!("127.0.0.1:{rpc_port}").parse().unwrap();
    assert_eq!(result(rpc, "net_peerCount", json!([])).await, "0x0");
    assert_eq!(result(rpc, "net_listening", json!([])).await, true);
    // It listens for peers on the address it was given.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", p2p_port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on the P2P port");
        std::thread::sleep(Duration::from_millis(50));
    }
}

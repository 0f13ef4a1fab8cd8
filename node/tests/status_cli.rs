//! `lattice status --rpc URL` against a running dev node, and against an address where no node
//! listens.

mod common;

use common::{free_port, qty, result, start_dev};
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};

fn status(url: &str, blocks: &str) -> std::process::Output {
    Command::new(common::lattice_bin())
        .args(["status", "--rpc", url, "--blocks", blocks])
        .output()
        .expect("lattice runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn status_summarises_a_running_node() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _node = start_dev(dir.path(), port, &["--block-time", "100ms"]).await;
    let rpc = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while qty(&result(rpc, "eth_blockNumber", json!([])).await) < 3 {
        assert!(Instant::now() < deadline, "no blocks");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = qty(&result(rpc, "eth_blockNumber", json!([])).await);
    let out = status(&format!("http://127.0.0.1:{port}"), "3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let after = qty(&result(rpc, "eth_blockNumber", json!([])).await);
    let line = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label:?} line: {text}"))
            .to_string()
    };
    assert!(line("node").starts_with("node         lattice/"), "{text}");
    assert_eq!(line("chain"), "chain        id 1337");
    // The sink it shows is the node's at some moment during the call.
    let sink: u128 =
        line("sink")["sink         #".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!((before..=after).contains(&sink), "{sink} not in {before}..={after}: {text}");
    assert_eq!(line("peers"), "peers        0");
    assert_eq!(line("pool"), "pool         0 pending, 0 queued");
    assert_eq!(line("sync"), "sync         in step");
    // Three block lines, newest first, ending at the sink.
    let listed: Vec<u128> = text
        .lines()
        .skip_while(|l| !l.starts_with("last blocks"))
        .skip(1)
        .map(|l| l.trim()[1..].split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(listed, vec![sink, sink - 1, sink - 2], "{text}");
}

#[test]
fn status_of_an_address_without_a_node_is_a_usage_error() {
    let out = status(&format!("http://127.0.0.1:{}", free_port()), "3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: cannot read the node's status from http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: is the node running"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_what_a_node_does_not_serve_as_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _node = start_dev(dir.path(), port, &["--rpc-api", "eth,net,web3"]).await;
    let out = status(&format!("http://127.0.0.1:{port}"), "1");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("pool         ? (not served)"), "{text}");
    assert!(text.contains("tips         ? (not served)"), "{text}");
    assert!(text.contains("peers        0"), "{text}");
}

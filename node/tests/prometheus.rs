//! The operator's view, end to end: a real Prometheus (Debian's `prometheus` package, installed
//! by `scripts/setup.sh`) scrapes a real `lattice --dev` with the scrape configuration shipped in
//! `docs/grafana/prometheus.yml`, and through Prometheus's own HTTP API the test checks that
//!
//! - the shipped configuration passes `promtool check config`;
//! - the node's series arrive, with the values the node reports (blocks, transactions);
//! - every query of the Grafana dashboard (`docs/grafana/lattice-dashboard.json`) is valid
//!   PromQL, and every series it reads exists, so a renamed metric breaks this test and not an
//!   operator's dashboard.
//!
//! `PROMETHEUS_BIN` and `PROMTOOL_BIN` override the binaries found on `PATH`.

mod common;

use alloy_primitives::Address;
use common::{free_port, http_get, raw, result, start_dev, transfer, Running};
use lattice_primitives::dev_signers;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Transfers the test sends, so the throughput and latency series have something to show.
const TRANSFERS: u64 = 20;

/// A binary from `$var`, else from `PATH`; the message says how to install it.
fn tool(var: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        return path.into();
    }
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("no `{name}` on PATH: scripts/setup.sh installs Debian's prometheus package")
    })
}

/// Percent-encodes a query-string value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs an instant query through Prometheus's HTTP API; returns `data.result`, or the error
/// Prometheus gave.
async fn query(prom: SocketAddr, promql: &str) -> Result<Vec<Value>, String> {
    let (status, body) = http_get(prom, &format!("/api/v1/query?query={}", encode(promql))).await;
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{status} {body}: {e}"))?;
    if v["status"] != "success" {
        return Err(format!("{promql}: {}: {}", v["errorType"], v["error"]));
    }
    Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// The value of a one-sample instant vector, if Prometheus has it.
async fn value(prom: SocketAddr, promql: &str) -> Option<f64> {
    let result = query(prom, promql).await.ok()?;
    result.first()?["value"][1].as_str()?.parse().ok()
}

/// Every PromQL expression of the dashboard, with its variables given values that select all
/// nodes and a rate window several scrape intervals wide.
fn dashboard_queries(path: &Path) -> Vec<(String, String)> {
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            let expr = expr.replace("$instance", ".+").replace("$__rate_interval", "30s");
            queries.push((panel["title"].as_str().unwrap().to_string(), expr));
        }
    }
    queries
}

/// The metric names an expression reads (`lattice_…`, `process_…`).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts_word && (expr[i..].starts_with("lattice_") || expr[i..].starts_with("process_")) {
            let end = expr[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(expr.len(), |n| i + n);
            names.insert(expr[i..end].to_string());
            i = end;
        } else {
            i += 1;
        }
    }
    names
}

/// Series the dashboard reads that a healthy single dev node never writes: labelled counters
/// whose first sample comes with the first event of their kind.
const WRITTEN_ON_EVENT: &[&str] = &["lattice_transactions_skipped_total"];

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_the_node_and_the_dashboard_reads_real_series() {
    let prometheus = tool("PROMETHEUS_BIN", "prometheus");
    let promtool = tool("PROMTOOL_BIN", "promtool");
    let docs = common::repo_root().join("docs/grafana");
    let shipped = docs.join("prometheus.yml");
    let check = Command::new(&promtool).args(["check", "config"]).arg(&shipped).output().unwrap();
    assert!(check.status.success(), "promtool: {}", String::from_utf8_lossy(&check.stderr));

    let dir = tempfile::tempdir().unwrap();
    let (rpc_port, metrics_port) = (free_port(), free_port());
    let metrics = format!("127.0.0.1:{metrics_port}");
    let _node = start_dev(
        &dir.path().join("node"),
        rpc_port,
        &["--block-time", "200ms", "--metrics-addr", &metrics],
    )
    .await;
    let rpc: SocketAddr = format!("127.0.0.1:{rpc_port}").parse().unwrap();

    // The shipped configuration, pointed at this node and scraping every second.
    let config = std::fs::read_to_string(&shipped).unwrap();
    assert!(config.contains("127.0.0.1:9100") && config.contains("scrape_interval: 5s"));
    let config = config.replace("127.0.0.1:9100", &metrics).replace("5s", "1s");
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let prom: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = dir.path().join("prometheus.log");
    let _prometheus = Running(
        Command::new(&prometheus)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
            .arg(format!("--web.listen-address={prom}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("prometheus starts"),
    );
    let prometheus_log = || std::fs::read_to_string(&log).unwrap_or_default();

    // Some transactions, and RPC calls for the latency series.
    let alice = &dev_signers(1)[0];
    let mut last = Value::Null;
    for nonce in 0..TRANSFERS {
        let tx = raw(&transfer(alice, nonce, Address::repeat_byte(0x77), 1));
        last = result(rpc, "eth_sendRawTransaction", json!([tx])).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while result(rpc, "eth_getTransactionReceipt", json!([last])).await.is_null() {
        assert!(Instant::now() < deadline, "the transfers were not included");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Prometheus has scraped the node since the last transfer ran: its count arrived.
    let executed = format!("lattice_transactions_executed_total{{instance=\"{metrics}\"}}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if value(prom, &executed).await.is_some_and(|v| v >= TRANSFERS as f64) {
            break;
        }
        assert!(Instant::now() < deadline, "no scraped series arrived: {}", prometheus_log());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let up = value(prom, &format!("up{{job=\"lattice\",instance=\"{metrics}\"}}")).await;
    assert_eq!(up, Some(1.0), "the scrape target is up");
    // The values Prometheus holds are the node's: its chain height is at least what the
    // node reported a moment before.
    let height = common::qty(&result(rpc, "eth_blockNumber", json!([])).await) as f64;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let scraped = value(prom, "lattice_chain_height").await.expect("chain height");
    assert!(scraped >= height, "scraped height {scraped} below the node's {height}");
    assert!(value(prom, "process_resident_memory_bytes").await.is_some_and(|v| v > 1e6));

    // Rates need two samples in the window: give it a few more scrapes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let queries = dashboard_queries(&docs.join("lattice-dashboard.json"));
    assert!(queries.len() >= 12, "the dashboard's queries: {queries:?}");
    let mut names = BTreeSet::new();
    for (panel, expr) in &queries {
        if let Err(e) = query(prom, expr).await {
            panic!("panel {panel:?}: Prometheus refuses its query: {e}");
        }
        names.extend(metric_names(expr));
    }
    for name in &names {
        let series = query(prom, &format!("count({{__name__=\"{name}\"}})")).await.unwrap();
        let present = !series.is_empty();
        assert!(
            present || WRITTEN_ON_EVENT.contains(&name.as_str()),
            "the dashboard reads {name}, which the node does not export"
        );
    }
    // The panels show numbers, not gaps: blocks are produced, transactions were executed and
    // their inclusion latency was measured, the node is in step with itself.
    let block_rate =
        value(prom, "rate(lattice_chain_blocks_applied_total[30s])").await.expect("block rate");
    assert!(block_rate > 0.0, "block rate {block_rate}");
    let p95 =
        "histogram_quantile(0.95, sum by (le) (lattice_transaction_inclusion_seconds_bucket))";
    let p95 = value(prom, p95).await.expect("inclusion latency");
    assert!(p95 > 0.0 && p95 < 30.0, "inclusion p95 {p95}");
    let progress = "lattice_chain_height / clamp_min(lattice_sync_highest_block, 1)";
    assert_eq!(value(prom, progress).await, Some(1.0), "sync progress");
    let rpc_methods = query(prom, "lattice_rpc_call_duration_seconds_count").await.unwrap();
    let methods: BTreeSet<&str> =
        rpc_methods.iter().filter_map(|s| s["metric"]["method"].as_str()).collect();
    assert!(methods.contains("eth_sendRawTransaction"), "{methods:?}");
}

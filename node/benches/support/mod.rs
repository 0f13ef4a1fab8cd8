//! What the long-running benchmarks share: starting the real node on a data directory and
//! reading its memory and disk use.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `lattice --dev --no-produce` on `dir`; returns the time until `eth_blockNumber`
/// answers `blocks`, and the RSS two seconds later. Stops the node by its PID.
pub fn start_node(dir: &Path, blocks: u64) -> (Duration, u64) {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().unwrap().port();
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_lattice"))
        .args(["--dev", "--no-produce", "--data-dir"])
        .arg(dir)
        .args(["--rpc-addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lattice");
    let node = Node(child);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let http = lattice_loadgen::Http::new(&format!("http://127.0.0.1:{port}")).expect("url");
    let startup = rt.block_on(async {
        loop {
            if let Ok(n) = http.call("eth_blockNumber", serde_json::json!([])).await {
                let n =
                    u64::from_str_radix(n.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)
                        .unwrap_or(0);
                assert_eq!(n, blocks, "the node opened another chain height");
                break started.elapsed();
            }
            assert!(started.elapsed() < Duration::from_secs(600), "the node did not answer");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    std::thread::sleep(Duration::from_secs(2));
    let rss = rss_bytes(node.0.id());
    drop(node);
    (startup, rss)
}

/// Stops the child by its PID when dropped.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

pub fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

//! What the long-running benchmarks share: starting the real node on a data directory and
//! reading its memory and disk use.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What [`start_node`] measured.
pub struct Started {
    /// From the start until `eth_blockNumber` answers.
    pub rpc: Duration,
    /// From the start until the node logs that its state tries are built (it can write
    /// blocks from then on; RPC answers before).
    pub ready: Duration,
    /// RSS two seconds after `ready`.
    pub rss: u64,
}

/// Starts `lattice --dev --no-produce` on `dir`, whose chain is `blocks` long, and measures
/// it (see [`Started`]). Stops the node by its PID.
pub fn start_node(dir: &Path, blocks: u64) -> Started {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().unwrap().port();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lattice"))
        .args(["--dev", "--no-produce", "--data-dir"])
        .arg(dir)
        .args(["--rpc-addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lattice");
    let stdout = child.stdout.take().expect("piped stdout");
    let node = Node(child);
    let (tries_built, built) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("state tries built") {
                let _ = tries_built.send(started.elapsed());
            }
        }
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let http = lattice_loadgen::Http::new(&format!("http://127.0.0.1:{port}")).expect("url");
    let rpc = rt.block_on(async {
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
    let ready = built.recv_timeout(Duration::from_secs(600)).expect("the state tries are built");
    std::thread::sleep(Duration::from_secs(2));
    let rss = rss_bytes(node.0.id());
    drop(node);
    Started { rpc, ready, rss }
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

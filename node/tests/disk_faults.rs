//! A full disk and a read-only data directory: the node stops with a clear error, and what it
//! had committed stays (the next start continues from it and `lattice verify` passes).
//!
//! Each test mounts a small tmpfs of its own (root is needed: CI runs as root) and unmounts it
//! when done; every node it starts is stopped by its PID.

mod common;

use alloy_primitives::Address;
use common::{free_port, post, raw, result, transfer};
use lattice_primitives::dev_signers;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Runs a command that must succeed.
fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect("the command runs");
    assert!(
        out.status.success(),
        "{program} {} failed (mounting needs root, as in CI): {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A mounted file system, unmounted when dropped.
struct Mount {
    point: tempfile::TempDir,
}

impl Mount {
    fn tmpfs(megabytes: u64) -> Self {
        let point = tempfile::tempdir().unwrap();
        let size = format!("size={megabytes}m");
        run("mount", &["-t", "tmpfs", "-o", &size, "tmpfs", path_str(point.path())]);
        Self { point }
    }

    /// `source` again at a mount point of its own, read-only.
    fn read_only_view(source: &Path) -> Self {
        let point = tempfile::tempdir().unwrap();
        run("mount", &["--bind", path_str(source), path_str(point.path())]);
        run("mount", &["-o", "remount,ro,bind", path_str(point.path())]);
        Self { point }
    }

    fn path(&self) -> &Path {
        self.point.path()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.point.path()).status();
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

/// A `lattice --dev` process, stopped by its PID when dropped.
struct Lattice {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Lattice {
    fn spawn(data_dir: &Path, log: &Path) -> Self {
        let port = free_port();
        let child = Command::new(common::lattice_bin())
            .args(["--dev", "--block-time", "100ms", "--rpc-addr"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("lattice starts");
        Self { child, addr: format!("127.0.0.1:{port}").parse().unwrap(), log: log.into() }
    }

    async fn start(data_dir: &Path, log: &Path) -> Self {
        let node = Self::spawn(data_dir, log);
        let deadline = Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(node.addr).await.is_err() {
            assert!(Instant::now() < deadline, "no RPC port: {}", node.log_text());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        node
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for the process to end by itself.
    async fn exited(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// SIGTERM (a clean stop), by PID.
    async fn stop(mut self) {
        run("kill", &["-TERM", &self.child.id().to_string()]);
        let status = self.exited(Duration::from_secs(30)).await.expect("it stops on SIGTERM");
        assert!(status.success(), "a clean stop: {}", self.log_text());
    }

    async fn height(&self) -> u64 {
        common::qty(&result(self.addr, "eth_blockNumber", json!([])).await) as u64
    }

    async fn hash_at(&self, number: u64) -> Value {
        result(self.addr, "eth_getBlockByNumber", json!([format!("{number:#x}"), false])).await
            ["hash"]
            .clone()
    }
}

impl Drop for Lattice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fills the file system at `dir` until it refuses more, then frees `leave` bytes.
fn fill(dir: &Path, leave: usize) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).and_then(|_| file.flush()).is_ok() {}
    let len = file.metadata().unwrap().len();
    file.set_len(len.saturating_sub(leave as u64)).unwrap();
    path
}

/// Sends transfers in batches until the node stops answering or `until` passes.
async fn load(addr: SocketAddr, until: Instant) {
    let from = dev_signers(3).pop().unwrap();
    let to = Address::repeat_byte(0x42);
    let start = result(addr, "eth_getTransactionCount", json!([from.address(), "pending"])).await;
    let mut nonce = common::qty(&start) as u64;
    while Instant::now() < until && tokio::net::TcpStream::connect(addr).await.is_ok() {
        let calls: Vec<Value> = (nonce..nonce + 200)
            .map(|n| {
                let tx = raw(&transfer(&from, n, to, 1));
                json!({"jsonrpc": "2.0", "id": n, "method": "eth_sendRawTransaction", "params": [tx]})
            })
            .collect();
        let body = Value::Array(calls).to_string();
        match tokio::time::timeout(Duration::from_secs(5), post(addr, &body)).await {
            Ok(_) => nonce += 200,
            Err(_) => return,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_stops_the_node_cleanly_and_loses_nothing_committed() {
    let logs = tempfile::tempdir().unwrap();
    let disk = Mount::tmpfs(256);
    let data = disk.path().join("data");
    let node = Lattice::start(&data, &logs.path().join("first.log")).await;
    load(node.addr, Instant::now() + Duration::from_secs(2)).await;
    while node.height().await < 10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // What is committed, read before the disk fills: the node on a full disk may stop before
    // any question reaches it.
    let height = node.height().await;
    let committed = node.hash_at(height).await;
    node.stop().await;

    // Nearly full before the node opens its write-ahead log, so that RocksDB cannot reserve
    // room for it ahead: the next writes need space that is not there.
    let filler = fill(disk.path(), 512 * 1024);
    let mut node = Lattice::start(&data, &logs.path().join("full.log")).await;
    // Load until it stops; the load's own requests may find it gone at any point (a panic of
    // the load task is that, not a failure of the test).
    let _ = tokio::spawn(load(node.addr, Instant::now() + Duration::from_secs(60))).await;
    let status = node.exited(Duration::from_secs(60)).await;
    let log = node.log_text();
    let status = status.unwrap_or_else(|| panic!("the node kept running on a full disk: {log}"));
    assert!(!status.success(), "a failure is not a clean exit: {log}");
    assert!(log.contains("the database refused a write"), "a clear error: {log}");
    assert!(!log.contains("panicked"), "no panic: {log}");

    // Room again: the node continues from what it had committed.
    std::fs::remove_file(filler).unwrap();
    let node = Lattice::start(&data, &logs.path().join("after.log")).await;
    assert!(node.height().await >= height);
    assert_eq!(node.hash_at(height).await, committed, "the committed chain is intact");
    node.stop().await;
    common::verify(&data);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_data_dir_is_refused_with_a_clear_error() {
    let logs = tempfile::tempdir().unwrap();
    let disk = Mount::tmpfs(256);
    let data = disk.path().join("data");
    let node = Lattice::start(&data, &logs.path().join("first.log")).await;
    while node.height().await < 5 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    node.stop().await;

    let view = Mount::read_only_view(&data);
    let mut node = Lattice::spawn(view.path(), &logs.path().join("read-only.log"));
    let status = node.exited(Duration::from_secs(60)).await;
    let log = node.log_text();
    let status = status.unwrap_or_else(|| panic!("the node ran on a read-only data dir: {log}"));
    assert!(!status.success(), "{log}");
    assert!(log.contains("Read-only file system"), "the cause is named: {log}");
    assert!(!log.contains("panicked"), "no panic: {log}");
    drop(view);
    common::verify(&data);
}

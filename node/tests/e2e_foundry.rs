//! End to end: the real `lattice` binary on a free port with a temporary data directory, driven
//! by Foundry's `cast` and `forge` exactly as a developer would, then restarted.
//!
//! Needs Foundry in `<repo>/.tools/bin` (scripts/setup.sh installs it).

mod common;

use common::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// Forge writes one build cache in the repository: tests that run it take turns.
static FORGE: std::sync::Mutex<()> = std::sync::Mutex::new(());

const KEY0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ACCOUNT9: &str = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";

fn tool(name: &str) -> PathBuf {
    let path = common::repo_root().join(".tools/bin").join(name);
    assert!(path.exists(), "{} is missing: run scripts/setup.sh", path.display());
    path
}

/// A running `lattice` process, stopped (by PID) when dropped.
struct NodeProcess {
    child: Child,
    rpc: String,
}

impl NodeProcess {
    fn start(data_dir: &Path, port: u16, log: &Path) -> Self {
        Self::start_with(data_dir, port, log, &[])
    }

    fn start_with(data_dir: &Path, port: u16, log: &Path, extra: &[&str]) -> Self {
        let log = std::fs::File::create(log).unwrap();
        let child = Command::new(common::lattice_bin())
            .args(extra)
            .args(["--dev", "--block-time", "300ms", "--rpc-addr"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("lattice starts");
        let node = Self { child, rpc: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while cast(&["chain-id", "--rpc-url", &node.rpc]).status.code() != Some(0) {
            assert!(Instant::now() < deadline, "lattice did not answer on {}", node.rpc);
            std::thread::sleep(Duration::from_millis(100));
        }
        node
    }

    /// SIGTERM, then wait: a clean shutdown.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("lattice did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Dropping kills the process with SIGKILL (`kill -9`), as a crash would.
impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.current_dir(common::repo_root()).output().expect("tool runs")
}

fn cast(args: &[&str]) -> Output {
    run(Command::new(tool("cast")).args(args))
}

fn ok(out: Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(out.status.success(), "failed: {}\n{}", text, String::from_utf8_lossy(&out.stderr));
    text
}

#[test]
fn cast_and_forge_work_against_a_dev_node_and_state_survives_a_restart() {
    let _forge = FORGE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = NodeProcess::start(dir.path(), port, &dir.path().join("node1.log"));
    let rpc = node.rpc.clone();

    assert_eq!(ok(cast(&["chain-id", "--rpc-url", &rpc])), "1337");
    let ws = rpc.replace("http://", "ws://");
    assert_eq!(ok(cast(&["chain-id", "--rpc-url", &ws])), "1337", "WebSocket on the same port");
    assert_eq!(
        ok(cast(&["balance", ACCOUNT9, "--ether", "--rpc-url", &rpc])),
        "10000.000000000000000000"
    );

    // A transfer, waited for by cast until its receipt appears.
    let receipt = ok(cast(&[
        "send",
        "--private-key",
        KEY0,
        ACCOUNT9,
        "--value",
        "1ether",
        "--rpc-url",
        &rpc,
    ]));
    assert!(receipt.contains("status") && receipt.contains("1 (success)"), "{receipt}");
    assert_eq!(
        ok(cast(&["balance", ACCOUNT9, "--ether", "--rpc-url", &rpc])),
        "10001.000000000000000000"
    );
    let height: u64 = ok(cast(&["block-number", "--rpc-url", &rpc])).parse().unwrap();
    assert!(height >= 2, "the transfer needed a carrying and an accepting block");

    // Deploy and call a contract with forge create and cast.
    let created = ok(run(Command::new(tool("forge")).args([
        "create",
        "--broadcast",
        "--rpc-url",
        &rpc,
        "--private-key",
        KEY0,
        "contracts/src/examples/Counter.sol:Counter",
    ])));
    let address = created
        .lines()
        .find_map(|l| l.strip_prefix("Deployed to: "))
        .unwrap_or_else(|| panic!("no address in forge output: {created}"))
        .trim()
        .to_string();
    ok(cast(&["send", "--private-key", KEY0, &address, "increment()", "--rpc-url", &rpc]));
    assert_eq!(ok(cast(&["call", &address, "count()(uint256)", "--rpc-url", &rpc])), "1");

    // Reverts come back with their reasons.
    let revert = cast(&["call", &address, "setCount(uint256)", "13", "--rpc-url", &rpc]);
    assert!(!revert.status.success());
    assert!(String::from_utf8_lossy(&revert.stderr).contains("unlucky"), "{revert:?}");
    let revert = cast(&["estimate", &address, "setCount(uint256)", "2000", "--rpc-url", &rpc]);
    assert!(!revert.status.success(), "a reverting call cannot be estimated");

    // Restart from the same data directory: state, code and history are intact.
    node.stop();
    let node = NodeProcess::start(dir.path(), port, &dir.path().join("node2.log"));
    assert_eq!(
        ok(cast(&["balance", ACCOUNT9, "--ether", "--rpc-url", &node.rpc])),
        "10001.000000000000000000"
    );
    assert_eq!(ok(cast(&["call", &address, "count()(uint256)", "--rpc-url", &node.rpc])), "1");
    let after: u64 = ok(cast(&["block-number", "--rpc-url", &node.rpc])).parse().unwrap();
    assert!(after >= height);
    ok(cast(&["send", "--private-key", KEY0, &address, "increment()", "--rpc-url", &node.rpc]));
    assert_eq!(ok(cast(&["call", &address, "count()(uint256)", "--rpc-url", &node.rpc])), "2");

    // kill -9 right after a receipt: what was acknowledged survives.
    drop(node);
    let node = NodeProcess::start(dir.path(), port, &dir.path().join("node3.log"));
    assert_eq!(ok(cast(&["call", &address, "count()(uint256)", "--rpc-url", &node.rpc])), "2");
    node.stop();
}

#[test]
fn the_ai_layer_contracts_deploy_with_forge_script() {
    let _forge = FORGE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(dir.path(), free_port(), &dir.path().join("node.log"));
    let out = ok(run(Command::new(common::repo_root().join("scripts/deploy_contracts.sh"))
        .arg(&node.rpc)
        .env(
            "PATH",
            format!(
                "{}:{}",
                common::repo_root().join(".tools/bin").display(),
                std::env::var("PATH").unwrap()
            ),
        )));
    for name in ["IPFSIncentives", "ModelRegistry", "ComputeMarketplace"] {
        let address = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from: {out}"))
            .trim()
            .to_string();
        let code = ok(cast(&["code", &address, "--rpc-url", &node.rpc]));
        assert!(code.len() > 1_000, "{name} has code on chain");
        // The constructors grant roles (OpenZeppelin's RoleGranted event); cast reads them
        // back through eth_getLogs.
        let logs = ok(cast(&[
            "logs",
            "--rpc-url",
            &node.rpc,
            "--from-block",
            "0",
            "--address",
            &address,
            "--json",
            "RoleGranted(bytes32,address,address)",
        ]));
        let logs: serde_json::Value = serde_json::from_str(&logs).expect("cast logs --json");
        let logs = logs.as_array().expect("an array of logs");
        assert!(!logs.is_empty(), "{name} emitted RoleGranted");
        assert!(logs.iter().all(|l| l["address"].as_str().unwrap().eq_ignore_ascii_case(&address)));
    }
    node.stop();
}

#[test]
fn cast_works_on_a_wide_dag_of_four_local_producers() {
    let dir = tempfile::tempdir().unwrap();
    let extra = ["--dev.producers", "4", "--dev.local-producers", "--dev.delay-ms", "300"];
    let node =
        NodeProcess::start_with(dir.path(), free_port(), &dir.path().join("node.log"), &extra);
    let rpc = node.rpc.clone();
    // Three transfers in a row from one account: nonces come from `pending`, receipts arrive.
    for _ in 0..3 {
        let receipt = ok(cast(&[
            "send",
            "--private-key",
            KEY0,
            ACCOUNT9,
            "--value",
            "1ether",
            "--rpc-url",
            &rpc,
        ]));
        assert!(receipt.contains("1 (success)"), "{receipt}");
    }
    assert_eq!(
        ok(cast(&["balance", ACCOUNT9, "--ether", "--rpc-url", &rpc])),
        "10003.000000000000000000"
    );
    let block = ok(cast(&["rpc", "eth_getBlockByNumber", "latest", "false", "--rpc-url", &rpc]));
    let block: serde_json::Value = serde_json::from_str(&block).unwrap();
    let blue_score =
        u64::from_str_radix(block["blueScore"].as_str().unwrap().trim_start_matches("0x"), 16)
            .unwrap();
    let number =
        u64::from_str_radix(block["number"].as_str().unwrap().trim_start_matches("0x"), 16)
            .unwrap();
    assert!(
        blue_score > number,
        "parallel blocks: blue score {blue_score} above chain height {number}"
    );
    node.stop();
}

//! Runs the development Kubo, `scripts/kubo-dev` (real Kubo 0.22 as a library behind its HTTP
//! RPC), for tests and local runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `scripts/kubo-dev`, stopped by its PID when dropped.
pub struct KuboDev {
    child: Child,
    url: String,
    _repo: tempfile::TempDir,
}

impl KuboDev {
    /// Starts `scripts/kubo-dev` of the checkout at `root` on a free loopback port, with a
    /// fresh repository, using the venv `scripts/setup.sh` makes; waits until it serves.
    pub fn start(root: &Path) -> std::io::Result<Self> {
        let python = root.join(".tools/kubo-venv/bin/python");
        if !python.exists() {
            return Err(std::io::Error::other(format!(
                "{} is missing: run scripts/setup.sh",
                python.display()
            )));
        }
        let repo = tempfile::tempdir()?;
        let log = repo.path().join("kubo.log");
        let child = Command::new(python)
            .arg(root.join("scripts/kubo-dev"))
            .args(["--api-port", "0", "--repo"])
            .arg(repo.path().join("ipfs"))
            .stdout(std::fs::File::create(&log)?)
            .stderr(Stdio::null())
            .spawn()?;
        let mut kubo = Self { child, url: String::new(), _repo: repo };
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(at) = text.find("listening on ") {
                kubo.url = text[at + "listening on ".len()..].lines().next().unwrap_or("").into();
                return Ok(kubo);
            }
            if started.elapsed() > Duration::from_secs(60) || kubo.has_exited() {
                return Err(std::io::Error::other(format!("kubo-dev did not start: {text}")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Its API's URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Stops it (SIGTERM by PID) and waits for it to exit.
    pub fn stop(&mut self) {
        if self.has_exited() {
            return;
        }
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

impl Drop for KuboDev {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The checkout this crate was built from (where `scripts/kubo-dev` is).
pub fn checkout_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

//! What the node knows about its Kubo, checked on a task of its own.

use crate::client::{IpfsClient, IpfsError};
use parking_lot::RwLock;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the watcher asks Kubo how it is.
pub const DEFAULT_CHECK_EVERY: Duration = Duration::from_secs(10);

/// What the node reports about its Kubo (`lattice_ipfsStatus`).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IpfsStatus {
    /// The API's URL (`--ipfs-api`).
    pub api: String,
    /// Whether the last check got answers.
    pub reachable: bool,
    /// Kubo's version, from the last check that reached it.
    pub version: Option<String>,
    /// Its peer id.
    pub peer_id: Option<String>,
    /// Its repository's size in bytes.
    pub repo_size: Option<u64>,
    /// Blocks in its repository.
    pub num_objects: Option<u64>,
    /// Why the last check failed, while it fails.
    pub last_error: Option<String>,
    /// When the last check ended (Unix milliseconds); `None` before the first.
    pub checked_at_ms: Option<u64>,
    /// Checks that failed since start-up.
    pub failed_checks: u64,
}

/// Keeps an [`IpfsStatus`] up to date. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct IpfsWatch {
    client: Arc<IpfsClient>,
    status: Arc<RwLock<IpfsStatus>>,
    every: Duration,
}

impl IpfsWatch {
    /// Starts checking `client`'s Kubo every `every` until `shutdown` turns true.
    /// `on_check(reachable)` is called after each check (for metrics).
    pub fn spawn(
        client: Arc<IpfsClient>,
        every: Duration,
        on_check: impl Fn(bool) + Send + Sync + 'static,
        mut shutdown: watch::Receiver<bool>,
    ) -> (Self, JoinHandle<()>) {
        let status = Arc::new(RwLock::new(IpfsStatus {
            api: client.url().to_string(),
            ..Default::default()
        }));
        let watch = Self { client, status, every };
        let task = {
            let watch = watch.clone();
            tokio::spawn(async move {
                let mut first = true;
                loop {
                    // A check of a hung Kubo takes up to its timeouts: stopping does not wait.
                    let reachable = tokio::select! {
                        reachable = watch.check(first) => reachable,
                        _ = shutdown.changed() => return,
                    };
                    first = false;
                    on_check(reachable);
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = shutdown.changed() => return,
                    }
                    if *shutdown.borrow() {
                        return;
                    }
                }
            })
        };
        (watch, task)
    }

    /// The latest status.
    pub fn status(&self) -> IpfsStatus {
        self.status.read().clone()
    }

    /// The client, for the services that use Kubo.
    pub fn client(&self) -> &Arc<IpfsClient> {
        &self.client
    }

    /// Asks Kubo for its version, identity and repository size; records and logs what
    /// changed. Returns whether it answered.
    async fn check(&self, first: bool) -> bool {
        let answers = async {
            let version = self.client.version().await?;
            let id = self.client.id().await?;
            let repo = self.client.repo_stat().await?;
            Ok::<_, IpfsError>((version, id, repo))
        }
        .await;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let mut status = self.status.write();
        let was = status.reachable;
        status.checked_at_ms = Some(now);
        match answers {
            Ok((version, id, repo)) => {
                if !was {
                    tracing::info!(target: "lattice::ipfs", api = %status.api, version = %version.version,
                        peer = %id.id, "Kubo reachable");
                }
                status.reachable = true;
                status.version = Some(version.version);
                status.peer_id = Some(id.id);
                status.repo_size = Some(repo.repo_size);
                status.num_objects = repo.num_objects.or(status.num_objects);
                status.last_error = None;
                true
            }
            Err(e) => {
                if was || first {
                    tracing::warn!(target: "lattice::ipfs", api = %status.api, error = %e,
                        "Kubo unreachable; IPFS features wait for it (checked every {:?})",
                        self.every);
                } else {
                    tracing::debug!(target: "lattice::ipfs", error = %e, "Kubo still unreachable");
                }
                status.reachable = false;
                status.last_error = Some(e.to_string());
                status.failed_checks += 1;
                false
            }
        }
    }
}

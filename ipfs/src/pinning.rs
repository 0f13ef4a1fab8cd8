//! One step of the pinning service: take an announced record (a CID and the `ContentSpec` the
//! chain holds for it), fetch the content from Kubo within the committed size, recompute the
//! storage commitment, and pin only content that matches it. A mismatch is reported, never
//! pinned; Kubo being away is retried later with a doubling backoff.
//!
//! What follows the chain's `RecordOpened` events and keeps the work list on disk uses this;
//! the step itself is the same for a record seen live or resumed after a restart.

use crate::client::{IpfsClient, IpfsError};
use crate::merkle;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Default of [`PinPolicy::max_pin_bytes`]: the content is held in memory while its
/// commitment is checked.
pub const DEFAULT_MAX_PIN_BYTES: u64 = 256 * 1024 * 1024;

/// What the chain announced: a record's CID and its storage commitment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PinRequest {
    /// The record's id in `IPFSIncentives` (decimal).
    pub record_id: String,
    /// The content's CID.
    pub cid: String,
    /// `ContentSpec.sizeBytes`.
    pub size_bytes: u64,
    /// `ContentSpec.leafCount`.
    pub leaf_count: u64,
    /// `ContentSpec.merkleRoot`.
    pub merkle_root: merkle::Node,
}

/// Where a record's pin stands.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum PinState {
    /// Not pinned yet; tried again at `next_try_ms`.
    Waiting,
    /// Pinned, its content matching the commitment.
    Pinned,
    /// The content does not match the on-chain commitment (or the commitment is not a
    /// possible one): reported, not pinned.
    Mismatch,
    /// The commitment's size is over `--ipfs-max-pin-bytes`: not fetched.
    TooLarge,
    /// Kubo refused it every time, `PinPolicy::max_attempts` times.
    Failed,
}

/// A record's pin and its accounting.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PinEntry {
    /// What was announced.
    pub request: PinRequest,
    /// Where it stands.
    pub state: PinState,
    /// Attempts so far.
    pub attempts: u32,
    /// Why the last attempt did not pin it.
    pub last_error: Option<String>,
    /// When to try again (Unix milliseconds), while waiting.
    pub next_try_ms: u64,
    /// When it was pinned (Unix milliseconds).
    pub pinned_at_ms: Option<u64>,
    /// The storage provider's account of the record (storage-provider mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderAccount>,
}

/// What a storage provider did with one record: its pin on chain, the epochs and rewards the
/// contract paid for it, and the challenges it met.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProviderAccount {
    /// The provider's pin of the record stands on chain.
    pub committed: bool,
    /// Epochs the contract paid (`PinReported`).
    pub epochs_paid: u64,
    /// Wei those reports paid (decimal).
    pub reward_wei: String,
    /// Challenges answered and verified by the contract.
    pub challenges_answered: u32,
    /// Challenges missed: the provider was slashed for them.
    pub challenges_failed: u32,
}

impl PinEntry {
    /// A new record, to be tried at once.
    pub fn new(request: PinRequest) -> Self {
        Self {
            request,
            state: PinState::Waiting,
            attempts: 0,
            last_error: None,
            next_try_ms: 0,
            pinned_at_ms: None,
            provider: None,
        }
    }

    /// Whether it is due for an attempt at `now_ms`.
    pub fn is_due(&self, now_ms: u64) -> bool {
        self.state == PinState::Waiting && self.next_try_ms <= now_ms
    }
}

/// Bounds of the pinning step.
#[derive(Clone, Debug)]
pub struct PinPolicy {
    /// Largest content pinned (`--ipfs-max-pin-bytes`).
    pub max_pin_bytes: u64,
    /// Attempts before a record Kubo keeps refusing is given up.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubled after each, up to `max_backoff`.
    pub backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for PinPolicy {
    fn default() -> Self {
        Self {
            max_pin_bytes: DEFAULT_MAX_PIN_BYTES,
            max_attempts: 10,
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(600),
        }
    }
}

/// Runs [`PinEntry`] attempts against one Kubo.
#[derive(Clone, Debug)]
pub struct Pinner {
    client: Arc<IpfsClient>,
    policy: PinPolicy,
}

impl Pinner {
    /// A pinner using `client`, within `policy`.
    pub fn new(client: Arc<IpfsClient>, policy: PinPolicy) -> Self {
        Self { client, policy }
    }

    /// One attempt at `entry`, at `now_ms`: fetch within the committed size, check the
    /// commitment, pin. Updates the entry's state and accounting.
    pub async fn attempt(&self, entry: &mut PinEntry, now_ms: u64) {
        entry.attempts += 1;
        let request = &entry.request;
        if request.size_bytes > self.policy.max_pin_bytes {
            let limit = self.policy.max_pin_bytes;
            return finish(entry, PinState::TooLarge, format!("committed size over {limit} bytes"));
        }
        let leaves = request.size_bytes.div_ceil(merkle::LEAF_BYTES as u64);
        if request.size_bytes == 0 || request.leaf_count != leaves {
            let why = format!(
                "the commitment is impossible: {} bytes make {leaves} leaves, not {}",
                request.size_bytes, request.leaf_count
            );
            return finish(entry, PinState::Mismatch, why);
        }
        let content = match self.client.cat(&request.cid, request.size_bytes as usize).await {
            Ok(content) => content,
            Err(IpfsError::TooLarge { .. }) => {
                let why = format!(
                    "the content is larger than the {} bytes committed",
                    request.size_bytes
                );
                return finish(entry, PinState::Mismatch, why);
            }
            Err(e) => return self.retry(entry, now_ms, e),
        };
        let Some(found) = merkle::commitment(&content) else {
            return finish(entry, PinState::Mismatch, "the content is empty".into());
        };
        if found.size_bytes != request.size_bytes || found.merkle_root != request.merkle_root {
            let why = format!(
                "the content ({} bytes, root 0x{}) does not match the commitment ({} bytes, root 0x{})",
                found.size_bytes,
                hex(&found.merkle_root),
                request.size_bytes,
                hex(&request.merkle_root)
            );
            return finish(entry, PinState::Mismatch, why);
        }
        match self.client.pin_add(&request.cid).await {
            Ok(()) => {
                entry.state = PinState::Pinned;
                entry.last_error = None;
                entry.pinned_at_ms = Some(now_ms);
            }
            Err(e) => self.retry(entry, now_ms, e),
        }
    }

    /// Waits and tries again, unless Kubo refused it `max_attempts` times (an unreachable
    /// Kubo never gives a record up: it is not the record's fault).
    fn retry(&self, entry: &mut PinEntry, now_ms: u64, error: IpfsError) {
        if !error.is_unavailable() && entry.attempts >= self.policy.max_attempts {
            return finish(entry, PinState::Failed, error.to_string());
        }
        let doublings = entry.attempts.saturating_sub(1).min(20);
        let wait = self.policy.backoff.saturating_mul(1 << doublings).min(self.policy.max_backoff);
        entry.state = PinState::Waiting;
        entry.last_error = Some(error.to_string());
        entry.next_try_ms = now_ms.saturating_add(wait.as_millis() as u64);
    }
}

fn finish(entry: &mut PinEntry, state: PinState, why: String) {
    entry.state = state;
    entry.last_error = Some(why);
}

fn hex(node: &merkle::Node) -> String {
    node.iter().map(|b| format!("{b:02x}")).collect()
}

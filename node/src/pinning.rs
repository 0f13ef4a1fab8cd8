//! The pinning service (`--ipfs-incentives ADDRESS`, with `--ipfs-api`): follows the
//! `RecordOpened` events of that `IPFSIncentives` contract on this node's own chain, keeps one
//! entry per record in RocksDB (`IpfsPins`, with the scan's cursor in `Meta`), and pins each
//! announced CID whose content matches its on-chain commitment
//! ([`lattice_ipfs::pinning::Pinner`]). A restart resumes from the stored cursor and entries.
//!
//! It reads the chain's log index, never the import path: a record is taken once its chain
//! block is [`CONFIRMATIONS`] below the sink, so the depth-1 reorgs of a DAG never reach it. A
//! reorg deeper than that is noticed by the cursor's hash and the scan goes back a finality
//! depth (entries are keyed by record id, so scanning again changes nothing).

use crate::chain::LogQuery;
use crate::provider::{Provider, ProviderSummary};
use crate::Node;
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use eyre::{eyre, Result};
use lattice_ipfs::pinning::{PinEntry, PinRequest, PinState, Pinner};
use lattice_storage::tables;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

alloy_sol_types::sol! {
    /// `IIPFSIncentives.ContentSpec`.
    struct ContentSpec {
        uint64 sizeBytes;
        bytes32 merkleRoot;
        uint64 leafCount;
        uint16 replicationTarget;
        uint32 durationEpochs;
        uint128 rewardPerByteEpoch;
    }

    /// `ModelRegistry.ModelInput`.
    struct ModelInput {
        string name;
        string framework;
        string metadataURI;
        uint128 pricePerUse;
        bool permissioned;
        uint256 maxFee;
    }

    /// `ModelRegistry.registerModel`.
    function registerModel(ModelInput input, string cid, ContentSpec content)
        external payable returns (uint256 modelId);

    /// `ModelRegistry.registrationFee`.
    function registrationFee() external view returns (uint256);

    /// `ModelRegistry.ModelVersionAdded`.
    event ModelVersionAdded(uint256 indexed modelId, uint32 indexed version, string cid, uint256 pinRecordId);

    /// `IPFSIncentives.RecordOpened`.
    event RecordOpened(
        uint256 indexed recordId,
        address indexed funder,
        string cid,
        ContentSpec spec,
        uint64 startEpoch,
        uint64 endEpoch
    );
}

/// Chain blocks below the sink a record's block must be before the record is taken.
pub const CONFIRMATIONS: u64 = 16;
/// Most records the service keeps: anyone who opens records grows the list, and each costs a
/// fetch. Records beyond it are logged and counted (`dropped`), not kept.
pub const MAX_RECORDS: usize = 10_000;
/// Chain blocks one scan reads at most.
const SCAN_BLOCKS: u64 = 10_000;
/// Pin attempts per round (each may take up to `--ipfs-timeout` twice).
const ATTEMPTS_PER_ROUND: usize = 8;
/// Pause between rounds.
const ROUND: Duration = Duration::from_secs(2);
/// Meta keys: the last chain block scanned, and its hash.
const META_CURSOR: &[u8] = b"ipfs_pin_cursor";
const META_CURSOR_HASH: &[u8] = b"ipfs_pin_cursor_hash";

/// What `lattice_pinningSummary` reports.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PinningSummary {
    /// The contract followed.
    pub contract: Address,
    /// The last chain block scanned for records.
    pub scanned_through: u64,
    /// Records kept.
    pub records: usize,
    /// Pinned, with their committed bytes.
    pub pinned: usize,
    pub pinned_bytes: u64,
    /// Waiting for an attempt.
    pub waiting: usize,
    /// Content that does not match its commitment (reported, not pinned).
    pub mismatch: usize,
    /// Over `--ipfs-max-pin-bytes`.
    pub too_large: usize,
    /// Given up after Kubo refused them.
    pub failed: usize,
    /// Records not kept because the list was full.
    pub dropped: u64,
    /// Storage-provider mode, when on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderSummary>,
}

/// The running service's handle, for RPC.
#[derive(Debug)]
pub struct Pinning {
    contract: Address,
    /// The storage provider's address (storage-provider mode): its challenges are followed.
    provider: Option<Address>,
    dropped: std::sync::atomic::AtomicU64,
    /// The provider's last round.
    provider_summary: parking_lot::Mutex<Option<ProviderSummary>>,
    /// Serialises read-modify-write of one stored entry between the pinner and the provider
    /// (each owns its own fields of it).
    entry_lock: parking_lot::Mutex<()>,
}

impl Pinning {
    /// A service following `contract`, for `provider` in storage-provider mode.
    pub fn new(contract: Address, provider: Option<Address>) -> Self {
        Self {
            contract,
            provider,
            dropped: Default::default(),
            provider_summary: Default::default(),
            entry_lock: Default::default(),
        }
    }

    /// Entries `offset..offset + limit` in record order.
    pub fn entries(&self, node: &Node, offset: usize, limit: usize) -> Result<Vec<PinEntry>> {
        Ok(load(node)?.into_iter().skip(offset).take(limit).collect())
    }

    /// Counts by state.
    pub fn summary(&self, node: &Node) -> Result<PinningSummary> {
        let entries = load(node)?;
        let mut s = PinningSummary {
            contract: self.contract,
            scanned_through: read_u64(node, META_CURSOR)?,
            records: entries.len(),
            dropped: self.dropped.load(std::sync::atomic::Ordering::Relaxed),
            provider: self.provider_summary.lock().clone(),
            ..Default::default()
        };
        for e in &entries {
            match e.state {
                PinState::Pinned => {
                    s.pinned += 1;
                    s.pinned_bytes += e.request.size_bytes;
                }
                PinState::Waiting => s.waiting += 1,
                PinState::Mismatch => s.mismatch += 1,
                PinState::TooLarge => s.too_large += 1,
                PinState::Failed => s.failed += 1,
            }
        }
        Ok(s)
    }
}

/// Runs the service until `shutdown`.
pub async fn run(
    node: Arc<Node>,
    pinning: Arc<Pinning>,
    pinner: Pinner,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(target: "lattice::ipfs", contract = %pinning.contract,
        "pinning service: following RecordOpened");
    let mut was_down = false;
    loop {
        let (n, p) = (node.clone(), pinning.clone());
        match tokio::task::spawn_blocking(move || scan(&n, &p)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(found)) => tracing::info!(target: "lattice::ipfs", found, "new records to pin"),
            Ok(Err(e)) => {
                tracing::warn!(target: "lattice::ipfs", error = %e, "scanning for records failed")
            }
            Err(e) => {
                tracing::error!(target: "lattice::ipfs", error = %e, "the record scan panicked")
            }
        }
        // While Kubo is away nothing is tried (an attempt would only wait out its timeout);
        // when it returns, every waiting record is tried again at once.
        let down = node.ipfs.get().is_some_and(|w| {
            let s = w.status();
            s.checked_at_ms.is_some() && !s.reachable
        });
        let resumed = std::mem::replace(&mut was_down, down) && !down;
        if resumed {
            tracing::info!(target: "lattice::ipfs", "Kubo is back: pinning resumes");
        }
        let now = now_ms();
        let due: Vec<PinEntry> = match load(&node) {
            Ok(_) if down => Vec::new(),
            Ok(all) => all
                .into_iter()
                .filter(|e| e.is_due(now) || (resumed && e.state == PinState::Waiting))
                .take(ATTEMPTS_PER_ROUND)
                .collect(),
            Err(e) => {
                tracing::warn!(target: "lattice::ipfs", error = %e, "cannot read the pin list");
                Vec::new()
            }
        };
        for mut entry in due {
            tokio::select! {
                _ = pinner.attempt(&mut entry, now_ms()) => {}
                _ = shutdown.changed() => return,
            }
            log_outcome(&entry);
            if let Err(e) = pinning.store(&node, &entry, Fields::Pinner) {
                tracing::warn!(target: "lattice::ipfs", error = %e, "cannot store a pin entry");
            }
        }
        if let Ok(summary) = pinning.summary(&node) {
            node.metrics.set_pins(&summary);
        }
        tokio::select! {
            _ = tokio::time::sleep(ROUND) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Runs the storage provider until `shutdown`: a task of its own, so that answering a
/// challenge never waits behind pin attempts.
pub async fn run_provider(
    node: Arc<Node>,
    pinning: Arc<Pinning>,
    mut provider: Provider,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(target: "lattice::ipfs", provider = %provider.address(),
        "storage provider: committing, answering challenges, claiming rewards");
    loop {
        tokio::select! {
            outcome = provider_round(&node, &pinning, &mut provider) => if let Err(e) = outcome {
                tracing::warn!(target: "lattice::ipfs", error = %e, "storage provider round failed");
            },
            _ = shutdown.changed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(ROUND) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// One round of the storage provider over the stored entries; stores what it changed.
async fn provider_round(
    node: &Arc<Node>,
    pinning: &Pinning,
    provider: &mut Provider,
) -> Result<()> {
    let before = load(node)?;
    let mut entries = before.clone();
    let outcome = provider.round(node, &mut entries).await;
    for (old, new) in before.iter().zip(&entries) {
        if old != new {
            // The provider sends an entry back to `waiting` when its content is gone.
            let fields = if old.state != new.state { Fields::Both } else { Fields::Provider };
            pinning.store(node, new, fields)?;
        }
    }
    let open = crate::provider::open_challenges(node)?.len();
    *pinning.provider_summary.lock() = Some(provider.summary(&entries, open));
    outcome
}

fn log_outcome(entry: &PinEntry) {
    let (record, cid) = (&entry.request.record_id, &entry.request.cid);
    match entry.state {
        PinState::Pinned => tracing::info!(target: "lattice::ipfs", record, cid,
            bytes = entry.request.size_bytes, "pinned; the content matches its commitment"),
        PinState::Waiting => tracing::debug!(target: "lattice::ipfs", record, cid,
            attempts = entry.attempts, error = entry.last_error.as_deref().unwrap_or(""),
            "pin attempt failed; trying again later"),
        state => tracing::warn!(target: "lattice::ipfs", record, cid, ?state,
            reason = entry.last_error.as_deref().unwrap_or(""), "not pinned"),
    }
}

/// Reads the chain blocks from the cursor to [`CONFIRMATIONS`] below the sink for records.
/// Returns how many new ones it kept.
fn scan(node: &Node, pinning: &Pinning) -> Result<usize> {
    let chain = &node.chain;
    let mut cursor = read_u64(node, META_CURSOR)?;
    // A reorg deeper than the confirmations replaced the block the scan ended at: go back as
    // far as any reorg can (the finality depth) and read again.
    if cursor > 0 {
        let stored = crate::chain::meta_get(chain.db(), META_CURSOR_HASH)?;
        let now = chain.hash_at(cursor)?;
        if stored.as_deref() != now.as_ref().map(|h| h.as_slice()) {
            let back = cursor.saturating_sub(chain.spec().finality_depth);
            tracing::warn!(target: "lattice::ipfs", cursor, back,
                "the chain changed under the record scan; scanning again");
            cursor = back;
        }
    }
    let target = chain.head().number.saturating_sub(CONFIRMATIONS);
    if target <= cursor {
        return Ok(0);
    }
    let to = target.min(cursor + SCAN_BLOCKS);
    let topic = RecordOpened::SIGNATURE_HASH;
    let addresses = [pinning.contract];
    let mut wanted = vec![topic];
    wanted.extend(pinning.provider.map(|_| crate::provider::CHALLENGE_OPENED));
    let topics = [wanted];
    // Held until the batch is committed, so that the provider never rewrites the list from a
    // copy older than this scan's additions.
    let _list = crate::provider::CHALLENGE_LIST.lock().unwrap_or_else(|e| e.into_inner());
    let mut challenges = crate::provider::open_challenges(node)?;
    let followed = challenges.len();
    let query = LogQuery { addresses: &addresses, topics: &topics };
    let mut kept = load(node)?.len();
    let mut found = 0;
    let mut batch = chain.db().batch();
    let mut to = to;
    'blocks: for number in chain.log_candidates(cursor + 1, to, &query)? {
        let Some(hash) = chain.hash_at(number)? else { continue };
        for receipt in chain.receipts(hash)?.iter().filter(|r| r.success) {
            for log in &receipt.logs {
                if log.address != pinning.contract {
                    continue;
                }
                if let Some((id, provider)) = crate::provider::challenge_opened(&log.data) {
                    if Some(provider) != pinning.provider || challenges.contains(&id) {
                        continue;
                    }
                    if challenges.len() >= crate::provider::MAX_OPEN_CHALLENGES {
                        // Never step past a challenge not followed: the scan stays before this
                        // block until closed challenges make room.
                        tracing::warn!(target: "lattice::ipfs", challenge = %id,
                            "too many open challenges to follow; the scan waits for room");
                        to = number - 1;
                        break 'blocks;
                    }
                    tracing::info!(target: "lattice::ipfs", challenge = %id, block = number,
                        "a challenge against this provider");
                    challenges.push(id);
                    continue;
                }
                if log.data.topics().first() != Some(&topic) {
                    continue;
                }
                let event = match RecordOpened::decode_log_data(&log.data) {
                    Ok(event) => event,
                    Err(e) => {
                        tracing::warn!(target: "lattice::ipfs", block = number, error = %e,
                            "a RecordOpened log that does not decode");
                        continue;
                    }
                };
                let key = B256::from(event.recordId);
                if chain.db().get::<tables::IpfsPins>(&key)?.is_some() {
                    continue;
                }
                if kept >= MAX_RECORDS {
                    pinning.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(target: "lattice::ipfs", record = %event.recordId,
                        "the pin list is full ({MAX_RECORDS} records); record not kept");
                    continue;
                }
                let request = PinRequest {
                    record_id: event.recordId.to_string(),
                    cid: event.cid.clone(),
                    size_bytes: event.spec.sizeBytes,
                    leaf_count: event.spec.leafCount,
                    merkle_root: event.spec.merkleRoot.0,
                };
                batch
                    .put::<tables::IpfsPins>(&key, &serde_json::to_vec(&PinEntry::new(request))?)?;
                kept += 1;
                found += 1;
            }
        }
    }
    if challenges.len() != followed {
        crate::provider::put_challenges(&mut batch, &challenges)?;
    }
    if to <= cursor {
        return Ok(0);
    }
    let end_hash = chain.hash_at(to)?.ok_or_else(|| eyre!("no chain block at {to}"))?;
    batch.put::<tables::Meta>(&META_CURSOR.to_vec(), &to.to_be_bytes().to_vec())?;
    batch.put::<tables::Meta>(&META_CURSOR_HASH.to_vec(), &end_hash.to_vec())?;
    batch.commit()?;
    Ok(found)
}

/// Every entry, in record order.
fn load(node: &Node) -> Result<Vec<PinEntry>> {
    node.chain
        .db()
        .scan_from::<tables::IpfsPins>(&[], |_| true)?
        .into_iter()
        .map(|(_, raw)| Ok(serde_json::from_slice(&raw)?))
        .collect()
}

/// Which fields of a stored entry a writer owns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fields {
    /// The pin's state and attempts (the pinner).
    Pinner,
    /// The provider's account (the provider).
    Provider,
    /// Both (the provider sending a lost record back to the pinner).
    Both,
}

impl Pinning {
    /// Writes `entry`'s `fields` over the stored entry, keeping the other writer's fields.
    fn store(&self, node: &Node, entry: &PinEntry, fields: Fields) -> Result<()> {
        let id: U256 = entry.request.record_id.parse()?;
        let key = B256::from(id);
        let _guard = self.entry_lock.lock();
        let mut stored: PinEntry = match node.chain.db().get::<tables::IpfsPins>(&key)? {
            Some(raw) => serde_json::from_slice(&raw)?,
            None => entry.clone(),
        };
        if fields != Fields::Provider {
            let provider = stored.provider.take();
            stored = PinEntry { provider, ..entry.clone() };
        }
        if fields != Fields::Pinner {
            stored.provider = entry.provider.clone();
        }
        let mut batch = node.chain.db().batch();
        batch.put::<tables::IpfsPins>(&key, &serde_json::to_vec(&stored)?)?;
        Ok(batch.commit()?)
    }
}

fn read_u64(node: &Node, key: &[u8]) -> Result<u64> {
    Ok(crate::chain::meta_get(node.chain.db(), key)?
        .and_then(|b| b.as_slice().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

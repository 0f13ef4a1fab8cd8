//! Storage-provider mode (`--ipfs-provider-key-file`, with the pinning service): the node
//! registers its provider account in the `IPFSIncentives` contract, commits to the records it
//! holds (their content read back from Kubo and matching the commitment, just before each
//! commitment), answers the challenges against it with the drawn leaves and their Merkle paths
//! read from Kubo, reports its pins each epoch and withdraws what the contract credits.
//!
//! Every decision is taken from the contract's state at the sink, read with the node's own
//! `eth_call`; a transaction is built only when `eth_estimateGas` says it would succeed (a
//! revert is logged with its reason, not sent), signed with the provider's key and added to the
//! node's own pool. One transaction is in flight at a time, so nonces never gap; answering a
//! challenge comes first, then registering, committing, reporting and withdrawing.
//!
//! Challenges are found by the pinning service's scan (`ChallengeOpened` naming this provider)
//! and kept in `Meta` until the contract closes them, so that a restart still answers them.

use crate::rpc_api::{Api, SUGGESTED_TIP};
use crate::Node;
use alloy_consensus::{TxEip1559, TypedTransaction};
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolEvent, SolInterface};
use eyre::{eyre, Result};
use lattice_evm::{CallOutcome, CallRequest};
use lattice_ipfs::pinning::{PinEntry, PinState, ProviderAccount};
use lattice_ipfs::{merkle, IpfsClient};
use lattice_rpc::NodeApi;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;

alloy_sol_types::sol! {
    /// The part of `IPFSIncentives` a provider uses.
    #[sol(all_derives)]
    interface Incentives {
        struct Params {
            uint128 minStake;
            uint128 stakePerByte;
            uint128 challengeBond;
            uint128 challengeSlash;
            uint16 challengerShareBps;
            uint32 responseWindow;
        }
        struct ProviderInfo {
            bool registered;
            uint32 activePins;
            uint32 openChallenges;
            uint128 backing;
            string peerId;
        }
        struct PinInfo {
            bool active;
            uint32 nonce;
            uint32 openChallenges;
            uint64 nextEpoch;
            uint64 exitEpoch;
            uint64 exitBlock;
            uint64 exitAt;
            uint128 backing;
        }
        struct RecordInfo {
            address funder;
            uint16 replicationTarget;
            uint16 activePins;
            uint64 sizeBytes;
            uint64 leafCount;
            uint64 startEpoch;
            uint64 endEpoch;
            bytes32 merkleRoot;
            uint128 rewardPerByteEpoch;
            uint128 pool;
            uint128 contributed;
            string cid;
        }
        struct ChallengeInfo {
            uint256 recordId;
            address provider;
            address challenger;
            uint8 status;
            uint32 pinNonce;
            uint16 challengerShareBps;
            uint32 responseWindow;
            uint64 seedBlock;
            uint64 respondBy;
            uint128 bond;
            uint128 slash;
            bytes32 commitment;
            bytes32 seed;
        }

        function params() external view returns (Params memory);
        function getProvider(address provider) external view returns (ProviderInfo memory);
        function getPin(uint256 recordId, address provider) external view returns (PinInfo memory);
        function getRecord(uint256 recordId) external view returns (RecordInfo memory);
        function getChallenge(uint256 challengeId) external view returns (ChallengeInfo memory);
        function leafIndices(uint256 challengeId) external view returns (uint64[] memory);
        function currentEpoch() external view returns (uint64);
        function bondedOf(address account) external view returns (uint256);
        function creditOf(address account) external view returns (uint256);

        function registerProvider(string peerId) external payable;
        function addStake() external payable;
        function commitPin(uint256 recordId) external;
        function reportPin(uint256 recordId) external returns (uint256 reward);
        function respond(uint256 challengeId, bytes[] chunks, bytes32[][] proofs) external;
        function withdraw() external returns (uint256 amount);
        function resolve(uint256 challengeId) external;

        event ChallengeOpened(
            uint256 indexed challengeId,
            uint256 indexed recordId,
            address indexed provider,
            address challenger,
            uint64 seedBlock
        );
        event Withdrawn(address indexed account, uint256 amount);
        event PinReported(
            uint256 indexed recordId, address indexed provider, uint64 fromEpoch, uint64 toEpoch, uint256 reward
        );

        error UnknownRecord(uint256 recordId);
        error RecordExpired(uint256 recordId, uint64 endEpoch);
        error NotRegistered(address provider);
        error StakeBelowRequired(uint256 bonded, uint256 required);
        error ReplicationFull(uint256 recordId, uint16 target);
        error AlreadyPinned(uint256 recordId, address provider);
        error NotPinned(uint256 recordId, address provider);
        error NothingToReport(uint256 recordId, address provider, uint64 nextEpoch);
        error PoolExhausted(uint256 recordId, uint256 pool);
        error PinUnderChallenge(uint256 recordId, address provider, uint32 openChallenges);
        error HasOpenChallenges(address provider, uint32 challenges);
        error ChallengeNotOpen(uint256 challengeId);
        error NotRevealed(uint256 challengeId);
        error PinGone(uint256 challengeId);
        error InvalidProof(uint256 challengeId, uint256 leaf, uint64 leafIndex);
        error ResponseWindowClosed(uint256 challengeId, uint64 respondBy);
        error EnforcedPause();
        error ChallengePending(uint256 challengeId);
    }
}

/// Default of `--ipfs-provider-max-stake`: 10 ether.
pub const DEFAULT_MAX_STAKE: U256 = U256::from_limbs([10_000_000_000_000_000_000, 0, 0, 0]);
/// Most open challenges the provider keeps track of (anyone may open them, for a bond each).
pub const MAX_OPEN_CHALLENGES: usize = 1_000;
/// Blocks after which a transaction still in the pool is replaced with higher fees, or one
/// gone from the pool without a receipt is given up.
const STUCK_BLOCKS: u64 = 8;
/// Chain blocks below the sink at which a challenge's closing is taken as final.
const CONFIRMED: u64 = crate::pinning::CONFIRMATIONS;
/// Blocks for which a challenge's seed hash is available: an unrevealed challenge older than
/// this is resolved in the provider's favour (`BLOCKHASH_WINDOW`).
const BLOCKHASH_WINDOW: u64 = 256;
/// Gas a `reportPin` and a `withdraw` cost, about: neither is sent unless what it brings is at
/// least [`WORTH`] times its fee.
const REPORT_GAS: u64 = 120_000;
const WITHDRAW_GAS: u64 = 60_000;
const WORTH: u64 = 4;
/// Meta key of the open challenges (JSON list of decimal ids).
pub(crate) const META_CHALLENGES: &[u8] = b"ipfs_provider_challenges";

/// `ChallengeStatus` of the contract.
mod status {
    pub const COMMITTED: u8 = 1;
    pub const REVEALED: u8 = 2;
    pub const ANSWERED: u8 = 3;
    pub const FAILED: u8 = 4;
}

/// `--ipfs-provider-key-file` and its bound.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// Signs the provider's transactions.
    pub signer: PrivateKeySigner,
    /// Most stake bonded (`--ipfs-provider-max-stake`).
    pub max_stake: U256,
}

/// What the provider did since the node started, for `lattice_pinningSummary`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSummary {
    /// The provider's account.
    pub address: Address,
    /// Registered in the contract.
    pub registered: bool,
    /// Records whose pin stands on chain.
    pub committed: usize,
    /// Challenges being followed.
    pub open_challenges: usize,
    /// Challenges answered, and missed (slashed), over the records kept.
    pub challenges_answered: u64,
    pub challenges_failed: u64,
    /// Epochs and wei the contract paid for the records kept (decimal wei).
    pub epochs_paid: u64,
    pub reward_wei: String,
    /// Wei withdrawn from the contract since the node started (decimal).
    pub withdrawn_wei: String,
    /// The transaction in flight, if any.
    pub in_flight: Option<B256>,
}

/// What a provider transaction is for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Action {
    Register,
    AddStake,
    Commit(U256),
    Report(U256),
    Respond(U256),
    Withdraw,
    Resolve(U256),
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::AddStake => "stake",
            Action::Commit(_) => "commit",
            Action::Report(_) => "report",
            Action::Respond(_) => "respond",
            Action::Withdraw => "withdraw",
            Action::Resolve(_) => "resolve",
        }
    }
}

/// The transaction in flight: what it does, as signed, and the chain height it was sent at.
#[derive(Clone, Debug)]
struct InFlight {
    hash: B256,
    action: Action,
    tx: TxEip1559,
    sent_at: u64,
}

/// The provider's state between rounds.
pub struct Provider {
    config: ProviderConfig,
    contract: Address,
    client: Arc<IpfsClient>,
    max_bytes: u64,
    in_flight: Option<InFlight>,
    /// Since when (chain height) pooled transactions of the account not sent by this run wait.
    foreign_since: Option<u64>,
    registered: bool,
    withdrawn: U256,
    /// Reasons already logged at warn level, so a record stuck for one reason logs it once.
    warned: HashSet<String>,
}

impl Provider {
    /// A provider acting on `contract`, reading content from `client` (at most `max_bytes`).
    pub fn new(
        config: ProviderConfig,
        contract: Address,
        client: Arc<IpfsClient>,
        max_bytes: u64,
    ) -> Self {
        Self {
            config,
            contract,
            client,
            max_bytes,
            in_flight: None,
            foreign_since: None,
            registered: false,
            withdrawn: U256::ZERO,
            warned: HashSet::new(),
        }
    }

    /// The provider's address.
    pub fn address(&self) -> Address {
        self.config.signer.address()
    }

    /// Counts for RPC, from the kept `entries` and the open challenges.
    pub fn summary(&self, entries: &[PinEntry], open_challenges: usize) -> ProviderSummary {
        let mut s = ProviderSummary {
            address: self.address(),
            registered: self.registered,
            open_challenges,
            withdrawn_wei: self.withdrawn.to_string(),
            in_flight: self.in_flight.as_ref().map(|f| f.hash),
            ..Default::default()
        };
        let mut reward = U256::ZERO;
        for account in entries.iter().filter_map(|e| e.provider.as_ref()) {
            s.committed += usize::from(account.committed);
            s.challenges_answered += u64::from(account.challenges_answered);
            s.challenges_failed += u64::from(account.challenges_failed);
            s.epochs_paid += account.epochs_paid;
            reward = reward.saturating_add(wei(account));
        }
        s.reward_wei = reward.to_string();
        s
    }

    /// One round: follow the transaction in flight, else take the most urgent action.
    /// `entries` are the pinning service's records (updated in place; the caller stores them).
    pub async fn round(&mut self, node: &Arc<Node>, entries: &mut [PinEntry]) -> Result<()> {
        if let Some(in_flight) = self.in_flight.clone() {
            if !self.settle(node, in_flight, entries).await? {
                return Ok(());
            }
        }
        if self.answer_challenges(node, entries).await? {
            return Ok(());
        }
        if !self.registered && !self.register(node).await? {
            return Ok(());
        }
        if self.commit_and_report(node, entries).await? {
            return Ok(());
        }
        let credit = self.view(node, Incentives::creditOfCall { account: self.address() }).await?;
        if credit >= worth(node, WITHDRAW_GAS) {
            self.send(node, Action::Withdraw, U256::ZERO, Incentives::withdrawCall {}.abi_encode())
                .await?;
        }
        Ok(())
    }

    /// Whether the transaction in flight is settled (mined or gone); logs its outcome. One
    /// still pooled after [`STUCK_BLOCKS`] (or under the base fee) is replaced with higher fees.
    async fn settle(
        &mut self,
        node: &Arc<Node>,
        in_flight: InFlight,
        entries: &mut [PinEntry],
    ) -> Result<bool> {
        let InFlight { hash, action, .. } = &in_flight;
        let height = node.chain.head().number;
        // The pool first: a transaction mined between the two reads then has its receipt.
        if node.pool.contains(hash) {
            let base_fee = u128::from(node.chain.next_base_fee());
            if height >= in_flight.sent_at + STUCK_BLOCKS || in_flight.tx.max_fee_per_gas < base_fee
            {
                self.replace(node, in_flight, base_fee)?;
            }
            return Ok(false);
        }
        let api = Api::new(node.clone());
        let h = *hash;
        let receipt = blocking(move || Ok(api.receipt(h)?)).await?;
        let Some(receipt) = receipt else {
            // Carried by a block not yet accepted, or dropped: wait a little before deciding.
            if height < in_flight.sent_at + STUCK_BLOCKS {
                return Ok(false);
            }
            tracing::warn!(target: "lattice::ipfs", action = action.name(), tx = %hash,
                "the provider's transaction left the pool unmined; deciding again");
            node.metrics.ipfs_provider_txs.with_label_values(&[action.name(), "dropped"]).inc();
            self.in_flight = None;
            return Ok(true);
        };
        let (hash, action) = (*hash, action.clone());
        self.in_flight = None;
        let outcome = if receipt.receipt.success { "succeeded" } else { "reverted" };
        node.metrics.ipfs_provider_txs.with_label_values(&[action.name(), outcome]).inc();
        if !receipt.receipt.success {
            tracing::warn!(target: "lattice::ipfs", action = action.name(), tx = %hash,
                block = receipt.block_number, "the provider's transaction reverted on chain");
            return Ok(true);
        }
        tracing::info!(target: "lattice::ipfs", action = action.name(), tx = %hash,
            block = receipt.block_number, "provider transaction mined");
        match action {
            Action::Register => self.registered = true,
            Action::Report(record) => {
                for log in receipt.receipt.logs.iter().filter(|l| l.address == self.contract) {
                    let Ok(paid) = Incentives::PinReported::decode_log_data(&log.data) else {
                        continue;
                    };
                    if let Some(account) = account_of(entries, record) {
                        account.epochs_paid += paid.toEpoch.saturating_sub(paid.fromEpoch);
                        account.reward_wei = wei(account).saturating_add(paid.reward).to_string();
                    }
                    tracing::info!(target: "lattice::ipfs", record = %record, from = paid.fromEpoch,
                        to = paid.toEpoch, reward = %paid.reward, "pin reported: epochs paid");
                }
            }
            Action::Withdraw => {
                let credit = self.withdrawn_from(&receipt);
                self.withdrawn = self.withdrawn.saturating_add(credit);
                tracing::info!(target: "lattice::ipfs", amount = %credit, "rewards withdrawn");
            }
            _ => {}
        }
        Ok(true)
    }

    /// Sends the transaction in flight again, same nonce, with a quarter more tip and fee cap
    /// (the pool takes a replacement at 10% more) and at least twice the base fee.
    fn replace(&mut self, node: &Arc<Node>, mut in_flight: InFlight, base_fee: u128) -> Result<()> {
        let tx = &mut in_flight.tx;
        let tip =
            tx.max_priority_fee_per_gas.saturating_add(tx.max_priority_fee_per_gas / 4).max(1);
        tx.max_priority_fee_per_gas = tip;
        tx.max_fee_per_gas = tx
            .max_fee_per_gas
            .saturating_add(tx.max_fee_per_gas / 4)
            .max(base_fee.saturating_mul(2).saturating_add(tip));
        let signed = lattice_primitives::sign_transaction(
            &self.config.signer,
            TypedTransaction::Eip1559(tx.clone()),
        )?;
        let action = in_flight.action.name();
        let hash = match node.submit_transaction(signed) {
            Ok(hash) => hash,
            Err(e) => {
                // E.g. already carried by a block (its nonce sealed): wait for it.
                tracing::debug!(target: "lattice::ipfs", action, error = %e, "not replaced");
                return Ok(());
            }
        };
        tracing::warn!(target: "lattice::ipfs", action, old = %in_flight.hash, new = %hash,
            max_fee = tx.max_fee_per_gas, "the provider's transaction was stuck; sent again with higher fees");
        node.metrics.ipfs_provider_txs.with_label_values(&[action, "replaced"]).inc();
        in_flight.hash = hash;
        in_flight.sent_at = node.chain.head().number;
        self.in_flight = Some(in_flight);
        Ok(())
    }

    /// What a mined `withdraw` paid: its `Withdrawn` log's amount.
    fn withdrawn_from(&self, receipt: &lattice_rpc::ReceiptView) -> U256 {
        receipt
            .receipt
            .logs
            .iter()
            .filter(|l| l.address == self.contract)
            .filter_map(|l| Incentives::Withdrawn::decode_log_data(&l.data).ok())
            .map(|w| w.amount)
            .fold(U256::ZERO, U256::saturating_add)
    }

    /// Answers the first revealed challenge it can; drops the closed ones from the list,
    /// counting them. Whether a transaction was sent.
    async fn answer_challenges(
        &mut self,
        node: &Arc<Node>,
        entries: &mut [PinEntry],
    ) -> Result<bool> {
        let open = open_challenges(node)?;
        let mut closed_ids = Vec::new();
        let mut to_resolve = Vec::new();
        let mut sent = false;
        let now = latest_timestamp(node)?;
        let height = node.chain.head().number;
        // Records whose content Kubo could not give this round: not asked again for another
        // challenge (each miss waits out the timeout).
        let mut missing = HashSet::new();
        for id in open {
            let c = self.view(node, Incentives::getChallengeCall { challengeId: id }).await?;
            if c.provider != self.address() && c.provider != Address::ZERO {
                closed_ids.push(id); // not ours
                continue;
            }
            let stands = || async {
                let call = Incentives::getPinCall { recordId: c.recordId, provider: c.provider };
                let pin = self.view(node, call).await?;
                Ok::<_, eyre::Report>(pin.active && pin.nonce == c.pinNonce)
            };
            match c.status {
                status::COMMITTED => {
                    // Never revealed with its seed hash gone (the bond goes to the provider), or
                    // its pin gone (void): closing it lifts the block on commitments and reports.
                    if height > c.seedBlock + BLOCKHASH_WINDOW || !stands().await? {
                        to_resolve.push(id);
                    }
                }
                status::REVEALED => {
                    if !stands().await? {
                        to_resolve.push(id); // void: nothing to read from Kubo
                    } else if now > c.respondBy {
                        self.warn_once(
                            format!("closed {id}"),
                            format!("the response window of challenge {id} closed unanswered; the contract slashes the provider once anyone resolves it"),
                        );
                    } else if !sent && !missing.contains(&c.recordId) {
                        sent = self.respond(node, id, c.recordId).await?;
                        if !sent {
                            missing.insert(c.recordId);
                        }
                    }
                }
                // Closed (or unknown): forgotten, and counted, only once that is final.
                closed
                    if self
                        .view_at(node, Incentives::getChallengeCall { challengeId: id }, CONFIRMED)
                        .await?
                        .status
                        != closed => {}
                status::ANSWERED => {
                    closed_ids.push(id);
                    node.metrics.ipfs_challenges.with_label_values(&["answered"]).inc();
                    tracing::info!(target: "lattice::ipfs", challenge = %id, record = %c.recordId,
                        "challenge answered and verified by the contract");
                    if let Some(a) = account_of(entries, c.recordId) {
                        a.challenges_answered += 1;
                    }
                }
                status::FAILED => {
                    closed_ids.push(id);
                    node.metrics.ipfs_challenges.with_label_values(&["failed"]).inc();
                    tracing::error!(target: "lattice::ipfs", challenge = %id, record = %c.recordId,
                        slash = %c.slash, "challenge missed: the provider was slashed and its pin dropped");
                    if let Some(a) = account_of(entries, c.recordId) {
                        a.challenges_failed += 1;
                        a.committed = false;
                    }
                }
                _ => closed_ids.push(id), // never revealed, or void: closed without the provider
            }
        }
        forget_challenges(node, &closed_ids)?;
        // Answers first; a resolve only takes a round no answer needed.
        if !sent {
            if let Some(&id) = to_resolve.first() {
                let call = Incentives::resolveCall { challengeId: id };
                sent = self.send(node, Action::Resolve(id), U256::ZERO, call.abi_encode()).await?;
            }
        }
        Ok(sent)
    }

    /// Reads the record's content from Kubo and answers challenge `id`. Whether it sent.
    async fn respond(&mut self, node: &Arc<Node>, id: U256, record: U256) -> Result<bool> {
        let r = self.view(node, Incentives::getRecordCall { recordId: record }).await?;
        let indices = self.view(node, Incentives::leafIndicesCall { challengeId: id }).await?;
        let content = match self.content(&r).await {
            Ok(content) => content,
            Err(why) => {
                node.metrics.ipfs_challenges.with_label_values(&["unanswerable"]).inc();
                tracing::error!(target: "lattice::ipfs", challenge = %id, record = %record,
                    cid = %r.cid, reason = %why, "cannot answer a challenge: the content is not in Kubo");
                return Ok(false);
            }
        };
        let Some(merkle::Answer { chunks, paths }) = merkle::answer(&content, &indices) else {
            return Err(eyre!("challenge {id} draws a leaf past record {record}'s content"));
        };
        let call = Incentives::respondCall {
            challengeId: id,
            chunks: chunks.into_iter().map(Bytes::from).collect(),
            proofs: paths.into_iter().map(|p| p.into_iter().map(B256::from).collect()).collect(),
        };
        self.send(node, Action::Respond(id), U256::ZERO, call.abi_encode()).await
    }

    /// The record's content from Kubo, checked against its on-chain commitment.
    async fn content(&self, r: &Incentives::RecordInfo) -> Result<Vec<u8>, String> {
        if r.sizeBytes > self.max_bytes {
            return Err(format!("{} bytes is over --ipfs-max-pin-bytes", r.sizeBytes));
        }
        let content =
            self.client.cat(&r.cid, r.sizeBytes as usize).await.map_err(|e| e.to_string())?;
        match merkle::commitment(&content) {
            Some(c) if c.size_bytes == r.sizeBytes && B256::from(c.merkle_root) == r.merkleRoot => {
                Ok(content)
            }
            _ => Err("the content Kubo holds does not match the commitment".into()),
        }
    }

    /// Registers the provider if the contract does not know it. Whether it is registered.
    async fn register(&mut self, node: &Arc<Node>) -> Result<bool> {
        let me = self.address();
        let info = self.view(node, Incentives::getProviderCall { provider: me }).await?;
        if info.registered {
            self.registered = true;
            tracing::info!(target: "lattice::ipfs", provider = %me, peer = %info.peerId,
                "storage provider registered");
            return Ok(true);
        }
        let params = self.view(node, Incentives::paramsCall {}).await?;
        let stake = U256::from(params.minStake);
        if stake > self.config.max_stake {
            self.warn_once(
                "register".into(),
                format!("registering needs a stake of {stake} wei, over --ipfs-provider-max-stake"),
            );
            return Ok(false);
        }
        let peer = self.client.id().await.map(|i| i.id).unwrap_or_default();
        let call = Incentives::registerProviderCall { peerId: peer };
        self.send(node, Action::Register, stake, call.abi_encode()).await?;
        Ok(false)
    }

    /// Commits to a pinned record without a pin, or reports a standing one with epochs worth
    /// paying. Whether a transaction was sent.
    async fn commit_and_report(
        &mut self,
        node: &Arc<Node>,
        entries: &mut [PinEntry],
    ) -> Result<bool> {
        let me = self.address();
        // The stake the standing pins need (after a slash it is short, and reports revert).
        let params = self.view(node, Incentives::paramsCall {}).await?;
        let provider = self.view(node, Incentives::getProviderCall { provider: me }).await?;
        let bonded = self.view(node, Incentives::bondedOfCall { account: me }).await?;
        let needed = U256::from(params.minStake) + U256::from(provider.backing);
        if provider.activePins > 0 && bonded < needed {
            if needed > self.config.max_stake {
                self.warn_once(
                    "stake pins".into(),
                    format!(
                        "the pins need a stake of {needed} wei, over --ipfs-provider-max-stake"
                    ),
                );
            } else {
                let call = Incentives::addStakeCall {};
                return self.send(node, Action::AddStake, needed - bonded, call.abi_encode()).await;
            }
        }
        let epoch = self.view(node, Incentives::currentEpochCall {}).await?;
        for entry in entries.iter_mut().filter(|e| e.state == PinState::Pinned) {
            let Ok(record) = entry.request.record_id.parse::<U256>() else { continue };
            let pin =
                self.view(node, Incentives::getPinCall { recordId: record, provider: me }).await?;
            let account = entry.provider.get_or_insert_with(ProviderAccount::default);
            if pin.active != account.committed {
                account.committed = pin.active;
                if pin.active {
                    tracing::info!(target: "lattice::ipfs", record = %record,
                        "the provider's pin stands on chain");
                }
            }
            let failed_before = account.challenges_failed > 0;
            let r = self.view(node, Incentives::getRecordCall { recordId: record }).await?;
            let per_epoch = U256::from(r.sizeBytes) * U256::from(r.rewardPerByteEpoch);
            if pin.active {
                let paid_to = if pin.exitEpoch != 0 { epoch.min(pin.exitEpoch) } else { epoch };
                let paid_to = paid_to.min(r.endEpoch);
                if pin.openChallenges != 0 || paid_to <= pin.nextEpoch || per_epoch.is_zero() {
                    continue;
                }
                let due = (U256::from(paid_to - pin.nextEpoch) * per_epoch)
                    .min(U256::from(r.pool) / per_epoch * per_epoch);
                if due < worth(node, REPORT_GAS) {
                    continue; // wait for more epochs rather than pay more gas than they bring
                }
                let call = Incentives::reportPinCall { recordId: record };
                if self.send(node, Action::Report(record), U256::ZERO, call.abi_encode()).await? {
                    return Ok(true);
                }
                continue;
            }
            if epoch >= r.endEpoch || r.activePins >= r.replicationTarget {
                continue;
            }
            if failed_before {
                self.warn_once(format!("failed {record}"), format!(
                    "not committing to record {record} again: the provider failed a challenge on it"));
                continue;
            }
            if per_epoch.is_zero() || U256::from(r.pool) < per_epoch {
                self.warn_once(
                    format!("unpaid {record}"),
                    format!("not committing to record {record}: its pool pays no epoch"),
                );
                continue;
            }
            let required = U256::from(params.minStake)
                + U256::from(provider.backing)
                + U256::from(params.stakePerByte) * U256::from(r.sizeBytes);
            if bonded < required && required > self.config.max_stake {
                self.warn_once(
                    format!("stake {record}"),
                    format!("record {record} needs a stake of {required} wei, over --ipfs-provider-max-stake"),
                );
                continue;
            }
            if node.ipfs.get().is_some_and(|w| !w.status().reachable) {
                continue; // Kubo away: nothing can be checked, nothing is sent back
            }
            // Commit only to what Kubo holds now: a record pinned once may be gone since.
            if let Err(why) = self.content(&r).await {
                tracing::warn!(target: "lattice::ipfs", record = %record, cid = %r.cid, reason = %why,
                    "not committing: the content is not in Kubo; fetching it again");
                entry.state = PinState::Waiting;
                entry.next_try_ms = 0;
                entry.last_error = Some(why);
                continue;
            }
            if bonded < required {
                let call = Incentives::addStakeCall {};
                return self
                    .send(node, Action::AddStake, required - bonded, call.abi_encode())
                    .await;
            }
            let call = Incentives::commitPinCall { recordId: record };
            if self.send(node, Action::Commit(record), U256::ZERO, call.abi_encode()).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Estimates, signs and pools a transaction to the contract. Whether it was sent (a call
    /// that would revert is logged with its reason instead).
    async fn send(
        &mut self,
        node: &Arc<Node>,
        action: Action,
        value: U256,
        input: Vec<u8>,
    ) -> Result<bool> {
        let me = self.address();
        let req = CallRequest {
            from: Some(me),
            to: Some(self.contract),
            value: Some(value),
            input: input.clone().into(),
            ..Default::default()
        };
        let api = Api::new(node.clone());
        let (estimate, nonce, base_fee) = blocking(move || {
            let number = api.latest_number()?;
            Ok((api.estimate_gas(number, &req)?, api.pending_nonce(me)?, api.next_base_fee()?))
        })
        .await?;
        // A transaction of this account already pooled (sent before a restart, or by hand):
        // wait for it rather than queue behind it.
        let latest = node.chain.latest_nonce(me);
        let nonce = if nonce > latest {
            let height = node.chain.head().number;
            let since = *self.foreign_since.get_or_insert(height);
            if height < since + 4 * STUCK_BLOCKS {
                tracing::debug!(target: "lattice::ipfs", nonce, "waiting for the provider's pooled transactions");
                return Ok(false);
            }
            // Stranded (e.g. under the base fee): take their first nonce over.
            self.warn_once(
                format!("take over {latest}"),
                format!("the provider's pooled transactions from nonce {latest} are not mined; replacing them"),
            );
            latest
        } else {
            nonce
        };
        self.foreign_since = None;
        let gas = match estimate {
            Ok(Ok(gas)) => gas,
            // Reverts, or invalid as a transaction (e.g. the account cannot pay): logged once,
            // decided again next round.
            Ok(Err(outcome)) => return Ok(self.not_sent(node, &action, revert_reason(&outcome))),
            Err(e) => return Ok(self.not_sent(node, &action, e.to_string())),
        };
        let tip = SUGGESTED_TIP;
        let tx = TxEip1559 {
            chain_id: node.chain.spec().chain_id,
            nonce,
            gas_limit: gas.saturating_add(gas / 5),
            max_fee_per_gas: u128::from(base_fee).saturating_mul(2).saturating_add(tip),
            max_priority_fee_per_gas: tip,
            to: TxKind::Call(self.contract),
            value,
            access_list: Default::default(),
            input: input.into(),
        };
        let signed = lattice_primitives::sign_transaction(
            &self.config.signer,
            TypedTransaction::Eip1559(tx.clone()),
        )?;
        let hash = node.submit_transaction(signed).map_err(|e| eyre!("{}: {e}", action.name()))?;
        tracing::info!(target: "lattice::ipfs", action = action.name(), tx = %hash, nonce, gas,
            value = %value, "provider transaction sent");
        node.metrics.ipfs_provider_txs.with_label_values(&[action.name(), "sent"]).inc();
        self.in_flight = Some(InFlight { hash, action, tx, sent_at: node.chain.head().number });
        Ok(true)
    }

    /// Calls a view of the contract at the sink.
    async fn view<C: SolCall + Send + 'static>(
        &self,
        node: &Arc<Node>,
        call: C,
    ) -> Result<C::Return>
    where
        C::Return: Send,
    {
        self.view_at(node, call, 0).await
    }

    /// Calls a view of the contract `depth` chain blocks below the sink.
    async fn view_at<C: SolCall + Send + 'static>(
        &self,
        node: &Arc<Node>,
        call: C,
        depth: u64,
    ) -> Result<C::Return>
    where
        C::Return: Send,
    {
        let req = CallRequest {
            to: Some(self.contract),
            input: call.abi_encode().into(),
            ..Default::default()
        };
        let api = Api::new(node.clone());
        let outcome = blocking(move || {
            let number = api.latest_number()?.saturating_sub(depth);
            Ok(api.call(number, &req)?)
        })
        .await?
        .map_err(|e| eyre!("calling {}: {e}", C::SIGNATURE))?;
        match outcome {
            CallOutcome::Success { output, .. } => C::abi_decode_returns(&output).map_err(|e| {
                eyre!("{} answered {} bytes that do not decode: {e}", C::SIGNATURE, output.len())
            }),
            other => Err(eyre!("{} failed: {}", C::SIGNATURE, revert_reason(&other))),
        }
    }

    /// Logs (once per reason) and counts a transaction the estimate refused; `false`.
    fn not_sent(&mut self, node: &Node, action: &Action, why: String) -> bool {
        self.warn_once(format!("{action:?} {why}"), format!("{} would fail: {why}", action.name()));
        node.metrics.ipfs_provider_txs.with_label_values(&[action.name(), "would_revert"]).inc();
        false
    }

    fn warn_once(&mut self, key: String, message: String) {
        if self.warned.insert(key) {
            tracing::warn!(target: "lattice::ipfs", "{message}");
        } else {
            tracing::debug!(target: "lattice::ipfs", "{message}");
        }
    }
}

/// Why a call did not succeed: the contract's error decoded, or its raw data.
fn revert_reason(outcome: &CallOutcome) -> String {
    match outcome {
        CallOutcome::Revert { output, .. } => {
            match Incentives::IncentivesErrors::abi_decode(output) {
                Ok(e) => format!("{e:?}"),
                Err(_) => format!("revert 0x{}", alloy_primitives::hex::encode(output)),
            }
        }
        CallOutcome::Halt { reason, .. } => reason.clone(),
        CallOutcome::Success { .. } => "succeeded".into(),
    }
}

/// The sink's timestamp (seconds): what `block.timestamp` is near for the next transaction.
fn latest_timestamp(node: &Node) -> Result<u64> {
    let head = node.chain.head();
    let header = node.chain.header(head.hash)?.ok_or_else(|| eyre!("no header for the sink"))?;
    Ok(header.timestamp_secs())
}

/// Least amount worth a transaction of `gas`: [`WORTH`] times its fee at twice the next base
/// fee plus the tip.
fn worth(node: &Node, gas: u64) -> U256 {
    let fee =
        u128::from(node.chain.next_base_fee()).saturating_mul(2).saturating_add(SUGGESTED_TIP);
    U256::from(gas) * U256::from(fee) * U256::from(WORTH)
}

fn wei(account: &ProviderAccount) -> U256 {
    account.reward_wei.parse().unwrap_or_default()
}

fn account_of(entries: &mut [PinEntry], record: U256) -> Option<&mut ProviderAccount> {
    let id = record.to_string();
    entries
        .iter_mut()
        .find(|e| e.request.record_id == id)
        .map(|e| e.provider.get_or_insert_with(ProviderAccount::default))
}

/// The challenges being followed.
pub(crate) fn open_challenges(node: &Node) -> Result<Vec<U256>> {
    let Some(raw) = crate::chain::meta_get(node.chain.db(), META_CHALLENGES)? else {
        return Ok(Vec::new());
    };
    let ids: Vec<String> = serde_json::from_slice(&raw)?;
    Ok(ids.iter().filter_map(|s| s.parse().ok()).collect())
}

/// Held while the followed challenges are read and written: by the scan (which adds) from
/// its read to its commit, and by the provider (which removes).
pub(crate) static CHALLENGE_LIST: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Removes `closed` from the followed challenges (re-read under the lock: the scan may have
/// added some meanwhile).
fn forget_challenges(node: &Node, closed: &[U256]) -> Result<()> {
    if closed.is_empty() {
        return Ok(());
    }
    let _guard = CHALLENGE_LIST.lock().unwrap_or_else(|e| e.into_inner());
    let mut ids = open_challenges(node)?;
    ids.retain(|id| !closed.contains(id));
    let mut batch = node.chain.db().batch();
    put_challenges(&mut batch, &ids)?;
    Ok(batch.commit()?)
}

/// Writes the followed challenges into `batch`.
pub(crate) fn put_challenges(batch: &mut lattice_storage::Batch<'_>, ids: &[U256]) -> Result<()> {
    let ids: Vec<String> = ids.iter().map(U256::to_string).collect();
    batch.put::<lattice_storage::tables::Meta>(
        &META_CHALLENGES.to_vec(),
        &serde_json::to_vec(&ids)?,
    )?;
    Ok(())
}

/// The topic and provider of a `ChallengeOpened` log: `(challenge id, provider)`.
pub(crate) fn challenge_opened(log: &alloy_primitives::LogData) -> Option<(U256, Address)> {
    let event = Incentives::ChallengeOpened::decode_log_data(log).ok()?;
    Some((event.challengeId, event.provider))
}

/// `ChallengeOpened`'s topic.
pub(crate) const CHALLENGE_OPENED: B256 = Incentives::ChallengeOpened::SIGNATURE_HASH;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| eyre!("a provider task failed: {e}"))?
}

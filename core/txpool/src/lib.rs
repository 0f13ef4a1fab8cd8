//! The transaction pool.
//!
//! Transactions wait here per sender in nonce order. *Pending* (executable) ones continue the
//! sender's nonce without a gap and are jointly affordable from its balance; *queued* ones wait
//! behind a gap (or behind a balance that does not cover them yet). A transaction that a block
//! carried is *packed*: it stays (and counts for the pending nonce) until a chain block accepts
//! it, so the producer never carries it twice; if it is skipped for a nonce that may still come,
//! it is unpacked and offered again.
//!
//! The pool checks what it can without executing: encoding, chain id, size, intrinsic gas,
//! fees, nonce, and the balance against the sender's whole executable run (checked
//! arithmetic: a cost that overflows is unaffordable). Limits follow geth's pool: executable
//! and gapped transactions are counted and limited apart (`global_slots`, `global_queue`),
//! each sender may hold at most `account_queue` gapped ones, and senders holding no more than
//! `account_slots` are evicted last; the pool's bytes are bounded too. When a limit is hit,
//! the cheapest candidate (a sender's last executable or last gapped transaction, so runs
//! never gap) is evicted, unless that is the newcomer itself, which is then refused. Gapped
//! transactions expire after `lifetime`. Error texts follow geth so that wallets and
//! libraries recognise them.

mod account;
mod intrinsic;

pub use intrinsic::intrinsic_gas;

use account::{Account, Candidates, Victim};
use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, U256};
use parking_lot::RwLock;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Pool limits; defaults follow geth's where they exist.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// Most executable (pending) transactions in all.
    pub global_slots: usize,
    /// Most gapped (queued) transactions in all.
    pub global_queue: usize,
    /// Transactions per sender that are evicted only after every larger sender's.
    pub account_slots: usize,
    /// Most gapped transactions per sender.
    pub account_queue: usize,
    /// Most bytes of encoded transactions in all.
    pub max_bytes: usize,
    /// Largest encoded transaction accepted, in bytes.
    pub max_tx_bytes: usize,
    /// Percentage a replacement must raise both fee fields by.
    pub price_bump_percent: u128,
    /// How long a gapped transaction may wait.
    pub lifetime: Duration,
}

/// Default of [`PoolConfig::global_slots`].
pub const DEFAULT_GLOBAL_SLOTS: usize = 16_384;
/// Default of [`PoolConfig::global_queue`].
pub const DEFAULT_GLOBAL_QUEUE: usize = 4_096;
/// Default of [`PoolConfig::account_slots`] (geth's).
pub const DEFAULT_ACCOUNT_SLOTS: usize = 16;
/// Default of [`PoolConfig::account_queue`] (geth's).
pub const DEFAULT_ACCOUNT_QUEUE: usize = 64;
/// Default of [`PoolConfig::max_bytes`].
pub const DEFAULT_MAX_BYTES: usize = 128 * 1024 * 1024;
/// Default of [`PoolConfig::max_tx_bytes`] (geth's).
pub const DEFAULT_MAX_TX_BYTES: usize = 128 * 1024;
/// Default of [`PoolConfig::lifetime`] (geth's).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3 * 3600);

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            global_slots: DEFAULT_GLOBAL_SLOTS,
            global_queue: DEFAULT_GLOBAL_QUEUE,
            account_slots: DEFAULT_ACCOUNT_SLOTS,
            account_queue: DEFAULT_ACCOUNT_QUEUE,
            max_bytes: DEFAULT_MAX_BYTES,
            max_tx_bytes: DEFAULT_MAX_TX_BYTES,
            price_bump_percent: 10,
            lifetime: DEFAULT_LIFETIME,
        }
    }
}

/// What the pool needs to know about the chain to check a transaction.
#[derive(Clone, Copy, Debug)]
pub struct ChainContext {
    /// Expected chain id.
    pub chain_id: u64,
    /// Gas limit of one block.
    pub block_gas_limit: u64,
    /// Most gas one transaction may ask for (EIP-7825).
    pub tx_gas_limit_cap: u64,
    /// Lowest fee cap accepted (the chain's minimum base fee).
    pub min_fee: u128,
}

/// Sender state the pool checks nonce and balance against.
#[derive(Clone, Copy, Debug, Default)]
pub struct SenderState {
    /// Nonce in the latest state.
    pub nonce: u64,
    /// Balance in the latest state.
    pub balance: U256,
    /// Version of the state it was read from (the node counts its state changes; 0 when the
    /// caller does not version its reads). [`TxPool::add`] refuses a state older than the
    /// newest [`TxPool::prune_sender`] was given ([`PoolError::StaleState`]): admitted after
    /// that pruning, it would set the sender back to before the block that executed its
    /// transactions, which are gone from the pool, and everything after would look gapped.
    pub version: u64,
}

/// Why a transaction was refused. Messages follow geth.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The same transaction is already in the pool.
    #[error("already known")]
    AlreadyKnown,
    /// Nonce below the sender's nonce.
    #[error("nonce too low: next nonce {state}, tx nonce {tx}")]
    NonceTooLow {
        /// Sender nonce.
        state: u64,
        /// Transaction nonce.
        tx: u64,
    },
    /// Balance below `gas × price + value`, with what the sender's pooled executable
    /// transactions already spend.
    #[error(
        "insufficient funds for gas * price + value: balance {balance}, queued cost {spent}, \
         tx cost {cost}"
    )]
    InsufficientFunds {
        /// Sender balance.
        balance: U256,
        /// Most the transaction can cost.
        cost: U256,
        /// Summed cost of the sender's other executable pooled transactions.
        spent: U256,
    },
    /// `gas × price + value` does not fit in 256 bits: no balance covers it.
    #[error("insufficient funds for gas * price + value: tx cost overflows 256 bits")]
    CostOverflow,
    /// A transaction with the same nonce is pooled and this one does not pay enough more.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    /// Wrong or missing chain id.
    #[error("invalid chain id: expected {expected}, got {got:?}")]
    WrongChainId {
        /// This chain's id.
        expected: u64,
        /// The transaction's.
        got: Option<u64>,
    },
    /// Gas limit below the intrinsic gas.
    #[error("intrinsic gas too low: have {have}, want {want}")]
    IntrinsicGasTooLow {
        /// Gas limit.
        have: u64,
        /// Intrinsic gas.
        want: u64,
    },
    /// Encoded size over the limit.
    #[error("oversized data: transaction size {size}, limit {limit}")]
    OversizedData {
        /// Size.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// Gas limit above the block gas limit.
    #[error("exceeds block gas limit")]
    GasLimitExceeded,
    /// Gas limit above the per-transaction cap.
    #[error("transaction gas limit {gas} exceeds the cap {cap}")]
    GasLimitCap {
        /// Gas limit.
        gas: u64,
        /// Cap.
        cap: u64,
    },
    /// Fee cap below the chain's minimum base fee.
    #[error("transaction underpriced: max fee per gas {fee} below minimum {min}")]
    Underpriced {
        /// Fee cap.
        fee: u128,
        /// Minimum.
        min: u128,
    },
    /// Priority fee above the fee cap.
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    /// EIP-4844 or an unknown type.
    #[error("transaction type not supported")]
    UnsupportedType,
    /// The pool is full and nothing in it can make room.
    #[error("txpool is full")]
    PoolFull,
    /// The pool is full and every transaction that could make room pays at least as much.
    #[error("transaction underpriced: the pool is full and pays at least {fee} per gas")]
    PoolUnderpriced {
        /// The fee cap of the cheapest transaction that could have made room.
        fee: u128,
    },
    /// The sender already holds the most gapped transactions one sender may.
    #[error("account limit exceeded: {queued} gapped transactions pooled, limit {limit}")]
    AccountLimit {
        /// Gapped transactions of the sender.
        queued: usize,
        /// The limit.
        limit: usize,
    },
    /// The nonce is already used by a transaction a block carried.
    #[error("nonce too low: nonce {0} is already used by a transaction sealed in a block")]
    NonceSealed(u64),
    /// The sender state given was read before the pool took in a newer one: read it again.
    #[error("sender state changed while checking; try again")]
    StaleState,
}

impl PoolError {
    /// A short machine-readable name, for metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyKnown => "already_known",
            Self::NonceTooLow { .. } | Self::NonceSealed(_) => "nonce_too_low",
            Self::CostOverflow | Self::InsufficientFunds { .. } => "insufficient_funds",
            Self::ReplacementUnderpriced => "replacement_underpriced",
            Self::WrongChainId { .. } => "wrong_chain_id",
            Self::IntrinsicGasTooLow { .. } => "intrinsic_gas_too_low",
            Self::OversizedData { .. } => "oversized",
            Self::GasLimitExceeded | Self::GasLimitCap { .. } => "gas_limit",
            Self::Underpriced { .. } | Self::PoolUnderpriced { .. } => "underpriced",
            Self::TipAboveFeeCap => "tip_above_fee_cap",
            Self::UnsupportedType => "unsupported_type",
            Self::PoolFull => "pool_full",
            Self::AccountLimit { .. } => "account_limit",
            Self::StaleState => "stale_state",
        }
    }
}

/// A pooled transaction.
#[derive(Debug)]
pub struct PooledTx {
    /// Hash.
    pub hash: B256,
    /// Recovered sender.
    pub sender: Address,
    /// The transaction.
    pub tx: TxEnvelope,
    /// When it arrived.
    pub arrived: Instant,
    /// Arrival order in the pool.
    pub seq: u64,
    /// Encoded size.
    pub bytes: usize,
}

impl PooledTx {
    /// Nonce.
    pub fn nonce(&self) -> u64 {
        self.tx.nonce()
    }
}

#[derive(Debug, Default)]
struct Inner {
    accounts: HashMap<Address, Account>,
    by_hash: HashMap<B256, (Address, u64)>,
    /// Executable transactions in all.
    pending: usize,
    /// Gapped transactions in all.
    queued: usize,
    /// Encoded bytes in all.
    bytes: usize,
    /// Carried by a block, in all.
    packed: usize,
    /// Every sender's last executable transaction, cheapest first.
    pending_victims: BTreeSet<Victim>,
    /// Every sender's last gapped transaction, cheapest first.
    queued_victims: BTreeSet<Victim>,
    seq: u64,
    /// The newest state version pruning was given: older reads are stale.
    version_floor: u64,
}

impl Inner {
    /// Runs `f` on `sender`'s account (created empty if absent), then brings the totals, the
    /// hash index (for the transactions `f` says it removed) and the eviction candidates in
    /// step. An account left empty is dropped.
    fn update<R>(
        &mut self,
        sender: Address,
        share: usize,
        f: impl FnOnce(&mut Account) -> (R, Vec<Arc<PooledTx>>),
    ) -> R {
        let acc = self.accounts.entry(sender).or_default();
        let (p0, q0, b0, k0, c0) = (
            acc.pending_len(),
            acc.queued_len(),
            acc.bytes,
            acc.packed,
            acc.candidates(sender, share),
        );
        let (r, removed) = f(acc);
        let (p1, q1, b1, k1, c1) = (
            acc.pending_len(),
            acc.queued_len(),
            acc.bytes,
            acc.packed,
            acc.candidates(sender, share),
        );
        if acc.txs.is_empty() {
            self.accounts.remove(&sender);
        }
        self.pending = self.pending + p1 - p0;
        self.queued = self.queued + q1 - q0;
        self.bytes = self.bytes + b1 - b0;
        self.packed = self.packed + k1 - k0;
        self.replace_candidates(c0, c1);
        for tx in removed {
            self.by_hash.remove(&tx.hash);
        }
        r
    }

    fn replace_candidates(&mut self, old: Candidates, new: Candidates) {
        if old == new {
            return;
        }
        if let Some(v) = old.pending {
            self.pending_victims.remove(&v);
        }
        if let Some(v) = old.queued {
            self.queued_victims.remove(&v);
        }
        if let Some(v) = new.pending {
            self.pending_victims.insert(v);
        }
        if let Some(v) = new.queued {
            self.queued_victims.insert(v);
        }
    }

    fn entry(&self, hash: &B256) -> Option<&account::Entry> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        self.accounts.get(sender)?.txs.get(nonce)
    }

    /// Removes one transaction by hash.
    fn remove(&mut self, hash: &B256, share: usize) -> Option<Arc<PooledTx>> {
        let (sender, nonce) = *self.by_hash.get(hash)?;
        self.update(sender, share, |acc| {
            let removed = acc.remove(nonce);
            (removed.clone(), removed.into_iter().collect())
        })
    }

    /// Evicts the cheapest candidate of `class` (both when `None`) that is not `own`'s, if it
    /// ranks below `newcomer`; otherwise says why the newcomer cannot come in.
    fn evict_one(
        &mut self,
        class: Option<bool>,
        own: Address,
        newcomer: &Victim,
        share: usize,
    ) -> Result<Arc<PooledTx>, PoolError> {
        let first = |set: &BTreeSet<Victim>| set.iter().find(|v| v.sender != own).copied();
        let victim = match class {
            Some(true) => first(&self.pending_victims),
            Some(false) => first(&self.queued_victims),
            None => match (first(&self.pending_victims), first(&self.queued_victims)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        };
        let Some(victim) = victim else { return Err(PoolError::PoolFull) };
        // Only a better price makes room (geth's rule); the share decides among equal prices.
        if !newcomer.outbids(&victim) {
            return Err(PoolError::PoolUnderpriced { fee: victim.fee });
        }
        let evicted = self.update(victim.sender, share, |acc| {
            let removed = acc.remove(victim.nonce);
            (removed.clone(), removed.into_iter().collect())
        });
        Ok(evicted.expect("a candidate is pooled"))
    }
}

/// Counts for `txpool_status` and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Executable now (no nonce gap, affordable).
    pub pending: usize,
    /// Waiting behind a nonce gap or the balance.
    pub queued: usize,
    /// Of the pending, already carried by a block.
    pub packed: usize,
    /// Encoded bytes held.
    pub bytes: usize,
}

/// What the pool threw out since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolCounters {
    /// Evicted to make room for better-paying transactions.
    pub evicted: u64,
    /// Gapped transactions that waited longer than the lifetime.
    pub expired: u64,
}

/// The transaction pool.
#[derive(Debug, Default)]
pub struct TxPool {
    config: PoolConfig,
    inner: RwLock<Inner>,
    evicted: AtomicU64,
    expired: AtomicU64,
}

impl TxPool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Self { config, ..Default::default() }
    }

    /// The limits.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Checks what needs no state: type, chain id, size, gas and fee fields.
    pub fn check_stateless(&self, tx: &TxEnvelope, chain: &ChainContext) -> Result<(), PoolError> {
        if tx.is_eip4844() {
            return Err(PoolError::UnsupportedType);
        }
        if tx.chain_id() != Some(chain.chain_id) {
            return Err(PoolError::WrongChainId { expected: chain.chain_id, got: tx.chain_id() });
        }
        let size = tx.encode_2718_len();
        if size > self.config.max_tx_bytes {
            return Err(PoolError::OversizedData { size, limit: self.config.max_tx_bytes });
        }
        if tx.gas_limit() > chain.block_gas_limit {
            return Err(PoolError::GasLimitExceeded);
        }
        if tx.gas_limit() > chain.tx_gas_limit_cap {
            return Err(PoolError::GasLimitCap {
                gas: tx.gas_limit(),
                cap: chain.tx_gas_limit_cap,
            });
        }
        let want = intrinsic_gas(tx);
        if tx.gas_limit() < want {
            return Err(PoolError::IntrinsicGasTooLow { have: tx.gas_limit(), want });
        }
        if let Some(tip) = tx.max_priority_fee_per_gas() {
            if tip > tx.max_fee_per_gas() {
                return Err(PoolError::TipAboveFeeCap);
            }
        }
        if tx.max_fee_per_gas() < chain.min_fee {
            return Err(PoolError::Underpriced { fee: tx.max_fee_per_gas(), min: chain.min_fee });
        }
        Ok(())
    }

    /// Adds a transaction already decoded, with its recovered `sender` and the sender's latest
    /// state. Makes room by evicting cheaper transactions when a limit is reached. Returns the
    /// hash.
    pub fn add(
        &self,
        tx: TxEnvelope,
        sender: Address,
        state: SenderState,
        chain: &ChainContext,
    ) -> Result<B256, PoolError> {
        let hash = *tx.tx_hash();
        self.check_stateless(&tx, chain)?;
        let nonce = tx.nonce();
        if nonce < state.nonce {
            return Err(PoolError::NonceTooLow { state: state.nonce, tx: nonce });
        }
        let cost = lattice_primitives::max_tx_cost(&tx).ok_or(PoolError::CostOverflow)?;
        if state.balance < cost {
            return Err(PoolError::InsufficientFunds {
                balance: state.balance,
                cost,
                spent: U256::ZERO,
            });
        }
        let bytes = tx.encode_2718_len();
        let c = &self.config;
        let share = c.account_slots;
        let mut inner = self.inner.write();
        if inner.by_hash.contains_key(&hash) {
            return Err(PoolError::AlreadyKnown);
        }
        if state.version < inner.version_floor {
            return Err(PoolError::StaleState);
        }

        inner.seq += 1;
        let seq = inner.seq;
        let pooled = Arc::new(PooledTx { hash, sender, tx, arrived: Instant::now(), seq, bytes });
        // Bring the sender up to date, then check everything that can refuse the newcomer
        // before anything is evicted for it: a refused transaction never costs others.
        let (gain, replaced_bytes, held) = inner.update(sender, share, |acc| {
            let stale = acc.set_state(state.nonce, state.balance);
            let checked = acc.check(&pooled, cost, c.price_bump_percent, c.account_queue);
            let replaced = acc.txs.get(&nonce).map(|e| e.bytes);
            (checked.map(|gain| (gain, replaced, acc.txs.len())), stale)
        })?;
        let fee = pooled.tx.max_fee_per_gas();
        let newcomer = Victim {
            fee,
            tip: pooled.tx.max_priority_fee_per_gas().unwrap_or(fee),
            protected: held + usize::from(replaced_bytes.is_none()) <= share,
            newest: std::cmp::Reverse(seq),
            sender,
            nonce,
        };
        // Executable transactions make room among executable ones (or any, for bytes); a
        // gapped newcomer only among gapped ones: it never pushes out what could be mined.
        let executable = gain > 0;
        let (add_pending, add_queued) = match replaced_bytes {
            Some(_) => (gain, 0),
            None if executable => (gain, 0),
            None => (0, 1),
        };
        let add_bytes = bytes.saturating_sub(replaced_bytes.unwrap_or(0));
        let mut evicted = 0u64;
        let room = (|| {
            while inner.pending + add_pending > c.global_slots {
                inner.evict_one(Some(true), sender, &newcomer, share)?;
                evicted += 1;
            }
            while inner.queued + add_queued > c.global_queue {
                inner.evict_one(Some(false), sender, &newcomer, share)?;
                evicted += 1;
            }
            while inner.bytes + add_bytes > c.max_bytes {
                let class = if executable { None } else { Some(false) };
                inner.evict_one(class, sender, &newcomer, share)?;
                evicted += 1;
            }
            Ok(())
        })();
        self.evicted.fetch_add(evicted, Ordering::Relaxed);
        room?;

        inner.update(sender, share, |acc| {
            if acc.txs.is_empty() {
                // New (an empty account is not kept between updates).
                acc.set_state(state.nonce, state.balance);
            }
            match acc.insert(pooled, cost, c.price_bump_percent, c.account_queue) {
                Ok(replaced) => (Ok(()), replaced.into_iter().collect()),
                Err(e) => (Err(e), Vec::new()),
            }
        })?;
        inner.by_hash.insert(hash, (sender, nonce));
        Ok(hash)
    }

    /// The pooled transaction with `hash`.
    pub fn get(&self, hash: &B256) -> Option<Arc<PooledTx>> {
        self.inner.read().entry(hash).map(|e| e.tx.clone())
    }

    /// When each of `hashes` that is pooled arrived, under one lock (the inclusion-latency
    /// metric reads this for every executed transaction).
    pub fn arrivals(&self, hashes: impl IntoIterator<Item = B256>) -> Vec<Instant> {
        let inner = self.inner.read();
        hashes.into_iter().filter_map(|h| inner.entry(&h).map(|e| e.tx.arrived)).collect()
    }

    /// Whether `hash` is pooled.
    pub fn contains(&self, hash: &B256) -> bool {
        self.inner.read().by_hash.contains_key(hash)
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        self.inner.read().by_hash.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The nonce the sender's next transaction should use: `state_nonce` extended by the
    /// sender's consecutive pooled (including packed) transactions.
    pub fn pending_nonce(&self, sender: Address, state_nonce: u64) -> u64 {
        let inner = self.inner.read();
        let mut next = state_nonce;
        if let Some(acc) = inner.accounts.get(&sender) {
            for nonce in acc.txs.range(state_nonce..).map(|(n, _)| *n) {
                if nonce != next {
                    break;
                }
                next += 1;
            }
        }
        next
    }

    /// Transactions a producer may carry next: per sender, consecutive executable nonces from
    /// the state nonce, not yet packed, for which `eligible` gives a rank (`None`: not this
    /// producer's to carry now); up to `gas_limit` total gas, the senders whose first
    /// transaction ranks lowest first, then those that tip most, then by arrival.
    /// `state_nonce(sender)` gives the latest nonce.
    pub fn best(
        &self,
        gas_limit: u64,
        base_fee: u64,
        mut state_nonce: impl FnMut(Address) -> u64,
        mut eligible: impl FnMut(&PooledTx) -> Option<u8>,
    ) -> Vec<Arc<PooledTx>> {
        let inner = self.inner.read();
        let mut runs: Vec<(u8, Vec<Arc<PooledTx>>)> = Vec::new();
        for (sender, acc) in &inner.accounts {
            let start = state_nonce(*sender);
            let mut run = Vec::new();
            let mut run_rank = 0;
            for (expected, (nonce, entry)) in (start..).zip(acc.txs.range(start..)) {
                if *nonce != expected || *nonce >= acc.pending_end {
                    break;
                }
                if entry.packed {
                    continue;
                }
                if entry.tx.tx.max_fee_per_gas() < base_fee as u128 {
                    break;
                }
                let Some(rank) = eligible(&entry.tx) else { break };
                if run.is_empty() {
                    run_rank = rank;
                }
                run.push(entry.tx.clone());
            }
            if !run.is_empty() {
                runs.push((run_rank, run));
            }
        }
        runs.sort_by(|(ra, a), (rb, b)| {
            let tip = |t: &PooledTx| t.tx.effective_tip_per_gas(base_fee).unwrap_or(0);
            ra.cmp(rb).then(tip(&b[0]).cmp(&tip(&a[0]))).then(a[0].seq.cmp(&b[0].seq))
        });
        let mut out = Vec::new();
        let mut gas = 0u64;
        for (_, run) in runs {
            for tx in run {
                if gas + tx.tx.gas_limit() > gas_limit {
                    break;
                }
                gas += tx.tx.gas_limit();
                out.push(tx);
            }
        }
        out
    }

    /// Marks transactions as carried by a block.
    pub fn mark_packed(&self, hashes: &[B256]) {
        self.set_packed(hashes, true)
    }

    /// Offers transactions again (their carried copy was skipped but may still apply).
    pub fn unmark_packed(&self, hashes: &[B256]) {
        self.set_packed(hashes, false)
    }

    fn set_packed(&self, hashes: &[B256], packed: bool) {
        let mut inner = self.inner.write();
        for hash in hashes {
            let Some((sender, nonce)) = inner.by_hash.get(hash).copied() else { continue };
            inner.update(sender, self.config.account_slots, |acc| {
                acc.set_packed(nonce, packed);
                ((), Vec::new())
            });
        }
    }

    /// Takes in `sender`'s latest state: drops every transaction whose nonce is below the
    /// state's (executed, or replaced by one that was) and recomputes which of the rest are
    /// executable. Returns the dropped hashes.
    pub fn prune_sender(&self, sender: Address, state: SenderState) -> Vec<B256> {
        let mut inner = self.inner.write();
        inner.version_floor = inner.version_floor.max(state.version);
        if !inner.accounts.contains_key(&sender) {
            return Vec::new();
        }
        inner.update(sender, self.config.account_slots, |acc| {
            let stale = acc.set_state(state.nonce, state.balance);
            (stale.iter().map(|t| t.hash).collect(), stale)
        })
    }

    /// Removes one transaction.
    pub fn remove(&self, hash: &B256) -> Option<Arc<PooledTx>> {
        self.inner.write().remove(hash, self.config.account_slots)
    }

    /// Drops gapped transactions that waited longer than the lifetime. Returns their hashes.
    pub fn expire(&self, now: Instant) -> Vec<B256> {
        let Some(cutoff) = now.checked_sub(self.config.lifetime) else { return Vec::new() };
        let mut inner = self.inner.write();
        let waiting: Vec<Address> =
            inner.accounts.iter().filter(|(_, a)| a.queued_len() > 0).map(|(s, _)| *s).collect();
        let mut dropped = Vec::new();
        for sender in waiting {
            let gone = inner.update(sender, self.config.account_slots, |acc| {
                let gone = acc.expire(cutoff);
                (gone.clone(), gone)
            });
            dropped.extend(gone.iter().map(|t| t.hash));
        }
        self.expired.fetch_add(dropped.len() as u64, Ordering::Relaxed);
        dropped
    }

    /// Every pooled transaction grouped by sender in nonce order, split into pending
    /// (executable) and queued.
    #[allow(clippy::type_complexity)]
    pub fn content(
        &self,
    ) -> (BTreeMap<Address, Vec<Arc<PooledTx>>>, BTreeMap<Address, Vec<Arc<PooledTx>>>) {
        let inner = self.inner.read();
        let (mut pending, mut queued) = (BTreeMap::new(), BTreeMap::new());
        for (sender, acc) in &inner.accounts {
            for (nonce, entry) in &acc.txs {
                let side = if *nonce < acc.pending_end { &mut pending } else { &mut queued };
                side.entry(*sender).or_insert_with(Vec::new).push(entry.tx.clone());
            }
        }
        (pending, queued)
    }

    /// Counts of pending, queued and packed transactions, and bytes held.
    pub fn status(&self) -> PoolStatus {
        let inner = self.inner.read();
        PoolStatus {
            pending: inner.pending,
            queued: inner.queued,
            packed: inner.packed,
            bytes: inner.bytes,
        }
    }

    /// What the pool threw out since it started.
    pub fn counters(&self) -> PoolCounters {
        PoolCounters {
            evicted: self.evicted.load(Ordering::Relaxed),
            expired: self.expired.load(Ordering::Relaxed),
        }
    }

    /// Senders with pooled transactions.
    pub fn senders(&self) -> Vec<Address> {
        self.inner.read().accounts.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests;

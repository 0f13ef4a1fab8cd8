//! The transaction pool.
//!
//! Transactions wait here per sender in nonce order. *Pending* ones continue the sender's nonce
//! without a gap; *queued* ones wait behind a gap. A transaction that a block carried is
//! *packed*: it stays (and counts for the pending nonce) until a chain block accepts it, so the
//! producer never carries it twice; if it is skipped for a nonce that may still come, it is
//! unpacked and offered again.
//!
//! The pool checks what it can without executing: encoding, chain id, size, intrinsic gas,
//! fees, nonce and balance against the state it is given. Error texts follow geth so that
//! wallets and libraries recognise them.

mod intrinsic;

pub use intrinsic::intrinsic_gas;

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, U256};
use parking_lot::RwLock;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

/// Pool limits, with defaults close to geth's.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// Most transactions held.
    pub max_transactions: usize,
    /// Most transactions held per sender.
    pub max_per_sender: usize,
    /// Largest encoded transaction accepted, in bytes.
    pub max_tx_bytes: usize,
    /// Percentage a replacement must raise both fee fields by.
    pub price_bump_percent: u128,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_transactions: 10_000,
            max_per_sender: 64,
            max_tx_bytes: 128 * 1024,
            price_bump_percent: 10,
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
    /// Balance below `gas × price + value`.
    #[error("insufficient funds for gas * price + value: balance {balance}, tx cost {cost}")]
    InsufficientFunds {
        /// Sender balance.
        balance: U256,
        /// Most the transaction can cost.
        cost: U256,
    },
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
    /// The pool or the sender's slot is full.
    #[error("txpool is full")]
    PoolFull,
    /// The nonce is already used by a transaction a block carried.
    #[error("nonce too low: nonce {0} is already used by a transaction sealed in a block")]
    NonceSealed(u64),
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
}

impl PooledTx {
    /// Nonce.
    pub fn nonce(&self) -> u64 {
        self.tx.nonce()
    }
}

#[derive(Debug)]
struct Entry {
    tx: Arc<PooledTx>,
    packed: bool,
}

#[derive(Debug, Default)]
struct Inner {
    by_hash: HashMap<B256, Address>,
    by_sender: HashMap<Address, BTreeMap<u64, Entry>>,
}

impl Inner {
    fn len(&self) -> usize {
        self.by_hash.len()
    }

    fn remove(&mut self, sender: Address, nonce: u64) -> Option<Arc<PooledTx>> {
        let txs = self.by_sender.get_mut(&sender)?;
        let entry = txs.remove(&nonce)?;
        if txs.is_empty() {
            self.by_sender.remove(&sender);
        }
        self.by_hash.remove(&entry.tx.hash);
        Some(entry.tx)
    }
}

/// Counts for `txpool_status` and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Executable now (no nonce gap).
    pub pending: usize,
    /// Waiting behind a nonce gap.
    pub queued: usize,
    /// Of the pending, already carried by a block.
    pub packed: usize,
}

/// The transaction pool.
#[derive(Debug, Default)]
pub struct TxPool {
    config: PoolConfig,
    inner: RwLock<Inner>,
}

impl TxPool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Self { config, inner: RwLock::new(Inner::default()) }
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
    /// state. Returns the hash.
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
        let cost = U256::from(tx.gas_limit()) * U256::from(tx.max_fee_per_gas()) + tx.value();
        if state.balance < cost {
            return Err(PoolError::InsufficientFunds { balance: state.balance, cost });
        }
        let mut inner = self.inner.write();
        if inner.by_hash.contains_key(&hash) {
            return Err(PoolError::AlreadyKnown);
        }
        let bump = self.config.price_bump_percent;
        let replacing = match inner.by_sender.get(&sender).and_then(|txs| txs.get(&nonce)) {
            Some(old) if old.packed => return Err(PoolError::NonceSealed(nonce)),
            Some(old) => {
                let min_fee = old.tx.tx.max_fee_per_gas() * (100 + bump) / 100;
                let old_tip =
                    old.tx.tx.max_priority_fee_per_gas().unwrap_or(old.tx.tx.max_fee_per_gas());
                let new_tip = tx.max_priority_fee_per_gas().unwrap_or(tx.max_fee_per_gas());
                if tx.max_fee_per_gas() < min_fee || new_tip < old_tip * (100 + bump) / 100 {
                    return Err(PoolError::ReplacementUnderpriced);
                }
                true
            }
            None => false,
        };
        if !replacing {
            let sender_count = inner.by_sender.get(&sender).map_or(0, |t| t.len());
            if inner.len() >= self.config.max_transactions
                || sender_count >= self.config.max_per_sender
            {
                return Err(PoolError::PoolFull);
            }
        } else {
            inner.remove(sender, nonce);
        }
        let pooled = Arc::new(PooledTx { hash, sender, tx, arrived: Instant::now() });
        inner.by_hash.insert(hash, sender);
        inner
            .by_sender
            .entry(sender)
            .or_default()
            .insert(nonce, Entry { tx: pooled, packed: false });
        Ok(hash)
    }

    /// The pooled transaction with `hash`.
    pub fn get(&self, hash: &B256) -> Option<Arc<PooledTx>> {
        let inner = self.inner.read();
        let sender = inner.by_hash.get(hash)?;
        inner.by_sender.get(sender)?.values().find(|e| e.tx.hash == *hash).map(|e| e.tx.clone())
    }

    /// Whether `hash` is pooled.
    pub fn contains(&self, hash: &B256) -> bool {
        self.inner.read().by_hash.contains_key(hash)
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        self.inner.read().len()
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
        if let Some(txs) = inner.by_sender.get(&sender) {
            for nonce in txs.range(state_nonce..).map(|(n, _)| *n) {
                if nonce != next {
                    break;
                }
                next += 1;
            }
        }
        next
    }

    /// Transactions a producer may carry next: per sender, consecutive nonces from the state
    /// nonce, not yet packed, with `filter(sender)` true; up to `gas_limit` total gas, oldest
    /// senders' transactions first and then by tip. `state_nonce(sender)` gives the latest nonce.
    pub fn best(
        &self,
        gas_limit: u64,
        base_fee: u64,
        mut state_nonce: impl FnMut(Address) -> u64,
        mut filter: impl FnMut(&PooledTx) -> bool,
    ) -> Vec<Arc<PooledTx>> {
        let inner = self.inner.read();
        let mut runs: Vec<Vec<Arc<PooledTx>>> = Vec::new();
        for (sender, txs) in &inner.by_sender {
            let start = state_nonce(*sender);
            let mut run = Vec::new();
            for (expected, (nonce, entry)) in (start..).zip(txs.range(start..)) {
                if *nonce != expected {
                    break;
                }
                if entry.packed {
                    continue;
                }
                if entry.tx.tx.max_fee_per_gas() < base_fee as u128 || !filter(&entry.tx) {
                    break;
                }
                run.push(entry.tx.clone());
            }
            if !run.is_empty() {
                runs.push(run);
            }
        }
        // Highest tip of each sender's first transaction first; ties by arrival.
        runs.sort_by(|a, b| {
            let tip = |t: &PooledTx| t.tx.effective_tip_per_gas(base_fee).unwrap_or(0);
            tip(&b[0]).cmp(&tip(&a[0])).then(a[0].arrived.cmp(&b[0].arrived))
        });
        let mut out = Vec::new();
        let mut gas = 0u64;
        for run in runs {
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
            let Some(sender) = inner.by_hash.get(hash).copied() else { continue };
            if let Some(entry) = inner
                .by_sender
                .get_mut(&sender)
                .and_then(|t| t.values_mut().find(|e| e.tx.hash == *hash))
            {
                entry.packed = packed;
            }
        }
    }

    /// Drops every transaction of `sender` whose nonce is below `state_nonce` (executed, or
    /// replaced by one that was). Returns the dropped hashes.
    pub fn prune_sender(&self, sender: Address, state_nonce: u64) -> Vec<B256> {
        let mut inner = self.inner.write();
        let stale: Vec<u64> = inner
            .by_sender
            .get(&sender)
            .map(|t| t.range(..state_nonce).map(|(n, _)| *n).collect())
            .unwrap_or_default();
        stale.into_iter().filter_map(|n| inner.remove(sender, n)).map(|t| t.hash).collect()
    }

    /// Removes one transaction.
    pub fn remove(&self, hash: &B256) -> Option<Arc<PooledTx>> {
        let mut inner = self.inner.write();
        let sender = *inner.by_hash.get(hash)?;
        let nonce = inner.by_sender.get(&sender)?.values().find(|e| e.tx.hash == *hash)?.tx.nonce();
        inner.remove(sender, nonce)
    }

    /// Every pooled transaction grouped by sender and nonce, split into pending and queued
    /// against `state_nonce(sender)`.
    #[allow(clippy::type_complexity)]
    pub fn content(
        &self,
        mut state_nonce: impl FnMut(Address) -> u64,
    ) -> (BTreeMap<Address, Vec<Arc<PooledTx>>>, BTreeMap<Address, Vec<Arc<PooledTx>>>) {
        let inner = self.inner.read();
        let (mut pending, mut queued) = (BTreeMap::new(), BTreeMap::new());
        for (sender, txs) in &inner.by_sender {
            let mut next = state_nonce(*sender);
            for (nonce, entry) in txs {
                if *nonce == next {
                    next += 1;
                    pending.entry(*sender).or_insert_with(Vec::new).push(entry.tx.clone());
                } else {
                    queued.entry(*sender).or_insert_with(Vec::new).push(entry.tx.clone());
                }
            }
        }
        (pending, queued)
    }

    /// Counts of pending, queued and packed transactions.
    pub fn status(&self, state_nonce: impl FnMut(Address) -> u64) -> PoolStatus {
        let (pending, queued) = self.content(state_nonce);
        let inner = self.inner.read();
        let packed = inner.by_sender.values().flat_map(|t| t.values()).filter(|e| e.packed).count();
        PoolStatus {
            pending: pending.values().map(Vec::len).sum(),
            queued: queued.values().map(Vec::len).sum(),
            packed,
        }
    }

    /// Senders with pooled transactions.
    pub fn senders(&self) -> Vec<Address> {
        self.inner.read().by_sender.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests;

//! One sender's pooled transactions: nonce order, the executable run, its summed cost, and the
//! candidates it offers for eviction.

use crate::{PoolError, PooledTx};
use alloy_consensus::Transaction;
use alloy_primitives::{Address, U256};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug)]
pub(crate) struct Entry {
    pub tx: Arc<PooledTx>,
    /// A block carried it: it stays until accepted, is never offered again or evicted.
    pub packed: bool,
    /// Most it can cost (`gas × max fee + value`).
    pub cost: U256,
    /// Encoded size.
    pub bytes: usize,
}

/// Where a transaction stands in eviction order: the smallest goes first. By fee cap and tip;
/// at the same price, senders holding more than their guaranteed share go first, then the
/// newest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Victim {
    pub fee: u128,
    pub tip: u128,
    pub protected: bool,
    pub newest: Reverse<u64>,
    pub sender: Address,
    pub nonce: u64,
}

impl Victim {
    /// Whether `self` pays strictly more per gas than `other` (fee cap, then tip).
    pub fn outbids(&self, other: &Victim) -> bool {
        (self.fee, self.tip) > (other.fee, other.tip)
    }
}

/// The two transactions a sender offers for eviction: its last executable one (evicting it
/// leaves the run shorter, never gapped) and its last gapped one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Candidates {
    pub pending: Option<Victim>,
    pub queued: Option<Victim>,
}

/// One sender's transactions.
#[derive(Debug, Default)]
pub(crate) struct Account {
    /// Nonce in the latest state the pool was told of.
    pub state_nonce: u64,
    /// Balance in that state.
    pub balance: U256,
    pub txs: BTreeMap<u64, Entry>,
    /// The first nonce from `state_nonce` on that is not executable: `[state_nonce,
    /// pending_end)` are pooled, consecutive and jointly affordable.
    pub pending_end: u64,
    /// Summed cost of the executable run.
    pub pending_cost: U256,
    /// Summed encoded size of every pooled transaction.
    pub bytes: usize,
    /// Pooled transactions a block carried.
    pub packed: usize,
}

impl Account {
    pub fn pending_len(&self) -> usize {
        (self.pending_end - self.state_nonce) as usize
    }

    pub fn queued_len(&self) -> usize {
        self.txs.len() - self.pending_len()
    }

    /// Takes in the latest state: drops what it made stale (nonce below the state's) and
    /// recomputes the executable run. Returns the dropped transactions.
    pub fn set_state(&mut self, nonce: u64, balance: U256) -> Vec<Arc<PooledTx>> {
        if nonce == self.state_nonce && balance == self.balance {
            // Nothing is stale and the run is kept up to date by every change: recomputing
            // it would walk the whole run on every addition of a sender's transaction.
            return Vec::new();
        }
        let kept = self.txs.split_off(&nonce);
        let stale = std::mem::replace(&mut self.txs, kept);
        self.state_nonce = nonce;
        self.balance = balance;
        self.packed -= stale.values().filter(|e| e.packed).count();
        let dropped: Vec<_> = stale.into_values().map(|e| e.tx).collect();
        self.bytes -= dropped.iter().map(|t| t.bytes).sum::<usize>();
        self.refresh();
        dropped
    }

    /// Recomputes the executable run: consecutive nonces from the state nonce for as long as
    /// the balance covers their summed cost. What follows a gap, or would overdraw, waits as
    /// gapped.
    pub fn refresh(&mut self) {
        let (mut end, mut cost) = (self.state_nonce, U256::ZERO);
        while let Some(entry) = self.txs.get(&end) {
            match cost.checked_add(entry.cost) {
                Some(sum) if sum <= self.balance => cost = sum,
                _ => break,
            }
            end += 1;
        }
        self.pending_end = end;
        self.pending_cost = cost;
    }

    /// Extends the run over gapped transactions that now follow it, while affordable.
    fn extend_run(&mut self) {
        while let Some(entry) = self.txs.get(&self.pending_end) {
            match self.pending_cost.checked_add(entry.cost) {
                Some(sum) if sum <= self.balance => self.pending_cost = sum,
                _ => break,
            }
            self.pending_end += 1;
        }
    }

    /// How many executable transactions the run would gain past its end if it began at
    /// `pending_end` with `cost` spent: the gapped ones that would follow, while affordable.
    fn affordable_followers(&self, mut cost: U256) -> usize {
        let mut n = 0;
        while let Some(entry) = self.txs.get(&(self.pending_end + n as u64)) {
            match cost.checked_add(entry.cost) {
                Some(sum) if sum <= self.balance => cost = sum,
                _ => break,
            }
            n += 1;
        }
        n
    }

    /// Checks, without changing anything, whether `tx` (cost `cost`) may go in: not over a
    /// packed one; the balance covering the run it joins (geth: a sender's executable
    /// transactions must be jointly affordable), or itself if gapped; a replacement paying
    /// `bump_percent` more in both fee fields; at most `account_queue` gapped. Answers how
    /// many executable transactions the sender would gain.
    pub fn check(
        &self,
        tx: &PooledTx,
        cost: U256,
        bump_percent: u128,
        account_queue: usize,
    ) -> Result<usize, PoolError> {
        let nonce = tx.nonce();
        let in_run = nonce < self.pending_end;
        let old = self.txs.get(&nonce);
        if old.is_some_and(|o| o.packed) {
            return Err(PoolError::NonceSealed(nonce));
        }
        // Funds first, as geth checks them before the replacement price.
        let old_cost = old.map_or(U256::ZERO, |o| o.cost);
        let joins_run = in_run || nonce == self.pending_end;
        let mut spent_after = U256::ZERO;
        if joins_run {
            // Joint affordability of the run with this transaction in it.
            let spent = self.pending_cost - if in_run { old_cost } else { U256::ZERO };
            match spent.checked_add(cost) {
                Some(need) if need <= self.balance => spent_after = need,
                _ => {
                    return Err(PoolError::InsufficientFunds { balance: self.balance, cost, spent })
                }
            }
        } else if cost > self.balance {
            return Err(PoolError::InsufficientFunds {
                balance: self.balance,
                cost,
                spent: U256::ZERO,
            });
        }
        if let Some(old) = old {
            // In 256 bits: a fee near u128::MAX times (100 + bump) must neither wrap nor
            // saturate below the old fee.
            let factor = U256::from(bump_percent) + U256::from(100);
            let bumped = |x: u128| U256::from(x) * factor / U256::from(100);
            let old_fee = old.tx.tx.max_fee_per_gas();
            let old_tip = old.tx.tx.max_priority_fee_per_gas().unwrap_or(old_fee);
            let new_tip = tx.tx.max_priority_fee_per_gas().unwrap_or(tx.tx.max_fee_per_gas());
            if U256::from(tx.tx.max_fee_per_gas()) < bumped(old_fee)
                || U256::from(new_tip) < bumped(old_tip)
            {
                return Err(PoolError::ReplacementUnderpriced);
            }
        } else if !joins_run && self.queued_len() >= account_queue {
            return Err(PoolError::AccountLimit {
                queued: self.queued_len(),
                limit: account_queue,
            });
        }
        Ok(if in_run {
            // A cheaper replacement may let gapped followers in.
            self.affordable_followers(spent_after)
        } else if joins_run {
            // Itself (a replaced gapped one included), and the gapped ones after it.
            let (mut gain, mut running, mut next) = (1, spent_after, nonce + 1);
            while let Some(entry) = self.txs.get(&next) {
                match running.checked_add(entry.cost) {
                    Some(sum) if sum <= self.balance => running = sum,
                    _ => break,
                }
                gain += 1;
                next += 1;
            }
            gain
        } else {
            0
        })
    }

    /// Inserts `tx` after [`Account::check`] passed, replacing a pooled one with the same
    /// nonce. Returns the replaced one.
    pub fn insert(
        &mut self,
        tx: Arc<PooledTx>,
        cost: U256,
        bump_percent: u128,
        account_queue: usize,
    ) -> Result<Option<Arc<PooledTx>>, PoolError> {
        self.check(&tx, cost, bump_percent, account_queue)?;
        let nonce = tx.nonce();
        let in_run = nonce < self.pending_end;
        let joins_run = in_run || nonce == self.pending_end;
        let old_cost = self.txs.get(&nonce).map_or(U256::ZERO, |o| o.cost);
        let bytes = tx.bytes;
        let replaced = self.txs.insert(nonce, Entry { tx, packed: false, cost, bytes });
        self.bytes += bytes;
        if let Some(old) = &replaced {
            self.bytes -= old.bytes;
        }
        if in_run {
            self.pending_cost = self.pending_cost - old_cost + cost;
            self.extend_run();
        } else if joins_run {
            self.pending_cost += cost;
            self.pending_end += 1;
            self.extend_run();
        }
        Ok(replaced.map(|e| e.tx))
    }

    /// Removes the transaction with `nonce`; the run ends before it if it was in the run.
    pub fn remove(&mut self, nonce: u64) -> Option<Arc<PooledTx>> {
        let entry = self.txs.remove(&nonce)?;
        self.bytes -= entry.bytes;
        self.packed -= usize::from(entry.packed);
        if nonce + 1 == self.pending_end {
            self.pending_end -= 1;
            self.pending_cost -= entry.cost;
        } else if nonce < self.pending_end {
            self.refresh();
        }
        Some(entry.tx)
    }

    /// Marks the transaction with `nonce` as carried by a block, or not.
    pub fn set_packed(&mut self, nonce: u64, packed: bool) {
        if let Some(entry) = self.txs.get_mut(&nonce) {
            if entry.packed != packed {
                entry.packed = packed;
                if packed {
                    self.packed += 1;
                } else {
                    self.packed -= 1;
                }
            }
        }
    }

    /// Gapped transactions that arrived before `cutoff`; removed.
    pub fn expire(&mut self, cutoff: Instant) -> Vec<Arc<PooledTx>> {
        let old: Vec<u64> = self
            .txs
            .range(self.pending_end..)
            .filter(|(_, e)| e.tx.arrived < cutoff && !e.packed)
            .map(|(n, _)| *n)
            .collect();
        old.into_iter().filter_map(|n| self.remove(n)).collect()
    }

    /// This sender's eviction candidates; `share` is the guaranteed number of transactions
    /// per sender.
    pub fn candidates(&self, sender: Address, share: usize) -> Candidates {
        let protected = self.txs.len() <= share;
        let victim = |nonce: u64, e: &Entry| {
            (!e.packed).then(|| {
                let fee = e.tx.tx.max_fee_per_gas();
                Victim {
                    protected,
                    fee,
                    tip: e.tx.tx.max_priority_fee_per_gas().unwrap_or(fee),
                    newest: Reverse(e.tx.seq),
                    sender,
                    nonce,
                }
            })
        };
        let pending = (self.pending_end > self.state_nonce)
            .then(|| self.pending_end - 1)
            .and_then(|n| self.txs.get(&n).and_then(|e| victim(n, e)));
        let queued =
            self.txs.range(self.pending_end..).next_back().and_then(|(n, e)| victim(*n, e));
        Candidates { pending, queued }
    }
}

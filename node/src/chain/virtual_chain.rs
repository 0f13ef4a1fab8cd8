//! Moving the selected chain: the sink is the best valid block; when it changes, state rolls
//! back to the fork point through the change sets and the new chain blocks' acceptances are
//! applied, each checked against the commitments in its header. A block whose commitments are
//! wrong is disqualified from the chain (it stays in the DAG and can still be merged) and the
//! evidence is logged. Reorgs deeper than the finality depth are refused.

use super::Chain;
use alloy_primitives::{B256, U256};
use eyre::{eyre, Result};
use lattice_primitives::{AcceptanceEntry, StoredReceipt};
use lattice_storage::{tables, Codec};
use std::collections::HashSet;

/// A chain block whose acceptance was applied.
#[derive(Clone, Debug)]
pub struct AppliedBlock {
    /// Chain position.
    pub number: u64,
    /// Hash.
    pub hash: B256,
    /// Its header.
    pub header: lattice_primitives::Header,
    /// Gas used.
    pub gas_used: u64,
    /// Every carried transaction and its outcome.
    pub entries: Vec<AcceptanceEntry>,
    /// Receipts of the executed ones.
    pub receipts: Vec<StoredReceipt>,
}

/// How the selected chain changed.
#[derive(Clone, Debug, Default)]
pub struct ChainUpdate {
    /// Chain blocks rolled back, newest first, with what they had applied.
    pub removed: Vec<AppliedBlock>,
    /// Chain blocks applied, oldest first.
    pub added: Vec<AppliedBlock>,
    /// Blocks disqualified on the way.
    pub disqualified: Vec<B256>,
}

enum Applied {
    Ok(AppliedBlock),
    Mismatch(String),
}

impl Chain {
    /// Moves the selected chain to the best valid block. Caller holds the write lock.
    pub(super) fn resolve_virtual(&self) -> Result<ChainUpdate> {
        let mut update = ChainUpdate::default();
        let mut refused: HashSet<B256> = HashSet::new();
        loop {
            let Some(target) = self.best_candidate(&refused)? else { break };
            let head = self.head();
            if target == head.hash {
                break;
            }
            let mut path = Vec::new();
            let mut at = target;
            while self.number_of(at)?.is_none() {
                path.push(at);
                at = self
                    .ghostdag(at)?
                    .ok_or_else(|| eyre!("no GHOSTDAG data for {at}"))?
                    .selected_parent;
            }
            let fork = self.number_of(at)?.expect("loop ends on a chain block");
            let depth = head.number - fork;
            if depth > self.spec.finality_depth {
                tracing::warn!(target: "lattice::chain", %target, depth, finality_depth = self.spec.finality_depth,
                    "refusing a reorg below the finality depth");
                refused.insert(target);
                continue;
            }
            // Rolling back needs the change sets of the blocks undone: none below the history
            // floor exist (a second reorg after one that lowered the sink could reach there).
            let floor = self.history_floor();
            if fork < floor {
                tracing::warn!(target: "lattice::chain", %target, fork, floor,
                    "refusing a reorg below the pruned history (--prune)");
                refused.insert(target);
                continue;
            }
            while self.head().number > fork {
                update.removed.push(self.rollback_head()?);
            }
            for hash in path.into_iter().rev() {
                match self.apply_chain_block(hash)? {
                    Applied::Ok(block) => update.added.push(block),
                    Applied::Mismatch(reason) => {
                        self.disqualify(hash, &reason)?;
                        update.disqualified.push(hash);
                        break;
                    }
                }
            }
        }
        Ok(update)
    }

    /// The valid block with the highest (blue work, hash): among the tips, the current sink and
    /// the selected parents of disqualified blocks, those whose selected chain holds no
    /// disqualified block.
    fn best_candidate(&self, refused: &HashSet<B256>) -> Result<Option<B256>> {
        let head = self.head();
        let mut candidates = self.tips();
        candidates.push(head.hash);
        {
            let dq = self.disqualified.read();
            for d in dq.iter() {
                if let Some(gd) = self.ghostdag(*d)? {
                    candidates.push(gd.selected_parent);
                }
            }
        }
        let mut best: Option<(U256, B256)> = None;
        for c in candidates {
            if refused.contains(&c) || !self.chain_is_clean(c)? {
                continue;
            }
            let Some(gd) = self.ghostdag(c)? else { continue };
            let key = (gd.blue_work, c);
            if best.is_none_or(|b| key > b) {
                best = Some(key);
            }
        }
        Ok(best.map(|(_, h)| h))
    }

    /// Whether no block on `hash`'s selected chain, down to the current chain, is disqualified.
    fn chain_is_clean(&self, hash: B256) -> Result<bool> {
        let dq = self.disqualified.read();
        if dq.is_empty() {
            return Ok(true);
        }
        let mut at = hash;
        while self.number_of(at)?.is_none() {
            if dq.contains(&at) {
                return Ok(false);
            }
            at = match self.ghostdag(at)? {
                Some(gd) => gd.selected_parent,
                None => return Ok(false),
            };
        }
        Ok(true)
    }

    /// Applies the acceptance of `hash`, whose selected parent is the sink, if its header's
    /// commitments match the execution.
    fn apply_chain_block(&self, hash: B256) -> Result<Applied> {
        let head = self.head();
        let header = self.header(hash)?.ok_or_else(|| eyre!("no header for {hash}"))?;
        let gd = self.ghostdag(hash)?.ok_or_else(|| eyre!("no GHOSTDAG data for {hash}"))?;
        let exec = self.execute_acceptance(
            &head,
            &gd,
            header.coinbase,
            header.timestamp_ms,
            header.base_fee,
        )?;
        let checks = [
            ("state root", header.state_root.to_string(), exec.prepared.state_root.to_string()),
            (
                "receipts root",
                header.receipts_root.to_string(),
                exec.outcome.receipts_root.to_string(),
            ),
            ("gas used", header.gas_used.to_string(), exec.outcome.gas_used.to_string()),
            ("logs bloom", header.logs_bloom.to_string(), exec.outcome.logs_bloom.to_string()),
        ];
        for (field, committed, executed) in checks {
            if committed != executed {
                return Ok(Applied::Mismatch(format!(
                    "{field} {committed} but execution gives {executed}"
                )));
            }
        }
        Ok(Applied::Ok(self.commit_chain_block(hash, &header, head.number + 1, exec, None)?))
    }

    /// Rolls the sink's acceptance back, making its selected parent the sink.
    fn rollback_head(&self) -> Result<AppliedBlock> {
        let head = self.head();
        let (n, hash) = (head.number, head.hash);
        if n <= self.history_floor() {
            return Err(eyre!("cannot roll back chain block {n}: its history is pruned"));
        }
        let parent = self.hash_at(n - 1)?.ok_or_else(|| eyre!("no chain block at {}", n - 1))?;
        let receipts = self.receipts(hash)?;
        let entries = self.acceptance(hash)?;
        // Before writing: the tries are built from the state as stored.
        let tries = self.trie.get()?;
        let mut batch = self.db.batch();
        super::logs::unindex(&mut batch, n, &receipts)?;
        let accounts = self.account_changes(n)?;
        for (hashed, prior) in &accounts {
            match prior {
                Some(account) => batch.put::<tables::Accounts>(hashed, account)?,
                None => batch.delete::<tables::Accounts>(hashed)?,
            }
            batch.delete::<tables::AccountChangeSets>(&(n, *hashed))?;
            batch.delete::<tables::AccountHistory>(&(*hashed, n))?;
        }
        let slots = self.storage_changes(n, None)?;
        for &(ha, hs, prior) in &slots {
            if prior.is_zero() {
                batch.delete::<tables::Storages>(&(ha, hs))?;
            } else {
                batch.put::<tables::Storages>(&(ha, hs), &prior)?;
            }
            batch.delete::<tables::StorageChangeSets>(&(n, ha, hs))?;
            batch.delete::<tables::StorageHistory>(&(ha, hs, n))?;
        }
        for entry in entries.iter().filter(|e| e.skip == 0) {
            batch.delete::<tables::TxLookup>(&entry.tx_hash)?;
        }
        batch.delete::<tables::ChainByNumber>(&n)?;
        batch.delete::<tables::ChainNumbers>(&hash)?;
        batch.delete::<tables::Receipts>(&hash)?;
        batch.delete::<tables::Acceptance>(&hash)?;
        batch.put::<tables::Meta>(&super::META_SINK.to_vec(), &parent.to_vec())?;
        batch.commit()?;
        tries.lock().revert(&accounts, &slots);
        *self.head.write() = self.load_head(parent)?;
        self.bump_state_version();
        tracing::debug!(target: "lattice::chain", number = n, %hash, "rolled back chain block");
        Ok(AppliedBlock {
            number: n,
            hash,
            gas_used: head.header.gas_used,
            header: head.header,
            entries,
            receipts,
        })
    }

    /// Chain block `n`'s account change set: each account it changed, with its prior value
    /// (`None`: absent).
    pub(super) fn account_changes(
        &self,
        n: u64,
    ) -> Result<Vec<(B256, Option<alloy_trie::TrieAccount>)>> {
        let entries = self.db.scan_prefix::<tables::AccountChangeSets>(&n.encode())?;
        Ok(entries.into_iter().map(|((_, hashed), prior)| (hashed, prior)).collect())
    }

    /// Chain block `n`'s storage change set, of one account (`Some`, hashed) or of all:
    /// `(account, slot, prior value)`, hashed keys.
    pub(super) fn storage_changes(
        &self,
        n: u64,
        account: Option<B256>,
    ) -> Result<Vec<(B256, B256, alloy_primitives::U256)>> {
        let mut prefix = n.encode();
        if let Some(account) = account {
            prefix.extend_from_slice(account.as_slice());
        }
        let entries = self.db.scan_prefix::<tables::StorageChangeSets>(&prefix)?;
        Ok(entries.into_iter().map(|((_, account, slot), prior)| (account, slot, prior)).collect())
    }

    fn disqualify(&self, hash: B256, reason: &str) -> Result<()> {
        let producer = self.header(hash)?.map(|h| h.producer).unwrap_or_default();
        tracing::warn!(target: "lattice::consensus", %hash, %producer, reason,
            "evidence: block disqualified from the selected chain (wrong commitment)");
        let mut batch = self.db.batch();
        batch.put::<tables::Disqualified>(&hash, &())?;
        batch.commit()?;
        self.disqualified.write().insert(hash);
        Ok(())
    }
}

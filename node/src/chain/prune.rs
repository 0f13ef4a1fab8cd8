//! Pruning of state history (`--prune N`): the change sets and history indices of chain blocks
//! more than N below the sink are deleted, so the state after the oldest kept chain block (the
//! *history floor*) is the oldest that can be read, and disk use stops growing with the
//! history of every account and slot.
//!
//! The floor is raised, in memory and on disk, *before* anything below it is deleted, and
//! historical reads check it before and after they read (see
//! [`lattice_evm::HistoricalState::with_floor`]), so a read overtaken by pruning fails with
//! "historical state not available" instead of returning a value from half-deleted history.
//! The work runs off the paths that seal and import blocks, in steps of a bounded number of
//! chain blocks, each one RocksDB batch; a crash between raising the floor and finishing the
//! deletions is resumed on the next step.
//!
//! `N` is at least the finality depth (a reorg never rolls back below it, and a rollback
//! needs the change sets of the blocks it undoes) and the `eth_getProof` window (proofs undo
//! the change sets of the blocks above the one asked for); the configuration checks both.

use super::Chain;
use eyre::{eyre, Result};
use lattice_storage::tables;
use std::sync::atomic::Ordering;

/// Meta key: the oldest chain block whose state can be read (big-endian u64; absent: 0).
pub(super) const META_HISTORY_FLOOR: &[u8] = b"history_floor";
/// Meta key: every change set at or below this chain block has been deleted (absent: 0).
const META_HISTORY_DELETED: &[u8] = b"history_deleted";

/// What one pruning step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneStep {
    /// The history floor after the step.
    pub floor: u64,
    /// Chain blocks whose history the step deleted.
    pub blocks: u64,
    /// Change-set entries (accounts and slots) deleted, with their history-index entries.
    pub entries: u64,
}

pub(super) fn read_u64_meta(db: &lattice_storage::Db, key: &[u8]) -> Result<u64> {
    match super::meta_get(db, key)? {
        None => Ok(0),
        Some(bytes) => Ok(u64::from_be_bytes(
            bytes.as_slice().try_into().map_err(|_| eyre!("corrupt {:?} in metadata", key))?,
        )),
    }
}

impl Chain {
    /// The oldest chain block whose state can be read (0: all history kept).
    pub fn history_floor(&self) -> u64 {
        self.history_floor.load(Ordering::SeqCst)
    }

    /// One step of pruning that keeps the state history of the last `keep` chain blocks below
    /// the sink: raises the floor towards `sink − keep` by at most `max_blocks` chain blocks,
    /// then deletes the change sets and history entries below it. Returns what it did; a step
    /// with `blocks == 0` means pruning is up to date.
    pub fn prune_history(&self, keep: u64, max_blocks: u64) -> Result<PruneStep> {
        let deleted = read_u64_meta(&self.db, META_HISTORY_DELETED)?;
        let new_floor = {
            // Under the chain's write lock, so that no reorg decides on a fork between reading
            // the floor and the floor moving (reorgs check the floor under the same lock).
            let _guard = self.write.lock();
            let floor = self.history_floor();
            let target = self.head().number.saturating_sub(keep);
            // Finish what a crash interrupted first, else move the floor up.
            let new_floor = if deleted < floor { floor } else { target.min(floor + max_blocks) };
            if new_floor <= deleted {
                return Ok(PruneStep { floor, ..Default::default() });
            }
            if new_floor > floor {
                let mut batch = self.db.batch();
                batch.put::<tables::Meta>(
                    &META_HISTORY_FLOOR.to_vec(),
                    &new_floor.to_be_bytes().to_vec(),
                )?;
                batch.commit()?;
                self.history_floor.store(new_floor, Ordering::SeqCst);
            }
            new_floor
        };
        // The state after block `new_floor` stays readable: it needs the change sets of the
        // blocks above it, so those at `new_floor` and below go.
        let mut batch = self.db.batch();
        let mut entries = 0u64;
        for n in deleted + 1..=new_floor {
            for (hashed, _) in self.account_changes(n)? {
                batch.delete::<tables::AccountChangeSets>(&(n, hashed))?;
                batch.delete::<tables::AccountHistory>(&(hashed, n))?;
                entries += 1;
            }
            for (account, slot, _) in self.storage_changes(n, None)? {
                batch.delete::<tables::StorageChangeSets>(&(n, account, slot))?;
                batch.delete::<tables::StorageHistory>(&(account, slot, n))?;
                entries += 1;
            }
        }
        batch.put::<tables::Meta>(
            &META_HISTORY_DELETED.to_vec(),
            &new_floor.to_be_bytes().to_vec(),
        )?;
        batch.commit()?;
        Ok(PruneStep { floor: new_floor, blocks: new_floor - deleted, entries })
    }

    /// The lowest chain block that still has a change set stored (`None`: none has).
    pub fn oldest_history(&self) -> Result<Option<u64>> {
        let accounts = self.db.seek::<tables::AccountChangeSets>(&[], &[])?.map(|((n, _), _)| n);
        let slots = self.db.seek::<tables::StorageChangeSets>(&[], &[])?.map(|((n, _, _), _)| n);
        Ok(accounts.into_iter().chain(slots).min())
    }
}

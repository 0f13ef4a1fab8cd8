//! From [`StateChanges`] to a state root and a write batch.
//!
//! The root is computed over the stored state with the changes laid on top, before anything is
//! written, so a producer can commit to it in the header it is about to seal. The account trie
//! is kept in memory ([`MerkleTrie`], copy-on-write): a block's root updates a clone of the
//! committed trie along the changed accounts' paths only, and the clone becomes the committed
//! trie when the block is written. Storage roots are recomputed only for accounts whose storage
//! changed.

use crate::error::EvmError;
use crate::overlay::StateChanges;
use crate::trie::MerkleTrie;
use alloy_primitives::{keccak256, Address, Bytes, B256, KECCAK256_EMPTY, U256};
use alloy_trie::{HashBuilder, Nibbles, TrieAccount, EMPTY_ROOT_HASH};
use lattice_primitives::ChainSpec;
use lattice_storage::{tables, Batch, Db};
use std::collections::BTreeMap;

/// One account's final write.
#[derive(Clone, Debug)]
struct AccountWrite {
    original: Option<TrieAccount>,
    new: Option<TrieAccount>,
    /// hashed slot → (original, new) for every slot that changes, including wiped ones.
    storage: BTreeMap<B256, (U256, U256)>,
}

/// A set of changes with its state root computed, ready to be written.
#[derive(Clone, Debug)]
pub struct PreparedState {
    /// The Merkle-Patricia state root after the changes.
    pub state_root: B256,
    accounts: BTreeMap<B256, AccountWrite>,
    codes: BTreeMap<B256, Bytes>,
    trie: MerkleTrie,
}

/// The account trie of every account stored in `db` (O(state): done once, at start-up).
pub fn load_account_trie(db: &Db) -> Result<MerkleTrie, EvmError> {
    let accounts = db.scan_from::<tables::Accounts>(&[], |_| true)?;
    Ok(MerkleTrie::from_sorted(accounts.into_iter().map(|(k, v)| (k, alloy_rlp::encode(v)))))
}

fn storage_root(slots: impl Iterator<Item = (B256, U256)>) -> B256 {
    let mut hb = HashBuilder::default();
    let mut any = false;
    for (hashed, value) in slots {
        if value.is_zero() {
            continue;
        }
        any = true;
        hb.add_leaf(Nibbles::unpack(hashed), &alloy_rlp::encode(value));
    }
    if any {
        hb.root()
    } else {
        EMPTY_ROOT_HASH
    }
}

impl PreparedState {
    /// Computes the state root of `db`'s current state with `changes` applied, building the
    /// account trie from the database (O(state); the node keeps the trie and calls
    /// [`PreparedState::prepare_on`]).
    pub fn prepare(db: &Db, changes: StateChanges) -> Result<Self, EvmError> {
        Self::prepare_on(db, &load_account_trie(db)?, changes)
    }

    /// Computes the state root of `db`'s current state, whose account trie is `committed`, with
    /// `changes` applied. Costs O(changes · depth) for the account trie.
    pub fn prepare_on(
        db: &Db,
        committed: &MerkleTrie,
        changes: StateChanges,
    ) -> Result<Self, EvmError> {
        let mut accounts = BTreeMap::new();
        for (hashed, change) in changes.accounts {
            let mut storage: BTreeMap<B256, (U256, U256)> = BTreeMap::new();
            let wiped = change.wiped || change.current.is_none();
            let existing = if change.original.is_some() && (wiped || !change.storage.is_empty()) {
                db.scan_prefix::<tables::Storages>(hashed.as_slice())?
            } else {
                Vec::new()
            };
            if wiped {
                for ((_, hs), value) in &existing {
                    storage.insert(*hs, (*value, U256::ZERO));
                }
            }
            for (hs, (_, orig, new)) in &change.storage {
                let entry = storage.entry(*hs).or_insert((*orig, U256::ZERO));
                entry.1 = *new;
            }
            storage.retain(|_, (o, n)| o != n);
            let new = match &change.current {
                None => None,
                Some(info) => {
                    let storage_root = if storage.is_empty() && !wiped {
                        change.original_storage_root()
                    } else {
                        // Merge the stored slots with the changes, in hashed-slot order.
                        let mut merged: BTreeMap<B256, U256> = if wiped {
                            BTreeMap::new()
                        } else {
                            existing.iter().map(|((_, hs), v)| (*hs, *v)).collect()
                        };
                        for (hs, (_, n)) in &storage {
                            merged.insert(*hs, *n);
                        }
                        storage_root(merged.into_iter())
                    };
                    let code_hash =
                        if info.code_hash == B256::ZERO { KECCAK256_EMPTY } else { info.code_hash };
                    Some(TrieAccount {
                        nonce: info.nonce,
                        balance: info.balance,
                        storage_root,
                        code_hash,
                    })
                }
            };
            if new != change.original || !storage.is_empty() {
                accounts.insert(hashed, AccountWrite { original: change.original, new, storage });
            }
        }

        let mut trie = committed.clone();
        for (hashed, write) in &accounts {
            match &write.new {
                Some(account) => trie.insert(*hashed, alloy_rlp::encode(account)),
                None => {
                    trie.remove(*hashed);
                }
            }
        }
        let state_root = trie.root();
        Ok(Self { state_root, accounts, codes: changes.codes, trie })
    }

    /// The account trie after these changes: the committed trie once they are written.
    pub fn into_trie(self) -> MerkleTrie {
        self.trie
    }

    /// Stages the state writes. With `number` (the chain position of the block applying them),
    /// also stages change sets and history so the state can be rolled back and read historically.
    pub fn write(&self, batch: &mut Batch<'_>, number: Option<u64>) -> Result<(), EvmError> {
        for (hash, code) in &self.codes {
            batch.put::<tables::Bytecodes>(hash, code)?;
        }
        for (hashed, write) in &self.accounts {
            if let Some(n) = number {
                if write.original != write.new {
                    batch.put::<tables::AccountChangeSets>(&(n, *hashed), &write.original)?;
                    batch.put::<tables::AccountHistory>(&(*hashed, n), &())?;
                }
            }
            match &write.new {
                Some(account) => batch.put::<tables::Accounts>(hashed, account)?,
                None => batch.delete::<tables::Accounts>(hashed)?,
            }
            for (hs, (orig, new)) in &write.storage {
                if let Some(n) = number {
                    batch.put::<tables::StorageChangeSets>(&(n, *hashed, *hs), orig)?;
                    batch.put::<tables::StorageHistory>(&(*hashed, *hs, n), &())?;
                }
                if new.is_zero() {
                    batch.delete::<tables::Storages>(&(*hashed, *hs))?;
                } else {
                    batch.put::<tables::Storages>(&(*hashed, *hs), new)?;
                }
            }
        }
        Ok(())
    }

    /// Number of accounts that change.
    pub fn changed_accounts(&self) -> usize {
        self.accounts.len()
    }
}

/// The genesis state of `spec` over an empty database: its changes, with the root computed.
pub fn genesis_state(db: &Db, spec: &ChainSpec) -> Result<PreparedState, EvmError> {
    let mut overlay = crate::Overlay::new(crate::LatestState::new(db));
    for (address, acc) in &spec.alloc {
        let address: Address = *address;
        overlay.set_account(
            address,
            acc.balance,
            acc.nonce,
            acc.code.clone(),
            acc.storage.iter().map(|(k, v)| (U256::from_be_bytes(k.0), *v)),
        )?;
    }
    PreparedState::prepare(db, overlay.into_changes())
}

/// keccak of a storage slot key, as the trie and the tables use it.
pub fn hashed_slot(slot: U256) -> B256 {
    keccak256(B256::from(slot))
}

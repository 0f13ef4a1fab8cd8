//! From [`StateChanges`] to a state root and a write batch.
//!
//! The root is computed over the stored state with the changes laid on top, before anything is
//! written, so a producer can commit to it in the header it is about to seal. The account trie
//! is kept in memory ([`MerkleTrie`], copy-on-write): a block's root updates a clone of the
//! committed trie along the changed accounts' paths only, and the clone becomes the committed
//! trie when the block is written. Storage tries are kept the same way ([`StateTries`]): a
//! contract's new storage root updates its cached trie along the changed slots' paths.

use crate::error::EvmError;
use crate::overlay::StateChanges;
use crate::trie::MerkleTrie;
use crate::tries::{set_account, storage_value, StateTries};
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
    /// The account trie after the changes.
    trie: MerkleTrie,
    /// hashed account → its storage trie after the changes, for each account whose storage
    /// changed.
    storage_tries: BTreeMap<B256, MerkleTrie>,
}

impl PreparedState {
    /// Computes the state root of `db`'s current state with `changes` applied, building the
    /// account trie and the touched storage tries from the database (O(state); the node keeps
    /// them in [`StateTries`] and calls [`PreparedState::prepare_on`]).
    pub fn prepare(db: &Db, changes: StateChanges) -> Result<Self, EvmError> {
        Self::prepare_on(db, &StateTries::load(db, 0)?, changes)
    }

    /// Computes the state root of `db`'s current state, whose tries are `committed`, with
    /// `changes` applied. Costs O(changes · depth), plus O(storage) for each contract whose
    /// storage changes and whose trie `committed` does not hold yet.
    pub fn prepare_on(
        db: &Db,
        committed: &StateTries,
        changes: StateChanges,
    ) -> Result<Self, EvmError> {
        let mut accounts = BTreeMap::new();
        let mut storage_tries = BTreeMap::new();
        for (hashed, change) in changes.accounts {
            let original_root = change.original_storage_root();
            let wiped = change.wiped || change.current.is_none();
            let mut storage: BTreeMap<B256, (U256, U256)> = BTreeMap::new();
            if wiped && change.original.is_some() {
                // Every stored slot goes; the change set records its prior value.
                for ((_, hs), value) in db.scan_prefix::<tables::Storages>(hashed.as_slice())? {
                    storage.insert(hs, (value, U256::ZERO));
                }
            }
            for (hs, (_, orig, new)) in &change.storage {
                storage.entry(*hs).or_insert((*orig, U256::ZERO)).1 = *new;
            }
            if change.current.is_none() {
                // A deleted account keeps no storage, whatever was written to it.
                for (_, new) in storage.values_mut() {
                    *new = U256::ZERO;
                }
            }
            // A wiped account's storage is exactly its non-zero new values, including a slot
            // written back with the value it had (which drops out of the writes below).
            let wiped_trie = wiped.then(|| {
                MerkleTrie::from_sorted(
                    storage
                        .iter()
                        .filter(|(_, (_, new))| !new.is_zero())
                        .map(|(hs, (_, new))| (*hs, alloy_rlp::encode(new))),
                )
            });
            storage.retain(|_, (o, n)| o != n);
            let new = match &change.current {
                None => {
                    storage_tries.insert(hashed, MerkleTrie::new());
                    None
                }
                Some(info) => {
                    let storage_root = if let Some(trie) = wiped_trie {
                        let root = trie.root();
                        storage_tries.insert(hashed, trie);
                        root
                    } else if storage.is_empty() {
                        original_root
                    } else {
                        let mut trie = committed.storage_trie(db, hashed, original_root)?;
                        for (hs, (_, value)) in &storage {
                            trie.insert(*hs, storage_value(*value));
                        }
                        let root = trie.root();
                        storage_tries.insert(hashed, trie);
                        root
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

        let mut trie = committed.accounts().clone();
        for (hashed, write) in &accounts {
            set_account(&mut trie, *hashed, write.new.as_ref());
        }
        let state_root = trie.root();
        Ok(Self { state_root, accounts, codes: changes.codes, trie, storage_tries })
    }

    /// The account trie and the new storage tries of the accounts whose storage changed (empty
    /// for a deleted account): the committed tries once these changes are written.
    pub(crate) fn into_tries(self) -> (MerkleTrie, BTreeMap<B256, MerkleTrie>) {
        (self.trie, self.storage_tries)
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

/// The state root of what `db` stores, rebuilt from every account and slot with alloy-trie's
/// `HashBuilder`, independently of [`MerkleTrie`] and [`StateTries`]: O(state), a check for
/// tests and audits. Fails if an account's storage root is not the root of its stored slots.
pub fn rebuild_state_root(db: &Db) -> Result<B256, EvmError> {
    fn root(entries: impl Iterator<Item = (B256, Vec<u8>)>) -> B256 {
        let mut builder = HashBuilder::default();
        let mut any = false;
        for (key, value) in entries {
            builder.add_leaf(Nibbles::unpack(key), &value);
            any = true;
        }
        if any {
            builder.root()
        } else {
            EMPTY_ROOT_HASH
        }
    }
    let accounts = db.scan_from::<tables::Accounts>(&[], |_| true)?;
    for (hashed, account) in &accounts {
        let slots = db.scan_prefix::<tables::Storages>(hashed.as_slice())?;
        let storage_root =
            root(slots.into_iter().map(|((_, slot), value)| (slot, alloy_rlp::encode(value))));
        if storage_root != account.storage_root {
            return Err(EvmError::Inconsistent(format!(
                "stored storage of account {hashed} gives root {storage_root} but the account \
                 commits to {}",
                account.storage_root
            )));
        }
    }
    Ok(root(accounts.into_iter().map(|(hashed, account)| (hashed, alloy_rlp::encode(account)))))
}

/// keccak of a storage slot key, as the trie and the tables use it.
pub fn hashed_slot(slot: U256) -> B256 {
    keccak256(B256::from(slot))
}

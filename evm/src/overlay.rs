//! revm's `Database` over a [`StateReader`], keeping every change in memory.

use crate::error::EvmError;
use crate::state::StateReader;
use alloy_primitives::{keccak256, map::HashMap, Address, Bytes, B256, KECCAK256_EMPTY, U256};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH};
use revm::bytecode::Bytecode;
use revm::database_interface::{Database, DatabaseCommit, DatabaseRef};
use revm::state::{AccountInfo, EvmState};
use std::collections::BTreeMap;

/// One account as the overlay knows it.
#[derive(Clone, Debug)]
struct CachedAccount {
    /// As it is in the base state (`None`: absent).
    original: Option<TrieAccount>,
    /// As it is now (`None`: absent or deleted).
    current: Option<AccountInfo>,
    /// slot → (original value, current value) for every slot read or written.
    storage: HashMap<U256, (U256, U256)>,
    /// The account's base storage was cleared (self-destruct or re-creation).
    wiped: bool,
    /// Written by a committed transaction.
    dirty: bool,
}

fn info_of(acc: &TrieAccount) -> AccountInfo {
    // `code: None` makes revm load the code by hash; the default would claim empty code.
    AccountInfo {
        balance: acc.balance,
        nonce: acc.nonce,
        code_hash: acc.code_hash,
        code: None,
        ..Default::default()
    }
}

/// An in-memory layer of changes over a base state; implements revm's `Database` and
/// `DatabaseCommit`.
#[derive(Debug)]
pub struct Overlay<R> {
    base: R,
    accounts: HashMap<Address, CachedAccount>,
    codes: HashMap<B256, Bytes>,
}

impl<R: StateReader> Overlay<R> {
    /// An empty overlay over `base`.
    pub fn new(base: R) -> Self {
        Self { base, accounts: HashMap::default(), codes: HashMap::default() }
    }

    /// The base state.
    pub fn base(&self) -> &R {
        &self.base
    }

    fn load(&mut self, address: Address) -> Result<&mut CachedAccount, EvmError> {
        if !self.accounts.contains_key(&address) {
            let original = self.base.account(address)?;
            let current = original.as_ref().map(info_of);
            self.accounts.insert(
                address,
                CachedAccount {
                    original,
                    current,
                    storage: HashMap::default(),
                    wiped: false,
                    dirty: false,
                },
            );
        }
        Ok(self.accounts.get_mut(&address).expect("inserted above"))
    }

    /// Current nonce and balance of `address` (zero for an absent account).
    pub fn nonce_and_balance(&mut self, address: Address) -> Result<(u64, U256), EvmError> {
        let acc = self.load(address)?;
        Ok(acc.current.as_ref().map(|i| (i.nonce, i.balance)).unwrap_or_default())
    }

    /// Adds `amount` to the balance of `address`, creating the account if needed.
    pub fn add_balance(&mut self, address: Address, amount: U256) -> Result<(), EvmError> {
        if amount.is_zero() {
            return Ok(());
        }
        let acc = self.load(address)?;
        let info = acc.current.get_or_insert_with(AccountInfo::default);
        info.balance = info.balance.saturating_add(amount);
        acc.dirty = true;
        Ok(())
    }

    /// Sets an account outright (genesis allocation).
    pub fn set_account(
        &mut self,
        address: Address,
        balance: U256,
        nonce: u64,
        code: Bytes,
        storage: impl IntoIterator<Item = (U256, U256)>,
    ) -> Result<(), EvmError> {
        let code_hash = if code.is_empty() { KECCAK256_EMPTY } else { keccak256(&code) };
        if !code.is_empty() {
            self.codes.insert(code_hash, code);
        }
        let acc = self.load(address)?;
        acc.current =
            Some(AccountInfo { balance, nonce, code_hash, code: None, ..Default::default() });
        for (slot, value) in storage {
            let entry = acc.storage.entry(slot).or_insert((U256::ZERO, U256::ZERO));
            entry.1 = value;
        }
        acc.dirty = true;
        Ok(())
    }

    /// Everything committed so far, ready to be turned into a state root and written.
    pub fn into_changes(self) -> StateChanges {
        let mut accounts = BTreeMap::new();
        for (address, acc) in self.accounts {
            if !acc.dirty {
                continue;
            }
            let storage = acc
                .storage
                .into_iter()
                .filter(|(_, (orig, cur))| acc.wiped || orig != cur)
                .map(|(slot, (orig, cur))| (keccak256(B256::from(slot)), (slot, orig, cur)))
                .collect();
            // EIP-161: an account left empty is deleted.
            let current = acc.current.filter(|i| !i.is_empty());
            accounts.insert(
                keccak256(address),
                AccountChange {
                    address,
                    original: acc.original,
                    current,
                    wiped: acc.wiped,
                    storage,
                },
            );
        }
        StateChanges { accounts, codes: self.codes.into_iter().collect() }
    }
}

impl<R: StateReader> Database for Overlay<R> {
    type Error = EvmError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.load(address)?.current.clone())
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        self.code_by_hash_ref(code_hash)
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Self::Error> {
        let acc = self.load(address)?;
        if let Some((_, cur)) = acc.storage.get(&index) {
            return Ok(*cur);
        }
        let wiped = acc.wiped || acc.current.is_none();
        let value =
            if wiped { U256::ZERO } else { self.base.storage(address, B256::from(index))? };
        self.accounts.get_mut(&address).expect("loaded").storage.insert(index, (value, value));
        Ok(value)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        Ok(self.base.block_hash(number)?.unwrap_or_default())
    }
}

/// Reads without caching (what tracers use to look at the state before a transaction).
impl<R: StateReader> DatabaseRef for Overlay<R> {
    type Error = EvmError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        match self.accounts.get(&address) {
            Some(acc) => Ok(acc.current.clone()),
            None => Ok(self.base.account(address)?.as_ref().map(info_of)),
        }
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == KECCAK256_EMPTY || code_hash == B256::ZERO {
            return Ok(Bytecode::default());
        }
        if let Some(code) = self.codes.get(&code_hash) {
            return Ok(Bytecode::new_raw(code.clone()));
        }
        let code = self
            .base
            .code(code_hash)?
            .ok_or_else(|| EvmError::Inconsistent(format!("no code for hash {code_hash}")))?;
        Ok(Bytecode::new_raw(code))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        if let Some(acc) = self.accounts.get(&address) {
            if let Some((_, cur)) = acc.storage.get(&index) {
                return Ok(*cur);
            }
            if acc.wiped || acc.current.is_none() {
                return Ok(U256::ZERO);
            }
        }
        self.base.storage(address, B256::from(index))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        Ok(self.base.block_hash(number)?.unwrap_or_default())
    }
}

impl<R: StateReader> DatabaseCommit for Overlay<R> {
    fn commit(&mut self, changes: EvmState) {
        for (address, account) in changes {
            if !account.is_touched() {
                continue;
            }
            // The account was loaded by revm through `basic`, so it is cached; load defensively.
            let mut info = account.info.clone();
            if let Some(code) = info.code.take() {
                if !code.is_empty() {
                    self.codes.insert(info.code_hash, code.original_bytes());
                }
            }
            let Ok(cached) = self.load(address) else { continue };
            cached.dirty = true;
            if account.is_selfdestructed() {
                cached.current = None;
                cached.storage.clear();
                cached.wiped = true;
                continue;
            }
            if account.is_created() {
                cached.storage.clear();
                cached.wiped = cached.original.is_some();
            }
            for (slot, value) in account.storage.iter() {
                let entry = cached
                    .storage
                    .entry(*slot)
                    .or_insert((value.original_value, value.original_value));
                entry.1 = value.present_value;
            }
            cached.current = Some(info);
        }
    }
}

/// The change of one account.
#[derive(Clone, Debug)]
pub struct AccountChange {
    /// The account's address.
    pub address: Address,
    /// As it was in the base state.
    pub original: Option<TrieAccount>,
    /// As it is now; `None` deletes it.
    pub current: Option<AccountInfo>,
    /// Its base storage was cleared before `storage` applied.
    pub wiped: bool,
    /// keccak(slot) → (slot, original value, new value).
    pub storage: BTreeMap<B256, (U256, U256, U256)>,
}

impl AccountChange {
    /// Storage root to keep when the storage did not change.
    pub fn original_storage_root(&self) -> B256 {
        self.original.as_ref().map(|a| a.storage_root).unwrap_or(EMPTY_ROOT_HASH)
    }
}

/// Every change a sequence of transactions made, keyed by hashed address (trie order).
#[derive(Clone, Debug, Default)]
pub struct StateChanges {
    /// keccak(address) → change.
    pub accounts: BTreeMap<B256, AccountChange>,
    /// New bytecode by hash.
    pub codes: BTreeMap<B256, Bytes>,
}

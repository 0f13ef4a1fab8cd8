//! Read access to state: the current (sink) state and any historical chain block's state.

use crate::error::EvmError;
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::TrieAccount;
use lattice_storage::{tables, Codec, Db};
use std::sync::atomic::{AtomicU64, Ordering};

/// Reads accounts, storage, code and chain block hashes of one state.
pub trait StateReader {
    /// The account at `address`, `None` if it does not exist.
    fn account(&self, address: Address) -> Result<Option<TrieAccount>, EvmError>;
    /// The value of `slot` (as a 32-byte key) in the storage of `address`.
    fn storage(&self, address: Address, slot: B256) -> Result<U256, EvmError>;
    /// Bytecode by its hash.
    fn code(&self, code_hash: B256) -> Result<Option<Bytes>, EvmError>;
    /// Hash of the chain block at `number`, if any.
    fn block_hash(&self, number: u64) -> Result<Option<B256>, EvmError>;
}

/// The state the node currently holds: that of the sink.
#[derive(Clone, Copy, Debug)]
pub struct LatestState<'a> {
    db: &'a Db,
}

impl<'a> LatestState<'a> {
    /// Reads the current state of `db`.
    pub fn new(db: &'a Db) -> Self {
        Self { db }
    }
}

impl StateReader for LatestState<'_> {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>, EvmError> {
        Ok(self.db.get::<tables::Accounts>(&keccak256(address))?)
    }

    fn storage(&self, address: Address, slot: B256) -> Result<U256, EvmError> {
        let key = (keccak256(address), keccak256(slot));
        Ok(self.db.get::<tables::Storages>(&key)?.unwrap_or_default())
    }

    fn code(&self, code_hash: B256) -> Result<Option<Bytes>, EvmError> {
        Ok(self.db.get::<tables::Bytecodes>(&code_hash)?)
    }

    fn block_hash(&self, number: u64) -> Result<Option<B256>, EvmError> {
        Ok(self.db.get::<tables::ChainByNumber>(&number)?)
    }
}

/// The state after chain block `number` applied, reconstructed from change sets: the value of an
/// entry is the prior value recorded by the first chain block above `number` that changed it, or
/// the current value when none did. Each read is one index seek, independent of depth.
///
/// With a history floor ([`HistoricalState::with_floor`]: the oldest chain block whose state the
/// node keeps, raised by pruning *before* it deletes anything), a read of a state below the
/// floor, or one that pruning overtook while it ran, is [`EvmError::HistoryPruned`], never a
/// value read from a half-deleted history.
#[derive(Clone, Copy, Debug)]
pub struct HistoricalState<'a> {
    db: &'a Db,
    number: u64,
    floor: Option<&'a AtomicU64>,
}

impl<'a> HistoricalState<'a> {
    /// The state of `db` as it was right after chain block `number`, all history kept.
    pub fn new(db: &'a Db, number: u64) -> Self {
        Self { db, number, floor: None }
    }

    /// The state of `db` right after chain block `number`, where history below `floor` may
    /// have been pruned.
    pub fn with_floor(db: &'a Db, number: u64, floor: &'a AtomicU64) -> Self {
        Self { db, number, floor: Some(floor) }
    }

    /// Fails if the state is below the floor now.
    fn available(&self) -> Result<(), EvmError> {
        match self.floor.map(|f| f.load(Ordering::SeqCst)) {
            Some(floor) if floor > self.number => {
                Err(EvmError::HistoryPruned { number: self.number, floor })
            }
            _ => Ok(()),
        }
    }

    /// Runs `read` between two checks of the floor: pruning raises the floor before deleting,
    /// so a read that ends with the floor still at or below its state saw no deletion.
    fn guarded<T>(&self, read: impl FnOnce() -> Result<T, EvmError>) -> Result<T, EvmError> {
        self.available()?;
        let value = read();
        self.available()?;
        value
    }

    fn account_unguarded(&self, address: Address) -> Result<Option<TrieAccount>, EvmError> {
        let hashed = keccak256(address);
        let start = (hashed, self.number + 1).encode();
        match self.db.seek::<tables::AccountHistory>(&start, hashed.as_slice())? {
            Some(((_, changed_at), ())) => Ok(self
                .db
                .get::<tables::AccountChangeSets>(&(changed_at, hashed))?
                .ok_or_else(|| {
                    EvmError::Inconsistent(format!("missing account change set at {changed_at}"))
                })?),
            None => LatestState::new(self.db).account(address),
        }
    }

    fn storage_unguarded(&self, address: Address, slot: B256) -> Result<U256, EvmError> {
        let (ha, hs) = (keccak256(address), keccak256(slot));
        let mut prefix = ha.to_vec();
        prefix.extend_from_slice(hs.as_slice());
        let start = (ha, hs, self.number + 1).encode();
        match self.db.seek::<tables::StorageHistory>(&start, &prefix)? {
            Some(((_, _, changed_at), ())) => Ok(self
                .db
                .get::<tables::StorageChangeSets>(&(changed_at, ha, hs))?
                .ok_or_else(|| {
                    EvmError::Inconsistent(format!("missing storage change set at {changed_at}"))
                })?),
            None => LatestState::new(self.db).storage(address, slot),
        }
    }
}

impl StateReader for HistoricalState<'_> {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>, EvmError> {
        self.guarded(|| self.account_unguarded(address))
    }

    fn storage(&self, address: Address, slot: B256) -> Result<U256, EvmError> {
        self.guarded(|| self.storage_unguarded(address, slot))
    }

    fn code(&self, code_hash: B256) -> Result<Option<Bytes>, EvmError> {
        LatestState::new(self.db).code(code_hash)
    }

    fn block_hash(&self, number: u64) -> Result<Option<B256>, EvmError> {
        if number > self.number {
            return Ok(None);
        }
        LatestState::new(self.db).block_hash(number)
    }
}

impl<T: StateReader + ?Sized> StateReader for &T {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>, EvmError> {
        (**self).account(address)
    }
    fn storage(&self, address: Address, slot: B256) -> Result<U256, EvmError> {
        (**self).storage(address, slot)
    }
    fn code(&self, code_hash: B256) -> Result<Option<Bytes>, EvmError> {
        (**self).code(code_hash)
    }
    fn block_hash(&self, number: u64) -> Result<Option<B256>, EvmError> {
        (**self).block_hash(number)
    }
}

impl<T: StateReader + ?Sized> StateReader for Box<T> {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>, EvmError> {
        (**self).account(address)
    }
    fn storage(&self, address: Address, slot: B256) -> Result<U256, EvmError> {
        (**self).storage(address, slot)
    }
    fn code(&self, code_hash: B256) -> Result<Option<Bytes>, EvmError> {
        (**self).code(code_hash)
    }
    fn block_hash(&self, number: u64) -> Result<Option<B256>, EvmError> {
        (**self).block_hash(number)
    }
}

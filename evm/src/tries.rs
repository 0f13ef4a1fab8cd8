//! The committed state's tries, kept between blocks: the whole account trie, and the storage
//! tries of recently touched contracts in a cache bounded by a number of slots.
//!
//! A block's state root then costs O(changes · depth) for accounts and, for each contract
//! whose storage changed, O(changed slots · depth) when its storage trie is cached. A contract
//! whose trie is not cached (first touch since start-up, or evicted) has its trie built once
//! from its stored slots, O(its storage), and checked against the storage root its account
//! commits to; from then on it stays cached while it is among the most recently used.
//!
//! The tries here always describe the *committed* state (what RocksDB holds). A block's new
//! tries live in its [`PreparedState`] until [`StateTries::commit`] adopts them, so a
//! speculative block that is thrown away leaves nothing behind; a rollback applies the prior
//! values with [`StateTries::revert`].

use crate::commit::PreparedState;
use crate::error::EvmError;
use crate::trie::MerkleTrie;
use alloy_primitives::{B256, U256};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH};
use lattice_storage::{tables, Codec, Db};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Storage slots the cache holds by default: about 0.7 GB of trie nodes at ~183 bytes of heap
/// per slot (`benches/storage_root.rs`).
pub const DEFAULT_STORAGE_CACHE_SLOTS: usize = 4_000_000;

/// The account trie and the storage-trie cache of the committed state. See the
/// [module docs](self).
#[derive(Debug)]
pub struct StateTries {
    accounts: MerkleTrie,
    storage: HashMap<B256, Cached>,
    /// The cached tries by (last use, account), oldest first: the eviction order.
    by_age: BTreeSet<(u64, B256)>,
    /// Sum of the cached tries' slot counts.
    cached_slots: usize,
    /// Most slots the cache keeps (the tries a block just committed are always kept).
    budget: usize,
    /// Commit counter: the recency of cached tries.
    tick: u64,
    /// What the cache holds, readable without locking the tries.
    counters: Arc<StorageCacheCounters>,
}

#[derive(Debug)]
struct Cached {
    trie: MerkleTrie,
    used: u64,
}

/// Live counters of a storage-trie cache, shared so metrics can read them while the tries are
/// locked for a block.
#[derive(Debug, Default)]
pub struct StorageCacheCounters {
    tries: AtomicUsize,
    slots: AtomicUsize,
    loads: AtomicU64,
}

impl StorageCacheCounters {
    /// The current values.
    pub fn get(&self) -> StorageCacheStats {
        StorageCacheStats {
            tries: self.tries.load(Ordering::Relaxed),
            slots: self.slots.load(Ordering::Relaxed),
            loads: self.loads.load(Ordering::Relaxed),
        }
    }
}

/// What the storage-trie cache holds, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageCacheStats {
    /// Contracts whose storage trie is cached.
    pub tries: usize,
    /// Slots in those tries.
    pub slots: usize,
    /// Storage tries built from the database since start-up.
    pub loads: u64,
}

impl StateTries {
    /// The tries of the state stored in `db`: the account trie is built from every stored
    /// account (O(state), once at start-up); storage tries are built on first use. The cache
    /// keeps at most `storage_budget` slots beyond the tries the latest block touched.
    pub fn load(db: &Db, storage_budget: usize) -> Result<Self, EvmError> {
        Self::load_with_counters(db, storage_budget, Arc::default())
    }

    /// [`StateTries::load`] publishing the cache's figures to `counters` (made before the
    /// tries, for readers that start first).
    pub fn load_with_counters(
        db: &Db,
        storage_budget: usize,
        counters: Arc<StorageCacheCounters>,
    ) -> Result<Self, EvmError> {
        let accounts = db.scan_from::<tables::Accounts>(&[], |_| true)?;
        let accounts =
            MerkleTrie::from_sorted(accounts.into_iter().map(|(k, v)| (k, alloy_rlp::encode(v))));
        Ok(Self {
            accounts,
            storage: HashMap::new(),
            by_age: BTreeSet::new(),
            cached_slots: 0,
            budget: storage_budget,
            tick: 0,
            counters,
        })
    }

    /// The state root.
    pub fn root(&self) -> B256 {
        self.accounts.root()
    }

    /// The account trie.
    pub const fn accounts(&self) -> &MerkleTrie {
        &self.accounts
    }

    /// The committed storage trie of the account at `hashed` (keccak of its address), whose
    /// committed storage root is `storage_root`: the cached one, or one built from the stored
    /// slots (then checked against `storage_root`). O(1) when cached; the result is a
    /// copy-on-write handle, so changing it leaves the cache alone.
    pub fn storage_trie(
        &self,
        db: &Db,
        hashed: B256,
        storage_root: B256,
    ) -> Result<MerkleTrie, EvmError> {
        if storage_root == EMPTY_ROOT_HASH {
            return Ok(MerkleTrie::new());
        }
        if let Some(cached) = self.storage.get(&hashed) {
            // O(1): the root is cached in the trie. A mismatch would be a bug in keeping the
            // cache; the database decides.
            if cached.trie.root() == storage_root {
                return Ok(cached.trie.clone());
            }
            tracing::error!(target: "lattice::evm", account = %hashed, cached = %cached.trie.root(),
                %storage_root, "cached storage trie disagrees with its account; rebuilding it");
        }
        let trie = Self::build_storage_trie(db, hashed, storage_root)?;
        self.counters.loads.fetch_add(1, Ordering::Relaxed);
        Ok(trie)
    }

    /// The cached storage trie of `hashed` if it has root `storage_root` (an empty trie for
    /// the empty root), without touching the database.
    pub fn cached_storage_trie(&self, hashed: B256, storage_root: B256) -> Option<MerkleTrie> {
        if storage_root == EMPTY_ROOT_HASH {
            return Some(MerkleTrie::new());
        }
        self.storage.get(&hashed).filter(|c| c.trie.root() == storage_root).map(|c| c.trie.clone())
    }

    /// Builds the storage trie of `hashed` from its stored slots and checks it against
    /// `storage_root` (an error if they disagree, e.g. because a block wrote meanwhile). Needs
    /// no lock: readers such as `eth_getProof` build it apart from the chain's writer.
    pub fn build_storage_trie(
        db: &Db,
        hashed: B256,
        storage_root: B256,
    ) -> Result<MerkleTrie, EvmError> {
        if storage_root == EMPTY_ROOT_HASH {
            return Ok(MerkleTrie::new());
        }
        let slots = db.scan_prefix::<tables::Storages>(&hashed.encode())?;
        let trie = MerkleTrie::from_sorted(
            slots.into_iter().map(|((_, slot), value)| (slot, alloy_rlp::encode(value))),
        );
        let root = trie.root();
        if root != storage_root {
            return Err(EvmError::Inconsistent(format!(
                "stored storage of account {hashed} gives root {root} but the account commits to \
                 {storage_root}"
            )));
        }
        Ok(trie)
    }

    /// Like [`storage_trie`](Self::storage_trie), and caches a trie it had to build (for
    /// reads such as `eth_getProof` that should warm the cache). Such a trie counts as used
    /// before the latest block, so the budget can evict it at once.
    pub fn storage_trie_cached(
        &mut self,
        db: &Db,
        hashed: B256,
        storage_root: B256,
    ) -> Result<MerkleTrie, EvmError> {
        let trie = self.storage_trie(db, hashed, storage_root)?;
        if !trie.is_empty()
            && self.storage.get(&hashed).is_none_or(|c| c.trie.root() != storage_root)
        {
            self.put_used(hashed, trie.clone(), self.tick.saturating_sub(1));
            self.evict();
        }
        Ok(trie)
    }

    /// Live counters of the cache, readable without this structure's lock.
    pub fn counters(&self) -> Arc<StorageCacheCounters> {
        self.counters.clone()
    }

    /// Adopts the tries of a block whose changes were just written: `prepared` becomes the
    /// committed state.
    pub fn commit(&mut self, prepared: PreparedState) {
        self.tick += 1;
        let (accounts, storage) = prepared.into_tries();
        self.accounts = accounts;
        for (hashed, trie) in storage {
            self.put(hashed, trie);
        }
        self.evict();
    }

    /// Applies a rollback that was just written: each account in `accounts` is back to its
    /// prior value (`None`: absent), each `(account, slot, value)` in `slots` (hashed keys) back
    /// to its prior value (zero: absent). Storage tries that are not cached are left to be built
    /// from the reverted database when next used.
    pub fn revert(
        &mut self,
        accounts: &[(B256, Option<TrieAccount>)],
        slots: &[(B256, B256, U256)],
    ) {
        self.tick += 1;
        for (hashed, prior) in accounts {
            set_account(&mut self.accounts, *hashed, prior.as_ref());
        }
        let mut touched: HashMap<B256, MerkleTrie> = HashMap::new();
        for (account, slot, prior) in slots {
            let Some(cached) = self.storage.get(account) else { continue };
            touched
                .entry(*account)
                .or_insert_with(|| cached.trie.clone())
                .insert(*slot, storage_value(*prior));
        }
        for (account, trie) in touched {
            self.put(account, trie);
        }
        // If the change sets were ever incomplete, a cached trie would disagree with its
        // account: `storage_trie` checks that on every use and rebuilds it from the database.
    }

    /// What the storage-trie cache holds.
    pub fn storage_stats(&self) -> StorageCacheStats {
        self.counters.get()
    }

    fn put(&mut self, hashed: B256, trie: MerkleTrie) {
        self.put_used(hashed, trie, self.tick);
    }

    fn put_used(&mut self, hashed: B256, trie: MerkleTrie, used: u64) {
        self.drop_trie(hashed);
        if trie.is_empty() {
            return;
        }
        self.cached_slots += trie.len();
        self.by_age.insert((used, hashed));
        self.storage.insert(hashed, Cached { trie, used });
        self.publish();
    }

    fn drop_trie(&mut self, hashed: B256) {
        if let Some(old) = self.storage.remove(&hashed) {
            self.cached_slots -= old.trie.len();
            self.by_age.remove(&(old.used, hashed));
            self.publish();
        }
    }

    fn publish(&self) {
        self.counters.tries.store(self.storage.len(), Ordering::Relaxed);
        self.counters.slots.store(self.cached_slots, Ordering::Relaxed);
    }

    /// Drops least recently used tries until the cache is within its budget, keeping those of
    /// the current tick.
    fn evict(&mut self) {
        while self.cached_slots > self.budget {
            match self.by_age.first() {
                Some(&(used, hashed)) if used < self.tick => self.drop_trie(hashed),
                _ => break,
            }
        }
    }
}

/// Sets `hashed`'s entry in an account trie to `account`, or removes it (`None`: absent).
pub fn set_account(trie: &mut MerkleTrie, hashed: B256, account: Option<&TrieAccount>) {
    match account {
        Some(account) => trie.insert(hashed, alloy_rlp::encode(account)),
        None => {
            trie.remove(hashed);
        }
    }
}

/// A storage slot's value as the trie holds it: the RLP of the value, or empty (absent) for zero.
pub fn storage_value(value: U256) -> Vec<u8> {
    if value.is_zero() {
        Vec::new()
    } else {
        alloy_rlp::encode(value)
    }
}

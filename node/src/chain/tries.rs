//! The committed state's tries, built on a thread of their own at start-up.
//!
//! Building the account trie reads every account (O(accounts): ~5 s at a million in a dev
//! build), and nothing but writing a block needs it: RPC reads the flat state. So the node
//! serves RPC while the trie is built, and whatever needs the tries (building, importing or
//! rolling back a block, `eth_getProof`) waits until it is there.

use eyre::{eyre, Result};
use lattice_evm::tries::StorageCacheCounters;
use lattice_evm::StateTries;
use lattice_storage::Db;
use parking_lot::Mutex;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

/// The state tries, once built. See the [module docs](self).
pub(crate) struct TrieCell {
    cell: Arc<OnceLock<Result<Mutex<StateTries>, String>>>,
    /// The building thread, joined when the chain is dropped so that it never outlives the
    /// database's last user (a reopen would find RocksDB's lock held).
    builder: Mutex<Option<JoinHandle<()>>>,
    /// The storage-trie cache's figures, readable before and while the tries are built.
    pub(crate) counters: Arc<StorageCacheCounters>,
}

impl TrieCell {
    /// Starts building the tries of the state stored in `db`, keeping at most
    /// `storage_budget` slots of storage tries in the cache.
    pub(crate) fn build(db: Arc<Db>, storage_budget: usize) -> Result<Self> {
        let cell: Arc<OnceLock<Result<Mutex<StateTries>, String>>> = Arc::default();
        let counters = Arc::<StorageCacheCounters>::default();
        let builder = {
            let (cell, counters) = (cell.clone(), counters.clone());
            std::thread::Builder::new().name("state-tries".into()).spawn(move || {
                let started = Instant::now();
                // A panic still fills the cell (with an error), or every writer would wait
                // for ever.
                let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    StateTries::load_with_counters(&db, storage_budget, counters)
                }))
                .map_err(|_| "the build panicked".to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
                .map(Mutex::new);
                match &built {
                    Ok(tries) => tracing::info!(target: "lattice::chain",
                        accounts = tries.lock().accounts().len(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "state tries built"),
                    Err(e) => tracing::error!(target: "lattice::chain", error = %e,
                        "cannot build the state tries; blocks cannot be written"),
                }
                let _ = cell.set(built);
            })?
        };
        Ok(Self { cell, builder: Mutex::new(Some(builder)), counters })
    }

    /// The tries, waiting for them if they are still being built.
    pub(crate) fn get(&self) -> Result<&Mutex<StateTries>> {
        self.cell.wait().as_ref().map_err(|e| eyre!("the state tries could not be built: {e}"))
    }
}

impl Drop for TrieCell {
    fn drop(&mut self) {
        if let Some(builder) = self.builder.lock().take() {
            let _ = builder.join();
        }
    }
}

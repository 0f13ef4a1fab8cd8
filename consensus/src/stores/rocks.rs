//! The consensus store on RocksDB: every block's diff is one atomic write batch, and bounded
//! LRU caches serve the reads (GHOSTDAG and reachability read a lot, mostly about recent
//! blocks). Memory is bounded by the caches, not by the length of the chain: opening reads
//! only the DAG-wide state, and a block that fell out of the caches is read from disk again.

use super::codec::{StoredGhostdag, StoredHashes, StoredReachability};
use super::{
    ConsensusStore, DagState, DagStateStoreReader, DagStateStoreWriter, GhostdagStoreReader,
    GhostdagStoreWriter, ReachabilityStoreReader, ReachabilityStoreWriter, RelationsStoreReader,
    RelationsStoreWriter, WorkStoreReader, WorkStoreWriter,
};
use crate::errors::StoreError;
use crate::ghostdag::GhostdagData;
use crate::reachability::{Interval, ReachabilityData};
use crate::types::{BlockHash, BlockHashMap, BlockHashes, BlueWork, ZERO_HASH};
use crate::BlockConsensusDiff;
use alloy_primitives::map::FbBuildHasher;
use hashlink::LruCache;
use lattice_storage::{Batch, Db, Json};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

lattice_storage::tables! {
    /// Names of the consensus tables, for [`Db::open`].
    const TABLES;
    /// Block → GHOSTDAG data.
    ConsensusGhostdag: BlockHash => StoredGhostdag,
    /// Block → parents.
    ConsensusParents: BlockHash => Json<Vec<BlockHash>>,
    /// Block → known children (appended to as children arrive).
    ConsensusChildren: BlockHash => StoredHashes,
    /// Block → its own work.
    ConsensusWork: BlockHash => BlueWork,
    /// Block → reachability record.
    ConsensusReachability: BlockHash => StoredReachability,
    /// `reindex_root` / `dag_state` → value.
    ConsensusMeta: Vec<u8> => Vec<u8>,
}

const REINDEX_ROOT: &[u8] = b"reindex_root";
const DAG_STATE: &[u8] = b"dag_state";
/// Present once every block's children list is stored (written with the first block of a new
/// store, or last by the rebuild of an older one).
const CHILDREN_STORED: &[u8] = b"children_stored";

/// Blocks whose consensus records each cache keeps by default: about 1 KiB of memory per
/// block over the five caches, ~50 MiB in all; at 10 blocks/s, the last 80 minutes, far more
/// than GHOSTDAG, reachability and the merge-depth rule read (they touch the last
/// `finality_depth` chain blocks and their mergesets).
pub const DEFAULT_CACHE_BLOCKS: usize = 50_000;

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn not_found(store: &'static str, hash: BlockHash) -> StoreError {
    StoreError::NotFound { store, hash }
}

/// One bounded cache over one table, with hit and miss counts.
struct Cache<V> {
    entries: Mutex<LruCache<BlockHash, V, FbBuildHasher<32>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<V: Clone> Cache<V> {
    fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(LruCache::with_hasher(capacity.max(1), Default::default())),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// `pick` of the cached value, or of the value `load` reads (then cached).
    fn read<R>(
        &self,
        hash: BlockHash,
        pick: impl Fn(&V) -> R,
        load: impl FnOnce() -> Result<Option<V>, StoreError>,
    ) -> Result<Option<R>, StoreError> {
        if let Some(v) = self.entries.lock().get(&hash) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(pick(v)));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let Some(v) = load()? else { return Ok(None) };
        let out = pick(&v);
        self.entries.lock().insert(hash, v);
        Ok(Some(out))
    }

    fn insert(&self, hash: BlockHash, value: V) {
        self.entries.lock().insert(hash, value);
    }

    fn contains(&self, hash: BlockHash) -> bool {
        self.entries.lock().contains_key(&hash)
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            entries: self.entries.lock().len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// What one of the store's caches holds and how well it serves, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Blocks cached.
    pub entries: usize,
    /// Reads the cache answered.
    pub hits: u64,
    /// Reads that went to RocksDB.
    pub misses: u64,
}

impl std::ops::Add for CacheStats {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            entries: self.entries + o.entries,
            hits: self.hits + o.hits,
            misses: self.misses + o.misses,
        }
    }
}

/// Consensus data in RocksDB, read through bounded caches.
pub struct RocksConsensusStore {
    db: Arc<Db>,
    ghostdag: Cache<Arc<GhostdagData>>,
    parents: Cache<BlockHashes>,
    children: Cache<BlockHashes>,
    work: Cache<BlueWork>,
    reachability: Cache<ReachabilityData>,
    reindex_root: Option<BlockHash>,
    dag_state: Option<DagState>,
}

impl std::fmt::Debug for RocksConsensusStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksConsensusStore").finish_non_exhaustive()
    }
}

impl RocksConsensusStore {
    /// Opens what `db` holds (nothing, on first use), keeping at most `cache_blocks` blocks'
    /// records in each cache. `db` must have been opened with [`TABLES`]. Only the DAG-wide
    /// state is read now, except once for a store written before children were stored, whose
    /// children lists are rebuilt from the parents.
    pub fn load(db: Arc<Db>, cache_blocks: usize) -> Result<Self, StoreError> {
        let reindex_root = match db.get::<ConsensusMeta>(&REINDEX_ROOT.to_vec()).map_err(backend)? {
            Some(root) => Some(BlockHash::try_from(root.as_slice()).map_err(backend)?),
            None => None,
        };
        let dag_state = match db.get::<ConsensusMeta>(&DAG_STATE.to_vec()).map_err(backend)? {
            Some(state) => Some(serde_json::from_slice::<DagState>(&state).map_err(backend)?),
            None => None,
        };
        let store = Self {
            db,
            ghostdag: Cache::<Arc<GhostdagData>>::new(cache_blocks),
            parents: Cache::<BlockHashes>::new(cache_blocks),
            children: Cache::<BlockHashes>::new(cache_blocks),
            work: Cache::<BlueWork>::new(cache_blocks),
            reachability: Cache::<ReachabilityData>::new(cache_blocks),
            reindex_root,
            dag_state,
        };
        let children_stored =
            store.db.contains::<ConsensusMeta>(&CHILDREN_STORED.to_vec()).map_err(backend)?;
        if store.dag_state.is_some() && !children_stored {
            store.rebuild_children()?;
        }
        Ok(store)
    }

    /// Writes every block's children list from the stored parents (a store from before the
    /// lists were stored), then marks them stored. Runs once (again from the start if it was
    /// interrupted); holds the lists of the whole DAG while it runs.
    fn rebuild_children(&self) -> Result<(), StoreError> {
        let parents = self.db.scan_from::<ConsensusParents>(&[], |_| true).map_err(backend)?;
        tracing::info!(target: "lattice::consensus", blocks = parents.len(),
            "storing the DAG's children lists (once, for a store from an earlier version)");
        // Children in the order they were added (ascending blue work, then hash), as a live
        // store appends them.
        let mut order: Vec<(BlueWork, BlockHash)> = Vec::with_capacity(parents.len());
        for (hash, _) in &parents {
            order.push((self.get_blue_work(*hash)?, *hash));
        }
        order.sort_unstable();
        let parents: BlockHashMap<Vec<BlockHash>> =
            parents.into_iter().map(|(h, Json(list))| (h, list)).collect();
        let mut children: BlockHashMap<Vec<BlockHash>> = BlockHashMap::default();
        for (_, hash) in &order {
            let list = &parents[hash];
            children.entry(*hash).or_default();
            for parent in list {
                children.entry(*parent).or_default().push(*hash);
            }
        }
        drop(parents);
        let mut batch = self.db.batch();
        for (hash, list) in children {
            batch
                .put::<ConsensusChildren>(&hash, &StoredHashes(Arc::new(list)))
                .map_err(backend)?;
            if batch.len() >= 10_000 {
                std::mem::replace(&mut batch, self.db.batch()).commit().map_err(backend)?;
            }
        }
        batch.put::<ConsensusMeta>(&CHILDREN_STORED.to_vec(), &Vec::new()).map_err(backend)?;
        batch.commit().map_err(backend)
    }

    /// The caches' contents and hit rates, summed over the five caches.
    pub fn cache_stats(&self) -> CacheStats {
        self.ghostdag.stats()
            + self.parents.stats()
            + self.children.stats()
            + self.work.stats()
            + self.reachability.stats()
    }

    fn reach<R>(
        &self,
        hash: BlockHash,
        pick: impl Fn(&ReachabilityData) -> R,
    ) -> Result<R, StoreError> {
        self.reachability
            .read(hash, pick, || {
                Ok(self.db.get::<ConsensusReachability>(&hash).map_err(backend)?.map(|r| r.0))
            })?
            .ok_or_else(|| not_found("reachability", hash))
    }

    fn ghostdag_field<R>(
        &self,
        hash: BlockHash,
        pick: impl Fn(&Arc<GhostdagData>) -> R,
    ) -> Result<R, StoreError> {
        self.ghostdag
            .read(hash, pick, || {
                Ok(self.db.get::<ConsensusGhostdag>(&hash).map_err(backend)?.map(|g| g.0))
            })?
            .ok_or_else(|| not_found("ghostdag", hash))
    }
}

/// Stages a diff's writes into a RocksDB batch.
struct BatchWriter<'a, 'b> {
    batch: &'a mut Batch<'b>,
}

impl GhostdagStoreWriter for BatchWriter<'_, '_> {
    fn insert_ghostdag(
        &mut self,
        hash: BlockHash,
        data: Arc<GhostdagData>,
    ) -> Result<(), StoreError> {
        self.batch.put::<ConsensusGhostdag>(&hash, &StoredGhostdag(data)).map_err(backend)
    }
}

impl RelationsStoreWriter for BatchWriter<'_, '_> {
    /// Parents only: the children lists a block changes are staged by
    /// [`RocksConsensusStore::commit`], which can read the current ones.
    fn insert_relations(
        &mut self,
        hash: BlockHash,
        parents: BlockHashes,
    ) -> Result<(), StoreError> {
        self.batch.put::<ConsensusParents>(&hash, &Json(parents.to_vec())).map_err(backend)
    }
}

impl WorkStoreWriter for BatchWriter<'_, '_> {
    fn insert_work(&mut self, hash: BlockHash, work: BlueWork) -> Result<(), StoreError> {
        self.batch.put::<ConsensusWork>(&hash, &work).map_err(backend)
    }
}

impl ReachabilityStoreWriter for BatchWriter<'_, '_> {
    fn put_reachability(
        &mut self,
        hash: BlockHash,
        data: &ReachabilityData,
    ) -> Result<(), StoreError> {
        self.batch
            .put::<ConsensusReachability>(&hash, &StoredReachability(data.clone()))
            .map_err(backend)
    }
    fn set_reindex_root(&mut self, root: BlockHash) -> Result<(), StoreError> {
        self.batch.put::<ConsensusMeta>(&REINDEX_ROOT.to_vec(), &root.to_vec()).map_err(backend)
    }
}

impl DagStateStoreWriter for BatchWriter<'_, '_> {
    fn set_dag_state(&mut self, state: &DagState) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(state).map_err(backend)?;
        self.batch.put::<ConsensusMeta>(&DAG_STATE.to_vec(), &bytes).map_err(backend)
    }
}

impl ConsensusStore for RocksConsensusStore {
    fn commit(&mut self, diff: &BlockConsensusDiff) -> Result<(), StoreError> {
        // The children lists the block changes: each parent's gains it, and its own starts
        // empty.
        let mut children = Vec::with_capacity(diff.parents.len() + 1);
        for parent in diff.parents.iter() {
            let mut list = self.get_children(*parent)?.to_vec();
            list.push(diff.hash);
            children.push((*parent, BlockHashes::new(list)));
        }
        children.push((diff.hash, BlockHashes::default()));

        let mut batch = self.db.batch();
        if self.dag_state.is_none() {
            // The first block of a new store: every children list will be stored.
            batch.put::<ConsensusMeta>(&CHILDREN_STORED.to_vec(), &Vec::new()).map_err(backend)?;
        }
        for (hash, list) in &children {
            batch.put::<ConsensusChildren>(hash, &StoredHashes(list.clone())).map_err(backend)?;
        }
        diff.write_into(&mut BatchWriter { batch: &mut batch })?;
        batch.commit().map_err(backend)?;

        // On disk: now the caches (no reader runs meanwhile, the store is borrowed mutably).
        for (hash, list) in children {
            self.children.insert(hash, list);
        }
        self.parents.insert(diff.hash, diff.parents.clone());
        self.work.insert(diff.hash, diff.work);
        self.ghostdag.insert(diff.hash, diff.ghostdag.clone());
        for (hash, data) in &diff.reachability {
            self.reachability.insert(*hash, data.clone());
        }
        if let Some(root) = diff.reindex_root {
            self.reindex_root = Some(root);
        }
        self.dag_state = Some(diff.dag_state.clone());
        Ok(())
    }
}

impl GhostdagStoreReader for RocksConsensusStore {
    fn get_ghostdag(&self, hash: BlockHash) -> Result<Arc<GhostdagData>, StoreError> {
        self.ghostdag_field(hash, Arc::clone)
    }
    fn has_ghostdag(&self, hash: BlockHash) -> Result<bool, StoreError> {
        Ok(self.ghostdag.contains(hash)
            || self.db.contains::<ConsensusGhostdag>(&hash).map_err(backend)?)
    }
    fn get_blue_work(&self, hash: BlockHash) -> Result<BlueWork, StoreError> {
        self.ghostdag_field(hash, |d| d.blue_work)
    }
    fn get_blue_score(&self, hash: BlockHash) -> Result<u64, StoreError> {
        self.ghostdag_field(hash, |d| d.blue_score)
    }
    fn get_selected_parent(&self, hash: BlockHash) -> Result<BlockHash, StoreError> {
        self.ghostdag_field(hash, |d| d.selected_parent)
    }
}

impl RelationsStoreReader for RocksConsensusStore {
    fn get_parents(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        self.parents
            .read(hash, BlockHashes::clone, || {
                Ok(self
                    .db
                    .get::<ConsensusParents>(&hash)
                    .map_err(backend)?
                    .map(|p| BlockHashes::new(p.0)))
            })?
            .ok_or_else(|| not_found("relations", hash))
    }
    fn get_children(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        self.children
            .read(hash, BlockHashes::clone, || {
                Ok(self.db.get::<ConsensusChildren>(&hash).map_err(backend)?.map(|c| c.0))
            })?
            .ok_or_else(|| not_found("relations", hash))
    }
    fn has_block(&self, hash: BlockHash) -> Result<bool, StoreError> {
        Ok(self.parents.contains(hash)
            || self.db.contains::<ConsensusParents>(&hash).map_err(backend)?)
    }
}

impl WorkStoreReader for RocksConsensusStore {
    fn get_work(&self, hash: BlockHash) -> Result<BlueWork, StoreError> {
        self.work
            .read(hash, |w| *w, || self.db.get::<ConsensusWork>(&hash).map_err(backend))?
            .ok_or_else(|| not_found("work", hash))
    }
}

impl ReachabilityStoreReader for RocksConsensusStore {
    fn get_reachability(&self, hash: BlockHash) -> Result<ReachabilityData, StoreError> {
        self.reach(hash, ReachabilityData::clone)
    }
    fn has_reachability(&self, hash: BlockHash) -> Result<bool, StoreError> {
        Ok(self.reachability.contains(hash)
            || self.db.contains::<ConsensusReachability>(&hash).map_err(backend)?)
    }
    fn get_reindex_root(&self) -> Result<BlockHash, StoreError> {
        self.reindex_root.ok_or_else(|| not_found("reindex root", ZERO_HASH))
    }
    // Each reads one field of the cached record, without copying the rest (the trait's
    // defaults would clone children and covering sets for every interval read).
    fn get_interval(&self, hash: BlockHash) -> Result<Interval, StoreError> {
        self.reach(hash, |r| r.interval)
    }
    fn get_tree_parent(&self, hash: BlockHash) -> Result<BlockHash, StoreError> {
        self.reach(hash, |r| r.parent)
    }
    fn get_height(&self, hash: BlockHash) -> Result<u64, StoreError> {
        self.reach(hash, |r| r.height)
    }
    fn get_tree_children(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        self.reach(hash, |r| r.children.clone())
    }
    fn get_future_covering_set(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        self.reach(hash, |r| r.future_covering_set.clone())
    }
}

impl DagStateStoreReader for RocksConsensusStore {
    fn get_dag_state(&self) -> Result<Option<DagState>, StoreError> {
        Ok(self.dag_state.clone())
    }
}

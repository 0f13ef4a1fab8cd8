//! The consensus store on RocksDB: every block's diff is one atomic write batch, and a full
//! in-memory copy serves the reads (GHOSTDAG and reachability read a lot, and must not wait on
//! disk). Opening loads the stored data instead of recomputing GHOSTDAG for every block.

use super::codec::{StoredGhostdag, StoredReachability};
use super::{
    ConsensusStore, DagState, DagStateStoreReader, DagStateStoreWriter, GhostdagStoreReader,
    GhostdagStoreWriter, MemoryConsensusStore, ReachabilityStoreReader, ReachabilityStoreWriter,
    RelationsStoreReader, RelationsStoreWriter, WorkStoreReader, WorkStoreWriter,
};
use crate::errors::StoreError;
use crate::ghostdag::GhostdagData;
use crate::reachability::{Interval, ReachabilityData};
use crate::types::{BlockHash, BlockHashes, BlueWork};
use crate::BlockConsensusDiff;
use lattice_storage::{Batch, Db, Json};
use std::sync::Arc;

lattice_storage::tables! {
    /// Names of the consensus tables, for [`Db::open`].
    const TABLES;
    /// Block → GHOSTDAG data.
    ConsensusGhostdag: BlockHash => StoredGhostdag,
    /// Block → parents.
    ConsensusParents: BlockHash => Json<Vec<BlockHash>>,
    /// Block → its own work.
    ConsensusWork: BlockHash => BlueWork,
    /// Block → reachability record.
    ConsensusReachability: BlockHash => StoredReachability,
    /// `reindex_root` / `dag_state` → value.
    ConsensusMeta: Vec<u8> => Vec<u8>,
}

const REINDEX_ROOT: &[u8] = b"reindex_root";
const DAG_STATE: &[u8] = b"dag_state";

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Consensus data in RocksDB, read through a full in-memory copy.
pub struct RocksConsensusStore {
    db: Arc<Db>,
    cache: MemoryConsensusStore,
}

impl std::fmt::Debug for RocksConsensusStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksConsensusStore").finish_non_exhaustive()
    }
}

impl RocksConsensusStore {
    /// Loads whatever `db` holds (nothing, on first use). `db` must have been opened with
    /// [`TABLES`].
    pub fn load(db: Arc<Db>) -> Result<Self, StoreError> {
        let mut cache = MemoryConsensusStore::new();
        let mut blocks = db.scan_from::<ConsensusGhostdag>(&[], |_| true).map_err(backend)?;
        // Relations must be inserted parents first: ascending blue work is topological.
        blocks.sort_by_key(|(hash, data)| (data.0.blue_work, *hash));
        for (hash, StoredGhostdag(data)) in blocks {
            let parents = db
                .get::<ConsensusParents>(&hash)
                .map_err(backend)?
                .map(|p| p.0)
                .unwrap_or_default();
            let work = db.get::<ConsensusWork>(&hash).map_err(backend)?.unwrap_or_default();
            cache.insert_relations(hash, Arc::new(parents))?;
            cache.insert_work(hash, work)?;
            cache.insert_ghostdag(hash, data)?;
        }
        for (hash, StoredReachability(data)) in
            db.scan_from::<ConsensusReachability>(&[], |_| true).map_err(backend)?
        {
            cache.put_reachability(hash, &data)?;
        }
        if let Some(root) = db.get::<ConsensusMeta>(&REINDEX_ROOT.to_vec()).map_err(backend)? {
            cache.set_reindex_root(BlockHash::try_from(root.as_slice()).map_err(backend)?)?;
        }
        if let Some(state) = db.get::<ConsensusMeta>(&DAG_STATE.to_vec()).map_err(backend)? {
            let state: DagState = serde_json::from_slice(&state).map_err(backend)?;
            cache.set_dag_state(&state)?;
        }
        Ok(Self { db, cache })
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
        let mut batch = self.db.batch();
        diff.write_into(&mut BatchWriter { batch: &mut batch })?;
        batch.commit().map_err(backend)?;
        diff.write_into(&mut self.cache)
    }
}

impl GhostdagStoreReader for RocksConsensusStore {
    fn get_ghostdag(&self, hash: BlockHash) -> Result<Arc<GhostdagData>, StoreError> {
        self.cache.get_ghostdag(hash)
    }
    fn has_ghostdag(&self, hash: BlockHash) -> Result<bool, StoreError> {
        self.cache.has_ghostdag(hash)
    }
}

impl RelationsStoreReader for RocksConsensusStore {
    fn get_parents(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        self.cache.get_parents(hash)
    }
    fn get_children(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        self.cache.get_children(hash)
    }
    fn has_block(&self, hash: BlockHash) -> Result<bool, StoreError> {
        self.cache.has_block(hash)
    }
}

impl WorkStoreReader for RocksConsensusStore {
    fn get_work(&self, hash: BlockHash) -> Result<BlueWork, StoreError> {
        self.cache.get_work(hash)
    }
}

impl ReachabilityStoreReader for RocksConsensusStore {
    fn get_reachability(&self, hash: BlockHash) -> Result<ReachabilityData, StoreError> {
        self.cache.get_reachability(hash)
    }
    fn has_reachability(&self, hash: BlockHash) -> Result<bool, StoreError> {
        self.cache.has_reachability(hash)
    }
    fn get_reindex_root(&self) -> Result<BlockHash, StoreError> {
        self.cache.get_reindex_root()
    }
    // The cache answers these without copying the whole record (the trait's defaults would
    // clone children and covering sets for every interval read).
    fn get_interval(&self, hash: BlockHash) -> Result<Interval, StoreError> {
        self.cache.get_interval(hash)
    }
    fn get_tree_parent(&self, hash: BlockHash) -> Result<BlockHash, StoreError> {
        self.cache.get_tree_parent(hash)
    }
    fn get_height(&self, hash: BlockHash) -> Result<u64, StoreError> {
        self.cache.get_height(hash)
    }
    fn get_tree_children(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        self.cache.get_tree_children(hash)
    }
    fn get_future_covering_set(&self, hash: BlockHash) -> Result<BlockHashes, StoreError> {
        self.cache.get_future_covering_set(hash)
    }
}

impl DagStateStoreReader for RocksConsensusStore {
    fn get_dag_state(&self) -> Result<Option<DagState>, StoreError> {
        self.cache.get_dag_state()
    }
}

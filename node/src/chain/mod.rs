//! The chain: the DAG of stored blocks, the virtual's selected chain and the state of its sink.
//!
//! - [`validate`]: every rule a block must pass before it joins the DAG.
//! - [`build`]: a producer's new block on the current sink.
//! - [`virtual_chain`]: moving the selected chain to the best valid tip: rollback through
//!   change sets, acceptance of each new chain block with its commitments checked, and
//!   disqualification of a block whose commitments are wrong.
//! - this module: opening, genesis, importing and the reads the RPC serves.
//!
//! All writes go through one lock, so blocks are applied one at a time; reads run alongside.

mod build;
mod logs;
mod prune;
mod trace;
mod tries;
pub mod validate;
mod virtual_chain;

pub use build::BuiltBlock;
pub use logs::LogQuery;
pub use prune::PruneStep;
pub use trace::AccountProof;
pub use validate::BlockError;
pub use virtual_chain::{AppliedBlock, ChainUpdate};

use crate::dag::DagView;
use alloy_consensus::TxEnvelope;
use alloy_primitives::{keccak256, Address, Bloom, FixedBytes, B256, U256};
use eyre::{eyre, Result};
use lattice_consensus::GhostdagData;
use lattice_evm::{genesis_state, HistoricalState, LatestState, StateReader};
use lattice_primitives::{
    AcceptanceEntry, Block, ChainSpec, Header, SealedBlock, StoredReceipt, TxLocation,
};
use lattice_storage::{tables, Db, Table};
use parking_lot::{Mutex, RwLock};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const META_GENESIS: &[u8] = b"genesis";
const META_SINK: &[u8] = b"sink";
const META_SPEC: &[u8] = b"spec";

/// Every table the node keeps.
pub fn all_tables() -> Vec<&'static str> {
    let mut all = tables::ALL.to_vec();
    all.extend_from_slice(lattice_consensus::stores::rocks::TABLES);
    all
}

/// The sink (`latest`) and what the next block needs of it.
#[derive(Clone, Debug)]
pub struct Head {
    /// Block hash.
    pub hash: B256,
    /// Selected-chain position.
    pub number: u64,
    /// Header.
    pub header: Header,
    /// Acceptance capacity (sum of the gas limits of its mergeset's blocks).
    pub capacity: u64,
}

/// What importing a block did.
#[derive(Debug)]
pub enum ImportOutcome {
    /// The block was already in the DAG.
    AlreadyKnown,
    /// The block joined the DAG; the selected chain changed as described.
    Imported(ChainUpdate),
}

/// Tuning of a [`Chain`] that does not change what it computes.
#[derive(Clone, Copy, Debug)]
pub struct ChainOptions {
    /// Storage slots the storage-trie cache keeps (see [`lattice_evm::StateTries`]).
    pub storage_trie_cache_slots: usize,
    /// Blocks whose consensus records and producer clock each cache keeps.
    pub consensus_cache_blocks: usize,
}

impl Default for ChainOptions {
    fn default() -> Self {
        Self {
            storage_trie_cache_slots: lattice_evm::DEFAULT_STORAGE_CACHE_SLOTS,
            consensus_cache_blocks: lattice_consensus::stores::rocks::DEFAULT_CACHE_BLOCKS,
        }
    }
}

/// The node's chain.
pub struct Chain {
    db: Arc<Db>,
    spec: ChainSpec,
    genesis: B256,
    dag: RwLock<DagView>,
    head: RwLock<Head>,
    disqualified: RwLock<HashSet<B256>>,
    /// The tries of the committed (sink) state: accounts, and cached storage tries; built in
    /// the background at start-up (see [`tries`]).
    trie: tries::TrieCell,
    /// Transactions carried by the blocks stored since start-up, and of those, how many some
    /// earlier block had already carried (the duplicate rate of parallel producers).
    carried: AtomicU64,
    carried_again: AtomicU64,
    /// Pairs of parallel blocks one producer sealed too close together (evidence logged).
    equivocations: AtomicU64,
    /// When this node last stored a block of each producer of a closed set (index as in the
    /// chain specification; `None` before the first). Producers use it to tell a share whose
    /// owner is sealing from one whose owner is gone.
    producer_seen: Mutex<Vec<Option<std::time::Instant>>>,
    /// Counts changes of the sink's state (each after its write): a reader that takes it
    /// before reading the state can tell an older read from a newer one.
    state_version: AtomicU64,
    /// The oldest chain block whose state can be read: raised by pruning before it deletes
    /// the history below it (see [`prune`]).
    history_floor: AtomicU64,
    write: Mutex<()>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").field("genesis", &self.genesis).finish_non_exhaustive()
    }
}

/// How far a block's timestamp may be from this node's clock for the block to show that its
/// producer is sealing now.
pub const PRODUCER_LIVE_SKEW_MS: u64 = 5_000;

pub(crate) fn meta_get(db: &Db, key: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(db.get::<tables::Meta>(&key.to_vec())?)
}

fn hash_from(bytes: &[u8], what: &str) -> Result<B256> {
    B256::try_from(bytes).map_err(|_| eyre!("corrupt {what} in metadata"))
}

/// The genesis header of `spec` with the given state root. Its extra data is the keccak hash
/// of the specification's JSON, so chains that differ in any rule (producers, limits, GHOSTDAG
/// parameters) have different genesis hashes, and their nodes never take each other for peers.
pub fn genesis_header(spec: &ChainSpec, state_root: B256) -> Header {
    let spec_hash = keccak256(serde_json::to_vec(spec).expect("a chain spec serialises"));
    Header {
        parents: vec![],
        timestamp_ms: spec.genesis_timestamp_ms,
        producer: Address::ZERO,
        coinbase: Address::ZERO,
        transactions_root: Block::compute_transactions_root(&[]),
        state_root,
        receipts_root: alloy_trie::EMPTY_ROOT_HASH,
        logs_bloom: Bloom::ZERO,
        gas_used: 0,
        gas_limit: spec.gas_limit,
        base_fee: spec.initial_base_fee,
        blue_score: 0,
        blue_work: U256::ZERO,
        extra_data: spec_hash.to_vec().into(),
        signature: FixedBytes::ZERO,
    }
}

impl Chain {
    /// Opens the chain in `db`, writing genesis on first use, and moves the selected chain to
    /// the best valid tip (finishing a reorg a crash may have interrupted). Refuses a database
    /// that holds another chain.
    pub fn open(db: Arc<Db>, spec: ChainSpec) -> Result<Self> {
        Self::open_with(db, spec, ChainOptions::default())
    }

    /// [`Chain::open`] with tuning options.
    pub fn open_with(db: Arc<Db>, spec: ChainSpec, options: ChainOptions) -> Result<Self> {
        let spec_json = serde_json::to_vec(&spec)?;
        let genesis = match meta_get(&db, META_GENESIS)? {
            Some(hash) => {
                let stored = meta_get(&db, META_SPEC)?.unwrap_or_default();
                if stored != spec_json {
                    return Err(crate::UsageError::report(
                        "the data directory holds a different chain (its chain specification \
                         differs from the one these flags give)",
                        "start it with the flags (or --chain file) it was created with, or pass \
                         another --data-dir",
                    ));
                }
                hash_from(&hash, "genesis hash")?
            }
            None => Self::write_genesis(&db, &spec, &spec_json)?,
        };
        let dag = DagView::load(&db, &spec, genesis, options.consensus_cache_blocks)?;
        let disqualified: HashSet<B256> = db
            .scan_from::<tables::Disqualified>(&[], |_| true)?
            .into_iter()
            .map(|(h, ())| h)
            .collect();
        let sink = hash_from(
            &meta_get(&db, META_SINK)?.ok_or_else(|| eyre!("no sink recorded"))?,
            "sink",
        )?;
        let placeholder =
            Head { hash: sink, number: 0, header: genesis_header(&spec, B256::ZERO), capacity: 0 };
        let trie = tries::TrieCell::build(db.clone(), options.storage_trie_cache_slots)?;
        let producer_seen = Mutex::new(vec![None; spec.producers.len()]);
        let history_floor = AtomicU64::new(prune::read_u64_meta(&db, prune::META_HISTORY_FLOOR)?);
        let chain = Self {
            db,
            spec,
            genesis,
            dag: RwLock::new(dag),
            head: RwLock::new(placeholder),
            disqualified: RwLock::new(disqualified),
            carried: AtomicU64::new(0),
            carried_again: AtomicU64::new(0),
            equivocations: AtomicU64::new(0),
            trie,
            producer_seen,
            state_version: AtomicU64::new(0),
            history_floor,
            write: Mutex::new(()),
        };
        *chain.head.write() = chain.load_head(sink)?;
        chain.ensure_log_index()?;
        {
            let _guard = chain.write.lock();
            chain.resolve_virtual()?;
        }
        Ok(chain)
    }

    fn write_genesis(db: &Db, spec: &ChainSpec, spec_json: &[u8]) -> Result<B256> {
        let state = genesis_state(db, spec)?;
        let header = genesis_header(spec, state.state_root);
        let hash = header.hash_slow();
        let mut batch = db.batch();
        state.write(&mut batch, None)?;
        batch.put::<tables::Headers>(&hash, &header)?;
        batch.put::<tables::Bodies>(&hash, &vec![])?;
        batch.put::<tables::ProducerClocks>(&hash, &tables::ProducerClock::default())?;
        batch.put::<tables::BlockOrder>(&(U256::ZERO, hash), &())?;
        batch.put::<tables::Meta>(&crate::dag::ORDER_INDEXED.to_vec(), &Vec::new())?;
        batch.put::<tables::ChainByNumber>(&0, &hash)?;
        batch.put::<tables::ChainNumbers>(&hash, &0)?;
        batch.put::<tables::Receipts>(&hash, &vec![])?;
        batch.put::<tables::Acceptance>(&hash, &vec![])?;
        batch.put::<tables::Meta>(&META_GENESIS.to_vec(), &hash.to_vec())?;
        batch.put::<tables::Meta>(&META_SINK.to_vec(), &hash.to_vec())?;
        batch.put::<tables::Meta>(&META_SPEC.to_vec(), &spec_json.to_vec())?;
        batch.commit()?;
        tracing::info!(target: "lattice::chain", %hash, state_root = %state.state_root, "wrote genesis");
        Ok(hash)
    }

    fn load_head(&self, hash: B256) -> Result<Head> {
        let header = self.header(hash)?.ok_or_else(|| eyre!("sink {hash} has no header"))?;
        let number = self
            .db
            .get::<tables::ChainNumbers>(&hash)?
            .ok_or_else(|| eyre!("sink {hash} is not on the chain"))?;
        let capacity = self.capacity_of(hash)?;
        Ok(Head { hash, number, header, capacity })
    }

    /// The chain specification.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Genesis hash.
    pub fn genesis(&self) -> B256 {
        self.genesis
    }

    /// Transactions carried by the blocks stored since start-up (own and imported), and how
    /// many of them an earlier block had already carried. Counted as each block is written.
    pub fn carried_counts(&self) -> (u64, u64) {
        (self.carried.load(Ordering::Relaxed), self.carried_again.load(Ordering::Relaxed))
    }

    /// Equivocations seen since start-up: an imported block and a parallel block of the same
    /// producer sealed less than `minBlockIntervalMs` apart (each logged as evidence).
    pub fn equivocations(&self) -> u64 {
        self.equivocations.load(Ordering::Relaxed)
    }

    /// What the storage-trie cache holds.
    pub fn storage_cache_stats(&self) -> lattice_evm::StorageCacheStats {
        self.trie.counters.get()
    }

    /// The current sink.
    pub fn head(&self) -> Head {
        self.head.read().clone()
    }

    /// Current DAG tips.
    pub fn tips(&self) -> Vec<B256> {
        self.dag.read().tips()
    }

    /// Up to `limit` blocks after (`blue_work`, `hash`) in (blue work, hash) order, which is
    /// topological: what a peer catching up asks for.
    pub fn hashes_after(&self, blue_work: U256, hash: B256, limit: usize) -> Result<Vec<B256>> {
        self.dag.read().hashes_after(blue_work, hash, limit)
    }

    /// What the consensus caches hold: records (summed over their caches) and clocks.
    pub fn consensus_cache_stats(&self) -> (lattice_consensus::stores::rocks::CacheStats, usize) {
        self.dag.read().cache_stats()
    }

    /// Number of blocks in the DAG.
    pub fn block_count(&self) -> u64 {
        self.dag.read().block_count()
    }

    /// Whether the block is in the DAG.
    pub fn contains(&self, hash: B256) -> bool {
        self.dag.read().contains(hash)
    }

    /// Whether the block was disqualified from the selected chain.
    pub fn is_disqualified(&self, hash: B256) -> bool {
        self.disqualified.read().contains(&hash)
    }

    /// A header by hash.
    pub fn header(&self, hash: B256) -> Result<Option<Header>> {
        Ok(self.db.get::<tables::Headers>(&hash)?)
    }

    /// A whole stored block.
    pub fn block(&self, hash: B256) -> Result<Option<SealedBlock>> {
        let Some(header) = self.header(hash)? else { return Ok(None) };
        let transactions = self.db.get::<tables::Bodies>(&hash)?.unwrap_or_default();
        Ok(Some(Block { header, transactions }.seal()))
    }

    /// GHOSTDAG data of a block.
    pub fn ghostdag(&self, hash: B256) -> Result<Option<Arc<GhostdagData>>> {
        self.dag.read().ghostdag(hash)
    }

    /// Acceptance capacity of a block: the gas limits of its mergeset's blocks (genesis: its own).
    pub fn capacity_of(&self, hash: B256) -> Result<u64> {
        if hash == self.genesis {
            return Ok(self.spec.gas_limit);
        }
        let Some(gd) = self.ghostdag(hash)? else { return Ok(self.spec.gas_limit) };
        let mut total = 0u64;
        for b in gd.mergeset_blues.iter().chain(gd.mergeset_reds.iter()) {
            total += self.header(*b)?.map(|h| h.gas_limit).unwrap_or_default();
        }
        Ok(total)
    }

    /// A state reader at chain block `number`.
    pub fn state_at(&self, number: u64) -> Box<dyn StateReader + '_> {
        if number >= self.head.read().number {
            Box::new(LatestState::new(&self.db))
        } else {
            Box::new(HistoricalState::with_floor(&self.db, number, &self.history_floor))
        }
    }

    /// Base fee of a block whose selected parent is the current sink.
    pub fn next_base_fee(&self) -> u64 {
        let head = self.head.read();
        self.spec.next_base_fee(head.header.gas_used, head.capacity, head.header.base_fee)
    }

    /// The transactions a block carries, with their senders.
    pub fn body_with_senders(&self, hash: B256) -> Result<Vec<(Address, TxEnvelope)>> {
        let body = self
            .db
            .get::<tables::Bodies>(&hash)?
            .ok_or_else(|| eyre!("block {hash} has no body"))?;
        let senders = match self.db.get::<tables::Senders>(&hash)? {
            Some(senders) if senders.len() == body.len() => senders,
            _ => recover_senders(&body)?,
        };
        Ok(senders.into_iter().zip(body).collect())
    }

    /// Validates `block` and adds it to the DAG, then moves the selected chain if the block
    /// (or what it makes reachable) is better.
    pub fn import(&self, block: &SealedBlock, now_ms: u64) -> Result<ImportOutcome, BlockError> {
        let _guard = self.write.lock();
        let hash = block.hash();
        if self.dag.read().try_contains(hash).map_err(BlockError::internal)? {
            return Ok(ImportOutcome::AlreadyKnown);
        }
        let (diff, senders) = validate::validate_block(self, block, now_ms)?;
        self.store_block(block, &senders, None)?;
        let header = &block.header.header;
        let equivocations = {
            let mut dag = self.dag.write();
            dag.commit(diff, header).map_err(BlockError::internal)?;
            dag.equivocations(hash, header, self.spec.min_block_interval_ms)
        };
        for other in equivocations {
            tracing::warn!(target: "lattice::consensus", %hash, %other, producer = %header.producer,
                "evidence: producer sealed parallel blocks faster than the chain allows");
            self.equivocations.fetch_add(1, Ordering::Relaxed);
        }
        Ok(ImportOutcome::Imported(self.resolve_virtual().map_err(BlockError::internal)?))
    }

    /// Writes a block's header, body and carried-transaction index, and, when given, the
    /// batch of its acceptance, in one atomic write.
    fn store_block(
        &self,
        block: &SealedBlock,
        senders: &[Address],
        with: Option<lattice_storage::Batch<'_>>,
    ) -> Result<()> {
        let hash = block.hash();
        let mut already_carried = 0u64;
        let mut batch = with.unwrap_or_else(|| self.db.batch());
        batch.put::<tables::Headers>(&hash, &block.header.header)?;
        batch.put::<tables::Bodies>(&hash, &block.transactions)?;
        batch.put::<tables::Senders>(&hash, &senders.to_vec())?;
        self.dag.read().stage(&mut batch, hash, &block.header.header)?;
        for (i, tx) in block.transactions.iter().enumerate() {
            match self.db.get::<tables::CarriedTxs>(tx.tx_hash())? {
                None => {
                    let loc = TxLocation {
                        block: hash,
                        index: i as u64,
                        carrier: hash,
                        carrier_index: i as u64,
                    };
                    batch.put::<tables::CarriedTxs>(tx.tx_hash(), &loc)?;
                }
                Some(first) => {
                    already_carried += 1;
                    tracing::debug!(target: "lattice::carry", tx = %tx.tx_hash(), block = %hash,
                        producer = %block.header.header.producer, first = %first.carrier,
                        "carried again");
                }
            }
        }
        batch.commit()?;
        self.note_producer(&block.header.header);
        self.carried.fetch_add(block.transactions.len() as u64, Ordering::Relaxed);
        self.carried_again.fetch_add(already_carried, Ordering::Relaxed);
        Ok(())
    }

    /// The sink state's version: read it before reading the state.
    pub fn state_version(&self) -> u64 {
        self.state_version.load(Ordering::Acquire)
    }

    /// A new sink state was written.
    fn bump_state_version(&self) {
        self.state_version.fetch_add(1, Ordering::AcqRel);
    }

    /// Notes that `header`'s producer is sealing, if the block is recent (its timestamp within
    /// [`PRODUCER_LIVE_SKEW_MS`] of this node's clock: blocks fetched by a catch-up, or an old
    /// block replayed, say nothing about now). Call it with headers whose seal was checked.
    pub fn note_producer(&self, header: &Header) {
        let Some(i) = self.spec.producers.iter().position(|p| *p == header.producer) else {
            return;
        };
        if crate::producer::now_ms().abs_diff(header.timestamp_ms) <= PRODUCER_LIVE_SKEW_MS {
            self.producer_seen.lock()[i] = Some(std::time::Instant::now());
        }
    }

    /// For each producer of the chain specification, whether this node saw a recent block of
    /// it (gossiped or stored) within `window`.
    pub fn producers_active(&self, window: std::time::Duration) -> Vec<bool> {
        self.producer_seen
            .lock()
            .iter()
            .map(|seen| seen.is_some_and(|t| t.elapsed() < window))
            .collect()
    }

    /// Hash of the chain block at `number`.
    pub fn hash_at(&self, number: u64) -> Result<Option<B256>> {
        Ok(self.db.get::<tables::ChainByNumber>(&number)?)
    }

    /// Chain position of `hash`.
    pub fn number_of(&self, hash: B256) -> Result<Option<u64>> {
        Ok(self.db.get::<tables::ChainNumbers>(&hash)?)
    }

    /// Receipts of a chain block.
    pub fn receipts(&self, hash: B256) -> Result<Vec<StoredReceipt>> {
        Ok(self.db.get::<tables::Receipts>(&hash)?.unwrap_or_default())
    }

    /// Acceptance entries of a chain block.
    pub fn acceptance(&self, hash: B256) -> Result<Vec<AcceptanceEntry>> {
        Ok(self.db.get::<tables::Acceptance>(&hash)?.unwrap_or_default())
    }

    /// One transaction of a block's body.
    pub fn carried_tx(&self, carrier: B256, index: u64) -> Result<Option<TxEnvelope>> {
        Ok(self.db.get::<tables::Bodies>(&carrier)?.and_then(|b| b.into_iter().nth(index as usize)))
    }

    /// Where an executed transaction sits.
    pub fn tx_location(&self, hash: B256) -> Result<Option<TxLocation>> {
        Ok(self.db.get::<tables::TxLookup>(&hash)?)
    }

    /// Where a carried transaction sits.
    pub fn carried_location(&self, hash: B256) -> Result<Option<TxLocation>> {
        Ok(self.db.get::<tables::CarriedTxs>(&hash)?)
    }

    /// Reads one value of any table (for tools).
    pub fn get<T: Table>(&self, key: &T::Key) -> Result<Option<T::Value>> {
        Ok(self.db.get::<T>(key)?)
    }

    /// The nonce of `address` in the sink's state.
    pub fn latest_nonce(&self, address: Address) -> u64 {
        LatestState::new(&self.db)
            .account(address)
            .ok()
            .flatten()
            .map(|a| a.nonce)
            .unwrap_or_default()
    }

    /// Balance of `address` in the sink's state.
    pub fn latest_balance(&self, address: Address) -> U256 {
        self.latest_nonce_and_balance(address).1
    }

    /// Nonce and balance of `address` in the sink's state, in one read.
    pub fn latest_nonce_and_balance(&self, address: Address) -> (u64, U256) {
        LatestState::new(&self.db)
            .account(address)
            .ok()
            .flatten()
            .map(|a| (a.nonce, a.balance))
            .unwrap_or_default()
    }
}

/// Recovers the sender of every transaction (for blocks stored without their senders).
pub fn recover_senders(body: &[TxEnvelope]) -> Result<Vec<Address>> {
    use alloy_consensus::transaction::SignerRecoverable;
    body.iter()
        .map(|tx| {
            tx.recover_signer()
                .map_err(|e| eyre!("transaction {} has a bad signature: {e}", tx.tx_hash()))
        })
        .collect()
}

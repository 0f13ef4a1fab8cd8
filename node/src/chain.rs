//! The chain: genesis, block building and acceptance, the one atomic write per block, and the
//! reads the RPC serves.

use crate::dag::DagView;
use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::TxEnvelope;
use alloy_primitives::{Address, Bloom, FixedBytes, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use eyre::{bail, eyre, Context, Result};
use lattice_consensus::GhostdagData;
use lattice_evm::{
    accept_mergeset, genesis_state, AcceptEnv, AcceptanceOutcome, EvmError, HistoricalState,
    LatestState, MergedBlock, PreparedState, StateReader,
};
use lattice_primitives::{
    AcceptanceEntry, Block, ChainSpec, Header, SealedBlock, StoredReceipt, TxLocation,
};
use lattice_storage::{tables, Db, Table};
use parking_lot::RwLock;
use std::sync::Arc;

const META_GENESIS: &[u8] = b"genesis";
const META_SINK: &[u8] = b"sink";
const META_SPEC: &[u8] = b"spec";

/// Every table the node keeps.
pub fn all_tables() -> Vec<&'static str> {
    tables::ALL.to_vec()
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

/// A block built and sealed but not yet committed.
pub struct BuiltBlock {
    /// The sealed block.
    pub block: SealedBlock,
    /// Its GHOSTDAG data.
    pub ghostdag: GhostdagData,
    /// What its acceptance produced.
    pub outcome: AcceptanceOutcome,
    /// The state changes with their root.
    pub prepared: PreparedState,
    /// Its acceptance capacity.
    pub capacity: u64,
    /// Time spent computing the state root.
    pub state_root_time: std::time::Duration,
}

/// The node's chain.
pub struct Chain {
    db: Arc<Db>,
    spec: ChainSpec,
    genesis: B256,
    dag: RwLock<DagView>,
    head: RwLock<Head>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").field("genesis", &self.genesis).finish_non_exhaustive()
    }
}

fn meta_get(db: &Db, key: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(db.get::<tables::Meta>(&key.to_vec())?)
}

/// The genesis header of `spec` with the given state root.
pub fn genesis_header(spec: &ChainSpec, state_root: B256) -> Header {
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
        extra_data: Default::default(),
        signature: FixedBytes::ZERO,
    }
}

impl Chain {
    /// Opens the chain in `db`, writing genesis on first use. Refuses a database that holds
    /// another chain.
    pub fn open(db: Arc<Db>, spec: ChainSpec) -> Result<Self> {
        let spec_json = serde_json::to_vec(&spec)?;
        let genesis = match meta_get(&db, META_GENESIS)? {
            Some(hash) => {
                let stored = meta_get(&db, META_SPEC)?.unwrap_or_default();
                if stored != spec_json {
                    bail!(
                        "the data directory holds a different chain (its chain specification differs); \
                         use another --data-dir"
                    );
                }
                B256::try_from(hash.as_slice())
                    .map_err(|_| eyre!("corrupt genesis hash in metadata"))?
            }
            None => Self::write_genesis(&db, &spec, &spec_json)?,
        };
        let dag = DagView::load(&db, &spec, genesis)?;
        let sink = meta_get(&db, META_SINK)?.ok_or_else(|| eyre!("no sink recorded"))?;
        let sink = B256::try_from(sink.as_slice()).map_err(|_| eyre!("corrupt sink hash"))?;
        let chain = Self {
            db,
            spec,
            genesis,
            dag: RwLock::new(dag),
            head: RwLock::new(placeholder_head()),
        };
        let head = chain.load_head(sink)?;
        *chain.head.write() = head;
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
            .ok_or_else(|| eyre!("sink {hash} not on chain"))?;
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

    /// The current sink.
    pub fn head(&self) -> Head {
        self.head.read().clone()
    }

    /// A header by hash.
    pub fn header(&self, hash: B256) -> Result<Option<Header>> {
        Ok(self.db.get::<tables::Headers>(&hash)?)
    }

    /// GHOSTDAG data of a block.
    pub fn ghostdag(&self, hash: B256) -> Option<Arc<GhostdagData>> {
        self.dag.read().ghostdag(hash)
    }

    /// Acceptance capacity of a block: the gas limits of its mergeset's blocks (genesis: its own).
    pub fn capacity_of(&self, hash: B256) -> Result<u64> {
        let Some(gd) = self.ghostdag(hash) else { return Ok(self.spec.gas_limit) };
        if hash == self.genesis {
            return Ok(self.spec.gas_limit);
        }
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
            Box::new(HistoricalState::new(&self.db, number))
        }
    }

    /// Base fee of a block whose selected parent is the current sink.
    pub fn next_base_fee(&self) -> u64 {
        let head = self.head.read();
        self.spec.next_base_fee(head.header.gas_used, head.capacity, head.header.base_fee)
    }

    /// Builds and seals a block on the current tips, carrying `transactions`.
    pub fn build_block(
        &self,
        signer: &PrivateKeySigner,
        coinbase: Address,
        transactions: Vec<TxEnvelope>,
        timestamp_ms: u64,
    ) -> Result<BuiltBlock> {
        let head = self.head();
        let (parents, ghostdag, order) = {
            let dag = self.dag.read();
            let parents = dag.parents_for_new_block()?;
            let ghostdag = dag.ghostdag_of_parents(&parents)?;
            let order = dag.consensus_order(&ghostdag)?;
            (parents, ghostdag, order)
        };
        if ghostdag.selected_parent != head.hash {
            bail!("selected parent {} is not the sink {}", ghostdag.selected_parent, head.hash);
        }
        let mut merged = Vec::with_capacity(order.len());
        let mut capacity = 0u64;
        for hash in &order {
            let header =
                self.header(*hash)?.ok_or_else(|| eyre!("merged block {hash} has no header"))?;
            capacity += header.gas_limit;
            merged.push(MergedBlock {
                hash: *hash,
                coinbase: header.coinbase,
                blue: ghostdag.mergeset_blues.contains(hash),
                rewarded: !header.parents.is_empty(),
                transactions: self.body_with_senders(*hash)?,
            });
        }
        let base_fee =
            self.spec.next_base_fee(head.header.gas_used, head.capacity, head.header.base_fee);
        let env = AcceptEnv {
            chain_id: self.spec.chain_id,
            number: head.number + 1,
            timestamp: timestamp_ms / 1000,
            base_fee,
            capacity,
            coinbase,
            prevrandao: head.hash,
            block_reward: self.spec.block_reward,
            base_fee_recipient: self.spec.base_fee_recipient,
        };
        let db = &self.db;
        let mut outcome = accept_mergeset(LatestState::new(db), &env, &merged, |h| {
            db.contains::<tables::TxLookup>(h).map_err(EvmError::from)
        })?;
        let root_started = std::time::Instant::now();
        let prepared = PreparedState::prepare(db, std::mem::take(&mut outcome.changes))?;
        let state_root_time = root_started.elapsed();
        let mut header = Header {
            parents,
            timestamp_ms,
            producer: signer.address(),
            coinbase,
            transactions_root: Block::compute_transactions_root(&transactions),
            state_root: prepared.state_root,
            receipts_root: outcome.receipts_root,
            logs_bloom: outcome.logs_bloom,
            gas_used: outcome.gas_used,
            gas_limit: self.spec.gas_limit,
            base_fee,
            blue_score: ghostdag.blue_score,
            blue_work: ghostdag.blue_work,
            extra_data: Default::default(),
            signature: FixedBytes::ZERO,
        };
        header.sign(signer)?;
        let block = Block { header, transactions }.seal();
        Ok(BuiltBlock { block, ghostdag, outcome, prepared, capacity, state_root_time })
    }

    /// The transactions a block carries, with their senders.
    pub fn body_with_senders(&self, hash: B256) -> Result<Vec<(Address, TxEnvelope)>> {
        let body = self
            .db
            .get::<tables::Bodies>(&hash)?
            .ok_or_else(|| eyre!("block {hash} has no body"))?;
        body.into_iter()
            .map(|tx| {
                let sender =
                    tx.recover_signer().wrap_err("stored transaction with a bad signature")?;
                Ok((sender, tx))
            })
            .collect()
    }

    /// Writes a built block, its acceptance and the new sink in one atomic batch.
    pub fn commit(&self, built: &BuiltBlock) -> Result<()> {
        let hash = built.block.hash();
        let number = self.head.read().number + 1;
        let mut batch = self.db.batch();
        batch.put::<tables::Headers>(&hash, &built.block.header.header)?;
        batch.put::<tables::Bodies>(&hash, &built.block.transactions)?;
        for (i, tx) in built.block.transactions.iter().enumerate() {
            let loc =
                TxLocation { block: hash, index: i as u64, carrier: hash, carrier_index: i as u64 };
            batch.put::<tables::CarriedTxs>(tx.tx_hash(), &loc)?;
        }
        built.prepared.write(&mut batch, Some(number))?;
        batch.put::<tables::ChainByNumber>(&number, &hash)?;
        batch.put::<tables::ChainNumbers>(&hash, &number)?;
        batch.put::<tables::Receipts>(&hash, &built.outcome.receipts)?;
        batch.put::<tables::Acceptance>(&hash, &built.outcome.entries)?;
        let mut index = 0u64;
        for entry in built.outcome.entries.iter().filter(|e| e.skip == 0) {
            let loc = TxLocation {
                block: hash,
                index,
                carrier: entry.carrier,
                carrier_index: entry.carrier_index,
            };
            batch.put::<tables::TxLookup>(&entry.tx_hash, &loc)?;
            index += 1;
        }
        batch.put::<tables::Meta>(&META_SINK.to_vec(), &hash.to_vec())?;
        batch.commit()?;
        self.dag.write().insert(hash, &built.block.header.header.parents, &built.ghostdag)?;
        *self.head.write() = Head {
            hash,
            number,
            header: built.block.header.header.clone(),
            capacity: built.capacity,
        };
        Ok(())
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
        LatestState::new(&self.db)
            .account(address)
            .ok()
            .flatten()
            .map(|a| a.balance)
            .unwrap_or_default()
    }
}

fn placeholder_head() -> Head {
    Head {
        hash: B256::ZERO,
        number: 0,
        header: genesis_header(&ChainSpec::default(), B256::ZERO),
        capacity: 0,
    }
}

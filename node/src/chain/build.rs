//! Building a block on the current sink, and executing a chain block's acceptance.

use super::virtual_chain::{AppliedBlock, ChainUpdate};
use super::{Chain, Head};
use alloy_consensus::TxEnvelope;
use alloy_primitives::{Address, FixedBytes, B256};
use alloy_signer_local::PrivateKeySigner;
use eyre::{bail, eyre, Result};
use lattice_consensus::GhostdagData;
use lattice_evm::{
    accept_mergeset, AcceptEnv, AcceptanceOutcome, EvmError, LatestState, MergedBlock,
    PreparedState,
};
use lattice_primitives::{Block, Header, SealedBlock};
use lattice_storage::tables;
use std::time::{Duration, Instant};

/// A block this node built, sealed and committed.
#[derive(Debug)]
pub struct BuiltBlock {
    /// The sealed block.
    pub block: SealedBlock,
    /// Its GHOSTDAG data.
    pub ghostdag: GhostdagData,
    /// Its acceptance.
    pub applied: AppliedBlock,
    /// Time spent computing the state root.
    pub state_root_time: Duration,
}

/// The acceptance of a chain block on top of the current sink.
pub(super) struct Execution {
    pub outcome: AcceptanceOutcome,
    pub prepared: PreparedState,
    pub capacity: u64,
    pub state_root_time: Duration,
}

impl Chain {
    /// Executes the acceptance of a block with GHOSTDAG data `gd` whose selected parent is the
    /// current sink `head`.
    pub(super) fn execute_acceptance(
        &self,
        head: &Head,
        gd: &GhostdagData,
        coinbase: Address,
        timestamp_ms: u64,
        base_fee: u64,
    ) -> Result<Execution> {
        if gd.selected_parent != head.hash {
            bail!("selected parent {} is not the sink {}", gd.selected_parent, head.hash);
        }
        let (merged, capacity) = self.merged_blocks(gd)?;
        let env =
            self.accept_env(head.number + 1, head.hash, coinbase, timestamp_ms, base_fee, capacity);
        let db = &*self.db;
        let mut outcome = accept_mergeset(LatestState::new(db), &env, &merged, |h| {
            db.contains::<tables::TxLookup>(h).map_err(EvmError::from)
        })?;
        let started = Instant::now();
        let prepared = PreparedState::prepare_on(
            db,
            &self.trie.get()?.lock(),
            std::mem::take(&mut outcome.changes),
        )?;
        Ok(Execution { outcome, prepared, capacity, state_root_time: started.elapsed() })
    }

    /// The blocks a chain block with GHOSTDAG data `gd` accepts, in consensus order, with the
    /// acceptance capacity (the sum of their gas limits).
    pub(super) fn merged_blocks(&self, gd: &GhostdagData) -> Result<(Vec<MergedBlock>, u64)> {
        let order = self.dag.read().consensus_order(gd)?;
        let mut merged = Vec::with_capacity(order.len());
        let mut capacity = 0u64;
        for hash in &order {
            let header =
                self.header(*hash)?.ok_or_else(|| eyre!("merged block {hash} has no header"))?;
            capacity += header.gas_limit;
            merged.push(MergedBlock {
                hash: *hash,
                coinbase: header.coinbase,
                blue: gd.mergeset_blues.contains(hash),
                rewarded: !header.parents.is_empty(),
                transactions: self.body_with_senders(*hash)?,
            });
        }
        Ok((merged, capacity))
    }

    /// The environment of chain block `number`'s acceptance.
    pub(super) fn accept_env(
        &self,
        number: u64,
        selected_parent: B256,
        coinbase: Address,
        timestamp_ms: u64,
        base_fee: u64,
        capacity: u64,
    ) -> AcceptEnv {
        AcceptEnv {
            chain_id: self.spec.chain_id,
            number,
            timestamp: timestamp_ms / 1000,
            base_fee,
            capacity,
            coinbase,
            prevrandao: selected_parent,
            block_reward: self.spec.block_reward,
            base_fee_recipient: self.spec.base_fee_recipient,
        }
    }

    /// Builds a block on the current tips carrying `transactions`, seals it with `signer` and
    /// commits it as the new sink, all under the write lock.
    pub fn produce(
        &self,
        signer: &PrivateKeySigner,
        coinbase: Address,
        transactions: Vec<TxEnvelope>,
        timestamp_ms: u64,
    ) -> Result<BuiltBlock> {
        let senders = super::recover_senders(&transactions)?;
        self.produce_with_senders(
            signer,
            coinbase,
            senders.into_iter().zip(transactions).collect(),
            timestamp_ms,
        )
    }

    /// [`Chain::produce`] with the senders already known (the pool recovered them).
    pub fn produce_with_senders(
        &self,
        signer: &PrivateKeySigner,
        coinbase: Address,
        transactions: Vec<(Address, TxEnvelope)>,
        timestamp_ms: u64,
    ) -> Result<BuiltBlock> {
        let (senders, transactions): (Vec<Address>, Vec<TxEnvelope>) =
            transactions.into_iter().unzip();
        let _guard = self.write.lock();
        let head = self.head();
        let (parents, ghostdag) = {
            let dag = self.dag.read();
            let parents = dag.parents_for_new_block(head.hash)?;
            let ghostdag = dag.ghostdag_of_parents(&parents)?;
            (parents, ghostdag)
        };
        // Never before the past median, and never sooner after this producer's previous block
        // than the chain allows: peers refuse that when the previous block is in the new one's
        // past, and log it as equivocation when it is not (the parent limits may leave it out).
        let median = super::validate::past_median_time(self, head.hash)?;
        let own_previous = self
            .dag
            .read()
            .latest_of_producer(signer.address())
            .map(|at| at + self.spec.min_block_interval_ms)
            .unwrap_or(0);
        let timestamp_ms = timestamp_ms.max(median).max(own_previous);
        let base_fee = self.next_base_fee();
        let exec = self.execute_acceptance(&head, &ghostdag, coinbase, timestamp_ms, base_fee)?;
        let mut header = Header {
            parents: parents.clone(),
            timestamp_ms,
            producer: signer.address(),
            coinbase,
            transactions_root: Block::compute_transactions_root(&transactions),
            state_root: exec.prepared.state_root,
            receipts_root: exec.outcome.receipts_root,
            logs_bloom: exec.outcome.logs_bloom,
            gas_used: exec.outcome.gas_used,
            gas_limit: self.spec.gas_limit,
            base_fee,
            blue_score: ghostdag.blue_score,
            blue_work: ghostdag.blue_work,
            extra_data: Default::default(),
            signature: FixedBytes::ZERO,
        };
        header.sign(signer)?;
        let block = Block { header, transactions }.seal();
        let hash = block.hash();
        let diff = self.dag.read().prepare(hash, &parents)?;
        if *diff.ghostdag != ghostdag {
            bail!("GHOSTDAG data of {hash} changed between building and committing");
        }
        let state_root_time = exec.state_root_time;
        let applied = self.commit_chain_block(
            hash,
            &block.header.header,
            head.number + 1,
            exec,
            Some((&block, &senders)),
        )?;
        self.dag.write().commit(diff, &block.header.header)?;
        Ok(BuiltBlock { block, ghostdag, applied, state_root_time })
    }

    /// Writes a chain block's acceptance (and, for a block this node built, its header and
    /// body) in one batch and makes it the sink.
    pub(super) fn commit_chain_block(
        &self,
        hash: B256,
        header: &Header,
        number: u64,
        exec: Execution,
        own: Option<(&SealedBlock, &[Address])>,
    ) -> Result<AppliedBlock> {
        let Execution { outcome, prepared, capacity, .. } = exec;
        let mut batch = self.db.batch();
        prepared.write(&mut batch, Some(number))?;
        batch.put::<tables::ChainByNumber>(&number, &hash)?;
        batch.put::<tables::ChainNumbers>(&hash, &number)?;
        batch.put::<tables::Receipts>(&hash, &outcome.receipts)?;
        super::logs::index(&mut batch, number, &outcome.receipts)?;
        batch.put::<tables::Acceptance>(&hash, &outcome.entries)?;
        for (index, entry) in outcome.entries.iter().filter(|e| e.skip == 0).enumerate() {
            let loc = lattice_primitives::TxLocation {
                block: hash,
                index: index as u64,
                carrier: entry.carrier,
                carrier_index: entry.carrier_index,
            };
            batch.put::<tables::TxLookup>(&entry.tx_hash, &loc)?;
        }
        batch.put::<tables::Meta>(&super::META_SINK.to_vec(), &hash.to_vec())?;
        match own {
            Some((block, senders)) => self.store_block(block, senders, Some(batch))?,
            None => batch.commit()?,
        }
        self.trie.get()?.lock().commit(prepared);
        *self.head.write() = Head { hash, number, header: header.clone(), capacity };
        self.bump_state_version();
        Ok(AppliedBlock {
            number,
            hash,
            header: header.clone(),
            gas_used: outcome.gas_used,
            entries: outcome.entries,
            receipts: outcome.receipts,
        })
    }
}

impl ChainUpdate {
    /// An update that adds one block.
    pub fn added(block: AppliedBlock) -> Self {
        Self { added: vec![block], ..Default::default() }
    }
}

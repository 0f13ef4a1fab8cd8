//! The node's implementation of the RPC server's [`NodeApi`].

use crate::chain::{Chain, LogQuery};
use crate::Node;
use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::TxEnvelope;
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, Signature, B256, U256};
use alloy_rpc_types_eth::{EIP1186AccountProofResponse, EIP1186StorageProof};
use alloy_serde::storage::JsonStorageKey;
use lattice_evm::trace::{GethDebugTracingOptions, GethTrace};
use lattice_evm::{
    call, create_access_list, estimate_gas, CallEnv, CallError, CallOutcome, CallRequest,
    StateReader,
};
use lattice_primitives::{AcceptanceEntry, Header, StoredReceipt};
use lattice_rpc::{
    AcceptanceView, AcceptedTx, AccountView, BlockLogs, ChainBlock, ChainEvent, DagBlockView,
    EventBlock, NodeApi, PoolGroups, ReceiptView, RpcError, TxView,
};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Default suggested priority fee: 1 gwei.
pub const SUGGESTED_TIP: u128 = 1_000_000_000;

/// Adapts [`Node`] to [`NodeApi`].
pub struct Api {
    node: Arc<Node>,
}

impl Api {
    /// Wraps a node.
    pub fn new(node: Arc<Node>) -> Self {
        Self { node }
    }

    fn call_env(&self, number: u64) -> Result<CallEnv, RpcError> {
        let chain = &self.node.chain;
        let hash =
            chain.hash_at(number).map_err(RpcError::internal)?.ok_or(RpcError::HeaderNotFound)?;
        let header =
            chain.header(hash).map_err(RpcError::internal)?.ok_or(RpcError::HeaderNotFound)?;
        Ok(CallEnv {
            chain_id: chain.spec().chain_id,
            number,
            timestamp: header.timestamp_secs(),
            base_fee: header.base_fee,
            gas_limit: chain.spec().gas_limit,
            gas_cap: self.node.config.rpc_gas_cap,
            coinbase: header.coinbase,
            prevrandao: hash,
            limits: Some(lattice_evm::Limits::timeout(self.node.config.rpc.evm_timeout)),
        })
    }
}

fn internal(e: impl std::fmt::Display) -> RpcError {
    RpcError::internal(e)
}

/// The caller's error (-32000 "historical state not available") when `e` comes from reading
/// state below the pruned history.
fn history_pruned(e: &eyre::Report) -> Option<RpcError> {
    e.chain().find_map(|cause| match cause.downcast_ref::<lattice_evm::EvmError>() {
        Some(pruned @ lattice_evm::EvmError::HistoryPruned { .. }) => {
            Some(RpcError::Rejected(pruned.to_string()))
        }
        // Through revm the error arrives as its text.
        _ => {
            let text = cause.to_string();
            let at = text.find(HISTORY_PRUNED)?;
            Some(RpcError::Rejected(text[at..].to_string()))
        }
    })
}

/// How [`lattice_evm::EvmError::HistoryPruned`] reads.
const HISTORY_PRUNED: &str = "historical state not available";

/// The Ethereum view of chain block `hash` at `number` from what it applied (also used for
/// blocks a reorg has just rolled back, whose receipts are no longer stored).
fn assemble_chain_block(
    chain: &Chain,
    hash: B256,
    number: u64,
    header: Header,
    receipts: Vec<StoredReceipt>,
    entries: &[AcceptanceEntry],
) -> Result<ChainBlock, RpcError> {
    let gd = chain.ghostdag(hash).map_err(internal)?;
    let mut bodies: HashMap<B256, Vec<TxEnvelope>> = HashMap::new();
    let mut transactions = Vec::with_capacity(receipts.len());
    for (entry, receipt) in entries.iter().filter(|e| e.skip == 0).zip(&receipts) {
        if let std::collections::hash_map::Entry::Vacant(slot) = bodies.entry(entry.carrier) {
            let body = chain
                .get::<lattice_storage::tables::Bodies>(&entry.carrier)
                .map_err(internal)?
                .unwrap_or_default();
            slot.insert(body);
        }
        let tx = bodies[&entry.carrier]
            .get(entry.carrier_index as usize)
            .cloned()
            .ok_or_else(|| internal("accepted transaction missing from its carrier"))?;
        transactions.push(AcceptedTx { tx, sender: receipt.from });
    }
    let size = alloy_rlp::encode(&header).len() as u64
        + transactions
            .iter()
            .map(|t| alloy_eips::eip2718::Encodable2718::encode_2718_len(&t.tx) as u64)
            .sum::<u64>();
    Ok(ChainBlock {
        number,
        hash,
        parent_hash: gd
            .as_ref()
            .filter(|_| number > 0)
            .map(|g| g.selected_parent)
            .unwrap_or_default(),
        capacity: chain.capacity_of(hash).map_err(internal)?,
        mergeset_blues: gd.as_ref().map(|g| g.mergeset_blues.clone()).unwrap_or_default(),
        mergeset_reds: gd.as_ref().map(|g| g.mergeset_reds.clone()).unwrap_or_default(),
        header,
        transactions,
        receipts,
        size,
    })
}

impl NodeApi for Api {
    fn chain_id(&self) -> u64 {
        self.node.chain.spec().chain_id
    }

    fn peer_count(&self) -> usize {
        self.node.network.get().map(|n| n.peer_count()).unwrap_or(0)
    }

    fn latest_number(&self) -> Result<u64, RpcError> {
        Ok(self.node.chain.head().number)
    }

    fn finalized_number(&self) -> Result<u64, RpcError> {
        let chain = &self.node.chain;
        Ok(chain.head().number.saturating_sub(chain.spec().finality_depth))
    }

    fn number_of(&self, hash: B256) -> Result<Option<u64>, RpcError> {
        self.node.chain.number_of(hash).map_err(internal)
    }

    fn chain_block(&self, number: u64) -> Result<Option<ChainBlock>, RpcError> {
        let chain = &self.node.chain;
        let Some(hash) = chain.hash_at(number).map_err(internal)? else { return Ok(None) };
        let header = chain
            .header(hash)
            .map_err(internal)?
            .ok_or_else(|| internal("chain block without header"))?;
        let receipts = chain.receipts(hash).map_err(internal)?;
        let entries = chain.acceptance(hash).map_err(internal)?;
        assemble_chain_block(chain, hash, number, header, receipts, &entries).map(Some)
    }

    fn account(&self, number: u64, address: Address) -> Result<AccountView, RpcError> {
        let state = self.node.chain.state_at(number);
        let Some(acc) = state.account(address)? else {
            return Ok(AccountView::default());
        };
        let code = state.code(acc.code_hash)?.unwrap_or_default();
        Ok(AccountView { balance: acc.balance, nonce: acc.nonce, code })
    }

    fn storage(&self, number: u64, address: Address, slot: B256) -> Result<U256, RpcError> {
        Ok(self.node.chain.state_at(number).storage(address, slot)?)
    }

    fn pending_nonce(&self, address: Address) -> Result<u64, RpcError> {
        let latest = self.node.chain.latest_nonce(address);
        Ok(self.node.pool.pending_nonce(address, latest))
    }

    fn call(
        &self,
        number: u64,
        req: &CallRequest,
    ) -> Result<Result<CallOutcome, CallError>, RpcError> {
        let env = self.call_env(number)?;
        let state = self.node.chain.state_at(number);
        Ok(call(&*state, &env, req))
    }

    fn estimate_gas(
        &self,
        number: u64,
        req: &CallRequest,
    ) -> Result<Result<Result<u64, CallOutcome>, CallError>, RpcError> {
        let env = self.call_env(number)?;
        let state = self.node.chain.state_at(number);
        Ok(estimate_gas(&*state, &env, req))
    }

    fn proof(
        &self,
        number: u64,
        address: Address,
        keys: Vec<JsonStorageKey>,
    ) -> Result<EIP1186AccountProofResponse, RpcError> {
        let slots: Vec<B256> = keys.iter().map(|k| k.as_b256()).collect();
        let latest = self.node.chain.head().number;
        let window = self.node.config.rpc.proof_window;
        if latest.saturating_sub(number) > window {
            return Err(RpcError::Rejected(format!(
                "proofs are served for the latest {window} blocks below the latest ({latest}); \
                 block {number} is older (--rpc-proof-window)"
            )));
        }
        let proof = self
            .node
            .chain
            .account_proof(address, &slots, number)
            .map_err(|e| history_pruned(&e).unwrap_or_else(|| internal(e)))?;
        Ok(EIP1186AccountProofResponse {
            address,
            balance: proof.account.balance,
            code_hash: proof.account.code_hash,
            nonce: proof.account.nonce,
            storage_hash: proof.account.storage_root,
            account_proof: proof.proof,
            storage_proof: keys
                .into_iter()
                .zip(proof.storage)
                .map(|(key, (_, value, proof))| EIP1186StorageProof { key, value, proof })
                .collect(),
        })
    }

    fn create_access_list(
        &self,
        number: u64,
        req: &CallRequest,
    ) -> Result<Result<(AccessList, CallOutcome), CallError>, RpcError> {
        let env = self.call_env(number)?;
        let state = self.node.chain.state_at(number);
        Ok(create_access_list(&*state, &env, req))
    }

    fn trace_call(
        &self,
        number: u64,
        req: &CallRequest,
        opts: GethDebugTracingOptions,
    ) -> Result<Result<GethTrace, CallError>, RpcError> {
        let env = self.call_env(number)?;
        let state = self.node.chain.state_at(number);
        Ok(lattice_evm::trace::trace_call(
            &*state,
            &env,
            req,
            opts,
            self.node.config.rpc.trace_max_steps,
        ))
    }

    fn trace_transaction(
        &self,
        hash: B256,
        opts: GethDebugTracingOptions,
    ) -> Result<Option<GethTrace>, RpcError> {
        let rpc = &self.node.config.rpc;
        let limits = lattice_evm::Limits::timeout(rpc.evm_timeout);
        let traced = self.node.chain.trace_transaction(hash, opts, limits, rpc.trace_max_steps);
        let traced = traced.map_err(|e| {
            if let Some(pruned) = history_pruned(&e) {
                return pruned;
            }
            let text = e.to_string();
            match lattice_evm::budget::aborted_by(&text) {
                Some(why) => RpcError::Rejected(format!("execution aborted: {why}")),
                None => internal(text),
            }
        })?;
        match traced {
            None => Ok(None),
            Some(Ok(trace)) => Ok(Some(trace)),
            Some(Err(bad_options)) => Err(RpcError::InvalidParams(bad_options)),
        }
    }

    fn send_transaction(&self, tx: TxEnvelope) -> Result<B256, RpcError> {
        self.node.submit_transaction(tx)
    }

    fn send_transactions(&self, txs: Vec<TxEnvelope>) -> Vec<Result<B256, RpcError>> {
        self.node.submit_transactions(txs)
    }

    fn transaction(&self, hash: B256) -> Result<Option<TxView>, RpcError> {
        let chain = &self.node.chain;
        if let Some(loc) = chain.tx_location(hash).map_err(internal)? {
            if let (Some(number), Some(tx)) = (
                chain.number_of(loc.block).map_err(internal)?,
                chain.carried_tx(loc.carrier, loc.carrier_index).map_err(internal)?,
            ) {
                let base_fee = chain
                    .header(loc.block)
                    .map_err(internal)?
                    .map(|h| h.base_fee)
                    .unwrap_or_default();
                let sender = tx.recover_signer().map_err(internal)?;
                return Ok(Some(TxView {
                    tx,
                    sender,
                    executed: Some((loc.block, number, loc.index, base_fee)),
                    carrier: Some(loc.carrier),
                }));
            }
        }
        if let Some(loc) = chain.carried_location(hash).map_err(internal)? {
            if let Some(tx) = chain.carried_tx(loc.carrier, loc.carrier_index).map_err(internal)? {
                let sender = tx.recover_signer().map_err(internal)?;
                return Ok(Some(TxView { tx, sender, executed: None, carrier: Some(loc.carrier) }));
            }
        }
        Ok(self.node.pool.get(&hash).map(|p| TxView {
            tx: p.tx.clone(),
            sender: p.sender,
            executed: None,
            carrier: None,
        }))
    }

    fn receipt(&self, hash: B256) -> Result<Option<ReceiptView>, RpcError> {
        let chain = &self.node.chain;
        let Some(loc) = chain.tx_location(hash).map_err(internal)? else { return Ok(None) };
        let Some(number) = chain.number_of(loc.block).map_err(internal)? else { return Ok(None) };
        let receipts = chain.receipts(loc.block).map_err(internal)?;
        let Some(receipt) = receipts.get(loc.index as usize).cloned() else { return Ok(None) };
        let tx = chain
            .carried_tx(loc.carrier, loc.carrier_index)
            .map_err(internal)?
            .ok_or_else(|| internal("executed transaction missing from its carrier"))?;
        let timestamp = chain
            .header(loc.block)
            .map_err(internal)?
            .map(|h| h.timestamp_secs())
            .unwrap_or_default();
        let first_log_index =
            receipts[..loc.index as usize].iter().map(|r| r.logs.len() as u64).sum();
        Ok(Some(ReceiptView {
            receipt,
            tx,
            block_hash: loc.block,
            block_number: number,
            block_timestamp: timestamp,
            index: loc.index,
            first_log_index,
        }))
    }

    fn next_base_fee(&self) -> Result<u64, RpcError> {
        Ok(self.node.chain.next_base_fee())
    }

    fn suggested_tip(&self) -> u128 {
        SUGGESTED_TIP
    }

    fn accounts(&self) -> Vec<Address> {
        self.node.config.dev_accounts.iter().map(|s| s.address()).collect()
    }

    fn sign_hash(&self, from: Address, hash: B256) -> Result<Signature, RpcError> {
        use alloy_signer::SignerSync;
        let accounts = &self.node.config.dev_accounts;
        if accounts.is_empty() {
            return Err(RpcError::Rejected(
                "no accounts are unlocked: this node signs only with --dev; sign the transaction \
                 yourself and send it with eth_sendRawTransaction"
                    .into(),
            ));
        }
        let signer = accounts
            .iter()
            .find(|s| s.address() == from)
            .ok_or_else(|| RpcError::Rejected(format!("unknown account {from}")))?;
        signer.sign_hash_sync(&hash).map_err(internal)
    }

    fn txpool_status(&self) -> (usize, usize) {
        let status = self.node.pool.status();
        (status.pending, status.queued)
    }

    fn txpool_content(&self) -> (PoolGroups, PoolGroups) {
        let (pending, queued) = self.node.pool.content();
        let view = |groups: std::collections::BTreeMap<
            Address,
            Vec<Arc<lattice_txpool::PooledTx>>,
        >| {
            groups
                .into_iter()
                .map(|(sender, txs)| {
                    let txs = txs
                        .into_iter()
                        .map(|p| TxView { tx: p.tx.clone(), sender, executed: None, carrier: None })
                        .collect();
                    (sender, txs)
                })
                .collect()
        };
        (view(pending), view(queued))
    }

    fn node_info(&self) -> Result<serde_json::Value, RpcError> {
        let chain = &self.node.chain;
        let head = chain.head();
        let network = self.node.network.get();
        Ok(serde_json::json!({
            "peerId": network.map(|n| n.peer_id().to_string()),
            "listenAddrs": network.map(|n| n.listen_addrs().iter().map(|a| a.to_string()).collect::<Vec<_>>()).unwrap_or_default(),
            "chainId": chain.spec().chain_id,
            "genesis": chain.genesis(),
            "sink": head.hash,
            "height": head.number,
            "tips": chain.tips(),
            "network": network.is_some(),
        }))
    }

    fn peers(&self) -> Result<serde_json::Value, RpcError> {
        let peers = self.node.network.get().map(|n| n.peers()).unwrap_or_default();
        Ok(serde_json::Value::Array(
            peers
                .into_iter()
                .map(|p| {
                    serde_json::json!({
                        "peerId": p.peer_id.to_string(),
                        "address": p.addr.to_string(),
                        "outbound": p.outbound,
                        "height": p.status.as_ref().map(|s| s.height),
                        "sink": p.status.as_ref().map(|s| s.sink),
                    })
                })
                .collect(),
        ))
    }

    fn ipfs_pins(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<Option<serde_json::Value>, RpcError> {
        let Some(pinning) = self.node.pinning.get() else { return Ok(None) };
        let total = pinning.summary(&self.node).map_err(internal)?.records;
        let entries = pinning.entries(&self.node, offset, limit).map_err(internal)?;
        Ok(Some(serde_json::json!({"total": total, "offset": offset, "entries": entries})))
    }

    fn ipfs_pinning_summary(&self) -> Result<Option<serde_json::Value>, RpcError> {
        let Some(pinning) = self.node.pinning.get() else { return Ok(None) };
        let summary = pinning.summary(&self.node).map_err(internal)?;
        let mut value = serde_json::to_value(summary).map_err(internal)?;
        value["configured"] = serde_json::Value::Bool(true);
        Ok(Some(value))
    }

    fn ipfs_status(&self) -> Option<serde_json::Value> {
        let status = self.node.ipfs.get()?.status();
        serde_json::to_value(status).ok()
    }

    fn syncing(&self) -> Option<(u64, u64, u64)> {
        let state = self.node.network.get()?.sync_state();
        state.syncing.then_some((state.starting_block, state.current_block, state.highest_block))
    }

    fn log_candidates(
        &self,
        from: u64,
        to: u64,
        addresses: &[Address],
        topics: &[Vec<B256>],
    ) -> Result<Vec<u64>, RpcError> {
        let query = LogQuery { addresses, topics };
        self.node.chain.log_candidates(from, to, &query).map_err(internal)
    }

    fn block_logs(&self, number: u64) -> Result<Option<BlockLogs>, RpcError> {
        let chain = &self.node.chain;
        let Some(hash) = chain.hash_at(number).map_err(internal)? else { return Ok(None) };
        let Some(header) = chain.header(hash).map_err(internal)? else { return Ok(None) };
        let receipts = chain.receipts(hash).map_err(internal)?;
        Ok(Some(BlockLogs { number, hash, timestamp: header.timestamp_secs(), receipts }))
    }

    fn assemble(&self, block: &EventBlock) -> Result<ChainBlock, RpcError> {
        assemble_chain_block(
            &self.node.chain,
            block.hash,
            block.number,
            block.header.clone(),
            block.receipts.clone(),
            &block.entries,
        )
    }

    fn chain_events(&self) -> broadcast::Receiver<Arc<ChainEvent>> {
        self.node.chain_events.subscribe()
    }

    fn chain_event_seq(&self) -> u64 {
        self.node.chain_event_seq.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn pending_transactions(&self) -> broadcast::Receiver<Arc<TxView>> {
        self.node.pending_txs.subscribe()
    }

    fn dag_tips(&self) -> Result<Vec<B256>, RpcError> {
        Ok(self.node.chain.tips())
    }

    fn dag_block(&self, hash: B256) -> Result<Option<DagBlockView>, RpcError> {
        let chain = &self.node.chain;
        let Some(block) = chain.block(hash).map_err(internal)? else { return Ok(None) };
        let gd = chain.ghostdag(hash).map_err(internal)?;
        let chain_number = chain.number_of(hash).map_err(internal)?;
        let acceptance = match chain_number {
            Some(_) => Some(
                chain
                    .acceptance(hash)
                    .map_err(internal)?
                    .into_iter()
                    .map(|e| AcceptanceView {
                        tx_hash: e.tx_hash,
                        carrier: e.carrier,
                        status: if e.skip == 0 { "executed" } else { "skipped" },
                        reason: e.skip_reason().map(|r| r.as_str()),
                    })
                    .collect(),
            ),
            None => None,
        };
        Ok(Some(DagBlockView {
            hash,
            selected_parent: gd.as_ref().map(|g| g.selected_parent).unwrap_or_default(),
            mergeset_blues: gd.as_ref().map(|g| g.mergeset_blues.clone()).unwrap_or_default(),
            mergeset_reds: gd.as_ref().map(|g| g.mergeset_reds.clone()).unwrap_or_default(),
            chain_number,
            disqualified: chain.is_disqualified(hash),
            transactions: block.transactions.iter().map(|t| *t.tx_hash()).collect(),
            header: block.header.header,
            acceptance,
        }))
    }
}

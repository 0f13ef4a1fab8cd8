//! What the RPC server needs from the node.

use crate::error::RpcError;
use alloy_consensus::TxEnvelope;
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, Bytes, B256, U256};
use lattice_evm::trace::{GethDebugTracingOptions, GethTrace};
use lattice_evm::{CallError, CallOutcome, CallRequest};
use lattice_primitives::{AcceptanceEntry, Header, StoredReceipt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// A transaction a chain block executed.
#[derive(Clone, Debug)]
pub struct AcceptedTx {
    /// The transaction.
    pub tx: TxEnvelope,
    /// Its sender.
    pub sender: Address,
}

/// A block of the Ethereum view: the `number`-th block of the selected chain with what it
/// accepted.
#[derive(Clone, Debug)]
pub struct ChainBlock {
    /// Position on the selected chain.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Selected parent (zero for genesis).
    pub parent_hash: B256,
    /// The DAG header.
    pub header: Header,
    /// Acceptance capacity: the sum of the gas limits of the mergeset's blocks.
    pub capacity: u64,
    /// Executed transactions, in order.
    pub transactions: Vec<AcceptedTx>,
    /// Their receipts.
    pub receipts: Vec<StoredReceipt>,
    /// Blue blocks of the mergeset (selected parent first).
    pub mergeset_blues: Vec<B256>,
    /// Red blocks of the mergeset.
    pub mergeset_reds: Vec<B256>,
    /// Encoded size of the block in bytes.
    pub size: u64,
}

/// The receipts of one chain block, as log queries need them.
#[derive(Clone, Debug)]
pub struct BlockLogs {
    /// Chain position.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Timestamp in seconds.
    pub timestamp: u64,
    /// Receipts of the transactions it executed, in order.
    pub receipts: Vec<StoredReceipt>,
}

/// A chain block as a [`ChainEvent`] carries it: what the node has in hand when the chain
/// moves, so publishing costs no reads. [`NodeApi::assemble`] makes the Ethereum view of it for
/// the subscribers that need one.
#[derive(Clone, Debug)]
pub struct EventBlock {
    /// Chain position.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// The DAG header.
    pub header: Header,
    /// Receipts of the transactions it executed.
    pub receipts: Vec<StoredReceipt>,
    /// Every transaction of its mergeset and its outcome.
    pub entries: Vec<AcceptanceEntry>,
}

/// How the selected chain moved: what subscriptions and filters report.
#[derive(Clone, Debug, Default)]
pub struct ChainEvent {
    /// Number of this event, 1, 2, ... in the order the node sent them (see
    /// [`NodeApi::chain_event_seq`]).
    pub seq: u64,
    /// Chain blocks a reorg rolled back, newest first (their logs are re-sent with
    /// `removed: true`).
    pub removed: Vec<EventBlock>,
    /// Chain blocks applied, oldest first.
    pub added: Vec<EventBlock>,
}

/// Pooled transactions by sender, in nonce order.
pub type PoolGroups = std::collections::BTreeMap<Address, Vec<TxView>>;

/// An account at some block.
#[derive(Clone, Debug, Default)]
pub struct AccountView {
    /// Balance.
    pub balance: U256,
    /// Nonce.
    pub nonce: u64,
    /// Code.
    pub code: Bytes,
}

/// A transaction known to the node and where it stands.
#[derive(Clone, Debug)]
pub struct TxView {
    /// The transaction.
    pub tx: TxEnvelope,
    /// Sender.
    pub sender: Address,
    /// (accepting block hash, number, index, base fee) once executed.
    pub executed: Option<(B256, u64, u64, u64)>,
    /// The block that carried it, if any.
    pub carrier: Option<B256>,
}

impl ChainBlock {
    /// The receipts of every transaction the block executed, in order, each with its place
    /// (one pass: a block's receipts are not looked up one transaction at a time).
    pub fn into_receipt_views(self) -> Vec<ReceiptView> {
        let (hash, number, timestamp) = (self.hash, self.number, self.header.timestamp_secs());
        let mut first_log_index = 0u64;
        self.transactions
            .into_iter()
            .zip(self.receipts)
            .enumerate()
            .map(|(index, (t, receipt))| {
                let logs = receipt.logs.len() as u64;
                let view = ReceiptView {
                    receipt,
                    tx: t.tx,
                    block_hash: hash,
                    block_number: number,
                    block_timestamp: timestamp,
                    index: index as u64,
                    first_log_index,
                };
                first_log_index += logs;
                view
            })
            .collect()
    }
}

/// A receipt with its place in the Ethereum view.
#[derive(Clone, Debug)]
pub struct ReceiptView {
    /// Stored receipt.
    pub receipt: StoredReceipt,
    /// The transaction.
    pub tx: TxEnvelope,
    /// Accepting block hash.
    pub block_hash: B256,
    /// Accepting block number.
    pub block_number: u64,
    /// Accepting block timestamp (seconds).
    pub block_timestamp: u64,
    /// Index in the accepted list.
    pub index: u64,
    /// Index of its first log within the block.
    pub first_log_index: u64,
}

/// The node as the RPC server sees it. Block numbers are selected-chain positions.
pub trait NodeApi: Send + Sync + 'static {
    /// EIP-155 chain id.
    fn chain_id(&self) -> u64;
    /// Connected peers.
    fn peer_count(&self) -> usize;
    /// Number of the sink (`latest`).
    fn latest_number(&self) -> Result<u64, RpcError>;
    /// Number of the newest final chain block (`safe`, `finalized`).
    fn finalized_number(&self) -> Result<u64, RpcError>;
    /// Chain position of a block hash, `None` if the block is not on the selected chain.
    fn number_of(&self, hash: B256) -> Result<Option<u64>, RpcError>;
    /// The chain block at `number`.
    fn chain_block(&self, number: u64) -> Result<Option<ChainBlock>, RpcError>;
    /// Account at chain block `number`.
    fn account(&self, number: u64, address: Address) -> Result<AccountView, RpcError>;
    /// Storage slot at chain block `number`.
    fn storage(&self, number: u64, address: Address, slot: B256) -> Result<U256, RpcError>;
    /// Next nonce counting pooled and sealed-but-not-accepted transactions.
    fn pending_nonce(&self, address: Address) -> Result<u64, RpcError>;
    /// Executes a call on top of chain block `number`.
    fn call(
        &self,
        number: u64,
        req: &CallRequest,
    ) -> Result<Result<CallOutcome, CallError>, RpcError>;
    /// Estimates gas on top of chain block `number`.
    fn estimate_gas(
        &self,
        number: u64,
        req: &CallRequest,
    ) -> Result<Result<Result<u64, CallOutcome>, CallError>, RpcError>;
    /// `eth_getProof`: the account and storage proofs of `address` at chain block `number`.
    fn proof(
        &self,
        number: u64,
        address: Address,
        keys: Vec<alloy_serde::storage::JsonStorageKey>,
    ) -> Result<alloy_rpc_types_eth::EIP1186AccountProofResponse, RpcError>;
    /// `eth_createAccessList` on top of chain block `number`: the list and the outcome with it.
    fn create_access_list(
        &self,
        number: u64,
        req: &CallRequest,
    ) -> Result<Result<(AccessList, CallOutcome), CallError>, RpcError>;
    /// `debug_traceCall` on top of chain block `number`.
    fn trace_call(
        &self,
        number: u64,
        req: &CallRequest,
        opts: GethDebugTracingOptions,
    ) -> Result<Result<GethTrace, CallError>, RpcError>;
    /// `debug_traceTransaction`: `None` when the transaction did not execute on the selected
    /// chain.
    fn trace_transaction(
        &self,
        hash: B256,
        opts: GethDebugTracingOptions,
    ) -> Result<Option<GethTrace>, RpcError>;
    /// Validates, pools and announces a signed transaction.
    fn send_transaction(&self, tx: TxEnvelope) -> Result<B256, RpcError>;
    /// [`NodeApi::send_transaction`] for each of a batch, in order (a node may validate
    /// them together).
    fn send_transactions(&self, txs: Vec<TxEnvelope>) -> Vec<Result<B256, RpcError>> {
        txs.into_iter().map(|tx| self.send_transaction(tx)).collect()
    }
    /// A transaction by hash (pooled, carried or executed).
    fn transaction(&self, hash: B256) -> Result<Option<TxView>, RpcError>;
    /// The receipt of an executed transaction.
    fn receipt(&self, hash: B256) -> Result<Option<ReceiptView>, RpcError>;
    /// Base fee the next chain block will apply.
    fn next_base_fee(&self) -> Result<u64, RpcError>;
    /// Suggested priority fee.
    fn suggested_tip(&self) -> u128;
    /// Accounts the node can sign for (`--dev` only).
    fn accounts(&self) -> Vec<Address>;
    /// Signs `hash` with the unlocked account `from`; an error that says so when the node has
    /// no such account.
    fn sign_hash(&self, from: Address, hash: B256)
        -> Result<alloy_primitives::Signature, RpcError>;
    /// The pool: (pending, queued) transactions by sender.
    fn txpool_content(&self) -> (PoolGroups, PoolGroups);
    /// Numbers of pending and queued pool transactions.
    fn txpool_status(&self) -> (usize, usize);
    /// `admin_nodeInfo`: peer id, listen addresses, chain id, tips.
    fn node_info(&self) -> Result<serde_json::Value, RpcError>;
    /// `admin_peers`: connected peers.
    fn peers(&self) -> Result<serde_json::Value, RpcError>;
    /// `eth_syncing`: `None` when not catching up, else (starting, current, highest) block.
    fn syncing(&self) -> Option<(u64, u64, u64)>;
    /// What the node knows about its Kubo (`lattice_ipfsStatus`); `None` when no Kubo is
    /// configured (`--ipfs-api`).
    fn ipfs_status(&self) -> Option<serde_json::Value> {
        None
    }
    /// The pinning service's records `offset..offset + limit` and how many there are
    /// (`lattice_pins`); `None` when the service is not configured (`--ipfs-incentives`).
    fn ipfs_pins(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<Option<serde_json::Value>, RpcError> {
        let _ = (offset, limit);
        Ok(None)
    }
    /// The pinning service's counts (`lattice_pinningSummary`); `None` when not configured.
    fn ipfs_pinning_summary(&self) -> Result<Option<serde_json::Value>, RpcError> {
        Ok(None)
    }
    /// Chain numbers in `from..=to` whose logs may match `addresses` (empty = any) and the
    /// topic positions `topics` (an empty position = any), from the log index; ascending.
    fn log_candidates(
        &self,
        from: u64,
        to: u64,
        addresses: &[Address],
        topics: &[Vec<B256>],
    ) -> Result<Vec<u64>, RpcError>;
    /// The receipts of chain block `number`.
    fn block_logs(&self, number: u64) -> Result<Option<BlockLogs>, RpcError>;
    /// The Ethereum view of a block of a [`ChainEvent`] (also one a reorg has just rolled back,
    /// whose receipts are no longer stored).
    fn assemble(&self, block: &EventBlock) -> Result<ChainBlock, RpcError>;
    /// Changes of the selected chain from now on.
    fn chain_events(&self) -> broadcast::Receiver<Arc<ChainEvent>>;
    /// Number of the last chain event sent (0 before the first). A filter installed now reports
    /// the events numbered above it, even those still on their way to the filters' feed.
    fn chain_event_seq(&self) -> u64 {
        0
    }
    /// Transactions entering the pool from now on.
    fn pending_transactions(&self) -> broadcast::Receiver<Arc<TxView>>;
    /// Tips of the DAG.
    fn dag_tips(&self) -> Result<Vec<B256>, RpcError>;
    /// A block of the DAG.
    fn dag_block(&self, hash: B256) -> Result<Option<DagBlockView>, RpcError>;
}

/// One carried transaction and what its accepting chain block did with it.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptanceView {
    /// Transaction hash.
    pub tx_hash: B256,
    /// The block that carried it.
    pub carrier: B256,
    /// `executed` or `skipped`.
    pub status: &'static str,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// A block of the DAG as `dag_getBlock` reports it.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DagBlockView {
    /// Block hash.
    pub hash: B256,
    /// The header.
    pub header: Header,
    /// GHOSTDAG selected parent (zero for genesis).
    pub selected_parent: B256,
    /// Blue blocks of its mergeset, selected parent first.
    pub mergeset_blues: Vec<B256>,
    /// Red blocks of its mergeset.
    pub mergeset_reds: Vec<B256>,
    /// Its position on the virtual's selected chain, if it is a chain block.
    pub chain_number: Option<u64>,
    /// Whether its commitments were found wrong.
    pub disqualified: bool,
    /// Hashes of the transactions it carries.
    pub transactions: Vec<B256>,
    /// For a chain block: every transaction of its mergeset, executed or skipped with the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<Vec<AcceptanceView>>,
}

/// One block of the virtual's selected chain.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainEntry {
    /// Chain position.
    #[serde(with = "alloy_serde::quantity")]
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Blue score.
    #[serde(with = "alloy_serde::quantity")]
    pub blue_score: u64,
    /// Number of blocks in its mergeset.
    pub mergeset_size: usize,
}

/// Observes RPC calls (the node feeds Prometheus with it).
pub trait RpcMetrics: Send + Sync + 'static {
    /// One call of `method` took `elapsed`; `ok` tells whether it returned a result.
    fn on_call(&self, method: &str, elapsed: Duration, ok: bool);
    /// A request was refused at the limit named `limit`.
    fn on_limit(&self, limit: &'static str) {
        let _ = limit;
    }
}

//! Execution of the DAG's accepted transactions in revm, over Lattice state in RocksDB.
//!
//! - [`state`]: read access to the current or a historical state ([`StateReader`]).
//! - [`overlay`]: revm's `Database` over a reader, recording every change ([`StateChanges`]).
//! - [`accept`]: acceptance of a chain block's mergeset: the skip rules, fees, rewards, receipts.
//! - [`commit`]: the Merkle-Patricia state root of a set of changes and their write into a batch
//!   with change sets and history.
//! - [`call`]: `eth_call` / `eth_estimateGas` style execution that commits nothing.
//! - [`trace`]: `debug_traceTransaction` / `debug_traceCall` through geth's tracers.
//! - [`trie`]: an in-memory, copy-on-write Merkle-Patricia trie that caches node hashes, so a
//!   block's root costs O(changes), not O(state).
//! - [`tries`]: the committed state's tries kept between blocks: the account trie and a
//!   bounded cache of storage tries ([`StateTries`]).
//!
//! This crate decides *how* transactions execute; which blocks are accepted in which order is
//! the consensus crate's business, and when things are written is the node's.

pub mod accept;
pub mod budget;
pub mod call;
pub mod commit;
mod error;
pub mod overlay;
pub mod state;
pub mod trace;
pub mod trie;
pub mod tries;
mod tx;

pub use accept::{accept_mergeset, AcceptEnv, AcceptanceOutcome, MergedBlock};
pub use budget::{Budget, Limits};
pub use call::{
    call, create_access_list, estimate_gas, CallEnv, CallError, CallOutcome, CallRequest,
};
pub use commit::{genesis_state, rebuild_state_root, PreparedState};
pub use error::EvmError;
pub use overlay::{Overlay, StateChanges};
pub use state::{HistoricalState, LatestState, StateReader};
pub use tries::{StateTries, StorageCacheStats, DEFAULT_STORAGE_CACHE_SLOTS};
pub use tx::{tx_env, SPEC};

/// Receipt-level helpers shared by the node and RPC.
pub mod receipt {
    use alloy_consensus::{Eip658Value, Receipt, ReceiptEnvelope, ReceiptWithBloom, TxType};
    use alloy_primitives::{Bloom, Log};
    use lattice_primitives::StoredReceipt;

    /// Bloom of a set of logs.
    pub fn logs_bloom<'a>(logs: impl IntoIterator<Item = &'a Log>) -> Bloom {
        let mut bloom = Bloom::ZERO;
        for log in logs {
            bloom.accrue_log(log);
        }
        bloom
    }

    /// The consensus (EIP-2718) receipt of a stored receipt.
    pub fn envelope(r: &StoredReceipt) -> ReceiptEnvelope {
        let receipt = Receipt {
            status: Eip658Value::Eip658(r.success),
            cumulative_gas_used: r.cumulative_gas_used,
            logs: r.logs.clone(),
        };
        let with_bloom = ReceiptWithBloom::new(receipt, logs_bloom(&r.logs));
        match TxType::try_from(r.tx_type).unwrap_or(TxType::Legacy) {
            TxType::Legacy => ReceiptEnvelope::Legacy(with_bloom),
            TxType::Eip2930 => ReceiptEnvelope::Eip2930(with_bloom),
            TxType::Eip1559 => ReceiptEnvelope::Eip1559(with_bloom),
            TxType::Eip4844 => ReceiptEnvelope::Eip4844(with_bloom),
            TxType::Eip7702 => ReceiptEnvelope::Eip7702(with_bloom),
        }
    }

    /// Receipts root of an ordered list of receipts.
    pub fn receipts_root(receipts: &[StoredReceipt]) -> alloy_primitives::B256 {
        let envelopes: Vec<ReceiptEnvelope> = receipts.iter().map(envelope).collect();
        alloy_consensus::proofs::calculate_receipt_root(&envelopes)
    }
}

//! Conversion of the node's data into alloy's RPC types, with Lattice's extra fields.

use crate::api::{ChainBlock, ReceiptView, TxView};
use alloy_consensus::transaction::Recovered;
use alloy_consensus::{Eip658Value, Receipt, ReceiptEnvelope, ReceiptWithBloom, TxType};
use alloy_consensus::{Transaction as _, TxEnvelope, EMPTY_OMMER_ROOT_HASH};
use alloy_primitives::{Bloom, B256, B64, U256};
use alloy_rpc_types_eth::{Block, BlockTransactions, Header, Log, Transaction, TransactionReceipt};
use alloy_serde::{OtherFields, WithOtherFields};
use lattice_evm::receipt::logs_bloom;
use serde_json::json;

/// An RPC block with Lattice's extra fields.
pub type RpcBlock = WithOtherFields<Block<WithOtherFields<Transaction>>>;
/// An RPC transaction with `carrierBlockHash`.
pub type RpcTransaction = WithOtherFields<Transaction>;
/// An RPC receipt with `carrierBlockHash`.
pub type RpcReceipt = WithOtherFields<TransactionReceipt>;

fn carrier_field(carrier: Option<B256>) -> OtherFields {
    let mut other = OtherFields::default();
    other.insert("carrierBlockHash".to_string(), json!(carrier));
    other
}

/// The Ethereum view of a chain block.
pub fn block(b: &ChainBlock, full: bool) -> RpcBlock {
    let envelopes: Vec<TxEnvelope> = b.transactions.iter().map(|t| t.tx.clone()).collect();
    let inner = alloy_consensus::Header {
        parent_hash: b.parent_hash,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: b.header.coinbase,
        state_root: b.header.state_root,
        transactions_root: alloy_consensus::proofs::calculate_transaction_root(&envelopes),
        receipts_root: b.header.receipts_root,
        logs_bloom: b.header.logs_bloom,
        difficulty: U256::ZERO,
        number: b.number,
        gas_limit: b.capacity,
        gas_used: b.header.gas_used,
        timestamp: b.header.timestamp_secs(),
        extra_data: b.header.extra_data.clone(),
        mix_hash: b.parent_hash,
        nonce: B64::ZERO,
        base_fee_per_gas: Some(b.header.base_fee),
        withdrawals_root: None,
        blob_gas_used: None,
        excess_blob_gas: None,
        parent_beacon_block_root: None,
        requests_hash: None,
        block_access_list_hash: None,
        slot_number: None,
    };
    let header = Header {
        hash: b.hash,
        inner,
        total_difficulty: Some(U256::ZERO),
        size: Some(U256::from(b.size)),
    };
    let transactions = if full {
        BlockTransactions::Full(
            (0..b.transactions.len()).filter_map(|i| block_transaction(b, i)).collect(),
        )
    } else {
        BlockTransactions::Hashes(b.transactions.iter().map(|t| *t.tx.tx_hash()).collect())
    };
    let mut other = OtherFields::default();
    other.insert("blueScore".into(), json!(format!("0x{:x}", b.header.blue_score)));
    other.insert("blueWork".into(), json!(format!("0x{:x}", b.header.blue_work)));
    other.insert("parents".into(), json!(b.header.parents));
    other.insert("mergesetBlues".into(), json!(b.mergeset_blues));
    other.insert("mergesetReds".into(), json!(b.mergeset_reds));
    WithOtherFields {
        inner: Block { header, uncles: vec![], transactions, withdrawals: None },
        other,
    }
}

/// The header of a chain block as `newHeads` sends it: the block without its transaction and
/// uncle lists, with Lattice's extra fields.
pub fn header_json(b: &ChainBlock) -> serde_json::Value {
    let mut value = serde_json::to_value(block(b, false)).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("transactions");
        object.remove("uncles");
    }
    value
}

/// The `index`-th transaction a chain block executed.
pub fn block_transaction(b: &ChainBlock, index: usize) -> Option<RpcTransaction> {
    let (t, r) = (b.transactions.get(index)?, b.receipts.get(index)?);
    Some(transaction(&TxView {
        tx: t.tx.clone(),
        sender: t.sender,
        executed: Some((b.hash, b.number, index as u64, b.header.base_fee)),
        carrier: Some(r.carrier),
    }))
}

/// An RPC transaction.
pub fn transaction(t: &TxView) -> RpcTransaction {
    let (block_hash, block_number, index, price) = match t.executed {
        Some((hash, number, index, base_fee)) => {
            (Some(hash), Some(number), Some(index), Some(t.tx.effective_gas_price(Some(base_fee))))
        }
        None => (None, None, None, None),
    };
    WithOtherFields {
        inner: Transaction {
            inner: Recovered::new_unchecked(t.tx.clone(), t.sender),
            block_hash,
            block_number,
            transaction_index: index,
            effective_gas_price: price,
            block_timestamp: None,
        },
        other: carrier_field(t.carrier),
    }
}

/// An RPC receipt.
pub fn receipt(v: &ReceiptView) -> RpcReceipt {
    let r = &v.receipt;
    let logs: Vec<Log> = r
        .logs
        .iter()
        .enumerate()
        .map(|(i, log)| Log {
            inner: log.clone(),
            block_hash: Some(v.block_hash),
            block_number: Some(v.block_number),
            block_timestamp: Some(v.block_timestamp),
            transaction_hash: Some(r.tx_hash),
            transaction_index: Some(v.index),
            log_index: Some(v.first_log_index + i as u64),
            removed: false,
        })
        .collect();
    let bloom: Bloom = logs_bloom(&r.logs);
    let with_bloom = ReceiptWithBloom::new(
        Receipt {
            status: Eip658Value::Eip658(r.success),
            cumulative_gas_used: r.cumulative_gas_used,
            logs,
        },
        bloom,
    );
    let inner = match TxType::try_from(r.tx_type).unwrap_or(TxType::Legacy) {
        TxType::Legacy => ReceiptEnvelope::Legacy(with_bloom),
        TxType::Eip2930 => ReceiptEnvelope::Eip2930(with_bloom),
        TxType::Eip1559 => ReceiptEnvelope::Eip1559(with_bloom),
        TxType::Eip4844 => ReceiptEnvelope::Eip4844(with_bloom),
        TxType::Eip7702 => ReceiptEnvelope::Eip7702(with_bloom),
    };
    WithOtherFields {
        inner: TransactionReceipt {
            inner,
            transaction_hash: r.tx_hash,
            transaction_index: Some(v.index),
            block_hash: Some(v.block_hash),
            block_number: Some(v.block_number),
            gas_used: r.gas_used,
            effective_gas_price: r.effective_gas_price,
            blob_gas_used: None,
            blob_gas_price: None,
            from: r.from,
            to: v.tx.to(),
            contract_address: r.created(),
        },
        other: carrier_field(Some(r.carrier)),
    }
}

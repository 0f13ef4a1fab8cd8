//! Conversion of alloy transactions into revm's transaction environment.

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_primitives::Address;
use revm::context::TxEnv;
use revm::context_interface::either::Either;
use revm::primitives::hardfork::SpecId;

/// The hardfork Lattice executes: the latest revm supports.
pub const SPEC: SpecId = SpecId::OSAKA;

/// The revm transaction environment of `tx` sent by `sender`.
pub fn tx_env(tx: &TxEnvelope, sender: Address) -> TxEnv {
    let (gas_price, gas_priority_fee) = if tx.is_dynamic_fee() {
        (tx.max_fee_per_gas(), tx.max_priority_fee_per_gas())
    } else {
        (tx.gas_price().unwrap_or_default(), None)
    };
    TxEnv {
        tx_type: tx.tx_type() as u8,
        caller: sender,
        gas_limit: tx.gas_limit(),
        gas_price,
        kind: tx.kind(),
        value: tx.value(),
        data: tx.input().clone(),
        nonce: tx.nonce(),
        chain_id: tx.chain_id(),
        access_list: tx.access_list().cloned().unwrap_or_default(),
        gas_priority_fee,
        blob_hashes: tx.blob_versioned_hashes().map(|h| h.to_vec()).unwrap_or_default(),
        max_fee_per_blob_gas: tx.max_fee_per_blob_gas().unwrap_or_default(),
        authorization_list: tx
            .authorization_list()
            .map(|list| list.iter().cloned().map(Either::Left).collect())
            .unwrap_or_default(),
    }
}

//! Transaction bytes as gossip and `eth_sendRawTransaction` deliver them: decoding (one
//! canonical encoding), signature recovery and the pool's admission checks must never panic,
//! and whatever is accepted re-encodes to the same bytes.
#![no_main]

use alloy_consensus::transaction::SignerRecoverable;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::U256;
use lattice_txpool::{ChainContext, SenderState, TxPool};
use libfuzzer_sys::fuzz_target;

const CHAIN: ChainContext = ChainContext {
    chain_id: 1337,
    block_gas_limit: 30_000_000,
    tx_gas_limit_cap: 1 << 24,
    min_fee: 1,
};

fuzz_target!(|data: &[u8]| {
    let Ok(tx) = lattice_network::decode_transaction(data) else { return };
    assert_eq!(tx.encoded_2718(), data, "accepted bytes are canonical");
    let _ = lattice_primitives::max_tx_cost(&tx);
    let Ok(sender) = tx.recover_signer() else { return };
    let pool = TxPool::default();
    for balance in [U256::ZERO, U256::from(1u64) << 100, U256::MAX] {
        let _ = pool.add(tx.clone(), sender, SenderState { nonce: 0, balance, version: 0 }, &CHAIN);
    }
    let status = pool.status();
    assert!(status.pending + status.queued <= 1);
});

//! Intrinsic gas: what a transaction costs before any code runs (Osaka rules).

use alloy_consensus::{Transaction, TxEnvelope};

const TX_BASE: u64 = 21_000;
const TX_CREATE: u64 = 32_000;
const DATA_ZERO: u64 = 4;
const DATA_NONZERO: u64 = 16;
const INITCODE_WORD: u64 = 2;
const ACCESS_LIST_ADDRESS: u64 = 2_400;
const ACCESS_LIST_KEY: u64 = 1_900;
const PER_AUTHORIZATION: u64 = 25_000;
const FLOOR_PER_TOKEN: u64 = 10;

/// The gas limit `tx` needs at the least: the intrinsic cost, and no less than the EIP-7623
/// calldata floor.
pub fn intrinsic_gas(tx: &TxEnvelope) -> u64 {
    let input = tx.input();
    let zeros = input.iter().filter(|b| **b == 0).count() as u64;
    let nonzeros = input.len() as u64 - zeros;
    let mut gas = TX_BASE + zeros * DATA_ZERO + nonzeros * DATA_NONZERO;
    if tx.is_create() {
        gas += TX_CREATE + (input.len() as u64).div_ceil(32) * INITCODE_WORD;
    }
    if let Some(list) = tx.access_list() {
        for item in list.iter() {
            gas += ACCESS_LIST_ADDRESS + item.storage_keys.len() as u64 * ACCESS_LIST_KEY;
        }
    }
    if let Some(auths) = tx.authorization_list() {
        gas += auths.len() as u64 * PER_AUTHORIZATION;
    }
    let tokens = zeros + nonzeros * 4;
    gas.max(TX_BASE + tokens * FLOOR_PER_TOKEN)
}

use super::*;
use alloy_consensus::{TxEip1559, TxLegacy, TypedTransaction};
use alloy_primitives::{Bytes, TxKind};
use alloy_signer_local::PrivateKeySigner;
use lattice_primitives::sign_transaction;

const CHAIN: ChainContext = ChainContext {
    chain_id: 1337,
    block_gas_limit: 30_000_000,
    tx_gas_limit_cap: 1 << 24,
    min_fee: 1_000_000_000,
};

fn tx(signer: &PrivateKeySigner, nonce: u64, fee: u128, tip: u128) -> TxEnvelope {
    let tx = TxEip1559 {
        chain_id: 1337,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: fee,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(Address::repeat_byte(7)),
        value: U256::from(1),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    sign_transaction(signer, TypedTransaction::Eip1559(tx)).unwrap()
}

fn rich() -> SenderState {
    SenderState { nonce: 0, balance: U256::from(10).pow(U256::from(20)) }
}

const GWEI: u128 = 1_000_000_000;

#[test]
fn pending_nonce_counts_consecutive_transactions_only() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    for n in [0, 1, 3] {
        pool.add(tx(&s, n, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap();
    }
    assert_eq!(pool.pending_nonce(s.address(), 0), 2);
    let status = pool.status(|_| 0);
    assert_eq!((status.pending, status.queued), (2, 1));
}

#[test]
fn duplicate_low_nonce_and_funds_are_refused_with_geth_messages() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    let t = tx(&s, 0, 2 * GWEI, GWEI);
    pool.add(t.clone(), s.address(), rich(), &CHAIN).unwrap();
    assert_eq!(pool.add(t, s.address(), rich(), &CHAIN), Err(PoolError::AlreadyKnown));
    let err = pool.add(
        tx(&s, 0, 2 * GWEI, GWEI),
        s.address(),
        SenderState { nonce: 1, ..rich() },
        &CHAIN,
    );
    assert!(err.unwrap_err().to_string().starts_with("nonce too low"));
    let poor = SenderState { nonce: 0, balance: U256::from(1) };
    let err = pool.add(tx(&s, 1, 2 * GWEI, GWEI), s.address(), poor, &CHAIN).unwrap_err();
    assert!(err.to_string().starts_with("insufficient funds for gas * price + value"));
}

#[test]
fn replacement_needs_a_ten_percent_bump_of_both_fees() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    pool.add(tx(&s, 0, 10 * GWEI, 2 * GWEI), s.address(), rich(), &CHAIN).unwrap();
    let low = pool.add(tx(&s, 0, 10 * GWEI + 1, 2 * GWEI + 1), s.address(), rich(), &CHAIN);
    assert_eq!(low, Err(PoolError::ReplacementUnderpriced));
    let ok = pool.add(tx(&s, 0, 11 * GWEI, 22 * GWEI / 10), s.address(), rich(), &CHAIN).unwrap();
    assert_eq!(pool.len(), 1);
    assert!(pool.contains(&ok));
}

#[test]
fn wrong_chain_intrinsic_gas_and_underpriced_are_refused() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    let legacy = TxLegacy {
        chain_id: Some(1),
        nonce: 0,
        gas_price: 2 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(Address::ZERO),
        value: U256::ZERO,
        input: Bytes::new(),
    };
    let t = sign_transaction(&s, TypedTransaction::Legacy(legacy.clone())).unwrap();
    assert!(matches!(
        pool.add(t, s.address(), rich(), &CHAIN),
        Err(PoolError::WrongChainId { .. })
    ));
    let low_gas = TxLegacy { chain_id: Some(1337), gas_limit: 20_000, ..legacy.clone() };
    let t = sign_transaction(&s, TypedTransaction::Legacy(low_gas)).unwrap();
    let err = pool.add(t, s.address(), rich(), &CHAIN).unwrap_err();
    assert!(err.to_string().starts_with("intrinsic gas too low"));
    let cheap = TxLegacy { chain_id: Some(1337), gas_price: 1, ..legacy };
    let t = sign_transaction(&s, TypedTransaction::Legacy(cheap)).unwrap();
    assert!(matches!(pool.add(t, s.address(), rich(), &CHAIN), Err(PoolError::Underpriced { .. })));
}

#[test]
fn packed_transactions_are_not_offered_again_until_unpacked() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    let h0 = pool.add(tx(&s, 0, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap();
    let h1 = pool.add(tx(&s, 1, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap();
    let best = pool.best(30_000_000, GWEI as u64, |_| 0, |_| true);
    assert_eq!(best.iter().map(|t| t.hash).collect::<Vec<_>>(), vec![h0, h1]);
    pool.mark_packed(&[h0]);
    let best = pool.best(30_000_000, GWEI as u64, |_| 0, |_| true);
    assert_eq!(best.iter().map(|t| t.hash).collect::<Vec<_>>(), vec![h1]);
    assert_eq!(pool.pending_nonce(s.address(), 0), 2, "packed still counts for the pending nonce");
    assert_eq!(pool.prune_sender(s.address(), 1), vec![h0]);
    assert_eq!(pool.len(), 1);
}

#[test]
fn gas_limit_bounds_the_selection() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    for n in 0..5 {
        pool.add(tx(&s, n, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap();
    }
    assert_eq!(pool.best(21_000 * 3, GWEI as u64, |_| 0, |_| true).len(), 3);
}

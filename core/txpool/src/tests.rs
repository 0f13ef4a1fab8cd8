use super::*;
use alloy_consensus::{TxEip1559, TxLegacy, TypedTransaction};
use alloy_primitives::{Bytes, TxKind};
use alloy_signer_local::PrivateKeySigner;
use lattice_primitives::sign_transaction;
use std::time::{Duration, Instant};

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
    SenderState { nonce: 0, balance: U256::from(10).pow(U256::from(20)), version: 0 }
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
    let status = pool.status();
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
    let poor = SenderState { nonce: 0, balance: U256::from(1), version: 0 };
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
    let best = pool.best(30_000_000, GWEI as u64, |_| 0, |_| Some(0));
    assert_eq!(best.iter().map(|t| t.hash).collect::<Vec<_>>(), vec![h0, h1]);
    pool.mark_packed(&[h0]);
    let best = pool.best(30_000_000, GWEI as u64, |_| 0, |_| Some(0));
    assert_eq!(best.iter().map(|t| t.hash).collect::<Vec<_>>(), vec![h1]);
    assert_eq!(pool.pending_nonce(s.address(), 0), 2, "packed still counts for the pending nonce");
    assert_eq!(pool.prune_sender(s.address(), SenderState { nonce: 1, ..rich() }), vec![h0]);
    assert_eq!(pool.len(), 1);
}

#[test]
fn gas_limit_bounds_the_selection() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    for n in 0..5 {
        pool.add(tx(&s, n, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap();
    }
    assert_eq!(pool.best(21_000 * 3, GWEI as u64, |_| 0, |_| Some(0)).len(), 3);
}

fn tx_with(signer: &PrivateKeySigner, nonce: u64, fee: u128, value: U256) -> TxEnvelope {
    let tx = TxEip1559 {
        chain_id: 1337,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: fee,
        max_priority_fee_per_gas: GWEI,
        to: TxKind::Call(Address::repeat_byte(7)),
        value,
        access_list: Default::default(),
        input: Bytes::new(),
    };
    sign_transaction(signer, TypedTransaction::Eip1559(tx)).unwrap()
}

fn broke() -> SenderState {
    SenderState { nonce: 0, balance: U256::ZERO, version: 0 }
}

/// `gas × fee + value` that wraps to a small number must not pass for cheap: an account with
/// nothing could otherwise fill every pool and block for free.
#[test]
fn a_cost_that_overflows_is_insufficient_funds() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    let gas_cost = U256::from(21_000u64) * U256::from(2 * GWEI);
    let wrapping = U256::ZERO.wrapping_sub(gas_cost); // gas_cost + value = 2^256 = 0 (wrapped)
    let err = pool.add(tx_with(&s, 0, 2 * GWEI, wrapping), s.address(), broke(), &CHAIN);
    assert_eq!(err, Err(PoolError::CostOverflow));
    assert!(err.unwrap_err().to_string().starts_with("insufficient funds for gas * price + value"));
    let err = pool.add(tx_with(&s, 0, 2 * GWEI, U256::MAX), s.address(), rich(), &CHAIN);
    assert_eq!(err, Err(PoolError::CostOverflow));
    assert!(pool.is_empty());
}

/// A sender's executable transactions must be affordable together, not each alone.
#[test]
fn pending_transactions_must_be_jointly_affordable() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    let one = U256::from(21_000u64 * 2 * GWEI as u64) + U256::from(1);
    let state = SenderState { nonce: 0, balance: one * U256::from(2), version: 0 };
    pool.add(tx(&s, 0, 2 * GWEI, GWEI), s.address(), state, &CHAIN).unwrap();
    pool.add(tx(&s, 1, 2 * GWEI, GWEI), s.address(), state, &CHAIN).unwrap();
    let err = pool.add(tx(&s, 2, 2 * GWEI, GWEI), s.address(), state, &CHAIN).unwrap_err();
    assert!(
        matches!(err, PoolError::InsufficientFunds { spent, .. } if spent == one * U256::from(2))
    );
    assert!(err.to_string().starts_with("insufficient funds for gas * price + value"), "{err}");
    // A replacement is checked against the run without the transaction it replaces.
    let bigger = tx_with(&s, 1, 3 * GWEI, U256::from(1));
    assert!(matches!(
        pool.add(bigger, s.address(), state, &CHAIN),
        Err(PoolError::InsufficientFunds { .. })
    ));
    assert_eq!(pool.status().pending, 2);
}

/// One honest account may send a long run of consecutive nonces (what a load test does).
#[test]
fn one_sender_may_hold_a_long_executable_run() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    for n in 0..1_000 {
        pool.add(tx(&s, n, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap();
    }
    assert_eq!(pool.status().pending, 1_000);
    assert_eq!(pool.best(30_000_000, GWEI as u64, |_| 0, |_| Some(0)).len(), 1_000);
}

fn small(global_slots: usize, global_queue: usize) -> TxPool {
    TxPool::new(PoolConfig {
        global_slots,
        global_queue,
        account_slots: 2,
        account_queue: 3,
        ..PoolConfig::default()
    })
}

#[test]
fn gapped_transactions_are_limited_per_sender_with_geths_message() {
    let s = PrivateKeySigner::random();
    let pool = small(100, 100);
    for n in [5, 6, 7] {
        pool.add(tx(&s, n, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap();
    }
    let err = pool.add(tx(&s, 9, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap_err();
    assert_eq!(err, PoolError::AccountLimit { queued: 3, limit: 3 });
    assert!(err.to_string().starts_with("account limit exceeded"));
    // Executable ones are not limited per sender while the pool has room.
    for n in 0..5 {
        pool.add(tx(&s, n, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap();
    }
    assert_eq!((pool.status().pending, pool.status().queued), (8, 0), "the gap closed");
}

#[test]
fn a_full_pool_evicts_the_cheapest_for_a_better_payer_and_refuses_the_rest() {
    let pool = small(4, 2);
    let senders: Vec<_> = (0..5).map(|_| PrivateKeySigner::random()).collect();
    let fees = [5, 3, 4, 6];
    let hashes: Vec<_> = senders[..4]
        .iter()
        .zip(fees)
        .map(|(s, f)| pool.add(tx(s, 0, f * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap())
        .collect();
    let newcomer = &senders[4];
    let cheap = pool.add(tx(newcomer, 0, 3 * GWEI, GWEI), newcomer.address(), rich(), &CHAIN);
    assert_eq!(cheap, Err(PoolError::PoolUnderpriced { fee: 3 * GWEI }), "ties lose");
    assert!(cheap.unwrap_err().to_string().starts_with("transaction underpriced"));
    let better =
        pool.add(tx(newcomer, 0, 4 * GWEI, GWEI), newcomer.address(), rich(), &CHAIN).unwrap();
    assert!(pool.contains(&better));
    assert!(!pool.contains(&hashes[1]), "the cheapest (3 gwei) was evicted");
    assert_eq!(pool.status().pending, 4);
    assert_eq!(pool.counters().evicted, 1);
}

#[test]
fn at_the_same_price_senders_over_their_share_are_evicted_first() {
    let pool = small(5, 2);
    let (big, within, newcomer) =
        (PrivateKeySigner::random(), PrivateKeySigner::random(), PrivateKeySigner::random());
    // One sender holds four, over its share of two; another holds one; all pay the same.
    let held: Vec<_> = (0..4)
        .map(|n| pool.add(tx(&big, n, 5 * GWEI, GWEI), big.address(), rich(), &CHAIN).unwrap())
        .collect();
    let kept = pool.add(tx(&within, 0, 5 * GWEI, GWEI), within.address(), rich(), &CHAIN).unwrap();
    // A better payer comes in: the big sender's last goes, so its run stays gapless.
    let h = pool.add(tx(&newcomer, 0, 6 * GWEI, GWEI), newcomer.address(), rich(), &CHAIN).unwrap();
    assert!(pool.contains(&h) && pool.contains(&kept));
    assert!(!pool.contains(&held[3]));
    assert_eq!(pool.status().queued, 0);
    // The same price does not make room (geth: a newcomer must pay more).
    let late = PrivateKeySigner::random();
    let tie = pool.add(tx(&late, 0, 5 * GWEI, GWEI), late.address(), rich(), &CHAIN);
    assert_eq!(tie, Err(PoolError::PoolUnderpriced { fee: 5 * GWEI }));
}

#[test]
fn a_refused_transaction_evicts_nothing_and_gapped_ones_never_evict_executable_ones() {
    let pool = small(2, 1);
    let (a, b) = (PrivateKeySigner::random(), PrivateKeySigner::random());
    let ha = pool.add(tx(&a, 0, 2 * GWEI, GWEI), a.address(), rich(), &CHAIN).unwrap();
    let hb = pool.add(tx(&b, 0, 2 * GWEI, GWEI), b.address(), rich(), &CHAIN).unwrap();
    let gq = pool.add(tx(&b, 5, 2 * GWEI, GWEI), b.address(), rich(), &CHAIN).unwrap();
    // A gapped newcomer paying far more takes no executable one's place, only the cheaper
    // gapped one's.
    let attacker = PrivateKeySigner::random();
    let gapped = pool.add(tx(&attacker, 9, 50 * GWEI, GWEI), attacker.address(), rich(), &CHAIN);
    assert!(gapped.is_ok(), "{gapped:?}");
    assert!(pool.contains(&ha) && pool.contains(&hb), "executable transactions stay");
    assert!(!pool.contains(&gq), "the cheaper gapped one made room");
    // A newcomer the sender cannot afford is refused before anything is evicted.
    let poor = PrivateKeySigner::random();
    let broke = SenderState { nonce: 0, balance: U256::from(1), version: 0 };
    let refused = pool.add(tx(&poor, 0, 90 * GWEI, GWEI), poor.address(), broke, &CHAIN);
    assert!(matches!(refused, Err(PoolError::InsufficientFunds { .. })));
    assert!(pool.contains(&ha) && pool.contains(&hb));
    assert_eq!(pool.counters().evicted, 1);
}

#[test]
fn packed_transactions_are_never_evicted() {
    let pool = small(2, 2);
    let (a, b) = (PrivateKeySigner::random(), PrivateKeySigner::random());
    let h0 = pool.add(tx(&a, 0, 2 * GWEI, GWEI), a.address(), rich(), &CHAIN).unwrap();
    let h1 = pool.add(tx(&a, 1, 2 * GWEI, GWEI), a.address(), rich(), &CHAIN).unwrap();
    pool.mark_packed(&[h0, h1]);
    let err = pool.add(tx(&b, 0, 50 * GWEI, GWEI), b.address(), rich(), &CHAIN);
    assert_eq!(err, Err(PoolError::PoolFull));
    assert_eq!(pool.len(), 2);
}

#[test]
fn gapped_transactions_expire_after_the_lifetime() {
    let pool = TxPool::new(PoolConfig { lifetime: Duration::from_secs(60), ..Default::default() });
    let s = PrivateKeySigner::random();
    let ready = pool.add(tx(&s, 0, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap();
    let gapped = pool.add(tx(&s, 5, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap();
    assert!(pool.expire(Instant::now()).is_empty());
    assert_eq!(pool.expire(Instant::now() + Duration::from_secs(61)), vec![gapped]);
    assert!(pool.contains(&ready), "executable transactions do not expire");
    assert_eq!(pool.counters().expired, 1);
}

#[test]
fn the_pool_is_bounded_in_bytes() {
    let one = tx(&PrivateKeySigner::random(), 0, 2 * GWEI, GWEI).encode_2718_len();
    let pool = TxPool::new(PoolConfig { max_bytes: one * 3 + one / 2, ..Default::default() });
    let senders: Vec<_> = (0..4).map(|_| PrivateKeySigner::random()).collect();
    for (i, s) in senders.iter().enumerate() {
        let r = pool.add(tx(s, 0, (2 + i as u128) * GWEI, GWEI), s.address(), rich(), &CHAIN);
        assert!(r.is_ok(), "{r:?}");
    }
    assert_eq!(pool.len(), 3, "the cheapest made room");
    assert!(pool.status().bytes <= one * 3 + one / 2);
}

#[test]
fn replacement_price_arithmetic_saturates() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    // 110% of it does not fit in 128 bits: no u128 fee can replace it.
    let huge = u128::MAX - 10;
    let state = SenderState { nonce: 0, balance: U256::MAX, version: 0 };
    pool.add(tx(&s, 0, huge, huge), s.address(), state, &CHAIN).unwrap();
    let again = pool.add(tx(&s, 0, u128::MAX, u128::MAX), s.address(), state, &CHAIN);
    assert_eq!(again, Err(PoolError::ReplacementUnderpriced));
}

#[test]
fn state_changes_keep_the_counts_true() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    let hs: Vec<_> = (0..4)
        .map(|n| pool.add(tx(&s, n, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap())
        .collect();
    pool.remove(&hs[1]);
    assert_eq!((pool.status().pending, pool.status().queued), (1, 2), "a gap at nonce 1");
    // The balance falls (an EIP-7702 delegation spent it): the run shrinks to what it covers.
    let one = U256::from(21_000u64 * 2 * GWEI as u64) + U256::from(1);
    pool.prune_sender(s.address(), SenderState { nonce: 2, balance: one, version: 0 });
    assert_eq!((pool.status().pending, pool.status().queued), (1, 1));
    assert_eq!(pool.len(), 2);
    pool.prune_sender(s.address(), SenderState { nonce: 4, balance: one, version: 0 });
    assert_eq!(pool.status(), PoolStatus::default());
    assert!(pool.is_empty());
}

#[test]
fn a_gap_filler_gets_in_when_the_gapped_queue_is_full() {
    // Every sender's first transaction was refused (pool full) and its later ones wait gapped,
    // filling the queue: the one that fills a gap must still get in, or the pool stalls.
    let config = PoolConfig { global_slots: 100, global_queue: 4, ..Default::default() };
    let pool = TxPool::new(config);
    let senders: Vec<PrivateKeySigner> = (0..2).map(|_| PrivateKeySigner::random()).collect();
    for s in &senders {
        for n in [1, 2] {
            pool.add(tx(s, n, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap();
        }
    }
    assert_eq!((pool.status().pending, pool.status().queued), (0, 4));
    for s in &senders {
        pool.add(tx(s, 0, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).expect("fills the gap");
    }
    assert_eq!((pool.status().pending, pool.status().queued), (6, 0));
}

#[test]
fn a_state_read_before_the_last_pruning_is_refused_not_taken() {
    let s = PrivateKeySigner::random();
    let pool = TxPool::default();
    for n in 0..3 {
        pool.add(tx(&s, n, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN).unwrap();
    }
    // A block executed nonces 0 and 1: the pool is told so with the newer state.
    let after = SenderState { nonce: 2, version: 1, ..rich() };
    assert_eq!(pool.prune_sender(s.address(), after).len(), 2);
    // A transaction checked against the state read before that block must not set the sender
    // back to nonce 0: nonces 0 and 1 are gone, so 2 and 3 would look gapped.
    let stale = pool.add(tx(&s, 3, 2 * GWEI, GWEI), s.address(), rich(), &CHAIN);
    assert_eq!(stale, Err(PoolError::StaleState));
    pool.add(tx(&s, 3, 2 * GWEI, GWEI), s.address(), after, &CHAIN).unwrap();
    let status = pool.status();
    assert_eq!((status.pending, status.queued), (2, 0), "both executable");
    assert_eq!(pool.pending_nonce(s.address(), 2), 4);
}

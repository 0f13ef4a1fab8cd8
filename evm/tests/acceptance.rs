//! Acceptance of mergesets over a real RocksDB: the skip rules, fees, rewards, the state root,
//! history and the CREATE2 deployer.

use alloy_consensus::{TxEip1559, TxEnvelope, TypedTransaction};
use alloy_primitives::{address, keccak256, Address, Bytes, TxKind, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use lattice_evm::{
    accept_mergeset, genesis_state, AcceptEnv, AcceptanceOutcome, HistoricalState, LatestState,
    MergedBlock, PreparedState, StateReader,
};
use lattice_primitives::{dev_signers, sign_transaction, ChainSpec, SkipReason, CREATE2_DEPLOYER};
use lattice_storage::{tables, Db};

const GWEI: u128 = 1_000_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    db: Db,
    spec: ChainSpec,
    signers: Vec<PrivateKeySigner>,
    number: u64,
}

impl Fixture {
    fn new(spec: ChainSpec) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), tables::ALL).unwrap();
        let genesis = genesis_state(&db, &spec).unwrap();
        let mut batch = db.batch();
        genesis.write(&mut batch, None).unwrap();
        batch.commit().unwrap();
        Self { _dir: dir, db, spec, signers: dev_signers(10), number: 0 }
    }

    fn env(&self, base_fee: u64) -> AcceptEnv {
        AcceptEnv {
            chain_id: 1337,
            number: self.number + 1,
            timestamp: 1_000 + self.number,
            base_fee,
            capacity: 30_000_000,
            coinbase: address!("00000000000000000000000000000000000000cc"),
            prevrandao: B256::ZERO,
            block_reward: self.spec.block_reward,
            base_fee_recipient: self.spec.base_fee_recipient,
        }
    }

    /// Accepts `blocks` and commits the result as the next chain block.
    fn accept(&mut self, blocks: &[MergedBlock]) -> (AcceptanceOutcome, B256) {
        let env = self.env(GWEI as u64);
        let mut out = accept_mergeset(LatestState::new(&self.db), &env, blocks, |h| {
            Ok(self.db.contains::<tables::TxLookup>(h)?)
        })
        .unwrap();
        let prepared = PreparedState::prepare(&self.db, std::mem::take(&mut out.changes)).unwrap();
        self.number += 1;
        let mut batch = self.db.batch();
        prepared.write(&mut batch, Some(self.number)).unwrap();
        for (i, r) in out.receipts.iter().enumerate() {
            let loc = lattice_primitives::TxLocation {
                block: B256::ZERO,
                index: i as u64,
                carrier: r.carrier,
                carrier_index: 0,
            };
            batch.put::<tables::TxLookup>(&r.tx_hash, &loc).unwrap();
        }
        batch.commit().unwrap();
        (out, prepared.state_root)
    }

    fn balance(&self, a: Address) -> U256 {
        LatestState::new(&self.db).account(a).unwrap().map(|a| a.balance).unwrap_or_default()
    }
}

fn tx(
    signer: &PrivateKeySigner,
    nonce: u64,
    to: Address,
    value: u128,
    tip: u128,
) -> (Address, TxEnvelope) {
    let tx = TxEip1559 {
        chain_id: 1337,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10 * GWEI,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(to),
        value: U256::from(value),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    (signer.address(), sign_transaction(signer, TypedTransaction::Eip1559(tx)).unwrap())
}

fn block(byte: u8, coinbase: Address, blue: bool, txs: Vec<(Address, TxEnvelope)>) -> MergedBlock {
    MergedBlock { hash: B256::repeat_byte(byte), coinbase, blue, rewarded: true, transactions: txs }
}

/// The state root computed from scratch over every stored account and slot.
fn root_from_scratch(db: &Db) -> B256 {
    lattice_evm::rebuild_state_root(db).unwrap()
}

#[test]
fn skips_duplicates_nonce_gaps_and_underfunded_transactions() {
    let mut f = Fixture::new(ChainSpec::dev(1));
    let (a, b) = (f.signers[0].clone(), f.signers[1].clone());
    let to = Address::repeat_byte(0x42);
    let poor = PrivateKeySigner::random();
    let t0 = tx(&a, 0, to, 1, GWEI);
    let t2 = tx(&a, 2, to, 1, GWEI); // gap
    let same_nonce = tx(&b, 0, to, 5, GWEI);
    let other_same_nonce = tx(&b, 0, to, 6, 2 * GWEI);
    let unfunded = tx(&poor, 0, to, 1, GWEI);
    let blocks = vec![
        block(1, Address::repeat_byte(0xc1), true, vec![t0.clone(), t2.clone(), same_nonce]),
        block(2, Address::repeat_byte(0xc2), true, vec![t0, other_same_nonce, unfunded]),
    ];
    let (out, root) = f.accept(&blocks);
    let reasons: Vec<_> = out.entries.iter().map(|e| e.skip_reason()).collect();
    assert_eq!(
        reasons,
        vec![
            None,
            Some(SkipReason::NonceTooHigh),
            None,
            Some(SkipReason::AlreadyExecuted),
            Some(SkipReason::NonceTooLow),
            Some(SkipReason::InsufficientFunds),
        ]
    );
    assert_eq!(out.receipts.len(), 2);
    assert_eq!(out.gas_used, 42_000);
    assert_eq!(f.balance(to), U256::from(6), "1 from a, 5 from the first of b's same-nonce pair");
    assert_eq!(root, root_from_scratch(&f.db));

    // The missing nonce arrives; the gapped transaction then applies.
    let t1 = tx(&a, 1, to, 1, GWEI);
    let (out, root) = f.accept(&[block(3, Address::ZERO, true, vec![t1, t2.clone()])]);
    assert!(out.entries.iter().all(|e| e.skip == 0));
    assert_eq!(f.balance(to), U256::from(8));
    assert_eq!(root, root_from_scratch(&f.db));
    // Executed before, in an earlier chain block: skipped.
    let (out, _) = f.accept(&[block(4, Address::ZERO, true, vec![t2])]);
    assert_eq!(out.entries[0].skip_reason(), Some(SkipReason::AlreadyExecuted));
}

#[test]
fn tips_go_to_the_carrier_base_fee_burns_and_rewards_follow_colour() {
    let reward = U256::from(2_000_000_000_000_000_000u128);
    let spec = ChainSpec { block_reward: reward, ..ChainSpec::dev(1) };
    let mut f = Fixture::new(spec);
    let sender = f.signers[0].clone();
    let (blue_cb, red_cb) = (Address::repeat_byte(0xb1), Address::repeat_byte(0xe1));
    let accepting_cb = f.env(0).coinbase;
    let before = f.balance(sender.address());
    let t = tx(&sender, 0, Address::repeat_byte(9), 0, 3 * GWEI);
    f.accept(&[block(1, blue_cb, true, vec![t]), block(2, red_cb, false, vec![])]);
    let tip = U256::from(21_000u64) * U256::from(3 * GWEI);
    assert_eq!(f.balance(blue_cb), tip + reward, "tip and own reward to the blue carrier");
    assert_eq!(f.balance(red_cb), U256::ZERO, "a red block earns nothing");
    assert_eq!(
        f.balance(accepting_cb),
        reward,
        "the red block's reward goes to the accepting block"
    );
    let paid = before - f.balance(sender.address());
    assert_eq!(paid, U256::from(21_000u64) * U256::from(4 * GWEI), "base fee (burned) plus tip");
}

#[test]
fn history_reads_the_state_of_any_past_chain_block() {
    let mut f = Fixture::new(ChainSpec::dev(1));
    let to = Address::repeat_byte(0x77);
    let s = f.signers[3].clone();
    for nonce in 0..3 {
        f.accept(&[block(nonce as u8 + 1, Address::ZERO, true, vec![tx(&s, nonce, to, 10, GWEI)])]);
    }
    for n in 0..=3u64 {
        let bal = HistoricalState::new(&f.db, n)
            .account(to)
            .unwrap()
            .map(|a| a.balance)
            .unwrap_or_default();
        assert_eq!(bal, U256::from(10 * n), "balance after chain block {n}");
    }
    assert!(
        HistoricalState::new(&f.db, 0).account(to).unwrap().is_none(),
        "did not exist at genesis"
    );
}

#[test]
fn the_create2_deployer_from_genesis_deploys_at_the_predicted_address() {
    let mut f = Fixture::new(ChainSpec::dev(1));
    let s = f.signers[0].clone();
    // init code returning the one-byte runtime code 0x00 (STOP): PUSH1 0 PUSH1 0 MSTORE8 PUSH1 1 PUSH1 0 RETURN
    let init = Bytes::from_static(&[0x60, 0x00, 0x60, 0x00, 0x53, 0x60, 0x01, 0x60, 0x00, 0xf3]);
    let salt = B256::repeat_byte(0x11);
    let mut input = salt.to_vec();
    input.extend_from_slice(&init);
    let t = TxEip1559 {
        chain_id: 1337,
        nonce: 0,
        gas_limit: 200_000,
        max_fee_per_gas: 10 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: TxKind::Call(CREATE2_DEPLOYER),
        value: U256::ZERO,
        access_list: Default::default(),
        input: input.into(),
    };
    let t = (s.address(), sign_transaction(&s, TypedTransaction::Eip1559(t)).unwrap());
    let (out, _) = f.accept(&[block(1, Address::ZERO, true, vec![t])]);
    assert!(out.receipts[0].success);
    let predicted = CREATE2_DEPLOYER.create2(salt, keccak256(&init));
    let acc = LatestState::new(&f.db).account(predicted).unwrap().expect("contract exists");
    assert_eq!(acc.code_hash, keccak256([0x00u8]));
}

#[test]
fn a_balance_drained_earlier_in_the_order_skips_the_later_spend() {
    let mut f = Fixture::new(ChainSpec::dev(1));
    let a = f.signers[0].clone();
    let c = PrivateKeySigner::random();
    let to = Address::repeat_byte(0x42);
    // c holds exactly enough for one transfer of 1 ETH at a 10 gwei fee cap.
    let fee = 21_000 * 10 * GWEI;
    let one_eth = 1_000_000_000_000_000_000u128;
    f.accept(&[block(1, Address::ZERO, true, vec![tx(&a, 0, c.address(), one_eth + fee, 0)])]);
    assert_eq!(f.balance(c.address()), U256::from(one_eth + fee));
    // Two parallel blocks: the first in consensus order spends nearly all of it, so the
    // second's transaction (valid on its own) cannot pay.
    let (out, root) = f.accept(&[
        block(2, Address::ZERO, true, vec![tx(&c, 0, to, one_eth, 0)]),
        block(3, Address::ZERO, true, vec![tx(&c, 1, to, 1, 0)]),
    ]);
    let reasons: Vec<_> = out.entries.iter().map(|e| e.skip_reason()).collect();
    assert_eq!(reasons, vec![None, Some(SkipReason::InsufficientFunds)]);
    assert_eq!(f.balance(to), U256::from(one_eth));
    // Charged at the base fee (1 gwei here, no tip): the rest of the cap stays with c.
    assert_eq!(f.balance(c.address()), U256::from(fee - 21_000 * GWEI));
    assert_eq!(root, root_from_scratch(&f.db));
}

#[test]
fn a_fee_cap_below_the_base_fee_is_skipped_and_a_revert_is_executed_and_charged() {
    let reverter = Address::repeat_byte(0xee);
    let mut spec = ChainSpec::dev(1);
    // PUSH1 0 PUSH1 0 REVERT
    let code = Bytes::from_static(&[0x60, 0x00, 0x60, 0x00, 0xfd]);
    spec.alloc.insert(reverter, lattice_primitives::GenesisAccount { code, ..Default::default() });
    let mut f = Fixture::new(spec);
    let a = f.signers[0].clone();
    let before = f.balance(a.address());
    let cheap = TxEip1559 {
        chain_id: 1337,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: GWEI / 2,
        max_priority_fee_per_gas: 0,
        to: TxKind::Call(Address::repeat_byte(0x42)),
        value: U256::from(1),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let cheap = (a.address(), sign_transaction(&a, TypedTransaction::Eip1559(cheap)).unwrap());
    let mut reverting = tx(&a, 0, reverter, 0, 0);
    if let TxEnvelope::Eip1559(signed) = &reverting.1 {
        let mut inner = signed.tx().clone();
        inner.gas_limit = 50_000;
        reverting.1 = sign_transaction(&a, TypedTransaction::Eip1559(inner)).unwrap();
    }
    let (out, root) = f.accept(&[block(1, Address::ZERO, true, vec![cheap, reverting])]);
    let reasons: Vec<_> = out.entries.iter().map(|e| e.skip_reason()).collect();
    assert_eq!(reasons, vec![Some(SkipReason::FeeCapTooLow), None]);
    let receipt = &out.receipts[0];
    assert!(!receipt.success, "the call reverted");
    assert!(receipt.gas_used > 21_000 && receipt.gas_used < 50_000, "{}", receipt.gas_used);
    assert_eq!(
        f.balance(a.address()),
        before - U256::from(receipt.gas_used as u128 * GWEI),
        "the revert's gas was charged at the base fee"
    );
    assert_eq!(root, root_from_scratch(&f.db));
}

#[test]
fn an_estimate_covers_the_calldata_floor() {
    // 16 KiB of non-zero calldata: 283,144 gas of intrinsic cost, but an EIP-7623 floor of
    // 21,000 + 10 * 4 * 16,384 = 676,360. A limit between the two is refused before execution,
    // so the estimate must start from the floor (it failed with "gas floor exceeds the gas
    // limit" when it searched from the gas spent).
    let f = Fixture::new(ChainSpec::dev(1));
    let env = lattice_evm::CallEnv {
        chain_id: 1337,
        number: 1,
        timestamp: 1_000,
        base_fee: 0,
        gas_limit: 30_000_000,
        gas_cap: 50_000_000,
        coinbase: Address::ZERO,
        prevrandao: B256::ZERO,
        limits: None,
    };
    let req = lattice_evm::CallRequest {
        from: Some(f.signers[0].address()),
        to: Some(address!("00000000000000000000000000000000000000dd")),
        input: vec![0xab; 16 * 1024].into(),
        ..Default::default()
    };
    let floor = 21_000 + 10 * 4 * 16 * 1024;
    let gas = lattice_evm::estimate_gas(LatestState::new(&f.db), &env, &req)
        .expect("the estimate runs")
        .expect("the call succeeds");
    assert!(gas >= floor && gas <= floor + floor * 2 / 100, "estimate {gas}, floor {floor}");
    let with = lattice_evm::CallRequest { gas: Some(gas), ..req };
    assert!(matches!(
        lattice_evm::call(LatestState::new(&f.db), &env, &with),
        Ok(lattice_evm::CallOutcome::Success { .. })
    ));
}

//! Accepted plain transfers per second through execution, state root and the RocksDB commit,
//! on one core: a block carries N transfers from distinct senders, the next block accepts
//! them; the time of that second block (the whole acceptance pipeline of `Chain::produce`)
//! is what is measured. Prints figures; run with `cargo bench -p lattice-node --bench acceptance`.
//! `LATTICE_BENCH_TXS` sets N (default 5,000), `LATTICE_BENCH_ACCOUNTS` the funded accounts
//! in the state besides the senders (default 100,000), `LATTICE_BENCH_ROUNDS` the rounds (5).

use alloy_consensus::{TxEip1559, TxEnvelope, TypedTransaction};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_signer_local::PrivateKeySigner;
use lattice_node::chain::{all_tables, Chain};
use lattice_primitives::{sign_transaction, ChainSpec, GenesisAccount};
use lattice_storage::Db;
use std::sync::Arc;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let txs_per_block = env("LATTICE_BENCH_TXS", 5_000);
    let extra_accounts = env("LATTICE_BENCH_ACCOUNTS", 100_000);
    let rounds = env("LATTICE_BENCH_ROUNDS", 5);
    let producer = PrivateKeySigner::random();
    let senders: Vec<PrivateKeySigner> =
        (0..txs_per_block).map(|_| PrivateKeySigner::random()).collect();
    let mut spec = ChainSpec {
        producers: vec![producer.address()],
        gas_limit: 21_000 * txs_per_block as u64 + 1_000_000,
        min_block_interval_ms: 1,
        ..ChainSpec::default()
    };
    let funds = GenesisAccount { balance: U256::from(10u128.pow(24)), ..Default::default() };
    for s in &senders {
        spec.alloc.insert(s.address(), funds.clone());
    }
    for i in 0..extra_accounts as u64 {
        let mut a = [0u8; 20];
        a[12..].copy_from_slice(&(i + 1).to_be_bytes());
        spec.alloc.insert(Address::from(a), funds.clone());
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), &all_tables()).expect("database");
    let started = Instant::now();
    let chain = Chain::open(Arc::new(db), spec.clone()).expect("chain");
    println!(
        "genesis with {} accounts in {:.2} s",
        spec.alloc.len(),
        started.elapsed().as_secs_f64()
    );
    let mut now = 1_700_000_000_000u64;
    let mut results = Vec::new();
    for round in 0..rounds as u64 {
        let txs: Vec<TxEnvelope> = senders
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let tx = TxEip1559 {
                    chain_id: spec.chain_id,
                    nonce: round,
                    gas_limit: 21_000,
                    max_fee_per_gas: 2_000_000_000,
                    max_priority_fee_per_gas: 1,
                    to: TxKind::Call(Address::repeat_byte((i % 250) as u8 + 1)),
                    value: U256::from(1),
                    access_list: Default::default(),
                    input: Bytes::new(),
                };
                sign_transaction(s, TypedTransaction::Eip1559(tx)).expect("sign")
            })
            .collect();
        now += 1_000;
        chain.produce(&producer, producer.address(), txs, now).expect("carrying block");
        now += 1_000;
        let t = Instant::now();
        let built =
            chain.produce(&producer, producer.address(), vec![], now).expect("accepting block");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(built.applied.receipts.len(), txs_per_block, "every transfer executed");
        let tps = txs_per_block as f64 / secs;
        println!(
            "round {round}: {txs_per_block} transfers accepted in {:.3} s ({:.0} transfers/s; state root {:.3} s)",
            secs,
            tps,
            built.state_root_time.as_secs_f64()
        );
        results.push(tps);
    }
    results.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    println!("median: {:.0} transfers/s", results[results.len() / 2]);
}

//! A long chain: builds a `--dev` chain of a million blocks directly (no producer clock, every
//! tenth block carrying ten transfers), and at each checkpoint starts the real `lattice --dev
//! --no-produce` on it and prints the data directory's size, the time from start to the first
//! RPC answer, and the node's RSS once started. Memory must not grow with the chain.
//!
//! `LATTICE_BENCH_CHECKPOINTS` (default `100000,500000,1000000`) sets the checkpoints;
//! `LATTICE_BENCH_DIR` keeps the chain in that directory (and extends what it holds) instead
//! of a temporary one. Run: `cargo bench --profile dev -p lattice-node --bench long_chain`.

use alloy_consensus::{TxEip1559, TypedTransaction};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use lattice_node::chain::Chain;
use lattice_primitives::{dev_signers, sign_transaction, ChainSpec};
use lattice_storage::Db;
use std::sync::Arc;
use std::time::Instant;
use support::{dir_size, start_node};

mod support;

/// Transfers in every tenth block.
const TXS_PER_LOADED_BLOCK: u64 = 10;

fn main() {
    let checkpoints: Vec<u64> = std::env::var("LATTICE_BENCH_CHECKPOINTS")
        .unwrap_or_else(|_| "100000,500000,1000000".into())
        .split(',')
        .map(|c| c.trim().parse().expect("checkpoints: comma-separated block counts"))
        .collect();
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var("LATTICE_BENCH_DIR").map_or(temp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir).expect("data dir");
    let spec = ChainSpec::dev(1);
    let signers = dev_signers(10);
    let recipient = Address::repeat_byte(0x77);
    println!("| blocks | build | disk | start-up to RPC | state tries built | RSS after start |");
    println!("|---|---|---|---|---|---|");
    for target in checkpoints {
        let started = Instant::now();
        {
            let db = Arc::new(
                Db::open(&dir.join("db"), &lattice_node::chain::all_tables()).expect("db"),
            );
            let chain = Chain::open(db.clone(), spec.clone()).expect("chain");
            let mut number = chain.head().number;
            let mut now = chain.head().header.timestamp_ms.max(1_700_000_000_000);
            while number < target {
                let mut txs = Vec::new();
                if number % 10 == 9 {
                    let sender = &signers[1 + (number / 10 % 9) as usize];
                    let nonce = chain.latest_nonce(sender.address());
                    for i in 0..TXS_PER_LOADED_BLOCK {
                        let tx = TxEip1559 {
                            chain_id: spec.chain_id,
                            nonce: nonce + i,
                            gas_limit: 21_000,
                            max_fee_per_gas: 2_000_000_000,
                            max_priority_fee_per_gas: 1,
                            to: TxKind::Call(recipient),
                            value: U256::from(1),
                            access_list: Default::default(),
                            input: Bytes::new(),
                        };
                        txs.push(
                            sign_transaction(sender, TypedTransaction::Eip1559(tx)).expect("sign"),
                        );
                    }
                }
                now += spec.min_block_interval_ms.max(100);
                let built =
                    chain.produce(&signers[0], signers[0].address(), txs, now).expect("block");
                number = built.applied.number;
                if number.is_multiple_of(50_000) {
                    eprintln!(
                        "[long_chain] {number} blocks, {:.0} blocks/s",
                        number as f64 / started.elapsed().as_secs_f64()
                    );
                }
            }
            drop(chain);
            db.flush().expect("flush");
        }
        let build = started.elapsed();
        let disk = dir_size(&dir);
        let node = start_node(&dir, target);
        println!(
            "| {target} | {:.0} s | {:.0} MB | {:.2} s | {:.2} s | {:.0} MiB |",
            build.as_secs_f64(),
            disk as f64 / 1e6,
            node.rpc.as_secs_f64(),
            node.ready.as_secs_f64(),
            node.rss as f64 / 1024.0 / 1024.0
        );
    }
}

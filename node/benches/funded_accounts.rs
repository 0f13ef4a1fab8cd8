//! A million funded accounts: builds a `--dev` chain directly (no producer clock) whose blocks
//! each carry 700 transfers to addresses never seen before (half the gas limit, so the base fee
//! stays put), and at each checkpoint starts the real `lattice --dev --no-produce` on it and
//! prints the data directory's size, the time from start to the first RPC answer, and the
//! node's RSS. The account trie's memory is what this measures (issue 14's target: RSS after
//! 1,000,000 funded accounts ≤ 1 GiB).
//!
//! `LATTICE_BENCH_ACCOUNTS` (default `100000,500000,1000000`) sets the checkpoints;
//! `LATTICE_BENCH_DIR` keeps the chain in that directory (and extends what it holds).
//! Run: `cargo bench --profile dev --workspace --bench funded_accounts`.

use alloy_consensus::{TxEip1559, TypedTransaction};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use lattice_node::chain::Chain;
use lattice_primitives::{dev_signers, sign_transaction, ChainSpec};
use lattice_storage::Db;
use std::sync::Arc;
use std::time::Instant;
use support::{dir_size, start_node};

mod support;

/// Transfers per block: 700 × 21,000 gas, just under the 15M gas target of a 30M block.
const PER_BLOCK: u64 = 700;
/// The dev accounts that send (account 0 seals).
const SENDERS: usize = 9;

fn main() {
    let checkpoints: Vec<u64> = std::env::var("LATTICE_BENCH_ACCOUNTS")
        .unwrap_or_else(|_| "100000,500000,1000000".into())
        .split(',')
        .map(|c| c.trim().parse().expect("checkpoints: comma-separated account counts"))
        .collect();
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var("LATTICE_BENCH_DIR").map_or(temp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir).expect("data dir");
    let spec = ChainSpec::dev(1);
    let signers = dev_signers(1 + SENDERS as u32);
    println!(
        "| funded accounts | chain blocks | build | disk | start-up to RPC | state tries built | \
         RSS after start |"
    );
    println!("|---|---|---|---|---|---|---|");
    for target in checkpoints {
        let started = Instant::now();
        let blocks = {
            let db = Arc::new(
                Db::open(&dir.join("db"), &lattice_node::chain::all_tables()).expect("db"),
            );
            let chain = Chain::open(db.clone(), spec.clone()).expect("chain");
            let mut now = chain.head().header.timestamp_ms.max(1_700_000_000_000);
            // Every transfer so far went to a new address: the senders' nonces count them.
            let funded = |chain: &Chain| -> u64 {
                signers[1..].iter().map(|s| chain.latest_nonce(s.address())).sum()
            };
            // A block's transactions execute when the next chain block accepts it: the nonces
            // are counted here, and a last empty block accepts the last transfers.
            let mut done = funded(&chain);
            let from = done;
            let mut nonces: Vec<u64> =
                signers[1..].iter().map(|s| chain.latest_nonce(s.address())).collect();
            while done < target {
                let fee = u128::from(chain.next_base_fee()) * 2 + 1;
                let count = PER_BLOCK.min(target - done);
                let mut txs = Vec::with_capacity(count as usize);
                for i in 0..count {
                    let k = (i as usize) % SENDERS;
                    let sender = &signers[1 + k];
                    let to = Address::left_padding_from(&(done + i + 1).to_be_bytes());
                    let tx = TxEip1559 {
                        chain_id: spec.chain_id,
                        nonce: nonces[k],
                        gas_limit: 21_000,
                        max_fee_per_gas: fee,
                        max_priority_fee_per_gas: 1,
                        to: TxKind::Call(to),
                        value: U256::from(1_000_000_000u64),
                        access_list: Default::default(),
                        input: Bytes::new(),
                    };
                    nonces[k] += 1;
                    let signed = sign_transaction(sender, TypedTransaction::Eip1559(tx));
                    txs.push((sender.address(), signed.expect("sign")));
                }
                now += spec.min_block_interval_ms.max(100);
                chain
                    .produce_with_senders(&signers[0], signers[0].address(), txs, now)
                    .expect("block");
                done += count;
                if (done - from) % 100_000 < PER_BLOCK {
                    eprintln!(
                        "[funded_accounts] {done} accounts, {:.0} transfers/s",
                        (done - from) as f64 / started.elapsed().as_secs_f64()
                    );
                }
            }
            now += spec.min_block_interval_ms.max(100);
            chain
                .produce_with_senders(&signers[0], signers[0].address(), vec![], now)
                .expect("block");
            assert_eq!(funded(&chain), done, "every transfer executed");
            let blocks = chain.head().number;
            drop(chain);
            db.flush().expect("flush");
            blocks
        };
        let build = started.elapsed();
        let disk = dir_size(&dir);
        let node = start_node(&dir, blocks);
        println!(
            "| {target} | {blocks} | {:.0} s | {:.0} MB | {:.2} s | {:.2} s | {:.0} MiB |",
            build.as_secs_f64(),
            disk as f64 / 1e6,
            node.rpc.as_secs_f64(),
            node.ready.as_secs_f64(),
            node.rss as f64 / 1024.0 / 1024.0
        );
    }
}

//! Late-joiner sync speed over libp2p on loopback: node A holds a chain of N blocks (built
//! directly, with transfers), node B starts with an empty database, bootstraps from A and
//! catches up through the sync protocol; prints blocks/s. `LATTICE_BENCH_BLOCKS` sets N
//! (default 3,000). Run: `cargo bench --profile dev -p lattice-node --bench sync`.

use alloy_consensus::{TxEip1559, TypedTransaction};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use lattice_node::{launch, NodeConfig};
use lattice_primitives::{dev_signers, sign_transaction};
use std::time::{Duration, Instant};

fn args(dir: &std::path::Path, bootstrap: Option<String>) -> lattice_node::cli::NodeArgs {
    lattice_node::cli::NodeArgs {
        dev: true,
        no_produce: true,
        data_dir: Some(dir.to_path_buf()),
        rpc_addr: Some("127.0.0.1:0".parse().expect("addr")),
        p2p_addr: Some("/ip4/127.0.0.1/tcp/0".into()),
        bootstrap: bootstrap.is_none(),
        bootstrap_nodes: bootstrap.map(|b| vec![b]),
        ..Default::default()
    }
}

fn main() {
    let blocks: u64 =
        std::env::var("LATTICE_BENCH_BLOCKS").ok().and_then(|v| v.parse().ok()).unwrap_or(3_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let (dir_a, dir_b) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        let a = launch(NodeConfig::from_args(args(dir_a.path(), None)).expect("config"))
            .await
            .expect("node a");
        let signers = dev_signers(10);
        let started = Instant::now();
        let mut now = 1_700_000_000_000u64;
        for i in 0..blocks {
            let tx = TxEip1559 {
                chain_id: 1337,
                nonce: i,
                gas_limit: 21_000,
                max_fee_per_gas: 2_000_000_000,
                max_priority_fee_per_gas: 1,
                to: TxKind::Call(Address::repeat_byte(7)),
                value: U256::from(1),
                access_list: Default::default(),
                input: Bytes::new(),
            };
            let tx = sign_transaction(&signers[1], TypedTransaction::Eip1559(tx)).expect("sign");
            now += 100;
            a.node.chain.produce(&signers[0], signers[0].address(), vec![tx], now).expect("block");
        }
        println!("built {blocks} blocks on node A in {:.2} s", started.elapsed().as_secs_f64());
        let network = a.node.network.get().expect("network");
        let port = loop {
            if let Some(addr) = network.listen_addrs().first() {
                break addr.to_string().rsplit('/').next().expect("port").to_string();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let boot = format!("{}@127.0.0.1:{port}", network.peer_id());
        let started = Instant::now();
        let b = launch(NodeConfig::from_args(args(dir_b.path(), Some(boot))).expect("config"))
            .await
            .expect("node b");
        let target = a.node.chain.head().number;
        while b.node.chain.head().number < target {
            assert!(started.elapsed() < Duration::from_secs(600), "sync stalled");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(b.node.chain.head().hash, a.node.chain.head().hash);
        println!(
            "late joiner synced {target} blocks ({} transactions) in {secs:.2} s: {:.0} blocks/s",
            target,
            target as f64 / secs
        );
        b.stop().await.expect("stop b");
        a.stop().await.expect("stop a");
    });
}

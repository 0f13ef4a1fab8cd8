//! The DAG executed as a DAG: several producers with their own chains and databases seal in
//! parallel; blocks reach each chain in a different order; every chain must end on the same
//! sink, state root and receipts. Plus the conflict rules, a late heavier branch (reorg) and a
//! block with a wrong state root (disqualified), and a block whose consensus write a crash lost.
//! Every chain keeps a few blocks in its consensus caches, so that most reads of the DAG go to
//! RocksDB, as they do on a long-running node.

mod common;

use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use common::transfer;
use lattice_node::chain::{BlockError, Chain, ChainOptions, ImportOutcome};
use lattice_primitives::{dev_signers, Block, ChainSpec, SealedBlock};
use lattice_storage::{tables, Db};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::Arc;

const T0: u64 = 1_700_000_000_000;

struct Node {
    _dir: tempfile::TempDir,
    chain: Chain,
}

/// Blocks each consensus cache keeps in these tests.
const CACHE_BLOCKS: usize = 8;

fn open(db: Arc<Db>, spec: &ChainSpec) -> Chain {
    let options = ChainOptions { consensus_cache_blocks: CACHE_BLOCKS, ..Default::default() };
    Chain::open_with(db, spec.clone(), options).unwrap()
}

fn node(spec: &ChainSpec) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), &lattice_node::chain::all_tables()).unwrap();
    let chain = open(Arc::new(db), spec);
    Node { _dir: dir, chain }
}

/// Imports `block`, queueing it while parents are missing; then retries the queue.
fn deliver(chain: &Chain, block: &SealedBlock, waiting: &mut Vec<SealedBlock>, now: u64) {
    waiting.push(block.clone());
    loop {
        let mut progressed = false;
        let mut i = 0;
        while i < waiting.len() {
            match chain.import(&waiting[i], now) {
                Ok(_) => {
                    waiting.remove(i);
                    progressed = true;
                }
                Err(BlockError::MissingParents { .. }) => i += 1,
                Err(e) => panic!("valid block refused: {e}"),
            }
        }
        if !progressed {
            break;
        }
    }
}

/// What must be identical on every node.
fn fingerprint(chain: &Chain) -> (B256, B256, Vec<(u64, B256, B256)>) {
    let head = chain.head();
    let mut blocks = Vec::new();
    for n in 0..=head.number {
        let hash = chain.hash_at(n).unwrap().unwrap();
        let receipts = chain.receipts(hash).unwrap();
        let receipts_root = lattice_evm::receipt::receipts_root(&receipts);
        blocks.push((n, hash, receipts_root));
    }
    (head.hash, head.header.state_root, blocks)
}

#[test]
fn parallel_producers_converge_whatever_the_delivery_order() {
    for seed in [7, 8, 9] {
        simulate(seed);
    }
}

/// Where the simulation's log-emitting contract lives (from genesis).
const EMITTER: Address = Address::repeat_byte(0xe1);

/// Four producers seal in parallel with random delivery delays (a wide DAG with reds); their
/// blocks carry transfers and calls that emit logs, including duplicates of each other's
/// transactions. Every chain, and an observer fed the blocks shuffled, must end identical.
fn simulate(seed: u64) {
    let n = 4;
    let mut spec = ChainSpec { ghostdag_k: 3, ..ChainSpec::dev(n) };
    spec.alloc.insert(
        EMITTER,
        lattice_primitives::GenesisAccount {
            code: common::emitter_runtime().into(),
            ..Default::default()
        },
    );
    let signers = dev_signers(10);
    let nodes: Vec<Node> = (0..n).map(|_| node(&spec)).collect();
    let observer = node(&spec);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut all_blocks: Vec<SealedBlock> = Vec::new();
    let mut inflight: Vec<(u64, usize, SealedBlock)> = Vec::new(); // (arrival time, to node, block)
    let mut waiting: Vec<Vec<SealedBlock>> = vec![Vec::new(); n as usize];
    let mut nonces: HashMap<usize, u64> = HashMap::new();
    // Each sender's latest transaction, which another producer sometimes carries again.
    let mut latest_tx: HashMap<usize, alloy_consensus::TxEnvelope> = HashMap::new();
    let bob = Address::repeat_byte(0xb0);

    for step in 0..60u64 {
        let now = T0 + step * 100;
        // Deliver what has arrived.
        inflight.sort_by_key(|(at, to, b)| (*at, *to, b.hash()));
        let (due, later): (Vec<_>, Vec<_>) = inflight.drain(..).partition(|(at, _, _)| *at <= now);
        inflight = later;
        for (_, to, block) in due {
            deliver(&nodes[to].chain, &block, &mut waiting[to], now);
        }
        // Each producer seals with probability 1/3 per step: about 13 blocks/s with 4 producers.
        for p in 0..n as usize {
            if !rng.gen_bool(1.0 / 3.0) {
                continue;
            }
            // Sender p+4 sends from producer p (sender partitioning); sometimes a duplicate of
            // another producer's sender's transaction, which must execute once.
            let sender = 4 + p;
            let nonce = nonces.entry(sender).or_default();
            // Every other transaction calls the emitter: LOG2 with the step as topic 1.
            let tx = if nonce.is_multiple_of(2) {
                transfer(&signers[sender], *nonce, bob, 1)
            } else {
                let mut input = B256::from(U256::from(step)).to_vec();
                input.extend_from_slice(B256::from(U256::from(*nonce)).as_slice());
                common::eip1559(
                    &signers[sender],
                    *nonce,
                    alloy_primitives::TxKind::Call(EMITTER),
                    U256::ZERO,
                    60_000,
                    input.into(),
                )
            };
            latest_tx.insert(sender, tx.clone());
            *nonce += 1;
            let mut txs = vec![tx];
            if rng.gen_bool(0.2) {
                if let Some(copy) = latest_tx.get(&(4 + (p + 1) % n as usize)) {
                    txs.push(copy.clone());
                }
            }
            let built =
                nodes[p].chain.produce(&signers[p], signers[p].address(), txs, now).unwrap();
            all_blocks.push(built.block.clone());
            for to in 0..n as usize {
                if to != p {
                    inflight.push((now + rng.gen_range(50..700), to, built.block.clone()));
                }
            }
        }
    }
    // Let everything arrive, then one more round of blocks merges every tip.
    let end = T0 + 60 * 100 + 1_000;
    for (_, to, block) in inflight.drain(..) {
        deliver(&nodes[to].chain, &block, &mut waiting[to], end);
    }
    let mut finals = Vec::new();
    for (p, node) in nodes.iter().enumerate() {
        assert!(waiting[p].is_empty(), "every block found its parents");
        assert_eq!(node.chain.block_count(), all_blocks.len() as u64 + 1);
        let built = node
            .chain
            .produce(&signers[p], signers[p].address(), vec![], end + 100 * p as u64)
            .unwrap();
        finals.push(built.block);
    }
    for (p, node) in nodes.iter().enumerate() {
        for (q, block) in finals.iter().enumerate() {
            if p != q {
                node.chain.import(block, end + 1_000).unwrap();
            }
        }
    }
    // The observer receives everything in a shuffled order.
    let mut shuffled: Vec<SealedBlock> = all_blocks.iter().chain(finals.iter()).cloned().collect();
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.gen_range(0..=i));
    }
    let mut obs_waiting = Vec::new();
    for block in &shuffled {
        deliver(&observer.chain, block, &mut obs_waiting, end + 1_000);
    }
    assert!(obs_waiting.is_empty());

    let expected = fingerprint(&observer.chain);
    for node in &nodes {
        assert_eq!(
            fingerprint(&node.chain),
            expected,
            "every node agrees on chain, state root and receipts"
        );
    }
    let head = observer.chain.head();
    let reds: usize = (1..=head.number)
        .map(|i| {
            observer
                .chain
                .ghostdag(observer.chain.hash_at(i).unwrap().unwrap())
                .unwrap()
                .unwrap()
                .mergeset_reds
                .len()
        })
        .sum();
    let width = all_blocks.len() as f64 / head.number as f64;
    println!(
        "seed {seed}: blocks {}, chain {}, width {width:.2}, reds {reds}",
        all_blocks.len(),
        head.number
    );
    assert!(width > 1.5, "the DAG is wide (parallel blocks), got {width}");
    assert!(reds > 0, "some blocks are red");
    // Every sender's transactions executed exactly once each: half transfers of 1 wei to
    // bob, half logs (the receipts roots compared above include them).
    let transfers: u64 = nonces.values().map(|n| n.div_ceil(2)).sum();
    let calls: u64 = nonces.values().map(|n| n / 2).sum();
    assert_eq!(observer.chain.latest_balance(bob), U256::from(transfers));
    let logs: usize = (1..=head.number)
        .flat_map(|i| observer.chain.receipts(observer.chain.hash_at(i).unwrap().unwrap()).unwrap())
        .map(|r| r.logs.len())
        .sum();
    assert_eq!(logs as u64, calls, "one log per emitter call");
}

#[test]
fn conflicts_resolve_the_same_way_on_every_node() {
    let spec = ChainSpec::dev(2);
    let s = dev_signers(10);
    let (a, b) = (node(&spec), node(&spec));
    let bob = Address::repeat_byte(0xb0);
    let carol = Address::repeat_byte(0xca);
    let dup = transfer(&s[5], 0, bob, 1);
    let same_nonce_x = transfer(&s[6], 0, bob, 10);
    let same_nonce_y = transfer(&s[6], 0, carol, 20);
    let gap = transfer(&s[7], 1, bob, 100);
    // Parallel blocks on the two producers.
    let ba = a
        .chain
        .produce(&s[0], s[0].address(), vec![dup.clone(), same_nonce_x.clone(), gap.clone()], T0)
        .unwrap();
    let bb = b
        .chain
        .produce(&s[1], s[1].address(), vec![dup.clone(), same_nonce_y.clone()], T0)
        .unwrap();
    a.chain.import(&bb.block, T0 + 100).unwrap();
    b.chain.import(&ba.block, T0 + 100).unwrap();
    // Both merge both; the missing nonce arrives later.
    let fill = transfer(&s[7], 0, bob, 1000);
    let m1 = a.chain.produce(&s[0], s[0].address(), vec![fill], T0 + 200).unwrap();
    b.chain.import(&m1.block, T0 + 300).unwrap();
    let m2 = b.chain.produce(&s[1], s[1].address(), vec![gap.clone()], T0 + 400).unwrap();
    a.chain.import(&m2.block, T0 + 500).unwrap();
    let m3 = a.chain.produce(&s[0], s[0].address(), vec![], T0 + 600).unwrap();
    b.chain.import(&m3.block, T0 + 700).unwrap();
    assert_eq!(fingerprint(&a.chain), fingerprint(&b.chain));

    let chain = &a.chain;
    assert!(chain.tx_location(*dup.tx_hash()).unwrap().is_some(), "the duplicate executed");
    let x = chain.tx_location(*same_nonce_x.tx_hash()).unwrap();
    let y = chain.tx_location(*same_nonce_y.tx_hash()).unwrap();
    assert!(x.is_some() != y.is_some(), "exactly one of the same-nonce pair executed");
    assert!(
        chain.tx_location(*gap.tx_hash()).unwrap().is_some(),
        "the gapped tx executed after its gap filled"
    );
    // 1 (dup once) + 10 or 0 + 1000 + 100.
    let expected_bob = 1 + if x.is_some() { 10 } else { 0 } + 1000 + 100;
    assert_eq!(chain.latest_balance(bob), U256::from(expected_bob));
    // The duplicate is recorded as skipped the second time.
    let skipped_dups: usize = (1..=chain.head().number)
        .flat_map(|n| chain.acceptance(chain.hash_at(n).unwrap().unwrap()).unwrap())
        .filter(|e| {
            e.tx_hash == *dup.tx_hash()
                && e.skip_reason() == Some(lattice_primitives::SkipReason::AlreadyExecuted)
        })
        .count();
    assert_eq!(skipped_dups, 1);
}

#[test]
fn a_heavier_branch_arriving_late_reorganises_state_and_receipts() {
    let spec = ChainSpec::dev(2);
    let s = dev_signers(10);
    let (a, b) = (node(&spec), node(&spec));
    let bob = Address::repeat_byte(0xb0);
    let tx = transfer(&s[5], 0, bob, 7);
    let mut a_blocks = Vec::new();
    a_blocks.push(a.chain.produce(&s[0], s[0].address(), vec![tx.clone()], T0).unwrap().block);
    for i in 1..3 {
        a_blocks.push(a.chain.produce(&s[0], s[0].address(), vec![], T0 + i * 100).unwrap().block);
    }
    assert!(a.chain.tx_location(*tx.tx_hash()).unwrap().is_some());
    assert_eq!(a.chain.latest_balance(bob), U256::from(7));
    // B never saw A's blocks and built a longer branch.
    let mut b_blocks = Vec::new();
    for i in 0..5 {
        b_blocks.push(b.chain.produce(&s[1], s[1].address(), vec![], T0 + i * 100).unwrap().block);
    }
    for block in &b_blocks {
        match a.chain.import(block, T0 + 1_000).unwrap() {
            ImportOutcome::Imported(_) | ImportOutcome::AlreadyKnown => {}
        }
    }
    assert_eq!(a.chain.head().hash, b_blocks[4].hash(), "the heavier branch wins");
    assert_eq!(a.chain.head().number, 5);
    assert!(
        a.chain.tx_location(*tx.tx_hash()).unwrap().is_none(),
        "the receipt left with its block"
    );
    assert_eq!(a.chain.latest_balance(bob), U256::ZERO, "state rolled back");
    assert_eq!(a.chain.head().header.state_root, b.chain.head().header.state_root);
    // A's next block merges its old branch: the transaction executes again, now on the new chain.
    let merged = a.chain.produce(&s[0], s[0].address(), vec![], T0 + 2_000).unwrap();
    assert_eq!(merged.block.header.header.parents.len(), 2);
    let loc = a.chain.tx_location(*tx.tx_hash()).unwrap().expect("executed again");
    assert_eq!(loc.block, merged.block.hash());
    assert_eq!(a.chain.latest_balance(bob), U256::from(7));
    for block in a_blocks.iter().chain([&merged.block]) {
        b.chain.import(block, T0 + 3_000).unwrap();
    }
    assert_eq!(fingerprint(&a.chain), fingerprint(&b.chain));
}

#[test]
fn a_block_with_a_wrong_state_root_is_disqualified_and_the_chain_goes_on() {
    let spec = ChainSpec::dev(2);
    let s = dev_signers(10);
    // A keeps its database where `lattice verify` looks for it: <data-dir>/db.
    let data_dir = tempfile::tempdir().unwrap();
    let a_db = Db::open(&data_dir.path().join("db"), &lattice_node::chain::all_tables()).unwrap();
    let a = Node { _dir: tempfile::tempdir().unwrap(), chain: open(Arc::new(a_db), &spec) };
    let b = node(&spec);
    let good = a.chain.produce(&s[0], s[0].address(), vec![], T0).unwrap().block;
    b.chain.import(&good, T0 + 100).unwrap();
    // Producer 1 seals a block on top with a forged state root.
    let honest = b.chain.produce(&s[1], s[1].address(), vec![], T0 + 200).unwrap().block;
    let mut forged = honest.unseal();
    forged.header.state_root = B256::repeat_byte(0xee);
    forged.header.sign(&s[1]).unwrap();
    let forged = Block { header: forged.header, transactions: vec![] }.seal();
    let before = a.chain.head();
    a.chain.import(&forged, T0 + 300).unwrap();
    assert!(a.chain.is_disqualified(forged.hash()));
    assert_eq!(a.chain.head().hash, before.hash, "the sink stays on the valid chain");
    // A block from an unknown producer is refused outright.
    let stranger = PrivateKeySigner::random();
    let mut alien = good.unseal();
    alien.header.sign(&stranger).unwrap();
    let err = a.chain.import(&alien.seal(), T0 + 400).unwrap_err();
    assert!(matches!(err, BlockError::UnknownProducer { .. }), "{err}");
    // The chain continues past the disqualified block.
    let next = a.chain.produce(&s[0], s[0].address(), vec![], T0 + 500).unwrap();
    assert_eq!(next.applied.number, 2);
    // `lattice verify` replays the DAG, forged block included, and agrees with the stored
    // disqualification instead of reporting it as a problem.
    drop(a);
    let mut config = lattice_node::NodeConfig::dev(
        data_dir.path().into(),
        "127.0.0.1:0".parse().unwrap(),
        std::time::Duration::from_secs(1),
    );
    config.spec = spec;
    let report = lattice_node::verify::verify(&config).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.blocks, report.chain_blocks, report.disqualified), (3, 2, 1));
}

#[test]
fn sealing_faster_than_the_spec_allows_is_rejected_and_parallel_twins_are_evidence() {
    let spec = ChainSpec { min_block_interval_ms: 500, ..ChainSpec::dev(2) };
    let s = dev_signers(2);
    let (a, b) = (node(&spec), node(&spec));
    let first = a.chain.produce(&s[0], s[0].address(), vec![], T0).unwrap().block;
    b.chain.import(&first, T0 + 10).unwrap();
    // An honest producer paces itself: its next block is stamped at least 500 ms later.
    let paced = a.chain.produce(&s[0], s[0].address(), vec![], T0 + 100).unwrap().block;
    assert!(paced.header.header.timestamp_ms >= T0 + 500);
    // A misbehaving one stamps it 100 ms after the first and signs it: refused.
    let mut early = paced.unseal();
    early.header.timestamp_ms = T0 + 100;
    early.header.sign(&s[0]).unwrap();
    let err = b.chain.import(&early.seal(), T0 + 200).unwrap_err();
    assert!(matches!(err, BlockError::TooFast { .. }), "{err}");
    assert_eq!(b.chain.equivocations(), 0);
    // Two parallel blocks (neither in the other's past) signed by the same producer 100 ms
    // apart: both join the DAG, whichever arrives first (refusing one would make acceptance
    // depend on arrival order), and the second is logged as evidence.
    let c = node(&spec);
    let twin = c.chain.produce(&s[0], s[0].address(), vec![], T0 + 100).unwrap().block;
    b.chain.import(&twin, T0 + 300).unwrap();
    assert!(b.chain.contains(twin.hash()) && b.chain.contains(first.hash()));
    assert_eq!(b.chain.equivocations(), 1, "the pair is evidence");
    // In the other order, the same: both accepted, one piece of evidence.
    let d = node(&spec);
    d.chain.import(&twin, T0 + 300).unwrap();
    d.chain.import(&first, T0 + 300).unwrap();
    assert_eq!(d.chain.block_count(), 3);
    assert_eq!(d.chain.equivocations(), 1);
}

#[test]
fn a_block_whose_consensus_write_was_lost_is_added_again_on_open() {
    let spec = ChainSpec::dev(1);
    let s = dev_signers(10);
    let a = node(&spec);
    let bob = Address::repeat_byte(0xb0);
    let blocks: Vec<SealedBlock> = (0..4u64)
        .map(|i| {
            let tx = transfer(&s[5], i, bob, 1);
            a.chain.produce(&s[0], s[0].address(), vec![tx], T0 + i * 100).unwrap().block
        })
        .collect();
    // B imports three blocks. Of the fourth, only its first write (header, body, senders,
    // producer clock, order entry and the "consensus pending" marker) reaches the disk, as if
    // the process died before the consensus batch that follows it.
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), &lattice_node::chain::all_tables()).unwrap());
    let last = &blocks[3];
    {
        let b = open(db.clone(), &spec);
        for block in &blocks[..3] {
            b.import(block, T0 + 1_000).unwrap();
        }
        let mut batch = db.batch();
        batch.put::<tables::Headers>(&last.hash(), &last.header.header).unwrap();
        batch.put::<tables::Bodies>(&last.hash(), &last.transactions).unwrap();
        batch.put::<tables::Senders>(&last.hash(), &vec![s[5].address()]).unwrap();
        let h = &last.header.header;
        let clock = tables::ProducerClock(vec![(h.producer, h.timestamp_ms, last.hash())]);
        batch.put::<tables::ProducerClocks>(&last.hash(), &clock).unwrap();
        batch.put::<tables::BlockOrder>(&(h.blue_work, last.hash()), &()).unwrap();
        batch.put::<tables::PendingConsensus>(&last.hash(), &()).unwrap();
        batch.commit().unwrap();
        assert!(!b.contains(last.hash()));
    }
    assert!(
        db.scan_from::<lattice_consensus::stores::rocks::ConsensusGhostdag>(&[], |_| true)
            .unwrap()
            .iter()
            .all(|(hash, _)| *hash != last.hash()),
        "no consensus data was written for the last block"
    );
    let b = open(db.clone(), &spec);
    assert!(b.contains(last.hash()), "re-added from its stored header");
    assert!(
        db.scan_from::<tables::PendingConsensus>(&[], |_| true).unwrap().is_empty(),
        "and no longer marked pending"
    );
    let genesis = b.hash_at(0).unwrap().unwrap();
    assert_eq!(
        b.hashes_after(U256::ZERO, genesis, 100).unwrap(),
        a.chain.hashes_after(U256::ZERO, genesis, 100).unwrap(),
        "the order served to syncing peers is the producer's"
    );
    assert_eq!(b.ghostdag(last.hash()).unwrap(), a.chain.ghostdag(last.hash()).unwrap());
    assert_eq!(fingerprint(&b), fingerprint(&a.chain), "and executed like everywhere else");
    assert_eq!(b.latest_balance(bob), a.chain.latest_balance(bob));
    // It keeps going: the next block imports on top.
    let next = a.chain.produce(&s[0], s[0].address(), vec![], T0 + 500).unwrap().block;
    b.import(&next, T0 + 1_000).unwrap();
    assert_eq!(b.head().hash, next.hash());
}

#[test]
fn a_reorg_deeper_than_the_finality_depth_is_refused() {
    let spec = ChainSpec { finality_depth: 3, ..ChainSpec::dev(2) };
    let s = dev_signers(10);
    let (a, b) = (node(&spec), node(&spec));
    let bob = Address::repeat_byte(0xb0);
    let tx = transfer(&s[5], 0, bob, 7);
    a.chain.produce(&s[0], s[0].address(), vec![tx], T0).unwrap();
    for i in 1..5 {
        a.chain.produce(&s[0], s[0].address(), vec![], T0 + i * 100).unwrap();
    }
    let a_head = a.chain.head();
    assert_eq!(a_head.number, 5);
    // B, never having seen A, builds a heavier branch from genesis: switching would undo five
    // chain blocks, more than the finality depth of three.
    let b_blocks: Vec<SealedBlock> = (0..8)
        .map(|i| b.chain.produce(&s[1], s[1].address(), vec![], T0 + i * 100).unwrap().block)
        .collect();
    for block in &b_blocks {
        a.chain.import(block, T0 + 1_000).unwrap();
    }
    assert!(a.chain.contains(b_blocks[7].hash()), "the blocks join the DAG");
    assert_eq!(a.chain.head().hash, a_head.hash, "but the selected chain stays");
    assert_eq!(a.chain.latest_balance(bob), U256::from(7), "and so does its state");
    // A reorg within the depth still happens: a fresh node with two blocks of its own
    // switches to B's branch.
    let c = node(&spec);
    for i in 0..2 {
        c.chain.produce(&s[0], s[0].address(), vec![], T0 + i * 100).unwrap();
    }
    for block in &b_blocks {
        c.chain.import(block, T0 + 1_000).unwrap();
    }
    assert_eq!(c.chain.head().hash, b_blocks[7].hash());
}

#[test]
fn a_reorg_puts_the_transactions_it_undid_back_in_the_pool() {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let spec = ChainSpec::dev(2);
    let s = dev_signers(10);
    let dir = tempfile::tempdir().unwrap();
    let mut config = lattice_node::NodeConfig::dev(
        dir.path().into(),
        "127.0.0.1:0".parse().unwrap(),
        Duration::from_millis(100),
    );
    config.spec = spec.clone();
    let db = Db::open(&dir.path().join("db"), &lattice_node::chain::all_tables()).unwrap();
    let metrics = Arc::new(lattice_node::metrics::Metrics::new());
    let a = lattice_node::Node::new(open(Arc::new(db), &spec), config, metrics);
    let producer = lattice_node::ProducerConfig {
        index: 0,
        count: 2,
        signer: s[0].clone(),
        coinbase: s[0].address(),
        block_time: Duration::from_millis(100),
    };
    let sender = s[5].address();
    let tx = transfer(&s[5], 0, Address::repeat_byte(0xb0), 7);
    let hash = *tx.tx_hash();
    a.submit_transaction(tx).unwrap();
    for _ in 0..3 {
        lattice_node::produce_one(&a, &producer).unwrap();
        std::thread::sleep(Duration::from_millis(60));
    }
    assert!(a.chain.tx_location(hash).unwrap().is_some(), "executed on A's branch");
    assert!(!a.pool.contains(&hash), "and gone from the pool");
    assert_eq!(a.pool.pending_nonce(sender, a.chain.latest_nonce(sender)), 1);

    // B never saw A's blocks and built a heavier branch; A takes it.
    let b = node(&spec);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    for i in 0..5 {
        let block = b.chain.produce(&s[1], s[1].address(), vec![], now + i * 100).unwrap().block;
        a.import_block(block).unwrap();
    }
    assert_eq!(a.chain.head().hash, b.chain.head().hash, "the heavier branch wins");
    assert!(a.chain.tx_location(hash).unwrap().is_none(), "the execution was undone");
    assert!(a.pool.contains(&hash), "the undone transaction is back in the pool");
    assert_eq!(
        a.pool.pending_nonce(sender, a.chain.latest_nonce(sender)),
        1,
        "the sender's pending nonce did not go back"
    );
    // Packed: A's own block still carries it, so the next block merges it rather than
    // carrying it a second time; executed again, it leaves the pool.
    let next = lattice_node::produce_one(&a, &producer).unwrap();
    assert!(next.transactions.is_empty(), "carried again");
    std::thread::sleep(Duration::from_millis(60));
    lattice_node::produce_one(&a, &producer).unwrap();
    assert!(a.chain.tx_location(hash).unwrap().is_some(), "executed on the new chain");
    assert!(!a.pool.contains(&hash));
}

//! Unit tests of the façade: validation errors, diffs, reopening, virtual helpers.

use super::*;
use crate::{params::GhostdagParams, stores::GhostdagStoreReader};
use alloy_primitives::U256;

fn h(i: u64) -> BlockHash {
    BlockHash::from(U256::from(i))
}

fn one() -> BlueWork {
    BlueWork::from(1)
}

fn params() -> GhostdagParams {
    GhostdagParams {
        k: 3,
        max_block_parents: 3,
        mergeset_size_limit: 5,
        finality_depth: 2,
        merge_depth: u64::MAX,
    }
}

/// genesis 1; 2, 3, 4 on genesis; 5 on 2, 3.
fn small() -> Dag {
    let mut dag = Dag::new(params(), h(1)).expect("genesis");
    for i in 2..=4 {
        dag.add_block(h(i), &[h(1)], one()).expect("valid");
    }
    dag.add_block(h(5), &[h(2), h(3)], one()).expect("valid");
    dag
}

#[test]
fn parent_rules_name_the_offending_values() {
    let mut dag = small();
    assert_eq!(dag.add_block(h(9), &[], one()), Err(RuleError::NoParents));
    assert_eq!(
        dag.add_block(h(9), &[h(2), h(3), h(4), h(5)], one()),
        Err(RuleError::TooManyParents { count: 4, max: 3 })
    );
    assert_eq!(dag.add_block(h(9), &[h(4), h(4)], one()), Err(RuleError::DuplicateParent(h(4))));
    assert_eq!(
        dag.add_block(h(9), &[h(4), h(70), h(71)], one()),
        Err(RuleError::MissingParents(vec![h(70), h(71)]))
    );
    assert_eq!(
        dag.add_block(h(9), &[h(5), h(2)], one()),
        Err(RuleError::ParentIsAncestor { ancestor: h(2), descendant: h(5) })
    );
    assert_eq!(
        dag.add_block(h(9), &[h(1), h(4)], one()),
        Err(RuleError::ParentIsAncestor { ancestor: h(1), descendant: h(4) })
    );
    assert_eq!(dag.add_block(h(5), &[h(4)], one()), Err(RuleError::BlockAlreadyKnown(h(5))));
    assert_eq!(dag.add_block(BlockHash::ZERO, &[h(4)], one()), Err(RuleError::ZeroHash));
    assert_eq!(dag.add_block(h(9), &[h(4)], BlueWork::ZERO), Err(RuleError::ZeroWork(h(9))));
    // Nothing was written by the failures.
    assert_eq!(dag.block_count(), 5);
    assert!(!dag.contains(h(9)).expect("query"));
}

#[test]
fn mergeset_limit_is_enforced() {
    let mut dag = Dag::new(GhostdagParams { mergeset_size_limit: 2, ..params() }, h(1)).expect("g");
    for i in 2..=4 {
        dag.add_block(h(i), &[h(1)], one()).expect("valid");
    }
    let err = dag.add_block(h(5), &[h(2), h(3), h(4)], one()).expect_err("3 > 2");
    assert_eq!(err, RuleError::MergesetTooBig { hash: h(5), size: 3, limit: 2 });
    assert_eq!(err.to_string(), format!("mergeset of block {} has 3 blocks, limit is 2", h(5)));
    dag.add_block(h(5), &[h(2), h(3)], one()).expect("2 fits");
}

#[test]
fn header_fields_are_checked() {
    let dag = small();
    let data = dag.ghostdag(h(5)).expect("known");
    let good = GhostdagHeaderFields::from(data.as_ref());
    validate_header_ghostdag(&data, &good).expect("own fields");
    let bad = GhostdagHeaderFields { blue_score: 9, ..good };
    assert_eq!(
        validate_header_ghostdag(&data, &bad),
        Err(RuleError::WrongBlueScore { expected: data.blue_score, given: 9 })
    );
    let bad = GhostdagHeaderFields { blue_work: BlueWork::from(99), ..good };
    assert!(matches!(validate_header_ghostdag(&data, &bad), Err(RuleError::WrongBlueWork { .. })));
    let bad = GhostdagHeaderFields { selected_parent: Some(h(2)), ..good };
    assert!(matches!(
        validate_header_ghostdag(&data, &bad),
        Err(RuleError::WrongSelectedParent { .. })
    ));
    let unchecked = GhostdagHeaderFields { selected_parent: None, ..good };
    validate_header_ghostdag(&data, &unchecked).expect("selected parent not claimed");
}

#[test]
fn prepared_diff_commits_once() {
    let mut dag = small();
    let a = dag.prepare_block(h(6), &[h(4), h(5)], one()).expect("valid");
    let b = dag.prepare_block(h(7), &[h(4)], one()).expect("valid");
    // Preparing wrote nothing.
    assert!(!dag.contains(h(6)).expect("q"));
    assert_eq!(a.dag_state.block_count, 6);
    assert_eq!(a.parents.as_slice(), &[h(4), h(5)]);
    let data = dag.commit(a).expect("fresh");
    assert_eq!(data.selected_parent, h(5));
    assert!(matches!(dag.commit(b), Err(RuleError::StaleDiff { current: 6, .. })));
    assert_eq!(dag.tips(), &[h(6)]);
    assert_eq!(dag.sink(), h(6));
    // compute_ghostdag is the dry-run of a block with these parents.
    let dry = dag.compute_ghostdag(&[h(6)]).expect("valid");
    let real = dag.add_block(h(7), &[h(6)], one()).expect("valid");
    assert_eq!(dry, *real);
}

#[test]
fn reopening_a_store_keeps_everything() {
    let dag = small();
    let before = dag.ghostdag(h(5)).expect("known");
    let (tips, sink) = (dag.tips().to_vec(), dag.sink());
    let store = dag.into_store();
    assert!(matches!(
        Dag::open(params(), h(2), one(), store.clone()),
        Err(RuleError::GenesisMismatch { .. })
    ));
    let mut dag = Dag::open(params(), h(1), one(), store).expect("same genesis");
    assert_eq!(dag.tips(), tips.as_slice());
    assert_eq!(dag.sink(), sink);
    assert_eq!(dag.ghostdag(h(5)).expect("known"), before);
    dag.add_block(h(6), &[h(4), h(5)], one()).expect("continues");
}

#[test]
fn queries_about_unknown_blocks_say_so() {
    let dag = small();
    assert_eq!(dag.ghostdag(h(42)), Err(RuleError::UnknownBlock(h(42))));
    assert_eq!(dag.is_dag_ancestor_of(h(42), h(5)), Err(RuleError::UnknownBlock(h(42))));
    assert_eq!(dag.is_chain_ancestor_of(h(1), h(43)), Err(RuleError::UnknownBlock(h(43))));
    assert_eq!(dag.selected_chain(h(44)), Err(RuleError::UnknownBlock(h(44))));
}

#[test]
fn ancestry_order_and_chain() {
    let dag = small();
    assert!(dag.is_dag_ancestor_of(h(1), h(5)).expect("q"));
    assert!(dag.is_dag_ancestor_of(h(2), h(5)).expect("q"));
    assert!(dag.is_dag_ancestor_of(h(5), h(5)).expect("a block is its own ancestor"));
    assert!(!dag.is_dag_ancestor_of(h(4), h(5)).expect("q"));
    assert!(dag.is_in_anticone(h(4), h(5)).expect("q"));
    // 5's selected parent is 3 (equal work, larger hash), so 2 is merged, not on its chain.
    assert!(dag.is_chain_ancestor_of(h(3), h(5)).expect("q"));
    assert!(!dag.is_chain_ancestor_of(h(2), h(5)).expect("q"));
    assert_eq!(dag.selected_chain(h(5)).expect("chain"), vec![h(1), h(3), h(5)]);
    assert_eq!(dag.chain_height(h(5)).expect("height"), 2);
    assert_eq!(dag.consensus_order_of_mergeset(h(5)).expect("order"), vec![h(3), h(2)]);
    assert_eq!(dag.consensus_order_of_mergeset(h(1)).expect("genesis"), Vec::<BlockHash>::new());
    assert_eq!(dag.consensus_order(h(5)).expect("order"), vec![h(1), h(3), h(2)]);
    assert_eq!(dag.parents(h(5)).expect("parents").as_slice(), &[h(2), h(3)]);
    assert_eq!(dag.children(h(1)).expect("children").as_slice(), &[h(2), h(3), h(4)]);
}

#[test]
fn virtual_selection() {
    let mut dag = small();
    // Tips 4 and 5; 5 has more blue work.
    assert_eq!(dag.tips(), &[h(4), h(5)]);
    assert_eq!(dag.sink(), h(5));
    assert_eq!(dag.pick_parents().expect("pick"), vec![h(5), h(4)]);
    // Sink 5 has blue score 3 (blues 3, 2); finality depth 2: the chain block with score <= 1.
    assert_eq!(dag.finality_point().expect("fp"), h(3));
    dag.add_block(h(6), &[h(5), h(4)], one()).expect("valid");
    let mut tip = h(6);
    for i in 7..12 {
        dag.add_block(h(i), &[tip], one()).expect("valid");
        tip = h(i);
    }
    // 6 has blue score 5 (blues 5, 4); sink 11 has 10; the chain block with score <= 8 is 9.
    assert_eq!(dag.ghostdag(h(11)).expect("k").blue_score, 10);
    assert_eq!(dag.finality_point().expect("fp"), h(9));

    // With a mergeset limit of 2, a second tip that would merge 2 more blocks is left out.
    let mut dag = Dag::new(GhostdagParams { mergeset_size_limit: 2, ..params() }, h(1)).expect("g");
    dag.add_block(h(2), &[h(1)], one()).expect("valid");
    dag.add_block(h(3), &[h(2)], one()).expect("valid");
    dag.add_block(h(4), &[h(1)], one()).expect("valid");
    dag.add_block(h(5), &[h(4)], one()).expect("valid");
    dag.add_block(h(6), &[h(1)], one()).expect("valid");
    // Sink is 5 (score 2, larger hash than 3); 3 would add {3, 2}: too many; 6 adds {6}.
    assert_eq!(dag.sink(), h(5));
    assert_eq!(dag.pick_parents().expect("pick"), vec![h(5), h(6)]);
}

#[test]
fn blue_work_uses_each_blue_work() {
    let mut dag = Dag::open(params(), h(1), BlueWork::from(10), MemoryConsensusStore::new())
        .expect("genesis");
    dag.add_block(h(2), &[h(1)], BlueWork::from(5)).expect("valid");
    dag.add_block(h(3), &[h(1)], BlueWork::from(7)).expect("valid");
    let data = dag.add_block(h(4), &[h(2), h(3)], BlueWork::from(1)).expect("valid");
    // Both parents have blue work 10; 3 has the larger hash.
    assert_eq!(data.selected_parent, h(3));
    assert_eq!(data.mergeset_blues, vec![h(3), h(2)]);
    assert_eq!(data.blue_work, BlueWork::from(10 + 7 + 5));
    assert_eq!(dag.store().get_blue_work(h(4)).expect("stored"), BlueWork::from(22));
    let overflow = dag.add_block(h(5), &[h(4)], BlueWork::MAX);
    assert!(overflow.is_ok(), "the block's own work is not in its own blue work");
    assert_eq!(dag.add_block(h(6), &[h(5)], one()), Err(RuleError::BlueWorkOverflow(h(5))));
}

/// genesis 1, a chain 10..10+n on it, and a side block 100 on genesis.
fn line_and_side(n: u64, merge_depth: u64) -> Dag {
    let params = GhostdagParams {
        k: 1,
        max_block_parents: 3,
        mergeset_size_limit: 100,
        finality_depth: 100,
        merge_depth,
    };
    let mut dag = Dag::new(params, h(1)).expect("genesis");
    let mut parent = h(1);
    for i in 10..10 + n {
        dag.add_block(h(i), &[parent], one()).expect("chain block");
        parent = h(i);
    }
    dag.add_block(h(100), &[h(1)], one()).expect("side block");
    dag
}

#[test]
fn a_red_from_before_the_merge_depth_root_cannot_be_merged() {
    // Chain blocks 10..15 have blue scores 1..6; a block on 15 and 100 has blue score 7 and
    // merge-depth root 12 (the highest chain block below 7 - 3), and 100 (red) is not in
    // 12's future, nor in the past of any blue it merges.
    let mut dag = line_and_side(6, 3);
    assert_eq!(
        dag.add_block(h(200), &[h(15), h(100)], one()),
        Err(RuleError::ViolatingMergeDepth { red: h(100), root: h(12) })
    );
    assert!(!dag.contains(h(200)).expect("query"), "nothing was written");
    // A producer's parents leave the offending tip out.
    assert_eq!(dag.pick_parents().expect("parents"), vec![h(15)]);
    dag.add_block(h(200), &[h(15)], one()).expect("without it the block is valid");
    // One block later the root is one chain block higher (found from the last root upwards).
    assert_eq!(
        dag.add_block(h(201), &[h(200), h(100)], one()),
        Err(RuleError::ViolatingMergeDepth { red: h(100), root: h(13) })
    );
    let fresh = line_and_side(6, 3);
    let data = dag.compute_ghostdag(&[h(200), h(100)]).expect("ghostdag");
    assert_eq!(dag.merge_depth_root(&data), Ok(Some(h(13))));
    assert_eq!(
        fresh.merge_depth_root(&fresh.compute_ghostdag(&[h(15), h(100)]).expect("ghostdag")),
        Ok(Some(h(12))),
        "walking down from the selected parent finds the same roots"
    );

    // Early enough, the same red merges.
    let mut early = line_and_side(2, 3);
    let data = early.add_block(h(200), &[h(11), h(100)], one()).expect("within the depth");
    assert_eq!(data.mergeset_reds, vec![h(100)]);
    // And without the rule (merge depth beyond every blue score) even late merges pass.
    let mut unbounded = line_and_side(6, u64::MAX);
    unbounded.add_block(h(200), &[h(15), h(100)], one()).expect("no bound");
}

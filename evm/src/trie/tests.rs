//! Tests of [`MerkleTrie`] against alloy-trie's `HashBuilder` (the oracle), against vectors of
//! ethereum/tests, and of its structure (canonical form, copy-on-write, hash caching).

use super::node::{Node, NodeKind};
use super::{MerkleTrie, EMPTY_ROOT_HASH};
use alloy_primitives::{b256, hex, keccak256, Address, B256, U256};
use alloy_rlp::{Encodable, Header};
use alloy_trie::{HashBuilder, Nibbles, TrieAccount, KECCAK_EMPTY};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

type Model = BTreeMap<B256, Vec<u8>>;

/// The root of `model` by alloy-trie's `HashBuilder`.
fn oracle(model: &Model) -> B256 {
    let mut builder = HashBuilder::default();
    for (key, value) in model {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root()
}

/// Checks the canonical form below `node` (at nibble `depth`) and that every cached hash is
/// fresh; returns the number of leaves.
fn check_node(node: &Node, depth: usize) -> usize {
    assert!(node.cache_is_fresh(), "stale cached hash at depth {depth}");
    match &node.kind {
        NodeKind::Leaf { path, value } => {
            assert_eq!(depth + path.len(), 64, "leaf path ends at nibble 64");
            assert!(!value.is_empty(), "leaf with an empty value");
            1
        }
        NodeKind::Extension { path, child } => {
            assert!(!path.is_empty(), "empty extension at depth {depth}");
            assert!(matches!(child.kind, NodeKind::Branch { .. }), "extension over a non-branch");
            check_node(child, depth + path.len())
        }
        NodeKind::Branch { mask, children } => {
            assert!(children.len() >= 2, "branch with {} children", children.len());
            assert_eq!(mask.len(), children.len(), "mask disagrees with children");
            children.iter().map(|child| check_node(child, depth + 1)).sum()
        }
    }
}

/// Checks `trie` against `model`: root, length, values, canonical form.
fn check(trie: &MerkleTrie, model: &Model) {
    assert_eq!(trie.len(), model.len());
    assert_eq!(trie.is_empty(), model.is_empty());
    if let Some(root) = &trie.root {
        assert_eq!(check_node(root, 0), model.len());
    }
    for (key, value) in model {
        assert_eq!(trie.get(*key), Some(value.as_slice()), "value of {key}");
    }
    assert_eq!(trie.root(), oracle(model));
}

/// Number of nodes in `node`'s subtree whose hash is not cached.
fn unhashed(node: &Node) -> usize {
    let own = usize::from(!node.is_hashed());
    own + match &node.kind {
        NodeKind::Leaf { .. } => 0,
        NodeKind::Extension { child, .. } => unhashed(child),
        NodeKind::Branch { children, .. } => children.iter().map(|c| unhashed(c)).sum(),
    }
}

fn account(nonce: u64, balance: u64) -> Vec<u8> {
    let account = TrieAccount {
        nonce,
        balance: U256::from(balance),
        storage_root: EMPTY_ROOT_HASH,
        code_hash: KECCAK_EMPTY,
    };
    alloy_rlp::encode(account)
}

fn random_entries(rng: &mut StdRng, n: usize) -> Model {
    (0..n).map(|_| (B256::from(rng.gen::<[u8; 32]>()), account(rng.gen(), rng.gen()))).collect()
}

#[test]
fn trie_is_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MerkleTrie>();
}

#[test]
fn empty_trie_has_the_empty_root() {
    let expected = b256!("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");
    assert_eq!(EMPTY_ROOT_HASH, expected);
    assert_eq!(keccak256([alloy_rlp::EMPTY_STRING_CODE]), expected);
    assert_eq!(MerkleTrie::new().root(), expected);
    assert_eq!(MerkleTrie::default().root(), expected);
    assert_eq!(MerkleTrie::from_sorted([]).root(), expected);
    assert_eq!(oracle(&Model::new()), expected);

    let mut trie = MerkleTrie::new();
    trie.insert(B256::ZERO, vec![1]);
    assert!(trie.remove(B256::ZERO));
    assert!(!trie.remove(B256::ZERO));
    assert_eq!(trie.root(), expected);
    assert!(trie.is_empty());
}

/// A lone account is a leaf with the whole 64-nibble path: `keccak(rlp([0x20 ‖ key, value]))`,
/// encoded here by hand rather than by the node encoders under test.
#[test]
fn single_account_root() {
    let address = Address::from(hex!("a94f5374fce5edbc8e2a8697c15331677e6ebf0b"));
    let key = keccak256(address);
    let value = account(1, 1_000_000_000);

    let mut path = vec![0x20];
    path.extend_from_slice(key.as_slice());
    let payload_length = path.as_slice().length() + value.as_slice().length();
    let mut leaf = Vec::new();
    Header { list: true, payload_length }.encode(&mut leaf);
    path.as_slice().encode(&mut leaf);
    value.as_slice().encode(&mut leaf);
    let expected = keccak256(&leaf);

    let mut trie = MerkleTrie::new();
    trie.insert(key, value.clone());
    assert_eq!(trie.root(), expected);
    assert_eq!(MerkleTrie::from_sorted([(key, value)]).root(), expected);
}

/// ethereum/tests `TrieTests/hex_encoded_securetrie_test.json`, `test1`: five accounts keyed by
/// `keccak256(address)`, with values that are RLP-encoded accounts.
#[test]
fn ethereum_tests_secure_trie_accounts() {
    let accounts = [
        (
            hex!("a94f5374fce5edbc8e2a8697c15331677e6ebf0b"),
            hex!("f848018405f446a7a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421a0c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470").to_vec(),
        ),
        (
            hex!("095e7baea6a6c7c4c2dfeb977efac326af552d87"),
            hex!("f8440101a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421a004bccc5d94f4d1f99aab44369a910179931772f2a5c001c3229f57831c102769").to_vec(),
        ),
        (
            hex!("d2571607e241ecf590ed94b12d87c94babe36db6"),
            hex!("f8440180a0ba4b47865c55a341a4a78759bb913cd15c3ee8eaf30a62fa8d1c8863113d84e8a0c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470").to_vec(),
        ),
        (
            hex!("62c01474f089b07dae603491675dc5b5748f7049"),
            hex!("f8448080a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421a0c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470").to_vec(),
        ),
        (
            hex!("2adc25665018aa1fe0e6bc666dac8fc2697ff9ba"),
            hex!("f8478083019a59a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421a0c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470").to_vec(),
        ),
    ];
    let expected = b256!("730a444e08ab4b8dee147c9b232fc52d34a223d600031c1e9d25bfc985cbd797");

    let mut trie = MerkleTrie::new();
    let mut model = Model::new();
    for (address, value) in &accounts {
        // The values are RLP accounts of the shape the state trie holds.
        let decoded: TrieAccount =
            alloy_rlp::decode_exact(value.as_slice()).expect("vector holds RLP accounts");
        assert_eq!(&alloy_rlp::encode(decoded), value);
        trie.insert(keccak256(address), value.clone());
        model.insert(keccak256(address), value.clone());
    }
    assert_eq!(trie.root(), expected);
    check(&trie, &model);
    assert_eq!(MerkleTrie::from_sorted(model).root(), expected);
}

/// Applies ethereum/tests secure-trie inputs (keys hashed, `None` removes) and returns the root.
fn secure_trie_root(inputs: &[(&[u8], Option<&[u8]>)]) -> B256 {
    let mut trie = MerkleTrie::new();
    let mut model = Model::new();
    for (key, value) in inputs {
        let key = keccak256(key);
        match value {
            Some(value) => {
                trie.insert(key, value.to_vec());
                model.insert(key, value.to_vec());
            }
            None => {
                trie.remove(key);
                model.remove(&key);
            }
        }
    }
    check(&trie, &model);
    trie.root()
}

/// ethereum/tests `TrieTests/trietest_secureTrie.json`, `emptyValues`.
#[test]
fn ethereum_tests_secure_trie_empty_values() {
    let inputs: [(&[u8], Option<&[u8]>); 8] = [
        (b"do", Some(b"verb")),
        (b"ether", Some(b"wookiedoo")),
        (b"horse", Some(b"stallion")),
        (b"shaman", Some(b"horse")),
        (b"doge", Some(b"coin")),
        (b"ether", None),
        (b"dog", Some(b"puppy")),
        (b"shaman", None),
    ];
    let expected = b256!("29b235a58c3c25ab83010c327d5932bcf05324b7d6b1185e650798034783ca9d");
    assert_eq!(secure_trie_root(&inputs), expected);
}

/// ethereum/tests `TrieTests/trietest_secureTrie.json`, `jeff`: 32-byte keys, a removal and a
/// re-insertion.
#[test]
fn ethereum_tests_secure_trie_jeff() {
    let inputs: [(&[u8], Option<&[u8]>); 11] = [
        (
            &hex!("0000000000000000000000000000000000000000000000000000000000000045"),
            Some(&hex!("22b224a1420a802ab51d326e29fa98e34c4f24ea")),
        ),
        (
            &hex!("0000000000000000000000000000000000000000000000000000000000000046"),
            Some(&hex!("67706c2076330000000000000000000000000000000000000000000000000000")),
        ),
        (
            &hex!("0000000000000000000000000000000000000000000000000000001234567890"),
            Some(&hex!("697c7b8c961b56f675d570498424ac8de1a918f6")),
        ),
        (
            &hex!("000000000000000000000000697c7b8c961b56f675d570498424ac8de1a918f6"),
            Some(&hex!("1234567890")),
        ),
        (
            &hex!("0000000000000000000000007ef9e639e2733cb34e4dfc576d4b23f72db776b2"),
            Some(&hex!("4655474156000000000000000000000000000000000000000000000000000000")),
        ),
        (
            &hex!("000000000000000000000000ec4f34c97e43fbb2816cfd95e388353c7181dab1"),
            Some(&hex!("4e616d6552656700000000000000000000000000000000000000000000000000")),
        ),
        (
            &hex!("4655474156000000000000000000000000000000000000000000000000000000"),
            Some(&hex!("7ef9e639e2733cb34e4dfc576d4b23f72db776b2")),
        ),
        (
            &hex!("4e616d6552656700000000000000000000000000000000000000000000000000"),
            Some(&hex!("ec4f34c97e43fbb2816cfd95e388353c7181dab1")),
        ),
        (&hex!("0000000000000000000000000000000000000000000000000000001234567890"), None),
        (
            &hex!("000000000000000000000000697c7b8c961b56f675d570498424ac8de1a918f6"),
            Some(&hex!("6f6f6f6820736f2067726561742c207265616c6c6c793f000000000000000000")),
        ),
        (
            &hex!("6f6f6f6820736f2067726561742c207265616c6c6c793f000000000000000000"),
            Some(&hex!("697c7b8c961b56f675d570498424ac8de1a918f6")),
        ),
    ];
    let expected = b256!("72adb52e9d9428f808e3e8045be18d3baa77881d0cfab89a17a2bcbacee2f320");
    assert_eq!(secure_trie_root(&inputs), expected);
}

#[test]
fn storage_slots() {
    let mut trie = MerkleTrie::new();
    let mut model = Model::new();
    for slot in 0u64..200 {
        let key = keccak256(U256::from(slot).to_be_bytes::<32>());
        let value = alloy_rlp::encode(U256::from(slot * 0x1_0001 + 1));
        trie.insert(key, value.clone());
        model.insert(key, value);
    }
    check(&trie, &model);
    for slot in (0u64..200).step_by(3) {
        let key = keccak256(U256::from(slot).to_be_bytes::<32>());
        trie.remove(key);
        model.remove(&key);
    }
    check(&trie, &model);
}

#[test]
fn from_sorted_accepts_unsorted_input_with_duplicates() {
    let a = B256::with_last_byte(1);
    let b = B256::with_last_byte(2);
    let c = B256::with_last_byte(3);
    let trie = MerkleTrie::from_sorted([
        (c, vec![3]),
        (a, vec![1]),
        (b, vec![2]),
        (a, vec![9]),
        (c, Vec::new()),
    ]);
    let model = Model::from([(a, vec![9]), (b, vec![2])]);
    check(&trie, &model);
}

#[test]
fn large_random_trie_matches_oracle() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut model = random_entries(&mut rng, 20_000);
    let mut trie = MerkleTrie::from_sorted(model.clone());
    check(&trie, &model);

    let keys: Vec<B256> = model.keys().copied().collect();
    for round in 0..5 {
        for _ in 0..500 {
            let key = if rng.gen_bool(0.8) {
                keys[rng.gen_range(0..keys.len())]
            } else {
                B256::from(rng.gen::<[u8; 32]>())
            };
            if rng.gen_bool(0.25) {
                assert_eq!(trie.remove(key), model.remove(&key).is_some(), "round {round}");
            } else {
                let value = account(rng.gen(), rng.gen());
                trie.insert(key, value.clone());
                model.insert(key, value);
            }
        }
        check(&trie, &model);
    }
}

/// After the root is computed, an update unshares and un-hashes only the nodes on its path,
/// and the clone that shared them keeps every hash.
#[test]
fn update_rehashes_only_its_path() {
    let mut rng = StdRng::seed_from_u64(11);
    let model = random_entries(&mut rng, 5_000);
    let committed = MerkleTrie::from_sorted(model.clone());
    let committed_root = committed.root();

    let mut next = committed.clone();
    let key = *model.keys().nth(1234).expect("5000 keys");
    next.insert(key, account(1, 2));
    let dirty = unhashed(next.root.as_ref().expect("not empty"));
    assert!((1..=8).contains(&dirty), "{dirty} nodes to rehash for one update");
    assert_eq!(unhashed(committed.root.as_ref().expect("not empty")), 0);

    // Rewriting the same value changes nothing.
    let mut same = committed.clone();
    same.insert(key, model[&key].clone());
    assert_eq!(unhashed(same.root.as_ref().expect("not empty")), 0);
    // Removing an absent key neither.
    assert!(!same.remove(B256::repeat_byte(0xab)));
    assert_eq!(unhashed(same.root.as_ref().expect("not empty")), 0);

    let mut expected = model;
    expected.insert(key, account(1, 2));
    assert_eq!(next.root(), oracle(&expected));
    assert_eq!(committed.root(), committed_root);
}

#[test]
fn clones_are_independent() {
    let mut rng = StdRng::seed_from_u64(3);
    let model = random_entries(&mut rng, 1_000);
    // Clone before hashing: the clones share unhashed nodes.
    let mut a = MerkleTrie::from_sorted(model.clone());
    let b = a.clone();
    let keys: Vec<B256> = model.keys().copied().collect();
    let mut expected_a = model.clone();
    for key in keys.iter().step_by(7) {
        a.remove(*key);
        expected_a.remove(key);
    }
    for key in keys.iter().step_by(5) {
        a.insert(*key, vec![0x42]);
        expected_a.insert(*key, vec![0x42]);
    }
    check(&a, &expected_a);
    check(&b, &model);
}

/// Keys that share long prefixes with each other, so extensions of every length appear.
fn key_strategy() -> impl Strategy<Value = B256> {
    let bases = [B256::ZERO, B256::repeat_byte(0x5a), B256::repeat_byte(0xff)];
    (0..bases.len(), 0..=64usize, any::<[u8; 32]>()).prop_map(move |(base, shared, random)| {
        let mut key = bases[base].0;
        for nibble in shared..64 {
            let (byte, mask) = (nibble / 2, if nibble.is_multiple_of(2) { 0xf0 } else { 0x0f });
            key[byte] = (key[byte] & !mask) | (random[byte] & mask);
        }
        B256::from(key)
    })
}

/// Raw bytes (short ones give embedded nodes), RLP accounts, RLP storage values, and empty
/// (a removal).
fn value_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 1..40),
        2 => (any::<u64>(), any::<u64>()).prop_map(|(nonce, balance)| account(nonce, balance)),
        2 => any::<u64>().prop_map(|value| alloy_rlp::encode(U256::from(value) + U256::from(1))),
        1 => Just(Vec::new()),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Insert(usize, Vec<u8>),
    Remove(usize),
    /// Compute the root now, so later updates run over cached hashes.
    Root,
    /// Keep a clone and the model as they are now, to check at the end.
    Snapshot,
}

fn op_strategy(keys: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..keys, value_strategy()).prop_map(|(key, value)| Op::Insert(key, value)),
        3 => (0..keys).prop_map(Op::Remove),
        1 => Just(Op::Root),
        1 => Just(Op::Snapshot),
    ]
}

fn case_strategy() -> impl Strategy<Value = (Vec<B256>, Vec<Op>)> {
    prop::collection::vec(key_strategy(), 1..40).prop_flat_map(|keys| {
        let ops = prop::collection::vec(op_strategy(keys.len()), 0..120);
        (Just(keys), ops)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matches_hash_builder((keys, ops) in case_strategy()) {
        let mut trie = MerkleTrie::new();
        let mut model = Model::new();
        let mut snapshots = Vec::new();
        for op in ops {
            match op {
                Op::Insert(key, value) => {
                    trie.insert(keys[key], value.clone());
                    if value.is_empty() {
                        model.remove(&keys[key]);
                    } else {
                        model.insert(keys[key], value);
                    }
                }
                Op::Remove(key) => {
                    prop_assert_eq!(trie.remove(keys[key]), model.remove(&keys[key]).is_some());
                }
                Op::Root => prop_assert_eq!(trie.root(), oracle(&model)),
                Op::Snapshot => snapshots.push((trie.clone(), model.clone())),
            }
        }
        check(&trie, &model);
        for key in &keys {
            prop_assert_eq!(trie.get(*key), model.get(key).map(Vec::as_slice));
        }
        let built = MerkleTrie::from_sorted(model.clone());
        check(&built, &model);
        prop_assert_eq!(built.root(), trie.root());
        for (snapshot, snapshot_model) in &snapshots {
            check(snapshot, snapshot_model);
        }
    }
}

#[test]
fn proofs_verify_against_the_root_for_present_and_absent_keys() {
    use alloy_trie::proof::verify_proof;
    let mut rng_state = 7u64;
    let mut next = || {
        rng_state = rng_state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        rng_state
    };
    let mut trie = MerkleTrie::new();
    let mut keys = Vec::new();
    for i in 0..500u64 {
        let key = keccak256(i.to_be_bytes());
        // Short values too, so some leaves are inlined in their parents.
        let value = if i % 3 == 0 { vec![0x01] } else { alloy_rlp::encode(U256::from(next())) };
        trie.insert(key, value.clone());
        keys.push((key, value));
    }
    let root = trie.root();
    for (key, value) in &keys {
        let proof = trie.proof(*key);
        assert_eq!(alloy_primitives::keccak256(&proof[0]), root);
        verify_proof(root, Nibbles::unpack(*key), Some(value.clone()), proof.iter())
            .unwrap_or_else(|e| panic!("proof of {key} fails: {e}"));
    }
    for i in 1000..1100u64 {
        let absent = keccak256(i.to_be_bytes());
        let proof = trie.proof(absent);
        verify_proof(root, Nibbles::unpack(absent), None, proof.iter())
            .unwrap_or_else(|e| panic!("absence of {absent} fails: {e}"));
    }
    assert!(MerkleTrie::new().proof(B256::ZERO).is_empty());
}

//! Kaspa's published GHOSTDAG test DAGs: every block's selected parent, blue score, ordered
//! blues and ordered reds must match.

use lattice_consensus::{
    replay::{id_to_hash, replay},
    BlockHash, BlueWork, Dag, GhostdagParams, KType,
};
use serde::Deserialize;
use std::{collections::HashMap, path::PathBuf};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Vector {
    #[serde(rename = "K")]
    k: KType,
    #[serde(rename = "GenesisID")]
    genesis_id: String,
    blocks: Vec<VectorBlock>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VectorBlock {
    #[serde(rename = "ID")]
    id: String,
    parents: Vec<String>,
    expected_score: u64,
    expected_selected_parent: String,
    expected_blues: Vec<String>,
    expected_reds: Vec<String>,
}

fn vector_dir() -> PathBuf {
    // Read at run time, not with `env!`: the target directory is shared between clones, so a
    // compiled-in path may name another clone, or one since deleted.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo, which sets it");
    PathBuf::from(dir).join("../testdata/ghostdag")
}

fn vector_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .expect("testdata/ghostdag exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn load(path: &PathBuf) -> (String, Vector) {
    let text = std::fs::read_to_string(path).expect("readable vector");
    let vector = serde_json::from_str(&text).expect("vector JSON");
    (text, vector)
}

fn hash(id: &str) -> BlockHash {
    id_to_hash(id).expect("vector IDs are short")
}

/// Kaspa's harness runs with mainnet limits (10 parents, mergeset of 180); so do we.
fn params(k: KType) -> GhostdagParams {
    GhostdagParams { k, ..GhostdagParams::default() }
}

#[test]
fn all_six_vectors_match() {
    let files = vector_files();
    assert_eq!(files.len(), 6, "expected dag0..dag5, found {files:?}");
    let mut blocks_checked = 0;
    for path in &files {
        let (_, vector) = load(path);
        let mut dag = Dag::new(params(vector.k), hash(&vector.genesis_id)).expect("genesis");
        let names: HashMap<BlockHash, &str> = std::iter::once(&vector.genesis_id)
            .chain(vector.blocks.iter().map(|b| &b.id))
            .map(|id| (hash(id), id.as_str()))
            .collect();
        let ids = |hashes: &[BlockHash]| -> Vec<&str> { hashes.iter().map(|h| names[h]).collect() };
        for block in &vector.blocks {
            let parents: Vec<BlockHash> = block.parents.iter().map(|p| hash(p)).collect();
            let data = dag
                .add_block(hash(&block.id), &parents, BlueWork::from(1))
                .unwrap_or_else(|e| panic!("{}: block {} rejected: {e}", path.display(), block.id));
            let at = format!("{} block {}", path.display(), block.id);
            assert_eq!(
                names[&data.selected_parent], block.expected_selected_parent,
                "{at}: selected parent"
            );
            assert_eq!(data.blue_score, block.expected_score, "{at}: blue score");
            assert_eq!(data.blue_work, BlueWork::from(block.expected_score), "{at}: blue work");
            assert_eq!(ids(&data.mergeset_blues), block.expected_blues, "{at}: blues");
            assert_eq!(ids(&data.mergeset_reds), block.expected_reds, "{at}: reds");
            blocks_checked += 1;
        }
        // Stored data equals what add_block returned, and ancestry holds for every edge.
        for block in &vector.blocks {
            let stored = dag.ghostdag(hash(&block.id)).expect("stored");
            assert_eq!(stored.blue_score, block.expected_score);
            for p in &block.parents {
                assert!(dag.is_dag_ancestor_of(hash(p), hash(&block.id)).expect("known"));
                assert!(!dag.is_dag_ancestor_of(hash(&block.id), hash(p)).expect("known"));
            }
        }
    }
    assert_eq!(blocks_checked, 84, "dag0..dag5 hold 84 blocks besides genesis");
}

#[test]
fn replay_output_matches_dag0() {
    let (text, vector) = load(&vector_dir().join("dag0.json"));
    let mut out = Vec::new();
    replay(&text, &mut out).expect("replay dag0");
    let out = String::from_utf8(out).expect("utf8");
    let lines: Vec<serde_json::Value> =
        out.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert_eq!(lines.len(), vector.blocks.len() + 1, "genesis plus every block");

    let genesis = &lines[0];
    assert_eq!(genesis["id"], vector.genesis_id.as_str());
    assert!(genesis["selected_parent"].is_null());
    assert_eq!(genesis["blue_score"], 0);
    assert_eq!(genesis["blue_work"], "0x0");
    assert_eq!(genesis["blues"], serde_json::json!([]));
    assert_eq!(genesis["reds"], serde_json::json!([]));

    for (line, block) in lines[1..].iter().zip(&vector.blocks) {
        assert_eq!(line["id"], block.id.as_str());
        assert_eq!(
            line["selected_parent"],
            block.expected_selected_parent.as_str(),
            "{}",
            block.id
        );
        assert_eq!(line["blue_score"], block.expected_score, "{}", block.id);
        assert_eq!(line["blue_work"], format!("{:#x}", block.expected_score), "{}", block.id);
        assert_eq!(line["blues"], serde_json::json!(block.expected_blues), "{}", block.id);
        assert_eq!(line["reds"], serde_json::json!(block.expected_reds), "{}", block.id);
        let keys: Vec<&String> = line.as_object().expect("object").keys().collect();
        assert_eq!(keys.len(), 6, "exactly the six documented fields: {keys:?}");
    }
}

#[test]
fn replay_handles_every_vector() {
    for path in vector_files() {
        let (text, vector) = load(&path);
        let mut out = Vec::new();
        replay(&text, &mut out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let count = String::from_utf8(out).expect("utf8").lines().count();
        assert_eq!(count, vector.blocks.len() + 1, "{}", path.display());
    }
}

/// The replay tool on a generated DAG of tens of thousands of blocks (each block sees the
/// blocks made at least three steps before it, so the DAG is a few blocks wide), with IDs
/// both as short strings and as 64-hex hashes.
#[test]
fn replay_handles_tens_of_thousands_of_blocks() {
    const N: usize = 20_000;
    const DELAY: usize = 3;
    let id = |i: usize| if i.is_multiple_of(2) { format!("b{i}") } else { format!("{i:064x}") };
    let mut parents_of: Vec<Vec<usize>> = vec![Vec::new()];
    // Tips of the DAG made of the blocks visible so far: always an antichain.
    let mut visible_tips = std::collections::BTreeSet::from([0usize]);
    let mut blocks = Vec::with_capacity(N);
    for i in 1..=N {
        if i > DELAY {
            let visible = i - DELAY;
            for p in &parents_of[visible] {
                visible_tips.remove(p);
            }
            visible_tips.insert(visible);
        }
        let parents: Vec<usize> = visible_tips.iter().copied().collect();
        blocks.push(serde_json::json!({
            "ID": id(i),
            "Parents": parents.iter().map(|&p| id(p)).collect::<Vec<_>>(),
        }));
        parents_of.push(parents);
    }
    let json = serde_json::json!({"K": 18, "GenesisID": id(0), "Blocks": blocks}).to_string();
    let start = std::time::Instant::now();
    let mut out = Vec::new();
    replay(&json, &mut out).expect("replay");
    let elapsed = start.elapsed();
    let text = String::from_utf8(out).expect("utf8");
    assert_eq!(text.lines().count(), N + 1);
    let last: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("lines")).expect("json");
    assert_eq!(last["id"], id(N));
    assert!(last["blue_score"].as_u64().expect("score") > (N / 2) as u64);
    eprintln!("replayed {N} blocks in {elapsed:?}");
}

//! Replays a DAG written in Kaspa's GHOSTDAG test-vector format and prints every block's
//! GHOSTDAG data as JSON lines (the `lattice dag replay FILE` subcommand).
//!
//! Input: `K`, `GenesisID`, `Blocks` in topological order with `ID` and `Parents`; optional
//! top-level `MergesetSizeLimit` (default: unlimited); optional per-block `Work` (decimal or
//! `0x` hex, as a string or a JSON integer; default 1). Other fields (the `Expected*` ones)
//! are ignored. An `ID` of exactly 64 hex characters (optionally `0x`-prefixed) is the block
//! hash itself; any other `ID` is its bytes zero-padded to 32 bytes, as Kaspa's harness
//! does. The genesis need not appear in `Blocks`; if it does, only its `Work` is used.
//!
//! Output, one line per block, genesis first, then the blocks in input order:
//! `{"id","selected_parent","blue_score","blue_work","blues","reds"}` where
//! `selected_parent` is `null` for genesis, `blue_work` is `0x` hex, and `blues` / `reds` are
//! the ordered mergeset blues (selected parent first) and reds, as the IDs given.
//!
//! Blocks are validated as the node would (parents known, an antichain; mergeset within the
//! limit, if given; parent count is not limited): the first invalid block stops the replay
//! with an error naming it, after the lines of the blocks before it.

use crate::{
    dag::Dag,
    errors::RuleError,
    params::GhostdagParams,
    stores::MemoryConsensusStore,
    types::{BlockHash, BlockHashMap, BlueWork, KType},
};
use serde::{Deserialize, Serialize};
use std::io::{BufWriter, Write};
use thiserror::Error;

/// Why a replay failed.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// The input is not a DAG in the expected JSON shape.
    #[error("invalid DAG JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// `K` does not fit the k type.
    #[error("K = {0} is too large (max {max})", max = KType::MAX)]
    BadK(u64),
    /// An ID cannot be turned into a hash.
    #[error("bad block ID {id:?}: {reason}")]
    BadId {
        /// The ID as given.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `Work` value cannot be parsed.
    #[error("block {id:?}: bad Work {value}: {reason}")]
    BadWork {
        /// The block's ID.
        id: String,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A block names a parent that does not precede it.
    #[error("block {id:?} lists parent {parent:?}, which is not an earlier block")]
    UnknownParent {
        /// The block's ID.
        id: String,
        /// The unknown parent's ID.
        parent: String,
    },
    /// Two blocks map to the same hash.
    #[error("block {id:?} has the same hash as block {other:?}")]
    DuplicateId {
        /// The later block's ID.
        id: String,
        /// The earlier block's ID.
        other: String,
    },
    /// A block breaks a consensus rule.
    #[error("block {id:?} rejected: {source}")]
    Rule {
        /// The block's ID.
        id: String,
        /// The rule it breaks.
        #[source]
        source: RuleError,
    },
    /// Writing the output failed.
    #[error("writing replay output: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InputDag {
    #[serde(rename = "K")]
    k: u64,
    #[serde(rename = "GenesisID")]
    genesis_id: String,
    #[serde(default)]
    mergeset_size_limit: Option<u64>,
    blocks: Vec<InputBlock>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InputBlock {
    #[serde(rename = "ID")]
    id: String,
    #[serde(default)]
    parents: Vec<String>,
    #[serde(default)]
    work: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct OutputLine<'a> {
    id: &'a str,
    selected_parent: Option<&'a str>,
    blue_score: u64,
    blue_work: String,
    blues: Vec<&'a str>,
    reds: Vec<&'a str>,
}

/// Converts a test-vector ID to a block hash (see the module docs).
pub fn id_to_hash(id: &str) -> Result<BlockHash, ReplayError> {
    let hex = id.strip_prefix("0x").unwrap_or(id);
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let pair = &hex[2 * i..2 * i + 2];
            *byte = u8::from_str_radix(pair, 16)
                .map_err(|_| ReplayError::BadId { id: id.to_owned(), reason: "invalid hex" })?;
        }
        return Ok(BlockHash::from(bytes));
    }
    let raw = id.as_bytes();
    if raw.len() > 32 {
        return Err(ReplayError::BadId {
            id: id.to_owned(),
            reason: "longer than 32 bytes and not a 64-character hex hash",
        });
    }
    let mut bytes = [0u8; 32];
    bytes[..raw.len()].copy_from_slice(raw);
    Ok(BlockHash::from(bytes))
}

fn parse_work(id: &str, value: Option<&serde_json::Value>) -> Result<BlueWork, ReplayError> {
    let bad = |value: &serde_json::Value, reason: String| ReplayError::BadWork {
        id: id.to_owned(),
        value: value.to_string(),
        reason,
    };
    match value {
        None | Some(serde_json::Value::Null) => Ok(BlueWork::from(1)),
        Some(v @ serde_json::Value::Number(n)) => n.as_u64().map(BlueWork::from).ok_or_else(|| {
            bad(
                v,
                "numbers must be non-negative integers below 2^64; use a string for larger values"
                    .into(),
            )
        }),
        Some(v @ serde_json::Value::String(s)) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => BlueWork::from_str_radix(hex, 16),
                None => BlueWork::from_str_radix(s, 10),
            };
            parsed.map_err(|e| bad(v, e.to_string()))
        }
        Some(v) => Err(bad(v, "expected a string or an integer".into())),
    }
}

/// Replays the DAG in `json` and writes one JSON line per block to `out`.
pub fn replay<W: Write>(json: &str, out: W) -> Result<(), ReplayError> {
    let input: InputDag = serde_json::from_str(json)?;
    let k = KType::try_from(input.k).map_err(|_| ReplayError::BadK(input.k))?;
    let params = GhostdagParams {
        k,
        max_block_parents: u64::MAX,
        mergeset_size_limit: input.mergeset_size_limit.unwrap_or(u64::MAX),
        finality_depth: u64::MAX,
        // Kaspa's test DAGs are GHOSTDAG vectors: no merge-depth bound applies.
        merge_depth: u64::MAX,
    };
    let genesis = id_to_hash(&input.genesis_id)?;
    let genesis_work = match input.blocks.iter().find(|b| b.id == input.genesis_id) {
        Some(block) => parse_work(&block.id, block.work.as_ref())?,
        None => BlueWork::from(1),
    };
    let rule = |id: &str, source: RuleError| ReplayError::Rule { id: id.to_owned(), source };
    let mut dag = Dag::open(params, genesis, genesis_work, MemoryConsensusStore::new())
        .map_err(|e| rule(&input.genesis_id, e))?;

    // Hash -> ID, to print IDs as given.
    let mut ids: BlockHashMap<&str> = BlockHashMap::default();
    ids.reserve(input.blocks.len() + 1);
    ids.insert(genesis, input.genesis_id.as_str());
    let name = |ids: &BlockHashMap<&'_ str>, hash: &BlockHash| -> String {
        ids.get(hash).map_or_else(|| hash.to_string(), |s| (*s).to_owned())
    };

    let mut out = BufWriter::new(out);
    let genesis_line = OutputLine {
        id: &input.genesis_id,
        selected_parent: None,
        blue_score: 0,
        blue_work: format!("{:#x}", BlueWork::ZERO),
        blues: Vec::new(),
        reds: Vec::new(),
    };
    serde_json::to_writer(&mut out, &genesis_line)?;
    out.write_all(b"\n")?;

    let mut parents = Vec::new();
    for block in &input.blocks {
        if block.id == input.genesis_id {
            continue;
        }
        let hash = id_to_hash(&block.id)?;
        if let Some(other) = ids.get(&hash) {
            return Err(ReplayError::DuplicateId {
                id: block.id.clone(),
                other: (*other).to_owned(),
            });
        }
        parents.clear();
        for parent in &block.parents {
            let parent_hash = id_to_hash(parent)?;
            if !ids.contains_key(&parent_hash) {
                return Err(ReplayError::UnknownParent {
                    id: block.id.clone(),
                    parent: parent.clone(),
                });
            }
            parents.push(parent_hash);
        }
        let work = parse_work(&block.id, block.work.as_ref())?;
        let data = dag.add_block(hash, &parents, work).map_err(|e| rule(&block.id, e))?;
        ids.insert(hash, block.id.as_str());

        let sp_name = name(&ids, &data.selected_parent);
        let blues: Vec<String> = data.mergeset_blues.iter().map(|h| name(&ids, h)).collect();
        let reds: Vec<String> = data.mergeset_reds.iter().map(|h| name(&ids, h)).collect();
        let line = OutputLine {
            id: &block.id,
            selected_parent: Some(&sp_name),
            blue_score: data.blue_score,
            blue_work: format!("{:#x}", data.blue_work),
            blues: blues.iter().map(String::as_str).collect(),
            reds: reds.iter().map(String::as_str).collect(),
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_hashes() {
        let h = id_to_hash("A").expect("short id");
        assert_eq!(h.0[0], b'A');
        assert!(h.0[1..].iter().all(|b| *b == 0));
        let hex = "11".repeat(32);
        assert_eq!(id_to_hash(&hex).expect("hex id"), BlockHash::repeat_byte(0x11));
        assert_eq!(
            id_to_hash(&format!("0x{hex}")).expect("0x hex id"),
            BlockHash::repeat_byte(0x11)
        );
        // 64 characters that are not all hex: too long to pad.
        assert!(id_to_hash(&"z".repeat(64)).is_err());
        assert!(id_to_hash(&"a".repeat(33)).is_err());
    }

    #[test]
    fn work_values() {
        assert_eq!(parse_work("x", None).expect("default"), BlueWork::from(1));
        let v = serde_json::json!("0x10");
        assert_eq!(parse_work("x", Some(&v)).expect("hex"), BlueWork::from(16));
        let v = serde_json::json!("1000000000000000000000000");
        assert!(parse_work("x", Some(&v)).expect("big decimal") > BlueWork::from(u64::MAX));
        let v = serde_json::json!(7);
        assert_eq!(parse_work("x", Some(&v)).expect("number"), BlueWork::from(7));
        let v = serde_json::json!(-1);
        assert!(parse_work("x", Some(&v)).is_err());
        let v = serde_json::json!("zz");
        assert!(parse_work("x", Some(&v)).is_err());
    }

    #[test]
    fn small_replay_with_work_and_limit() {
        let json = r#"{"K": 1, "GenesisID": "G", "Blocks": [
            {"ID": "a", "Parents": ["G"], "Work": "0x2"},
            {"ID": "b", "Parents": ["G"], "Work": 3},
            {"ID": "c", "Parents": ["a", "b"]}
        ]}"#;
        let mut out = Vec::new();
        replay(json, &mut out).expect("replay");
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0]["selected_parent"], serde_json::Value::Null);
        assert_eq!(lines[0]["blue_work"], "0x0");
        assert_eq!(lines[1]["blue_work"], "0x1");
        // c: blue works a = b = 1 (genesis work), hash "b" > "a", so b is selected.
        assert_eq!(lines[3]["selected_parent"], "b");
        assert_eq!(lines[3]["blues"], serde_json::json!(["b", "a"]));
        assert_eq!(lines[3]["blue_score"], 3);
        assert_eq!(lines[3]["blue_work"], format!("{:#x}", 1 + 3 + 2));

        let limited = json.replace(r#""K": 1,"#, r#""K": 1, "MergesetSizeLimit": 1,"#);
        let mut out = Vec::new();
        let err = replay(&limited, &mut out).expect_err("mergeset of c is 2 > 1");
        assert!(err.to_string().contains("\"c\""), "{err}");
        assert!(err.to_string().contains("limit is 1"), "{err}");
        // The lines before the failing block were written.
        assert_eq!(String::from_utf8(out).expect("utf8").lines().count(), 3);
    }

    #[test]
    fn replay_errors_name_the_block() {
        let json = r#"{"K": 3, "GenesisID": "G", "Blocks": [{"ID": "a", "Parents": ["x"]}]}"#;
        let err = replay(json, Vec::new()).expect_err("unknown parent");
        assert!(err.to_string().contains("\"x\""), "{err}");
        let json = r#"{"K": 3, "GenesisID": "G", "Blocks": [
            {"ID": "a", "Parents": ["G"]}, {"ID": "b", "Parents": ["G", "a"]}]}"#;
        let err = replay(json, Vec::new()).expect_err("redundant parent");
        assert!(err.to_string().contains("is an ancestor of parent"), "{err}");
        let json = r#"{"K": 70000, "GenesisID": "G", "Blocks": []}"#;
        assert!(matches!(replay(json, Vec::new()), Err(ReplayError::BadK(70000))));
        assert!(matches!(replay("{", Vec::new()), Err(ReplayError::Json(_))));
    }
}

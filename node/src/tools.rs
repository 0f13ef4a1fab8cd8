//! The binary's one-shot tools: `lattice keygen`, `lattice init` and `lattice genesis-info`.

use crate::chain::{genesis_header, Chain};
use crate::config::{NodeConfig, CHAIN_SPEC_FILE, PRODUCER_KEY_FILE};
use alloy_primitives::hex;
use alloy_signer_local::PrivateKeySigner;
use eyre::{Context, Result};
use lattice_storage::Db;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

/// The file in a data directory that holds the node's libp2p identity.
pub const NODE_KEY_FILE: &str = "node-key";

/// Creates a producer key and a node key; writes them into `out` (mode 0600) when given.
/// Returns what to print.
pub fn keygen(out: Option<&Path>) -> Result<serde_json::Value> {
    let producer = PrivateKeySigner::random();
    let producer_hex = format!("0x{}", hex::encode(producer.to_bytes()));
    let node = lattice_network::Keypair::generate_ed25519();
    let node_bytes = node.to_protobuf_encoding().wrap_err("cannot encode the node key")?;
    let mut printed = json!({
        "producerAddress": producer.address(),
        "producerKey": producer_hex,
        "peerId": node.public().to_peer_id().to_string(),
        "nodeKey": hex::encode(&node_bytes),
    });
    if let Some(dir) = out {
        let (pk, nk) = (dir.join(PRODUCER_KEY_FILE), dir.join(NODE_KEY_FILE));
        for path in [&pk, &nk] {
            if path.exists() {
                eyre::bail!("{} exists; keygen never replaces a key", path.display());
            }
        }
        lattice_network::write_secret(&pk, producer_hex.as_bytes())
            .wrap_err_with(|| format!("cannot write {}", pk.display()))?;
        lattice_network::write_secret(&nk, &node_bytes)
            .wrap_err_with(|| format!("cannot write {}", nk.display()))?;
        printed["producerKeyFile"] = json!(pk);
        printed["nodeKeyFile"] = json!(nk);
    }
    Ok(printed)
}

/// Opens (creating) the chain of `config` in `dir`.
fn open_chain(config: &NodeConfig, dir: &Path) -> Result<Chain> {
    let db_path = dir.join("db");
    let db = Db::open(&db_path, &crate::chain::all_tables())
        .wrap_err_with(|| format!("cannot open the database at {}", db_path.display()))?;
    Chain::open_with(Arc::new(db), config.spec.clone(), config.chain)
}

/// The genesis of `chain` as JSON.
fn describe(chain: &Chain) -> Result<serde_json::Value> {
    let spec = chain.spec();
    let header = chain.header(chain.genesis())?.ok_or_else(|| eyre::eyre!("no genesis header"))?;
    debug_assert_eq!(genesis_header(spec, header.state_root).hash_slow(), chain.genesis());
    let alloc: serde_json::Map<String, serde_json::Value> = spec
        .alloc
        .iter()
        .map(|(address, account)| {
            let mut entry = json!({ "balance": account.balance });
            if !account.code.is_empty() {
                entry["codeBytes"] = json!(account.code.len());
            }
            if account.nonce != 0 {
                entry["nonce"] = json!(account.nonce);
            }
            (address.to_checksum(None), entry)
        })
        .collect();
    Ok(json!({
        "genesisHash": chain.genesis(),
        "stateRoot": header.state_root,
        "chainId": spec.chain_id,
        "producers": spec.producers,
        "openProducers": spec.open_producers,
        "blockTimeMs": spec.block_time_ms,
        "gasLimit": spec.gas_limit,
        "ghostdagK": spec.ghostdag_k,
        "alloc": alloc,
    }))
}

/// `lattice genesis-info`: the genesis of the configured chain, computed in a scratch
/// directory.
pub fn genesis_info(config: &NodeConfig) -> Result<serde_json::Value> {
    let scratch = tempfile::tempdir().wrap_err("cannot create a scratch directory")?;
    describe(&open_chain(config, scratch.path())?)
}

/// `lattice init`: writes the chain specification (`chain.json`) and the genesis into the
/// data directory, so that a node started there needs no chain flag.
pub fn init(config: &NodeConfig) -> Result<serde_json::Value> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    let spec_path = dir.join(CHAIN_SPEC_FILE);
    let spec_json = serde_json::to_string_pretty(&config.spec)?;
    match std::fs::read_to_string(&spec_path) {
        Ok(existing) if existing != spec_json => {
            return Err(crate::UsageError::report(
                format!("{} holds another chain specification", spec_path.display()),
                "pass the flags (or --chain file) this directory was created with, or another --data-dir",
            ))
        }
        Ok(_) => {}
        Err(_) => std::fs::write(&spec_path, &spec_json)
            .wrap_err_with(|| format!("cannot write {}", spec_path.display()))?,
    }
    let chain = open_chain(config, dir)?;
    let mut out = describe(&chain)?;
    out["dataDir"] = json!(dir);
    out["chainSpec"] = json!(spec_path);
    chain.db().flush()?;
    Ok(out)
}

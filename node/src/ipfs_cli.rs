//! `lattice ipfs add FILE [--register]`: adds a model file to Kubo, computes the storage
//! commitment `IPFSIncentives` checks, and with `--register` registers the file as a model
//! through `ModelRegistry` (which opens the file's pinning record), over any node's JSON-RPC.

use crate::pinning::{
    registerModelCall, registrationFeeCall, ContentSpec, ModelInput, ModelVersionAdded,
};
use alloy_consensus::{TxEip1559, TxEnvelope, TypedTransaction};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolEvent};
use eyre::{bail, eyre, Context, Result};
use lattice_ipfs::pinning::DEFAULT_MAX_PIN_BYTES;
use lattice_ipfs::{merkle, ClientConfig, IpfsClient};
use lattice_loadgen::Http;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long `--register` waits for its transaction's receipt.
const RECEIPT_WAIT: Duration = Duration::from_secs(120);

/// `lattice ipfs add` flags.
#[derive(Clone, Debug, clap::Args)]
pub struct AddArgs {
    /// The file (at most 256 MiB: it is read into memory to compute its commitment).
    pub file: PathBuf,
    /// Kubo's HTTP RPC.
    #[arg(
        long,
        env = "LATTICE_IPFS_API",
        value_name = "URL",
        default_value = "http://127.0.0.1:5001"
    )]
    pub ipfs_api: String,
    /// Also register the file as a model through ModelRegistry (--registry, --key-file).
    #[arg(long)]
    pub register: bool,
    /// The node's JSON-RPC.
    #[arg(
        long,
        env = "LATTICE_RPC_URL",
        value_name = "URL",
        default_value = "http://127.0.0.1:8545"
    )]
    pub rpc: String,
    /// The ModelRegistry contract (deployments/<chain-id>.json lists it).
    #[arg(long, env = "LATTICE_MODEL_REGISTRY", value_name = "ADDRESS")]
    pub registry: Option<Address>,
    /// File holding the key (hex) that signs and pays for the registration.
    #[arg(long, env = "LATTICE_KEY_FILE", value_name = "FILE", conflicts_with = "key")]
    pub key_file: Option<PathBuf>,
    /// The key as hex (prefer --key-file: the process list is readable by other users).
    #[arg(long, env = "LATTICE_KEY", value_name = "HEX")]
    pub key: Option<String>,
    /// The model's name [default: the file's name].
    #[arg(long)]
    pub name: Option<String>,
    /// The model's framework, e.g. pytorch, onnx, gguf.
    #[arg(long, default_value = "onnx")]
    pub framework: String,
    /// The model card's URI.
    #[arg(long, default_value = "")]
    pub metadata_uri: String,
    /// Wei per use, paid to the owner by the compute marketplace.
    #[arg(long, default_value_t = 0)]
    pub price_per_use: u128,
    /// Replicas the pinning record asks for.
    #[arg(long, default_value_t = 3)]
    pub replication: u16,
    /// Epochs the pinning record runs.
    #[arg(long, default_value_t = 720)]
    pub duration_epochs: u32,
    /// Wei paid per byte and epoch to each provider.
    #[arg(long, default_value_t = 0)]
    pub reward_per_byte_epoch: u128,
    /// Ether sent on top of the registration fee, funding the pinning record (e.g. 0.5).
    #[arg(long, value_name = "ETHER", value_parser = crate::cli::parse_ether, default_value = "0")]
    pub fund: U256,
}

/// Runs `lattice ipfs add`; returns what it prints.
pub async fn add(args: &AddArgs) -> Result<String> {
    let meta = std::fs::metadata(&args.file)
        .wrap_err_with(|| format!("cannot read {}", args.file.display()))?;
    if meta.len() > DEFAULT_MAX_PIN_BYTES {
        bail!(
            "{} is {} bytes, over the {DEFAULT_MAX_PIN_BYTES} this command reads",
            args.file.display(),
            meta.len()
        );
    }
    let data = std::fs::read(&args.file)
        .wrap_err_with(|| format!("cannot read {}", args.file.display()))?;
    let commitment = merkle::commitment(&data)
        .ok_or_else(|| eyre!("{} is empty: nothing to pin", args.file.display()))?;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let client = IpfsClient::new(&args.ipfs_api, ClientConfig::default())
        .map_err(|e| eyre!("--ipfs-api: {e}"))?;
    // Check the registration's inputs before adding anything.
    let signer = match args.register {
        true => Some(signer(args)?),
        false => None,
    };
    if args.register && args.registry.is_none() {
        bail!("--register needs --registry ADDRESS (the ModelRegistry; deployments/<chain-id>.json lists it)");
    }
    let added = client
        .add(&name, data)
        .await
        .map_err(|e| eyre!("adding to Kubo at {}: {e}", args.ipfs_api))?;
    let mut out = String::new();
    writeln!(out, "cid {}", added.cid)?;
    writeln!(out, "size {}", commitment.size_bytes)?;
    writeln!(out, "leaves {}", commitment.leaf_count)?;
    writeln!(out, "merkle root {}", B256::from(commitment.merkle_root))?;
    let Some(signer) = signer else { return Ok(out) };
    let registry = args
        .registry
        .ok_or_else(|| eyre!("--register needs --registry ADDRESS (the ModelRegistry)"))?;
    let spec = ContentSpec {
        sizeBytes: commitment.size_bytes,
        merkleRoot: B256::from(commitment.merkle_root),
        leafCount: commitment.leaf_count,
        replicationTarget: args.replication,
        durationEpochs: args.duration_epochs,
        rewardPerByteEpoch: args.reward_per_byte_epoch,
    };
    let http = Http::new(&args.rpc)?;
    let fee = view(&http, registry, registrationFeeCall {}).await?;
    let call = registerModelCall {
        input: ModelInput {
            name: args.name.clone().unwrap_or(name),
            framework: args.framework.clone(),
            metadataURI: args.metadata_uri.clone(),
            pricePerUse: args.price_per_use,
            permissioned: false,
            maxFee: fee,
        },
        cid: added.cid.clone(),
        content: spec,
    };
    let value = fee.checked_add(args.fund).ok_or_else(|| eyre!("--fund overflows"))?;
    let (hash, receipt) =
        transact(&http, &signer, registry, value, call.abi_encode().into()).await?;
    writeln!(out, "transaction {hash}")?;
    let mut found = false;
    for log in receipt["logs"].as_array().into_iter().flatten() {
        let topics: Vec<B256> = serde_json::from_value(log["topics"].clone()).unwrap_or_default();
        let data: Bytes = serde_json::from_value(log["data"].clone()).unwrap_or_default();
        let Some(data) = alloy_primitives::LogData::new(topics, data) else { continue };
        if let Ok(added) = ModelVersionAdded::decode_log_data(&data) {
            writeln!(out, "model {}", added.modelId)?;
            writeln!(out, "version {}", added.version)?;
            writeln!(out, "pin record {}", added.pinRecordId)?;
            found = true;
        }
    }
    if !found {
        bail!("{out}the transaction {hash} succeeded but logged no ModelVersionAdded: is {registry} a ModelRegistry?");
    }
    Ok(out)
}

fn signer(args: &AddArgs) -> Result<PrivateKeySigner> {
    let text = match (&args.key_file, &args.key) {
        (Some(file), _) => String::from_utf8(
            lattice_network::read_secret(file)
                .wrap_err_with(|| format!("cannot read the key file {}", file.display()))?,
        )
        .map_err(|_| eyre!("the key file {} is not text", file.display()))?,
        (None, Some(key)) => key.clone(),
        (None, None) => {
            bail!("--register needs a key that pays for it: --key-file FILE (or --key HEX)")
        }
    };
    text.trim().trim_start_matches("0x").parse().map_err(|e| eyre!("invalid key: {e}"))
}

/// Calls a view at `latest`.
async fn view<C: SolCall>(http: &Http, to: Address, call: C) -> Result<C::Return> {
    let answer = http
        .call("eth_call", json!([{"to": to, "data": Bytes::from(call.abi_encode())}, "latest"]))
        .await?;
    let output: Bytes = serde_json::from_value(answer)?;
    C::abi_decode_returns(&output)
        .map_err(|e| eyre!("{} at {to}: {e} (is it the right contract?)", C::SIGNATURE))
}

/// Estimates, signs and sends a transaction; waits for its receipt, which must be a success.
async fn transact(
    http: &Http,
    signer: &PrivateKeySigner,
    to: Address,
    value: U256,
    input: Bytes,
) -> Result<(B256, Value)> {
    let from = signer.address();
    let request = json!({"from": from, "to": to, "value": value, "data": input});
    let gas = quantity(&http.call("eth_estimateGas", json!([request])).await?)?;
    let chain_id = quantity(&http.call("eth_chainId", json!([])).await?)?;
    let nonce = quantity(&http.call("eth_getTransactionCount", json!([from, "pending"])).await?)?;
    let gas_price = quantity(&http.call("eth_gasPrice", json!([])).await?)?;
    let tip = quantity(&http.call("eth_maxPriorityFeePerGas", json!([])).await?)?;
    let tx = TypedTransaction::Eip1559(TxEip1559 {
        chain_id: chain_id as u64,
        nonce: nonce as u64,
        gas_limit: (gas as u64).saturating_add(gas as u64 / 5),
        max_fee_per_gas: gas_price.saturating_mul(2).saturating_add(tip),
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(to),
        value,
        access_list: Default::default(),
        input,
    });
    let signed: TxEnvelope = lattice_primitives::sign_transaction(signer, tx)?;
    let raw = Bytes::from(signed.encoded_2718());
    let answer = http.call("eth_sendRawTransaction", json!([raw])).await?;
    let hash: B256 = serde_json::from_value(answer)?;
    let started = Instant::now();
    loop {
        let receipt = http.call("eth_getTransactionReceipt", json!([hash])).await?;
        if !receipt.is_null() {
            if receipt["status"] != json!("0x1") {
                bail!("the transaction {hash} reverted (block {})", receipt["blockNumber"]);
            }
            return Ok((hash, receipt));
        }
        if started.elapsed() > RECEIPT_WAIT {
            bail!(
                "the transaction {hash} was sent but has no receipt after {RECEIPT_WAIT:?}; do not send it \
                 again (it would pay the fee twice): look for its receipt (eth_getTransactionReceipt)"
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn quantity(v: &Value) -> Result<u128> {
    let s = v.as_str().ok_or_else(|| eyre!("not a quantity: {v}"))?;
    u128::from_str_radix(s.trim_start_matches("0x"), 16)
        .wrap_err_with(|| format!("not a quantity: {s}"))
}

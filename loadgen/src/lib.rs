//! `lattice loadgen`: load for any Ethereum JSON-RPC node (Lattice, anvil, geth).
//!
//! Funds fresh senders from one key (by default the first dev account), pre-signs every
//! transaction, sends them as JSON-RPC batches (at a rate or flat out), and follows inclusion
//! through `newHeads` and `eth_getBlockReceipts`, never one receipt poll per transaction.
//! The [`Report`] gives what was sent, accepted, rejected (by reason) and included, the
//! throughput until the last receipt and the inclusion latency.

mod contracts;
mod rpc;

pub use contracts::{balance_of_call, transfer_call};
pub use rpc::{subscribe, Http, RpcError};

use alloy_consensus::{TxEip1559, TxEnvelope, TypedTransaction};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use eyre::{bail, eyre, Context, Result};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What each transaction of the load does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// ETH transfers (21,000 gas each).
    Transfer,
    /// ERC-20 `transfer` calls on a token deployed for the run.
    Erc20,
    /// Calls that write a storage slot of a contract deployed for the run.
    Storage,
    /// The three kinds in turn.
    Mix,
}

/// `lattice loadgen` flags (the environment names are those of `scripts/load_test.sh`).
#[derive(Clone, Debug, clap::Args)]
pub struct LoadgenArgs {
    /// The node's JSON-RPC over HTTP.
    #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:8545")]
    pub rpc_url: String,
    /// The node's JSON-RPC over WebSocket, for `newHeads` (default: the HTTP URL with ws://;
    /// `none` polls `eth_blockNumber` instead).
    #[arg(long, env = "WS_URL")]
    pub ws_url: Option<String>,
    /// Transactions to send.
    #[arg(long, env = "NUM_TXS", default_value_t = 10_000)]
    pub txs: u64,
    /// Fresh sender accounts the load is spread over.
    #[arg(long, env = "SENDERS", default_value_t = 200)]
    pub senders: u32,
    /// JSON-RPC batches in flight at once.
    #[arg(long, env = "CONCURRENT", default_value_t = 8)]
    pub concurrent: usize,
    /// Transactions per JSON-RPC batch (at most the node's batch limit).
    #[arg(long, env = "BATCH", default_value_t = 100)]
    pub batch: usize,
    /// Transactions per second to send (0: as fast as the node takes them).
    #[arg(long, env = "RATE", default_value_t = 0)]
    pub rate: u64,
    /// What the transactions do.
    #[arg(long, env = "KIND", value_enum, default_value_t = Kind::Transfer)]
    pub kind: Kind,
    /// Private key (hex) of the funded account that pays for the senders (default: the first
    /// account of the test mnemonic, which `--dev` funds).
    #[arg(long, env = "FUNDER_KEY")]
    pub key: Option<String>,
    /// Without --key: which test-mnemonic account pays (0-9; parallel loadgens against one
    /// chain each need their own).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..10))]
    pub dev_account: u32,
    /// Seed of the senders' keys (default: a random one; the report gives it, so that a run's
    /// senders can be found again).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seconds to wait, after the last send, for every accepted transaction to be included.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Prints the report as JSON (progress still goes to stderr unless --quiet).
    #[arg(long)]
    pub json: bool,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

impl LoadgenArgs {
    /// The defaults, against `rpc_url` (for tests and scripts).
    pub fn against(rpc_url: &str) -> Self {
        Self {
            rpc_url: rpc_url.to_string(),
            ws_url: None,
            txs: 10_000,
            senders: 200,
            concurrent: 8,
            batch: 100,
            rate: 0,
            kind: Kind::Transfer,
            key: None,
            dev_account: 0,
            seed: None,
            timeout: 120,
            json: false,
            quiet: true,
        }
    }
}

/// Latency percentiles, in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// What a run did and measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The kind of load.
    pub kind: Kind,
    /// Seed of the senders' keys ([`sender_key`]).
    pub seed: u64,
    /// Transactions sent.
    pub sent: u64,
    /// Accepted by the node (a hash answered).
    pub accepted: u64,
    /// Sent again after the node's pool was full (each time counted).
    pub retried: u64,
    /// Refused, by the node's error message.
    pub rejected: BTreeMap<String, u64>,
    /// Accepted and seen in a block's receipts.
    pub included: u64,
    /// Included with status 0 (reverted).
    pub reverted: u64,
    /// Accepted but not included when the wait ended.
    pub missing: u64,
    /// Seconds spent signing (before sending).
    pub sign_secs: f64,
    /// Seconds from the first send to the last answer.
    pub send_secs: f64,
    /// Accepted transactions per second of sending (ingestion).
    pub ingestion_tps: f64,
    /// Included transactions per second, from the first send to the last receipt.
    pub tps: f64,
    /// From sending a transaction's batch to seeing its receipt.
    pub inclusion_latency: Latency,
    /// Chain blocks whose receipts were read.
    pub blocks: u64,
    /// The token the ERC-20 load used.
    pub token: Option<Address>,
    /// The contract the storage load wrote to.
    pub writer: Option<Address>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.inclusion_latency;
        writeln!(f, "kind            {:?}", self.kind)?;
        writeln!(f, "sent            {}", self.sent)?;
        writeln!(
            f,
            "accepted        {} ({} sent again after a full pool)",
            self.accepted, self.retried
        )?;
        writeln!(f, "rejected        {}", self.rejected.values().sum::<u64>())?;
        for (reason, n) in &self.rejected {
            writeln!(f, "  {n:>8}  {reason}")?;
        }
        writeln!(
            f,
            "included        {} ({} reverted, {} missing)",
            self.included, self.reverted, self.missing
        )?;
        writeln!(f, "signing         {:.1} s", self.sign_secs)?;
        writeln!(f, "ingestion       {:.0} tx/s over {:.1} s", self.ingestion_tps, self.send_secs)?;
        writeln!(
            f,
            "TPS             {:.0} (until the last receipt, {} blocks)",
            self.tps, self.blocks
        )?;
        write!(
            f,
            "inclusion       p50 {:.0} ms  p95 {:.0} ms  p99 {:.0} ms  max {:.0} ms",
            l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
        )
    }
}

/// Gas limits per kind (generous: unused gas is refunded, and a first write costs most).
const TRANSFER_GAS: u64 = 21_000;
const CALL_GAS: u64 = 80_000;
const DEPLOY_GAS: u64 = 500_000;

/// Fee settings of the run.
#[derive(Clone, Copy, Debug)]
struct Fees {
    chain_id: u64,
    max_fee: u128,
    tip: u128,
}

/// Contracts deployed for the run.
#[derive(Clone, Copy, Debug, Default)]
struct Targets {
    token: Option<Address>,
    writer: Option<Address>,
}

/// A signed transaction, ready to send.
struct Signed {
    hash: B256,
    raw: String,
}

fn sign(
    signer: &PrivateKeySigner,
    fees: Fees,
    nonce: u64,
    gas: u64,
    to: TxKind,
    value: U256,
    input: Bytes,
) -> Result<Signed> {
    let tx = TypedTransaction::Eip1559(TxEip1559 {
        chain_id: fees.chain_id,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: fees.max_fee,
        max_priority_fee_per_gas: fees.tip,
        to,
        value,
        access_list: Default::default(),
        input,
    });
    let envelope: TxEnvelope = lattice_primitives::sign_transaction(signer, tx)?;
    Ok(Signed {
        hash: *envelope.tx_hash(),
        raw: format!("0x{}", alloy_primitives::hex::encode(envelope.encoded_2718())),
    })
}

/// The max fee per gas of the run: room for the base fee to rise a long way under load. The
/// node's answers are not trusted to be small.
fn max_fee(gas_price: u128, tip: u128) -> Result<u128> {
    gas_price
        .max(1_000_000_000)
        .checked_mul(50)
        .and_then(|f| f.checked_add(tip))
        .ok_or_else(|| eyre!("the node's gas price {gas_price} and tip {tip} overflow a fee"))
}

fn quantity(v: &Value) -> Result<u128> {
    let s = v.as_str().ok_or_else(|| eyre!("not a quantity: {v}"))?;
    u128::from_str_radix(s.trim_start_matches("0x"), 16)
        .wrap_err_with(|| format!("not a quantity: {s}"))
}

/// The key of sender `i` of a run with `seed`.
pub fn sender_key(seed: u64, i: u32) -> PrivateKeySigner {
    let mut material = [0u8; 12];
    material[..8].copy_from_slice(&seed.to_be_bytes());
    material[8..].copy_from_slice(&i.to_be_bytes());
    let mut secret = keccak256(material);
    // A hash is a valid secp256k1 key unless it is zero or above the group order (odds ~2^-128).
    while PrivateKeySigner::from_bytes(&secret).is_err() {
        secret = keccak256(secret);
    }
    PrivateKeySigner::from_bytes(&secret).expect("checked above")
}

fn rand_seed() -> u64 {
    let key = PrivateKeySigner::random();
    u64::from_be_bytes(key.to_bytes()[..8].try_into().expect("8 bytes"))
}

/// The recipient of the load's i-th transaction, for transfers of ETH or tokens (a thousand
/// of them, none with a key).
pub fn recipient(i: u64) -> Address {
    Address::from_word(keccak256(format!("lattice-loadgen recipient {}", i % 1_000)))
}

/// What the i-th transaction of a load of `kind` does.
pub fn kind_of(kind: Kind, i: u64) -> Kind {
    match kind {
        Kind::Mix => [Kind::Transfer, Kind::Erc20, Kind::Storage][(i % 3) as usize],
        k => k,
    }
}

/// Signs the load: transaction i comes from sender i mod N with nonce i div N.
fn sign_load(
    args: &LoadgenArgs,
    senders: &[PrivateKeySigner],
    fees: Fees,
    targets: Targets,
) -> Result<Vec<Signed>> {
    let n = senders.len() as u64;
    let one = |i: u64| -> Result<Signed> {
        let (signer, nonce) = (&senders[(i % n) as usize], i / n);
        match kind_of(args.kind, i) {
            Kind::Transfer => sign(
                signer,
                fees,
                nonce,
                TRANSFER_GAS,
                TxKind::Call(recipient(i)),
                U256::from(1u8),
                Bytes::new(),
            ),
            Kind::Erc20 => {
                let token = targets.token.expect("deployed for ERC-20 load");
                let input = contracts::transfer_call(recipient(i), U256::from(1u8));
                sign(signer, fees, nonce, CALL_GAS, TxKind::Call(token), U256::ZERO, input)
            }
            Kind::Storage | Kind::Mix => {
                let writer = targets.writer.expect("deployed for storage load");
                let input = contracts::store_call(U256::from(i + 1));
                sign(signer, fees, nonce, CALL_GAS, TxKind::Call(writer), U256::ZERO, input)
            }
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let per = args.txs.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * per).min(args.txs)..((t + 1) * per).min(args.txs);
                s.spawn(move || range.map(one).collect::<Result<Vec<_>>>())
            })
            .collect();
        let mut all = Vec::with_capacity(args.txs as usize);
        for part in parts {
            all.extend(part.join().map_err(|_| eyre!("a signing thread panicked"))??);
        }
        Ok(all)
    })
}

/// Inclusion as seen from receipts: hash → (when seen, status).
#[derive(Default)]
struct Seen {
    included: HashMap<B256, (Instant, bool)>,
    blocks: u64,
}

/// Follows new chain heads and reads each new block's receipts into `seen`.
async fn follow(
    http: Arc<Http>,
    ws_url: Option<String>,
    seen: Arc<Mutex<Seen>>,
) -> Result<tokio::task::JoinHandle<()>> {
    let mut last = quantity(&http.call("eth_blockNumber", json!([])).await?)? as u64;
    let mut heads = match ws_url {
        Some(url) => rpc::new_heads(&url).await?,
        None => {
            let (tx, rx) = mpsc::unbounded_channel();
            let http = http.clone();
            tokio::spawn(async move {
                loop {
                    if let Ok(n) = http.call("eth_blockNumber", json!([])).await {
                        let number = quantity(&n).unwrap_or_default() as u64;
                        if tx.send(rpc::Head { number, hash: B256::ZERO }).is_err() {
                            return;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
            rx
        }
    };
    Ok(tokio::spawn(async move {
        while let Some(head) = heads.recv().await {
            // Every block since the last one read (a head can skip numbers); a head at or
            // below it replaced a block (a reorg), and is read by hash.
            let blocks: Vec<Value> = if head.number > last {
                (last + 1..=head.number).map(|n| json!(format!("{n:#x}"))).collect()
            } else if head.hash != B256::ZERO {
                vec![json!(head.hash)]
            } else {
                continue;
            };
            for block in blocks {
                let receipts = match http.call("eth_getBlockReceipts", json!([block])).await {
                    Ok(r) => r,
                    Err(_) => continue,
                };
                let now = Instant::now();
                let mut seen = seen.lock().expect("never poisoned");
                seen.blocks += 1;
                for r in receipts.as_array().into_iter().flatten() {
                    let Some(hash) = r["transactionHash"].as_str().and_then(|h| h.parse().ok())
                    else {
                        continue;
                    };
                    let ok = r["status"].as_str() == Some("0x1");
                    seen.included.entry(hash).or_insert((now, ok));
                }
            }
            last = last.max(head.number);
        }
    }))
}

/// Sends `txs` in batches of `args.batch`, `args.concurrent` at once, paced to `args.rate`.
/// Returns when each was sent (its batch's start), and the outcome counts.
struct Sent {
    at: HashMap<B256, Instant>,
    accepted: Vec<B256>,
    rejected: BTreeMap<String, u64>,
    /// Transactions sent again after the pool refused them as full (each time counted).
    retried: u64,
    first: Instant,
    last: Instant,
}

/// How long a batch waits before sending again what a full pool refused: about what a block
/// takes to make room.
const FULL_POOL_BACKOFF: Duration = Duration::from_millis(100);

/// A refusal that says "not now": the pool is full of transactions paying as much.
/// Whether a refusal is for now, not for good: a full pool, or a sender over its gapped
/// limit (geth's "account limit exceeded"). The second follows from the first: while one
/// batch waits to resend a refused nonce, the others send that sender's later nonces, which
/// wait as gapped until it is taken; refusing those for good would leave a gap for ever.
fn refused_for_now(message: &str) -> bool {
    message.contains("pool is full")
        || message.contains("txpool is full")
        || message.contains("account limit exceeded")
}

async fn send_all(
    http: &Arc<Http>,
    args: &LoadgenArgs,
    txs: &[Signed],
    progress: Option<&Arc<Mutex<Seen>>>,
) -> Sent {
    use futures::StreamExt;
    let first = Instant::now();
    let batch = args.batch.max(1);
    let counts = Arc::new(Mutex::new((0u64, 0u64))); // sent, accepted
    let ticker = progress.map(|seen| {
        let (seen, counts) = (seen.clone(), counts.clone());
        // Inclusions seen before (the setup's) are not the load's.
        let before = seen.lock().expect("never poisoned").included.len();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let (sent, accepted) = *counts.lock().expect("never poisoned");
                let included = seen.lock().expect("never poisoned").included.len() - before;
                let secs = first.elapsed().as_secs_f64();
                eprintln!("[loadgen] {secs:>5.0} s  sent {sent}  accepted {accepted}  included {included}  ({:.0} tx/s)", included as f64 / secs);
            }
        })
    });
    // A full pool refuses for now, not for good: like a careful client, each batch sends its
    // refused transactions again (in nonce order) until they are taken or --timeout passes,
    // before its slot moves on. Sending later nonces of those senders meanwhile would only
    // fill the pool's gapped queue with transactions that cannot run.
    let timeout = Duration::from_secs(args.timeout);
    let outcomes: Vec<_> = futures::stream::iter(txs.chunks(batch).enumerate())
        .map(|(j, chunk)| {
            let (http, counts) = (http.clone(), counts.clone());
            async move {
                if args.rate > 0 {
                    let due =
                        first + Duration::from_secs_f64((j * batch) as f64 / args.rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                let mut outcome = Outcome::default();
                let mut todo: Vec<&Signed> = chunk.iter().collect();
                let mut give_up = None;
                while !todo.is_empty() {
                    let at = Instant::now();
                    let calls: Vec<(&str, Value)> =
                        todo.iter().map(|t| ("eth_sendRawTransaction", json!([t.raw]))).collect();
                    let answers = match http.batch(&calls).await {
                        Ok(answers) => answers,
                        Err(e) => {
                            *outcome.rejected.entry(format!("{e:#}")).or_default() +=
                                todo.len() as u64;
                            break;
                        }
                    };
                    let (mut refused, accepted_before) = (Vec::new(), outcome.accepted.len());
                    for (tx, answer) in todo.iter().zip(answers) {
                        match answer {
                            Ok(_) => outcome.accepted.push((tx.hash, at)),
                            Err(e) if refused_for_now(&e.message) => refused.push(*tx),
                            Err(e) => *outcome.rejected.entry(e.message).or_default() += 1,
                        }
                    }
                    {
                        let mut c = counts.lock().expect("never poisoned");
                        c.0 += (todo.len() - refused.len()) as u64;
                        c.1 += (outcome.accepted.len() - accepted_before) as u64;
                    }
                    let deadline = *give_up.get_or_insert_with(|| at + timeout);
                    if !refused.is_empty() && Instant::now() >= deadline {
                        *outcome
                            .rejected
                            .entry("the pool stayed full until --timeout".into())
                            .or_default() += refused.len() as u64;
                        break;
                    }
                    if !refused.is_empty() {
                        outcome.retried += refused.len() as u64;
                        tokio::time::sleep(FULL_POOL_BACKOFF).await;
                    }
                    todo = refused;
                }
                outcome
            }
        })
        .buffer_unordered(args.concurrent.max(1))
        .collect()
        .await;
    if let Some(t) = ticker {
        t.abort();
    }
    let mut sent = Sent {
        at: HashMap::new(),
        accepted: Vec::new(),
        rejected: BTreeMap::new(),
        retried: 0,
        first,
        last: Instant::now(),
    };
    for outcome in outcomes {
        for (hash, at) in outcome.accepted {
            sent.at.insert(hash, at);
            sent.accepted.push(hash);
        }
        for (reason, n) in outcome.rejected {
            *sent.rejected.entry(reason).or_default() += n;
        }
        sent.retried += outcome.retried;
    }
    sent
}

/// What one batch's sends came to.
#[derive(Default)]
struct Outcome {
    accepted: Vec<(B256, Instant)>,
    rejected: BTreeMap<String, u64>,
    retried: u64,
}

/// Waits until every hash in `hashes` is in `seen`, or `timeout` passes; the missing count.
async fn wait_included(seen: &Mutex<Seen>, hashes: &[B256], timeout: Duration) -> u64 {
    let deadline = Instant::now() + timeout;
    loop {
        let missing = {
            let seen = seen.lock().expect("never poisoned");
            hashes.iter().filter(|h| !seen.included.contains_key(*h)).count() as u64
        };
        if missing == 0 || Instant::now() >= deadline {
            return missing;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends setup transactions and waits for all of them; any failure ends the run.
async fn setup(
    http: &Arc<Http>,
    seen: &Arc<Mutex<Seen>>,
    txs: Vec<Signed>,
    what: &str,
) -> Result<()> {
    let args = LoadgenArgs { batch: 100, concurrent: 1, rate: 0, ..LoadgenArgs::against("") };
    let sent = send_all(http, &args, &txs, None).await;
    if let Some((reason, n)) = sent.rejected.iter().next() {
        bail!("{what}: {n} transactions refused: {reason}");
    }
    let missing = wait_included(seen, &sent.accepted, Duration::from_secs(120)).await;
    if missing > 0 {
        bail!("{what}: {missing} transactions not included within 120 s");
    }
    let seen = seen.lock().expect("never poisoned");
    if sent.accepted.iter().any(|h| seen.included.get(h).is_some_and(|(_, ok)| !ok)) {
        bail!("{what}: a transaction reverted");
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

/// Runs the load described by `args` and reports what happened.
pub async fn run(args: &LoadgenArgs) -> Result<Report> {
    if args.senders == 0 || args.txs == 0 {
        bail!("--senders and --txs must be positive");
    }
    let http = Arc::new(Http::new(&args.rpc_url)?);
    let chain_id = quantity(&http.call("eth_chainId", json!([])).await?)? as u64;
    let gas_price = quantity(&http.call("eth_gasPrice", json!([])).await?)?;
    let tip = quantity(&http.call("eth_maxPriorityFeePerGas", json!([])).await?)?;
    let fees = Fees { chain_id, max_fee: max_fee(gas_price, tip)?, tip };
    let funder = match &args.key {
        Some(key) => key.trim().parse::<PrivateKeySigner>().map_err(|e| eyre!("--key: {e}"))?,
        None => {
            lattice_primitives::dev_signers(args.dev_account + 1).remove(args.dev_account as usize)
        }
    };
    let mut nonce = quantity(
        &http.call("eth_getTransactionCount", json!([funder.address(), "pending"])).await?,
    )? as u64;

    let ws_url = match args.ws_url.as_deref() {
        Some("none") => None,
        Some(url) => Some(url.to_string()),
        None => args.rpc_url.strip_prefix("http://").map(|rest| format!("ws://{rest}")),
    };
    let seen = Arc::new(Mutex::new(Seen::default()));
    let follower = follow(http.clone(), ws_url, seen.clone()).await?;

    // Contracts the load calls.
    let mut targets = Targets::default();
    let kinds: Vec<Kind> = (0..3.min(args.txs)).map(|i| kind_of(args.kind, i)).collect();
    let per_sender = args.txs.div_ceil(u64::from(args.senders));
    let mut deploys = Vec::new();
    let mut deploy = |code: Bytes| -> Result<Address> {
        deploys.push(sign(&funder, fees, nonce, DEPLOY_GAS, TxKind::Create, U256::ZERO, code)?);
        nonce += 1;
        Ok(funder.address().create(nonce - 1))
    };
    if kinds.contains(&Kind::Erc20) {
        let supply = U256::from(per_sender) * U256::from(args.senders) * U256::from(2u8);
        targets.token = Some(deploy(contracts::token(supply))?);
    }
    if kinds.contains(&Kind::Storage) {
        targets.writer = Some(deploy(contracts::storage_writer())?);
    }
    if !deploys.is_empty() {
        setup(&http, &seen, deploys, "deploying the contracts").await?;
    }

    // Fresh senders, each paid for its share of the load (and its tokens).
    let seed = args.seed.unwrap_or_else(rand_seed);
    let senders: Vec<PrivateKeySigner> = (0..args.senders).map(|i| sender_key(seed, i)).collect();
    let worst_gas =
        if kinds.iter().all(|k| *k == Kind::Transfer) { TRANSFER_GAS } else { CALL_GAS };
    let allowance = U256::from(worst_gas)
        .checked_mul(U256::from(fees.max_fee))
        .and_then(|cost| cost.checked_add(U256::from(1u8)))
        .and_then(|cost| cost.checked_mul(U256::from(per_sender)))
        .ok_or_else(|| eyre!("the senders' allowance overflows 256 bits"))?;
    let mut funding = Vec::new();
    for s in &senders {
        funding.push(sign(
            &funder,
            fees,
            nonce,
            TRANSFER_GAS,
            TxKind::Call(s.address()),
            allowance,
            Bytes::new(),
        )?);
        nonce += 1;
        if let Some(token) = targets.token {
            let input = contracts::transfer_call(s.address(), U256::from(per_sender));
            funding.push(sign(
                &funder,
                fees,
                nonce,
                CALL_GAS,
                TxKind::Call(token),
                U256::ZERO,
                input,
            )?);
            nonce += 1;
        }
    }
    setup(&http, &seen, funding, "funding the senders").await?;

    let signing = Instant::now();
    let load = sign_load(args, &senders, fees, targets)?;
    let sign_secs = signing.elapsed().as_secs_f64();

    let sent = send_all(&http, args, &load, (!args.quiet).then_some(&seen)).await;
    let missing = wait_included(&seen, &sent.accepted, Duration::from_secs(args.timeout)).await;
    follower.abort();

    let seen = seen.lock().expect("never poisoned");
    let mut latencies = Vec::new();
    let (mut included, mut reverted, mut last_receipt) = (0u64, 0u64, sent.first);
    for hash in &sent.accepted {
        if let Some((at, ok)) = seen.included.get(hash) {
            included += 1;
            reverted += u64::from(!ok);
            last_receipt = last_receipt.max(*at);
            latencies.push(at.saturating_duration_since(sent.at[hash]).as_secs_f64() * 1_000.0);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let send_secs = sent.last.duration_since(sent.first).as_secs_f64();
    let until_last = last_receipt.duration_since(sent.first).as_secs_f64();
    Ok(Report {
        kind: args.kind,
        seed,
        sent: load.len() as u64,
        accepted: sent.accepted.len() as u64,
        retried: sent.retried,
        rejected: sent.rejected,
        included,
        reverted,
        missing,
        sign_secs,
        send_secs,
        ingestion_tps: if send_secs > 0.0 { sent.accepted.len() as f64 / send_secs } else { 0.0 },
        tps: if until_last > 0.0 { included as f64 / until_last } else { 0.0 },
        inclusion_latency: Latency {
            p50_ms: percentile(&latencies, 0.50),
            p95_ms: percentile(&latencies, 0.95),
            p99_ms: percentile(&latencies, 0.99),
            max_ms: latencies.last().copied().unwrap_or_default(),
        },
        blocks: seen.blocks,
        token: targets.token,
        writer: targets.writer,
    })
}

/// Reads `balanceOf(who)` of `token` (for checks after a run).
pub async fn token_balance(http: &Http, token: Address, who: Address) -> Result<U256> {
    let call = json!([{"to": token, "data": contracts::balance_of_call(who)}, "latest"]);
    let answer = http.call("eth_call", call).await?;
    let s = answer.as_str().ok_or_else(|| eyre!("eth_call answered {answer}"))?;
    U256::from_str_radix(s.trim_start_matches("0x"), 16).wrap_err("balanceOf answer")
}

#[cfg(test)]
mod fee_tests {
    #[test]
    fn a_huge_gas_price_is_an_error_not_a_wrap() {
        assert_eq!(super::max_fee(2_000_000_000, 1).unwrap(), 100_000_000_001);
        assert!(super::max_fee(u128::MAX / 10, 0).is_err());
        assert!(super::max_fee(1, u128::MAX).is_err());
    }
}

#[cfg(test)]
mod refusal_tests {
    #[test]
    fn a_full_pool_and_a_full_gapped_queue_are_retried_other_refusals_are_not() {
        assert!(super::refused_for_now("txpool is full"));
        assert!(super::refused_for_now(
            "account limit exceeded: 83 gapped transactions pooled, limit 64"
        ));
        assert!(!super::refused_for_now("nonce too low: next nonce 5, tx nonce 3"));
        assert!(!super::refused_for_now("insufficient funds for gas * price + value"));
    }
}

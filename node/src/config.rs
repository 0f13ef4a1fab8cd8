//! The resolved configuration a node is launched with.

use crate::cli::{NodeArgs, DEV_BLOCK_TIME};
use alloy_primitives::Address;
use alloy_signer_local::PrivateKeySigner;
use eyre::{bail, eyre, Context, Result};
use lattice_consensus::GhostdagParams;
use lattice_primitives::{dev_signers, ChainSpec, DEV_ACCOUNT_COUNT};
use lattice_rpc::RpcConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file in a data directory that holds the node's producer key (hex).
pub const PRODUCER_KEY_FILE: &str = "producer-key";
/// The chain specification `lattice init` leaves in a data directory; a node started there
/// without `--chain` or `--dev` uses it.
pub const CHAIN_SPEC_FILE: &str = "chain.json";

/// Default gas cap of eth_call / eth_estimateGas (geth's).
pub const DEFAULT_RPC_GAS_CAP: u64 = 50_000_000;

/// Block production settings.
#[derive(Clone, Debug)]
pub struct ProducerConfig {
    /// This producer's index in the producer set (for sender partitioning).
    pub index: usize,
    /// Size of the producer set.
    pub count: usize,
    /// Signs sealed blocks.
    pub signer: PrivateKeySigner,
    /// Receives fees and rewards.
    pub coinbase: Address,
    /// Interval between sealed blocks.
    pub block_time: Duration,
}

/// Parses a chain specification (JSON). When it gives `networkDelayMs`, the GHOSTDAG
/// parameters it leaves out are derived from that delay `D` and the block rate
/// `λ = producers × 1000 / blockTimeMs` by [`GhostdagParams::from_block_rate`]: `k` from the
/// PHANTOM bound at `x = 2·D·λ` (Kaspa's `calculate_ghostdag_k`, δ = 0.01: k = 18 at x = 10,
/// 124 at x = 100), and the parent, mergeset and finality limits that go with it. Parameters
/// the file gives are kept.
pub fn parse_chain_spec(text: &str) -> Result<ChainSpec> {
    /// Largest `x = 2·D·λ` accepted (k ≈ 1,100): the PHANTOM bound is computed by a loop over
    /// x, and a network that slow is a configuration mistake.
    const MAX_BLOCKS_PER_DELAY_WINDOW: f64 = 1_000.0;
    let value: serde_json::Value = serde_json::from_str(text)?;
    let mut spec: ChainSpec = serde_json::from_value(value.clone())?;
    let spec_checked = |spec: ChainSpec| {
        if spec.merge_depth == 0 || spec.merge_depth > spec.finality_depth {
            bail!(
                "mergeDepth {} must be at least 1 and at most finalityDepth {}",
                spec.merge_depth,
                spec.finality_depth
            );
        }
        Ok(spec)
    };
    let Some(delay_ms) = spec.network_delay_ms else { return spec_checked(spec) };
    let blocks_per_second =
        spec.producers.len().max(1) as f64 * 1000.0 / spec.block_time_ms.max(1) as f64;
    let x = 2.0 * delay_ms as f64 / 1000.0 * blocks_per_second;
    if !(x > 0.0 && x <= MAX_BLOCKS_PER_DELAY_WINDOW) {
        bail!(
            "networkDelayMs {delay_ms} with {blocks_per_second} blocks/s gives x = 2·D·λ = {x}; \
             it must be above 0 and at most {MAX_BLOCKS_PER_DELAY_WINDOW}"
        );
    }
    let derived = GhostdagParams::from_block_rate(blocks_per_second, delay_ms as f64 / 1000.0);
    if derived.k == 0 {
        bail!(
            "networkDelayMs {delay_ms} is too small for a DAG (k would be 0); give ghostdagK or \
             a larger delay"
        );
    }
    let given = |key: &str| value.get(key).is_some();
    if !given("ghostdagK") {
        spec.ghostdag_k = derived.k;
    }
    if !given("maxBlockParents") {
        spec.max_block_parents = u16::try_from(derived.max_block_parents)?;
    }
    if !given("mergesetSizeLimit") {
        spec.mergeset_size_limit = derived.mergeset_size_limit;
    }
    if !given("finalityDepth") {
        spec.finality_depth = derived.finality_depth;
    }
    if !given("mergeDepth") {
        spec.merge_depth = derived.merge_depth.min(spec.finality_depth);
    }
    tracing::info!(target: "lattice::node", k = spec.ghostdag_k, max_parents = spec.max_block_parents,
        mergeset_limit = spec.mergeset_size_limit, finality_depth = spec.finality_depth, merge_depth = spec.merge_depth,
        "GHOSTDAG parameters derived from networkDelayMs (pin them in the file for a lasting network)");
    spec_checked(spec)
}

/// Network settings, when the node joins a network.
#[derive(Clone, Debug)]
pub struct NetworkSettings {
    /// Listen address.
    pub listen: lattice_network::Multiaddr,
    /// Nodes to bootstrap from.
    pub bootstrap_nodes: Vec<lattice_network::BootstrapNode>,
    /// This node is a bootstrap node.
    pub is_bootstrap: bool,
    /// Most peers.
    pub max_peers: u32,
    /// Explicit identity (hex of the protobuf-encoded key); otherwise kept in the data dir.
    pub node_key: Option<String>,
}

/// Everything a node is launched with.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Chain specification.
    pub spec: ChainSpec,
    /// Data directory.
    pub data_dir: PathBuf,
    /// RPC server options.
    pub rpc: RpcConfig,
    /// Gas cap of calls.
    pub rpc_gas_cap: u64,
    /// Production, when this node seals blocks.
    pub producer: Option<ProducerConfig>,
    /// Metrics listen address.
    pub metrics_addr: Option<SocketAddr>,
    /// Kubo's HTTP RPC (`--ipfs-api`), when configured.
    pub ipfs: Option<lattice_ipfs::IpfsClient>,
    /// The pinning service (`--ipfs-incentives`): the contract it follows and its bounds.
    pub pinning: Option<(alloy_primitives::Address, lattice_ipfs::pinning::PinPolicy)>,
    /// Storage-provider mode (`--ipfs-provider-key-file`): its key and stake bound.
    pub provider: Option<crate::provider::ProviderConfig>,
    /// Accounts unlocked for `eth_accounts` (dev only).
    pub dev_accounts: Vec<PrivateKeySigner>,
    /// Run every dev producer in this process (`--dev.local-producers`).
    pub local_producers: bool,
    /// Simulated delay between local producers.
    pub local_delay: Duration,
    /// The network, when on.
    pub network: Option<NetworkSettings>,
    /// Chain tuning (caches).
    pub chain: crate::chain::ChainOptions,
    /// Transaction pool limits.
    pub pool: lattice_txpool::PoolConfig,
    /// Chain blocks whose state history is kept (`--prune`); `None` keeps all (`--archive`).
    pub prune: Option<u64>,
}

impl NodeConfig {
    /// A dev node's configuration in `data_dir`, RPC on `rpc_addr`.
    pub fn dev(data_dir: PathBuf, rpc_addr: SocketAddr, block_time: Duration) -> Self {
        let args = NodeArgs {
            dev: true,
            data_dir: Some(data_dir),
            rpc_addr: Some(rpc_addr),
            block_time: Some(block_time),
            ..Default::default()
        };
        Self::from_args(args).expect("a dev configuration is always valid")
    }

    /// Resolves flags into a configuration.
    pub fn from_args(args: NodeArgs) -> Result<Self> {
        // A data directory made by `lattice init` holds its chain specification.
        let initialised = match (&args.chain, args.dev, &args.data_dir) {
            (None, false, Some(dir)) => Some(dir.join(CHAIN_SPEC_FILE)).filter(|f| f.exists()),
            _ => None,
        };
        let chain_file = args.chain.clone().or(initialised);
        let mut spec = match (&chain_file, args.dev) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    crate::UsageError::report(
                        format!("cannot read the chain specification {} ({e})", path.display()),
                        "pass --chain with the path of the network's chain specification \
                         (JSON), or --dev for a local dev chain",
                    )
                })?;
                parse_chain_spec(&text).map_err(|e| {
                    crate::UsageError::report(
                        format!(
                            "invalid chain specification {}: {}",
                            path.display(),
                            crate::usage::one_line(&e)
                        ),
                        "fix the file (docs/operations.md describes its fields), or use the \
                         file the network publishes",
                    )
                })?
            }
            (None, true) => ChainSpec::dev(args.dev_producers.unwrap_or(1)),
            (None, false) => ChainSpec::devnet(),
        };
        let devnet = chain_file.is_none() && !args.dev;
        if let Some(id) = args.chain_id {
            spec.chain_id = id;
        }
        let data_dir = match &args.data_dir {
            Some(d) => d.clone(),
            None => {
                let home = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("."));
                let name = match (args.dev, devnet) {
                    (true, _) => "dev".to_string(),
                    (false, true) => "devnet".to_string(),
                    (false, false) => spec.chain_id.to_string(),
                };
                home.join(".lattice").join(name)
            }
        };
        let key_file = match (&args.producer_key_file, devnet && args.mine) {
            (Some(file), _) => Some(file.clone()),
            // On the devnet a miner without a key gets one of its own, kept with its data.
            (None, true) if args.producer_key.is_none() => {
                let file = data_dir.join(PRODUCER_KEY_FILE);
                if !file.exists() {
                    let key = PrivateKeySigner::random();
                    lattice_network::write_secret(&file, key.to_bytes().to_string().as_bytes())
                        .wrap_err_with(|| format!("cannot write {}", file.display()))?;
                    tracing::info!(target: "lattice::node", address = %key.address(), file = %file.display(),
                        "created a producer key for the devnet");
                }
                Some(file)
            }
            _ => None,
        };
        if args.producer_key.is_some() {
            tracing::warn!(target: "lattice::node",
                "--producer-key puts the key in the process list and shell history; prefer --producer-key-file");
        }
        let signer = match (
            read_key(key_file.as_deref(), args.producer_key.as_deref(), "producer")?,
            args.dev,
        ) {
            (Some(key), _) => Some(key),
            (None, true) => {
                let index = args.dev_producer_index.unwrap_or(0);
                let count = args.dev_producers.unwrap_or(1);
                if index >= count {
                    bail!(
                        "--dev.producer-index {index} is out of range for --dev.producers {count}"
                    );
                }
                dev_signers(index + 1).pop()
            }
            (None, false) => None,
        };
        if let Some(s) = &signer {
            if !spec.is_producer(&s.address()) {
                bail!(
                    "the producer key belongs to {}, which is not a producer of this chain",
                    s.address()
                );
            }
        }
        if args.mine && signer.is_none() {
            bail!("--mine needs a producer key on this chain: pass --producer-key-file FILE (see `lattice keygen`)");
        }
        let block_time = args.block_time.unwrap_or(if args.dev {
            DEV_BLOCK_TIME
        } else {
            Duration::from_millis(spec.block_time_ms)
        });
        let producer = signer.map(|signer| ProducerConfig {
            index: spec.producers.iter().position(|p| *p == signer.address()).unwrap_or(0),
            // An open producer set has no known size to partition senders by.
            count: spec.producers.len().max(1),
            coinbase: args.coinbase.unwrap_or(signer.address()),
            signer,
            block_time,
        });
        if args.dev_local_producers && !args.dev {
            bail!("--dev.local-producers needs --dev");
        }
        let producer = if args.no_produce { None } else { producer };
        let network = network_settings(&args)?;
        if devnet {
            tracing::info!(target: "lattice::node",
                "no --chain or --dev: joining the built-in devnet (chain id {}, open producer set; --mine to seal)",
                spec.chain_id);
        }
        let mut rpc = RpcConfig { enabled: !args.no_rpc, ..Default::default() };
        if let Some(addr) = args.rpc_addr {
            rpc.addr = addr;
        }
        match args.rpc_cors {
            Some(cors) => rpc.cors = cors,
            None if args.dev => rpc.cors = vec!["*".into()],
            None => {}
        }
        match args.rpc_api {
            Some(apis) => rpc.apis = apis.into_iter().map(|a| a.trim().to_lowercase()).collect(),
            None if args.dev => {
                rpc.apis = lattice_rpc::RPC_APIS.iter().map(|a| a.to_string()).collect()
            }
            None => {}
        }
        rpc.check_apis().map_err(|e| eyre!("--rpc-api: {e}"))?;
        if let Some(hosts) = args.rpc_vhosts {
            rpc.vhosts = hosts.into_iter().map(|h| h.trim().to_string()).collect();
        }
        macro_rules! set {
            ($($field:expr => $arg:ident),* $(,)?) => {$( if let Some(v) = args.$arg { $field = v; } )*};
        }
        set!(
            rpc.max_request_bytes => rpc_max_request_bytes,
            rpc.max_batch_len => rpc_max_batch,
            rpc.max_connections => rpc_max_connections,
            rpc.max_subscriptions_per_connection => rpc_max_subscriptions,
            rpc.log_limits.max_blocks => rpc_max_log_blocks,
            rpc.log_limits.max_logs => rpc_max_logs,
            rpc.proof_window => rpc_proof_window,
            rpc.evm_timeout => rpc_evm_timeout,
            rpc.trace_max_steps => rpc_trace_max_steps,
        );
        if let Some(n) = args.rpc_max_evm_calls {
            rpc.max_evm_calls = n as usize;
        }
        let mut pool = lattice_txpool::PoolConfig::default();
        set!(
            pool.global_slots => txpool_globalslots,
            pool.global_queue => txpool_globalqueue,
            pool.account_slots => txpool_accountslots,
            pool.account_queue => txpool_accountqueue,
            pool.max_bytes => txpool_max_bytes,
            pool.lifetime => txpool_lifetime,
        );
        if let Some(bump) = args.txpool_pricebump {
            pool.price_bump_percent = bump.into();
        }
        let prune = prune_setting(args.dev, args.archive, args.prune, &spec, rpc.proof_window)?;
        let ipfs = ipfs_client(args.ipfs_api.as_deref(), args.ipfs_timeout)?;
        let pinning = match (args.ipfs_incentives, &ipfs) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(crate::UsageError::report(
                    "--ipfs-incentives needs a Kubo to pin with",
                    "pass --ipfs-api http://127.0.0.1:5001 (or your Kubo's API address) too",
                ))
            }
            (Some(contract), Some(_)) => {
                let mut policy = lattice_ipfs::pinning::PinPolicy::default();
                if let Some(max) = args.ipfs_max_pin_bytes {
                    policy.max_pin_bytes = max;
                }
                Some((contract, policy))
            }
        };
        let provider_key = read_key(
            args.ipfs_provider_key_file.as_deref(),
            args.ipfs_provider_key.as_deref(),
            "IPFS provider",
        )?;
        if args.ipfs_provider_key.is_some() {
            tracing::warn!(target: "lattice::node",
                "--ipfs-provider-key puts the key in the process list and shell history; prefer --ipfs-provider-key-file");
        }
        let provider = match (provider_key, &pinning) {
            (None, _) => None,
            (Some(_), None) => return Err(crate::UsageError::report(
                "storage-provider mode needs the pinning service",
                "pass --ipfs-incentives ADDRESS and --ipfs-api URL with --ipfs-provider-key-file",
            )),
            (Some(signer), Some(_)) => Some(crate::provider::ProviderConfig {
                signer,
                max_stake: args
                    .ipfs_provider_max_stake
                    .unwrap_or(crate::provider::DEFAULT_MAX_STAKE),
            }),
        };
        Ok(Self {
            ipfs,
            pinning,
            provider,
            prune,
            spec,
            data_dir,
            rpc,
            rpc_gas_cap: args.rpc_gas_cap.unwrap_or(DEFAULT_RPC_GAS_CAP),
            producer,
            metrics_addr: args.metrics_addr,
            dev_accounts: if args.dev { dev_signers(DEV_ACCOUNT_COUNT) } else { vec![] },
            local_producers: args.dev_local_producers,
            local_delay: Duration::from_millis(args.dev_delay_ms.unwrap_or(0)),
            network,
            chain: crate::chain::ChainOptions {
                storage_trie_cache_slots: args
                    .storage_trie_cache_slots
                    .unwrap_or(lattice_evm::DEFAULT_STORAGE_CACHE_SLOTS),
                consensus_cache_blocks: args
                    .cache_consensus_blocks
                    .map_or(lattice_consensus::stores::rocks::DEFAULT_CACHE_BLOCKS, |n| n as usize),
            },
            pool,
        })
    }
}

/// `--prune N` / `--archive`: how much state history to keep (`None`: all). A dev chain keeps
/// everything by default, as anvil does. Other nodes keep, by default, as deep as the finality
/// depth (a day of blocks on a chain of one block a second): the least a node may keep, since
/// a reorg rolls back that far and needs the history it undoes, and enough for a day of
/// historical calls, while disk no longer grows with every account's history. N below the
/// finality depth or the proof window is refused.
fn prune_setting(
    dev: bool,
    archive: bool,
    prune: Option<u64>,
    spec: &ChainSpec,
    proof_window: u64,
) -> Result<Option<u64>> {
    let least = spec.finality_depth.max(proof_window);
    let keep = match (archive, prune) {
        (true, _) => return Ok(None),
        (false, Some(n)) => n,
        (false, None) if dev => return Ok(None),
        (false, None) => least,
    };
    if keep < least {
        return Err(crate::UsageError::report(
            format!(
                "--prune {keep} keeps less state history than the node needs: at least {least} \
                 chain blocks (finality depth {}, --rpc-proof-window {proof_window})",
                spec.finality_depth
            ),
            format!("pass --prune {least} or more, or --archive"),
        ));
    }
    Ok(Some(keep))
}

/// The network settings the flags ask for: on outside --dev, or when any network flag is given.
fn network_settings(args: &NodeArgs) -> Result<Option<NetworkSettings>> {
    let wanted =
        !args.dev || args.bootstrap || args.bootstrap_nodes.is_some() || args.p2p_addr.is_some();
    if !wanted {
        return Ok(None);
    }
    let bootstrap_nodes = args
        .bootstrap_nodes
        .iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            lattice_network::parse_bootstrap_node(s).map_err(|e| eyre!("--bootstrap-nodes: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let listen = args.p2p_addr.as_deref().unwrap_or(lattice_network::DEFAULT_P2P_ADDR);
    let listen =
        lattice_network::parse_listen_addr(listen).map_err(|e| eyre!("--p2p-addr: {e}"))?;
    // A --dev node without peers to join listens and waits for others to dial it.
    if bootstrap_nodes.is_empty() && !args.bootstrap && !args.dev {
        bail!("no peers to join: pass --bootstrap-nodes ADDR (or --bootstrap for the first node of a network)");
    }
    let is_bootstrap = args.bootstrap || bootstrap_nodes.is_empty();
    Ok(Some(NetworkSettings {
        listen,
        bootstrap_nodes,
        is_bootstrap,
        max_peers: args.max_peers.unwrap_or(lattice_network::DEFAULT_MAX_PEERS),
        node_key: args.node_key.clone(),
    }))
}

/// The key in `file` (hex, owner-readable only) or `text`, if either is given.
fn read_key(
    file: Option<&Path>,
    text: Option<&str>,
    what: &str,
) -> Result<Option<PrivateKeySigner>> {
    let text = match file {
        Some(file) => String::from_utf8(
            lattice_network::read_secret(file)
                .wrap_err_with(|| format!("cannot read the {what} key file {}", file.display()))?,
        )
        .map_err(|_| eyre!("the {what} key file {} is not text", file.display()))?,
        None => match text {
            Some(text) => text.to_string(),
            None => return Ok(None),
        },
    };
    let key = text.trim().trim_start_matches("0x");
    Ok(Some(key.parse::<PrivateKeySigner>().map_err(|e| eyre!("invalid {what} key: {e}"))?))
}

/// The client of `--ipfs-api`, if given; a value that is not `http://host:port` is the
/// user's mistake.
fn ipfs_client(
    url: Option<&str>,
    timeout: Option<Duration>,
) -> Result<Option<lattice_ipfs::IpfsClient>> {
    let Some(url) = url else { return Ok(None) };
    let config = lattice_ipfs::ClientConfig {
        timeout: timeout.unwrap_or(lattice_ipfs::DEFAULT_TIMEOUT),
        ..Default::default()
    };
    lattice_ipfs::IpfsClient::new(url, config).map(Some).map_err(|e| {
        crate::UsageError::report(
            format!("--ipfs-api: {e}"),
            "pass Kubo's API address, e.g. --ipfs-api http://127.0.0.1:5001",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::parse_chain_spec;

    fn spec_with(extra: &str) -> String {
        let producers: Vec<String> =
            (1..=10u8).map(|i| format!("\"0x{}\"", hex_address(i))).collect();
        format!(
            r#"{{"chainId": 7, "producers": [{}], "blockTimeMs": 1000{extra}}}"#,
            producers.join(",")
        )
    }

    fn hex_address(i: u8) -> String {
        format!("{:040x}", i)
    }

    #[test]
    fn ghostdag_parameters_follow_the_network_delay() {
        // 10 producers at 1 s: λ = 10 blocks/s. D = 0.5 s gives x = 10; D = 5 s gives x = 100.
        let fast = parse_chain_spec(&spec_with(r#", "networkDelayMs": 500"#)).unwrap();
        assert_eq!(
            (fast.ghostdag_k, fast.max_block_parents, fast.mergeset_size_limit),
            (18, 10, 180)
        );
        assert_eq!(fast.finality_depth, 432_000, "twelve hours at 10 blocks/s");
        assert_eq!(fast.merge_depth, 36_000, "one hour at 10 blocks/s");
        let bad = parse_chain_spec(&spec_with(r#", "mergeDepth": 700, "finalityDepth": 600"#));
        assert!(bad.unwrap_err().to_string().contains("mergeDepth 700"));
        let slow = parse_chain_spec(&spec_with(r#", "networkDelayMs": 5000"#)).unwrap();
        assert_eq!(
            (slow.ghostdag_k, slow.max_block_parents, slow.mergeset_size_limit),
            (124, 16, 248)
        );
        // What the file gives wins; without a delay nothing is derived.
        let pinned =
            parse_chain_spec(&spec_with(r#", "networkDelayMs": 5000, "ghostdagK": 40"#)).unwrap();
        assert_eq!((pinned.ghostdag_k, pinned.mergeset_size_limit), (40, 248));
        for bad in [r#", "networkDelayMs": 0"#, r#", "networkDelayMs": 100000000"#] {
            let err = parse_chain_spec(&spec_with(bad)).unwrap_err().to_string();
            assert!(err.contains("networkDelayMs"), "{err}");
        }
        let plain = parse_chain_spec(&spec_with("")).unwrap();
        assert_eq!(plain.ghostdag_k, lattice_primitives::ChainSpec::default().ghostdag_k);
        assert!(!serde_json::to_string(&plain).unwrap().contains("networkDelayMs"));
    }
}

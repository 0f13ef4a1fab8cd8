//! Command line and config file. Every flag has an environment variable (`LATTICE_…`) and a key
//! in the TOML config file (`--config`); the command line wins over the environment, which wins
//! over the file.

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default block time of `--dev`.
pub const DEV_BLOCK_TIME: Duration = Duration::from_secs(1);

/// Lattice: an EVM-compatible GHOSTDAG blockchain node.
#[derive(Debug, Parser)]
#[command(name = "lattice", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Subcommands besides running the node.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tools for GHOSTDAG DAGs.
    Dag {
        #[command(subcommand)]
        command: DagCommand,
    },
    /// Re-executes the stored DAG from genesis in a fresh state, checking every block's rules
    /// and every committed state root; prints a summary and exits non-zero on a mismatch.
    /// Takes the same chain flags as the node (e.g. `lattice verify --dev --data-dir D`).
    Verify {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Runs a development node: the same as `lattice --dev` (takes every node flag).
    Devnet {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Creates a producer key (secp256k1: signs blocks) and a node key (ed25519: the libp2p
    /// identity) and prints them; with --out DIR also writes them there as `producer-key` and
    /// `node-key` (mode 0600), the files `--producer-key-file` and the data directory use.
    Keygen {
        /// Directory to write the keys into (e.g. a data directory); existing keys are never
        /// replaced.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Writes a chain specification and its genesis into a data directory (from --chain, --dev,
    /// or the built-in devnet), so that a node started there later needs no chain flag, and
    /// prints the genesis hash.
    Init {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Prints the genesis of a chain (from --chain, --dev, or the built-in devnet) as JSON: its
    /// hash, state root, chain id, producers and allocations.
    GenesisInfo {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Load for any Ethereum JSON-RPC node: funds fresh senders, pre-signs, sends batches and
    /// follows inclusion through newHeads and block receipts; prints sent, accepted, rejected
    /// by reason, TPS until the last receipt and inclusion latency.
    Loadgen(lattice_loadgen::LoadgenArgs),
    /// The IPFS side: add a model file to Kubo and register it on chain.
    Ipfs {
        #[command(subcommand)]
        command: IpfsCommand,
    },
    /// A one-screen summary of a running node, read over its JSON-RPC: client, chain, sink,
    /// blue score, tips, peers, pool, sync and the last chain blocks.
    Status {
        /// The node's JSON-RPC URL.
        #[arg(
            long,
            value_name = "URL",
            default_value = "http://127.0.0.1:8545",
            env = "LATTICE_RPC_URL"
        )]
        rpc: String,
        /// How many of the last chain blocks to list.
        #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u64).range(0..=100))]
        blocks: u64,
    },
}

/// `lattice ipfs …`
#[derive(Debug, Subcommand)]
pub enum IpfsCommand {
    /// Adds a file to Kubo and prints its CID and storage commitment (size, leaves, SHA-256
    /// Merkle root); with --register also registers it as a model through ModelRegistry, which
    /// opens its pinning record, and prints the transaction, the model and the record.
    Add(crate::ipfs_cli::AddArgs),
}

/// `lattice dag …`
#[derive(Debug, Subcommand)]
pub enum DagCommand {
    /// Replays a test DAG (Kaspa's JSON format: K, GenesisID, Blocks[ID, Parents]) and prints
    /// each block's GHOSTDAG data as one JSON object per line.
    Replay {
        /// The DAG file.
        file: PathBuf,
    },
}

/// Flags of the node. All optional here so that the config file can fill them.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NodeArgs {
    /// Read flags from this TOML file (keys are the flag names, e.g. `rpc-addr = "…"`).
    #[arg(short = 'c', long, env = "LATTICE_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Development chain: chain id 1337, the test-mnemonic account 0 as the only producer, the
    /// ten test-mnemonic accounts funded with 10,000 ETH each, blocks every second.
    #[arg(long, env = "LATTICE_DEV", help_heading = "Chain")]
    #[serde(default)]
    pub dev: bool,

    /// Number of producers of the dev chain: test-mnemonic accounts 0..N-1.
    #[arg(long = "dev.producers", env = "LATTICE_DEV_PRODUCERS", value_name = "N", help_heading = "Dev",
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub dev_producers: Option<u32>,

    /// Which dev producer this node signs with (index into the test-mnemonic accounts).
    #[arg(
        long = "dev.producer-index",
        env = "LATTICE_DEV_PRODUCER_INDEX",
        value_name = "I",
        help_heading = "Dev"
    )]
    pub dev_producer_index: Option<u32>,

    /// Run all the dev producers inside this process, each with its own chain and database,
    /// exchanging blocks and transactions in memory; RPC serves producer 0's view.
    #[arg(long = "dev.local-producers", env = "LATTICE_DEV_LOCAL_PRODUCERS", help_heading = "Dev")]
    #[serde(default)]
    pub dev_local_producers: bool,

    /// Simulated propagation delay between local producers, in milliseconds, so that they
    /// really seal in parallel.
    #[arg(
        long = "dev.delay-ms",
        env = "LATTICE_DEV_DELAY_MS",
        value_name = "MS",
        help_heading = "Dev"
    )]
    pub dev_delay_ms: Option<u64>,

    /// Chain specification (JSON: chainId, producers, gas and fee settings, GHOSTDAG
    /// parameters, alloc). Without it and without --dev, the node joins the built-in devnet:
    /// the dev chain's accounts and settings with an open producer set, in which every node
    /// started with --mine seals blocks with a producer key of its own (created in its data
    /// directory). A data directory made by `lattice init` remembers its specification.
    #[arg(long, env = "LATTICE_CHAIN", value_name = "FILE", help_heading = "Chain")]
    pub chain: Option<PathBuf>,

    /// Override the chain id of the chain specification.
    #[arg(long, env = "LATTICE_CHAIN_ID", help_heading = "Chain")]
    pub chain_id: Option<u64>,

    /// Where blocks, state and indexes are kept [default: ~/.lattice/dev with --dev,
    /// ~/.lattice/devnet on the built-in devnet, ~/.lattice/<chain-id> otherwise].
    #[arg(
        short = 'd',
        long,
        env = "LATTICE_DATA_DIR",
        value_name = "DIR",
        help_heading = "Storage"
    )]
    pub data_dir: Option<PathBuf>,

    /// Do not serve JSON-RPC at all.
    #[arg(long, env = "LATTICE_NO_RPC", help_heading = "RPC", conflicts_with = "rpc_addr")]
    #[serde(default)]
    pub no_rpc: bool,

    /// JSON-RPC listen address, HTTP and WebSocket on the same port [default: 127.0.0.1:8545].
    #[arg(long, env = "LATTICE_RPC_ADDR", value_name = "ADDR", help_heading = "RPC")]
    pub rpc_addr: Option<SocketAddr>,

    /// Origins allowed by CORS, comma-separated; `*` allows any [default: none outside --dev,
    /// so that web pages cannot drive the node; `*` in --dev].
    #[arg(long, env = "LATTICE_RPC_CORS", value_delimiter = ',', help_heading = "RPC")]
    pub rpc_cors: Option<Vec<String>>,

    /// Host header values the RPC server answers, comma-separated; `*` answers any
    /// [default: localhost,127.0.0.1,[::1]] (geth's --http.vhosts: a defence against DNS
    /// rebinding; add the names clients use to reach a node bound to a public address).
    #[arg(
        long,
        env = "LATTICE_RPC_VHOSTS",
        value_delimiter = ',',
        value_name = "HOSTS",
        help_heading = "RPC"
    )]
    pub rpc_vhosts: Option<Vec<String>>,

    /// RPC namespaces served, comma-separated, from eth, net, web3, txpool, dag, lattice, debug, admin,
    /// personal [default: eth,net,web3,txpool,dag; all of them in --dev].
    #[arg(
        long,
        env = "LATTICE_RPC_API",
        value_delimiter = ',',
        value_name = "LIST",
        help_heading = "RPC"
    )]
    pub rpc_api: Option<Vec<String>>,

    /// Most gas an eth_call or eth_estimateGas may use.
    #[arg(long, env = "LATTICE_RPC_GAS_CAP", help_heading = "RPC")]
    pub rpc_gas_cap: Option<u64>,

    /// Wall-clock bound of one eth_call, eth_estimateGas, eth_createAccessList or trace, e.g.
    /// `5s` [default: 5s]; beyond it the call fails with "execution aborted".
    #[arg(long, env = "LATTICE_RPC_EVM_TIMEOUT", value_parser = parse_duration, value_name = "DURATION", help_heading = "RPC")]
    #[serde(default, deserialize_with = "de_duration")]
    pub rpc_evm_timeout: Option<Duration>,

    /// Most instructions a struct-logger trace (debug_trace* without a tracer) may record
    /// [default: 500000].
    #[arg(long, env = "LATTICE_RPC_TRACE_MAX_STEPS", value_name = "N", help_heading = "RPC")]
    pub rpc_trace_max_steps: Option<u64>,

    /// Most EVM calls (eth_call, eth_estimateGas, eth_createAccessList, traces) executing at
    /// once; more wait, up to the EVM timeout, then get "server busy" [default: the number of
    /// cores, at least 2].
    #[arg(long, env = "LATTICE_RPC_MAX_EVM_CALLS", value_name = "N", help_heading = "RPC",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rpc_max_evm_calls: Option<u32>,

    /// Largest JSON-RPC request body in bytes [default: 15 MiB].
    #[arg(long, env = "LATTICE_RPC_MAX_REQUEST_BYTES", value_name = "BYTES", help_heading = "RPC")]
    pub rpc_max_request_bytes: Option<u32>,

    /// Most calls in one JSON-RPC batch [default: 1000, as geth].
    #[arg(long, env = "LATTICE_RPC_MAX_BATCH", value_name = "N", help_heading = "RPC")]
    pub rpc_max_batch: Option<u32>,

    /// Most open RPC connections, HTTP and WebSocket [default: 500].
    #[arg(long, env = "LATTICE_RPC_MAX_CONNECTIONS", value_name = "N", help_heading = "RPC")]
    pub rpc_max_connections: Option<u32>,

    /// Most subscriptions one WebSocket connection may hold [default: 1024].
    #[arg(long, env = "LATTICE_RPC_MAX_SUBSCRIPTIONS", value_name = "N", help_heading = "RPC")]
    pub rpc_max_subscriptions: Option<u32>,

    /// Most blocks one eth_getLogs query may span [default: 100000].
    #[arg(long, env = "LATTICE_RPC_MAX_LOG_BLOCKS", value_name = "N", help_heading = "RPC")]
    pub rpc_max_log_blocks: Option<u64>,

    /// Most logs one eth_getLogs response may hold [default: 20000].
    #[arg(long, env = "LATTICE_RPC_MAX_LOGS", value_name = "N", help_heading = "RPC")]
    pub rpc_max_logs: Option<usize>,

    /// How many blocks below the latest eth_getProof serves; each block back costs undoing
    /// its changes [default: 128].
    #[arg(long, env = "LATTICE_RPC_PROOF_WINDOW", value_name = "N", help_heading = "RPC")]
    pub rpc_proof_window: Option<u64>,

    /// Secp256k1 private key (hex) this node seals blocks with; it must be a producer of the
    /// chain specification. Without it (and without --dev) the node does not produce.
    #[arg(
        long,
        env = "LATTICE_PRODUCER_KEY",
        value_name = "HEX",
        help_heading = "Producer",
        hide_env_values = true
    )]
    pub producer_key: Option<String>,

    /// File holding the producer key (hex), readable by its owner only, as `lattice keygen
    /// --out` writes it. Preferred to --producer-key, which other users of the machine can read
    /// from the process list.
    #[arg(
        long,
        env = "LATTICE_PRODUCER_KEY_FILE",
        value_name = "FILE",
        help_heading = "Producer",
        conflicts_with = "producer_key"
    )]
    pub producer_key_file: Option<PathBuf>,

    /// Seal blocks (the opposite of --no-produce). On the built-in devnet, a node without a
    /// producer key gets one of its own in <data-dir>/producer-key; on other chains it needs
    /// --producer-key-file or --producer-key. --dev seals without it.
    #[arg(long, env = "LATTICE_MINE", help_heading = "Producer", conflicts_with = "no_produce")]
    #[serde(default)]
    pub mine: bool,

    /// Address credited with the priority fees and rewards of the blocks this node seals
    /// [default: the producer's address].
    #[arg(long, env = "LATTICE_COINBASE", value_name = "ADDRESS", help_heading = "Producer")]
    pub coinbase: Option<alloy_primitives::Address>,

    /// Interval between the blocks this node seals, e.g. `1s`, `500ms`, `2` (seconds)
    /// [default: the chain specification's, 1s in --dev].
    #[arg(long, env = "LATTICE_BLOCK_TIME", value_parser = parse_duration, help_heading = "Producer")]
    #[serde(default, deserialize_with = "de_duration")]
    pub block_time: Option<Duration>,

    /// This node is a bootstrap node: it starts without peers and others bootstrap from it.
    #[arg(long, env = "LATTICE_BOOTSTRAP", help_heading = "Network")]
    #[serde(default)]
    pub bootstrap: bool,

    /// Nodes to bootstrap from, repeatable or comma-separated, in any of these forms:
    /// `1.2.3.4:30303` or `host.name:30303` (the peer id is learnt when connecting),
    /// `<peer-id>@1.2.3.4:30303`, or a multiaddr `/ip4/1.2.3.4/tcp/30303[/p2p/<peer-id>]`.
    #[arg(
        long,
        env = "LATTICE_BOOTSTRAP_NODES",
        value_delimiter = ',',
        value_name = "ADDR",
        help_heading = "Network"
    )]
    pub bootstrap_nodes: Option<Vec<String>>,

    /// P2P listen address: `ip:port` (e.g. `127.0.0.1:30303`), `host:port` or a multiaddr
    /// (`/ip4/0.0.0.0/tcp/30303`) [default: 0.0.0.0:30303]. The network is on whenever this,
    /// --bootstrap or --bootstrap-nodes is given, and always outside --dev.
    #[arg(long, env = "LATTICE_P2P_ADDR", value_name = "ADDR", help_heading = "Network")]
    pub p2p_addr: Option<String>,

    /// Most connected peers [default: 50].
    #[arg(long, env = "LATTICE_MAX_PEERS", value_name = "N", help_heading = "Network")]
    pub max_peers: Option<u32>,

    /// The node's libp2p identity, hex of its protobuf-encoded key [default: a key kept in
    /// <data-dir>/node-key, created on first start].
    #[arg(
        long,
        env = "LATTICE_NODE_KEY",
        value_name = "HEX",
        help_heading = "Network",
        hide_env_values = true
    )]
    pub node_key: Option<String>,

    /// Follow the chain without sealing blocks, even with a producer key or in --dev.
    #[arg(long, env = "LATTICE_NO_PRODUCE", help_heading = "Producer")]
    #[serde(default)]
    pub no_produce: bool,

    /// Storage slots kept in the storage-trie cache, about 183 bytes of memory each
    /// [default: 4000000].
    /// A contract whose trie is not cached has it rebuilt from its stored slots when next
    /// touched.
    #[arg(
        long,
        env = "LATTICE_STORAGE_TRIE_CACHE_SLOTS",
        value_name = "N",
        help_heading = "Performance"
    )]
    pub storage_trie_cache_slots: Option<usize>,

    /// Blocks whose GHOSTDAG, reachability and relations records, and producer clock, are
    /// cached in memory, about 1.2 KiB each [default: 50000]. Older blocks are read from the
    /// database when needed: memory does not grow with the chain.
    #[arg(
        long = "cache.consensus-blocks",
        env = "LATTICE_CACHE_CONSENSUS_BLOCKS",
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..=100_000_000),
        help_heading = "Performance"
    )]
    pub cache_consensus_blocks: Option<u64>,

    /// Keep the state history (what eth_getBalance, eth_call and the like read at older
    /// blocks) of only the last N chain blocks, deleting older history in the background
    /// [default: the finality depth, 86400 on a chain of one block a second; with --dev,
    /// everything]. At least the finality depth and --rpc-proof-window. Blocks and receipts
    /// are kept.
    #[arg(
        long,
        env = "LATTICE_PRUNE",
        value_name = "N",
        conflicts_with = "archive",
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = "Storage"
    )]
    pub prune: Option<u64>,

    /// Keep all state history (an archive node; the default with --dev).
    #[arg(long, env = "LATTICE_ARCHIVE", help_heading = "Storage")]
    #[serde(default)]
    pub archive: bool,

    /// Most executable transactions the pool holds [default: 16384].
    #[arg(
        long = "txpool.globalslots",
        env = "LATTICE_TXPOOL_GLOBALSLOTS",
        value_name = "N",
        help_heading = "Transaction pool"
    )]
    pub txpool_globalslots: Option<usize>,

    /// Most gapped (not yet executable) transactions the pool holds [default: 4096].
    #[arg(
        long = "txpool.globalqueue",
        env = "LATTICE_TXPOOL_GLOBALQUEUE",
        value_name = "N",
        help_heading = "Transaction pool"
    )]
    pub txpool_globalqueue: Option<usize>,

    /// Transactions per sender that are evicted only after those of senders holding more
    /// [default: 16].
    #[arg(
        long = "txpool.accountslots",
        env = "LATTICE_TXPOOL_ACCOUNTSLOTS",
        value_name = "N",
        help_heading = "Transaction pool"
    )]
    pub txpool_accountslots: Option<usize>,

    /// Most gapped transactions per sender; more get "account limit exceeded" [default: 64].
    #[arg(
        long = "txpool.accountqueue",
        env = "LATTICE_TXPOOL_ACCOUNTQUEUE",
        value_name = "N",
        help_heading = "Transaction pool"
    )]
    pub txpool_accountqueue: Option<usize>,

    /// Most bytes of transactions the pool holds [default: 134217728 (128 MiB)].
    #[arg(
        long = "txpool.max-bytes",
        env = "LATTICE_TXPOOL_MAX_BYTES",
        value_name = "BYTES",
        help_heading = "Transaction pool"
    )]
    pub txpool_max_bytes: Option<usize>,

    /// Percentage a replacement transaction must raise both fee fields by [default: 10].
    #[arg(
        long = "txpool.pricebump",
        env = "LATTICE_TXPOOL_PRICEBUMP",
        value_name = "PERCENT",
        help_heading = "Transaction pool"
    )]
    pub txpool_pricebump: Option<u64>,

    /// How long a gapped transaction may wait before it is dropped, e.g. `3h`, `90m`
    /// [default: 3h].
    #[arg(long = "txpool.lifetime", env = "LATTICE_TXPOOL_LIFETIME", value_parser = parse_duration, help_heading = "Transaction pool")]
    #[serde(default, deserialize_with = "de_duration")]
    pub txpool_lifetime: Option<Duration>,

    /// Kubo's HTTP RPC, e.g. http://127.0.0.1:5001 (Kubo's default); the IPFS features are
    /// off when absent.
    #[arg(long, env = "LATTICE_IPFS_API", value_name = "URL", help_heading = "IPFS")]
    pub ipfs_api: Option<String>,

    /// Bound of one call to Kubo, e.g. `10s` [default: 10s]; a call that cannot connect is
    /// tried 3 times with a doubling backoff.
    #[arg(long, env = "LATTICE_IPFS_TIMEOUT", value_parser = parse_duration, value_name = "DURATION", help_heading = "IPFS")]
    #[serde(default, deserialize_with = "de_duration")]
    pub ipfs_timeout: Option<Duration>,

    /// The IPFSIncentives contract whose `RecordOpened` records the node pins (with
    /// --ipfs-api): each CID whose content matches its on-chain commitment; off when absent.
    #[arg(long, env = "LATTICE_IPFS_INCENTIVES", value_name = "ADDRESS", help_heading = "IPFS")]
    pub ipfs_incentives: Option<alloy_primitives::Address>,

    /// Largest content the pinning service fetches and pins, in bytes (it is held in memory
    /// while its commitment is checked) [default: 268435456 (256 MiB)].
    #[arg(
        long = "ipfs-max-pin-bytes",
        env = "LATTICE_IPFS_MAX_PIN_BYTES",
        value_name = "BYTES",
        help_heading = "IPFS"
    )]
    pub ipfs_max_pin_bytes: Option<u64>,

    /// Storage-provider mode (with --ipfs-incentives): a file holding the provider's key
    /// (hex), readable by its owner only. The node registers the provider, commits to the
    /// records it holds, answers their challenges and claims the rewards, paying gas and stake
    /// from this account.
    #[arg(
        long,
        env = "LATTICE_IPFS_PROVIDER_KEY_FILE",
        value_name = "FILE",
        help_heading = "IPFS",
        conflicts_with = "ipfs_provider_key"
    )]
    pub ipfs_provider_key_file: Option<PathBuf>,

    /// The provider's key as hex; prefer --ipfs-provider-key-file (other users of the machine
    /// can read the process list).
    #[arg(long, env = "LATTICE_IPFS_PROVIDER_KEY", value_name = "HEX", help_heading = "IPFS")]
    pub ipfs_provider_key: Option<String>,

    /// Most stake, in ether, the provider bonds in the contract: registering and each commitment
    /// add what the contract asks for up to this, and a record needing more is not committed
    /// [default: 10].
    #[arg(
        long = "ipfs-provider-max-stake",
        env = "LATTICE_IPFS_PROVIDER_MAX_STAKE",
        value_name = "ETHER",
        value_parser = parse_ether,
        help_heading = "IPFS"
    )]
    #[serde(default, deserialize_with = "de_ether")]
    pub ipfs_provider_max_stake: Option<alloy_primitives::U256>,

    /// Prometheus metrics listen address (e.g. 127.0.0.1:9100); off when absent.
    #[arg(long, env = "LATTICE_METRICS_ADDR", value_name = "ADDR", help_heading = "Metrics")]
    pub metrics_addr: Option<SocketAddr>,
}

/// Parses `1s`, `250ms`, `2m`, `3h` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) =
        s.find(|c: char| !c.is_ascii_digit() && c != '.').map_or((s, ""), |i| s.split_at(i));
    let value: f64 =
        num.parse().map_err(|_| format!("invalid duration `{s}`: expected e.g. 1s, 500ms, 2"))?;
    let secs = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!("invalid duration unit `{other}` in `{s}`: use ms, s, m or h"))
        }
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("duration `{s}` must be positive"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses an amount of ether (`10`, `2.5`), never negative or past 18 decimals.
pub fn parse_ether(s: &str) -> Result<alloy_primitives::U256, String> {
    let s = s.trim();
    if s.starts_with('-') {
        return Err(format!("invalid amount `{s}`: not negative"));
    }
    alloy_primitives::utils::parse_ether(s)
        .map_err(|e| format!("invalid amount of ether `{s}`: {e} (e.g. 10 or 2.5)"))
}

fn de_ether<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<alloy_primitives::U256>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(f64),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Text(s)) => parse_ether(&s).map(Some).map_err(serde::de::Error::custom),
        Some(Raw::Number(v)) => {
            parse_ether(&v.to_string()).map(Some).map_err(serde::de::Error::custom)
        }
    }
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Secs(f64),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Text(s)) => parse_duration(&s).map(Some).map_err(serde::de::Error::custom),
        Some(Raw::Secs(v)) => {
            parse_duration(&v.to_string()).map(Some).map_err(serde::de::Error::custom)
        }
    }
}

impl NodeArgs {
    /// Fills every flag not given on the command line (or environment) from `file`.
    pub fn merge_file(mut self, file: NodeArgs) -> Self {
        macro_rules! fill {
            ($($field:ident),*) => {$( if self.$field.is_none() { self.$field = file.$field; } )*};
        }
        fill!(
            chain,
            chain_id,
            rpc_addr,
            data_dir,
            rpc_cors,
            rpc_vhosts,
            rpc_api,
            rpc_gas_cap,
            rpc_evm_timeout,
            rpc_trace_max_steps,
            rpc_max_evm_calls,
            rpc_max_request_bytes,
            rpc_max_batch,
            rpc_max_connections,
            rpc_max_subscriptions,
            rpc_max_log_blocks,
            rpc_max_logs,
            rpc_proof_window,
            producer_key,
            producer_key_file,
            coinbase,
            block_time,
            storage_trie_cache_slots,
            cache_consensus_blocks,
            prune,
            txpool_globalslots,
            txpool_globalqueue,
            txpool_accountslots,
            txpool_accountqueue,
            txpool_max_bytes,
            txpool_pricebump,
            txpool_lifetime,
            ipfs_api,
            ipfs_timeout,
            ipfs_incentives,
            ipfs_max_pin_bytes,
            ipfs_provider_key_file,
            ipfs_provider_key,
            ipfs_provider_max_stake,
            metrics_addr
        );
        self.dev |= file.dev;
        self.dev_local_producers |= file.dev_local_producers;
        self.bootstrap |= file.bootstrap;
        self.no_produce |= file.no_produce;
        self.mine |= file.mine;
        self.no_rpc |= file.no_rpc;
        self.archive |= file.archive;
        self
    }

    /// Reads and merges the config file, if one was named.
    pub fn with_config_file(self) -> Result<Self, String> {
        let Some(path) = self.config.clone() else { return Ok(self) };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        let file: NodeArgs =
            toml::from_str(&text).map_err(|e| format!("invalid config {}: {e}", path.display()))?;
        Ok(self.merge_file(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("0").is_err());
        assert_eq!(parse_duration("3h").unwrap(), Duration::from_secs(3 * 3600));
        assert!(parse_duration("1d").is_err());
    }

    #[test]
    fn config_file_fills_missing_flags() {
        let file: NodeArgs =
            toml::from_str("dev = true\nblock-time = \"500ms\"\nchain-id = 7\n").unwrap();
        let cli = NodeArgs { chain_id: Some(9), ..Default::default() };
        let merged = cli.merge_file(file);
        assert!(merged.dev);
        assert_eq!(merged.chain_id, Some(9), "the command line wins");
        assert_eq!(merged.block_time, Some(Duration::from_millis(500)));
        assert!(toml::from_str::<NodeArgs>("no-such-flag = 1").is_err());
    }
}

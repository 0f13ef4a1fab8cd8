//! The `eth_`, `net_` and `web3_` methods.

use crate::api::{NodeApi, RpcMetrics};
use crate::convert;
use crate::error::RpcError;
use crate::filters::{FilterKind, Filters, Subscription};
use crate::logs::{get_logs, LogLimits};
use crate::server::RpcConfig;
use crate::sign;
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U256, U64};
use alloy_rpc_types_eth::{BlockId, BlockNumberOrTag, FeeHistory, Filter, TransactionRequest};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::Extensions;
use jsonrpsee::RpcModule;
use lattice_evm::trace::GethDebugTracingOptions;
use lattice_evm::{CallError, CallOutcome, CallRequest};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// Most records one `lattice_pins` page holds.
pub const MAX_PINS_PAGE: u64 = 1_000;
/// What the pinning methods say without `--ipfs-incentives`.
const PINNING_OFF: &str = "the pinning service is not configured: start the node with \
                           --ipfs-api URL and --ipfs-incentives ADDRESS";

/// Most blocks `eth_feeHistory` reports at once (geth's limit).
pub const MAX_FEE_HISTORY_BLOCKS: u64 = 1024;
/// Most reward percentiles `eth_feeHistory` computes per block (geth's limit).
pub const MAX_REWARD_PERCENTILES: usize = 100;

/// The module's shared context.
pub struct Ctx<N> {
    node: Arc<N>,
    metrics: Option<Arc<dyn RpcMetrics>>,
    filters: Arc<Filters>,
    log_limits: LogLimits,
    evm_slots: Arc<tokio::sync::Semaphore>,
    blocking_slots: Arc<tokio::sync::Semaphore>,
    max_evm_calls: usize,
    evm_timeout: std::time::Duration,
}

type Module<N> = RpcModule<Ctx<N>>;

fn register<N, R, F>(m: &mut Module<N>, name: &'static str, f: F)
where
    N: NodeApi,
    R: Serialize + Clone + Send + 'static,
    F: Fn(Params<'_>, &N) -> Result<R, RpcError> + Clone + Send + Sync + 'static,
{
    register_ctx(m, name, move |params, ctx, _| f(params, &ctx.node));
}

/// Like [`register`], for methods that need more of the context than the node, or the
/// call's extensions (its connection).
fn register_ctx<N, R, F>(m: &mut Module<N>, name: &'static str, f: F)
where
    N: NodeApi,
    R: Serialize + Clone + Send + 'static,
    F: Fn(Params<'_>, &Ctx<N>, &Extensions) -> Result<R, RpcError> + Clone + Send + Sync + 'static,
{
    let run = move |params: Params<'_>, ctx: &Ctx<N>, ext: &Extensions| {
        let started = Instant::now();
        let result = f(params, ctx, ext);
        if let Some(metrics) = &ctx.metrics {
            metrics.on_call(name, started.elapsed(), result.is_ok());
        }
        result.map_err(ErrorObjectOwned::from)
    };
    let class = if EVM.contains(&name) {
        Some(Heavy::Evm)
    } else if BLOCKING.contains(&name) {
        Some(Heavy::Blocking)
    } else {
        None
    };
    if let Some(class) = class {
        // Work off the connection's task, within its class's bound: a flood of it cannot take
        // the threads block import uses (the producer has a thread of its own); a call that
        // waits longer than the class allows for its turn is refused.
        m.register_async_method(name, move |params, ctx, ext| {
            let run = run.clone();
            async move {
                let permit = match class {
                    Heavy::Evm => {
                        let (max, wait) = (ctx.max_evm_calls, ctx.evm_timeout);
                        let flag = "--rpc-max-evm-calls";
                        take_slot(&ctx.evm_slots, wait, max, flag, "evm_calls_busy", &ctx.metrics)
                            .await
                    }
                    Heavy::Blocking => take_blocking_slot(&ctx.blocking_slots, &ctx.metrics).await,
                };
                let permit = match permit {
                    Ok(permit) => permit,
                    Err(e) => return Err(ErrorObjectOwned::from(e)),
                };
                let done = tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    run(params, &ctx, &ext)
                })
                .await;
                done.unwrap_or_else(|e| Err(ErrorObjectOwned::from(RpcError::internal(e))))
            }
        })
    } else {
        m.register_method(name, move |params, ctx, ext| run(params, ctx, ext))
    }
    .expect("method names are unique");
}

/// The two classes of methods that run off the connection's task.
#[derive(Clone, Copy)]
enum Heavy {
    /// [`EVM`]: executes code.
    Evm,
    /// [`BLOCKING`]: scans or writes.
    Blocking,
}

/// Most [`BLOCKING`] calls running at once.
pub const MAX_BLOCKING_CALLS: usize = 64;
/// How long a [`BLOCKING`] call may wait for its turn.
const BLOCKING_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits (at most `wait`) for one of `slots`; refused, counts the limit `limit` and says which
/// flag raises it.
async fn take_slot(
    slots: &Arc<tokio::sync::Semaphore>,
    wait: std::time::Duration,
    max: usize,
    flag: &str,
    limit: &'static str,
    metrics: &Option<Arc<dyn RpcMetrics>>,
) -> Result<tokio::sync::OwnedSemaphorePermit, RpcError> {
    match tokio::time::timeout(wait, slots.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => {
            if let Some(metrics) = metrics {
                metrics.on_limit(limit);
            }
            Err(RpcError::LimitExceeded(format!(
                "server busy: {max} calls of this kind running for {wait:?} {flag}"
            )))
        }
    }
}

/// [`take_slot`] for a [`BLOCKING`] call (or a batch of them).
pub(crate) async fn take_blocking_slot(
    slots: &Arc<tokio::sync::Semaphore>,
    metrics: &Option<Arc<dyn RpcMetrics>>,
) -> Result<tokio::sync::OwnedSemaphorePermit, RpcError> {
    take_slot(slots, BLOCKING_WAIT, MAX_BLOCKING_CALLS, "", "blocking_calls_busy", metrics).await
}

/// Decodes the raw transaction of `eth_sendRawTransaction`: exactly one transaction; bytes
/// after it are refused, not ignored (as geth does).
pub(crate) fn decode_raw_transaction(raw: &[u8]) -> Result<alloy_consensus::TxEnvelope, RpcError> {
    alloy_consensus::TxEnvelope::decode_2718_exact(raw)
        .map_err(|e| RpcError::InvalidParams(format!("invalid transaction: {e}")))
}

/// Methods that execute EVM code for the caller: bounded in number at once
/// (`--rpc-max-evm-calls`) and in time (`--rpc-evm-timeout`).
const EVM: &[&str] = &[
    "eth_call",
    "eth_estimateGas",
    "eth_createAccessList",
    "debug_traceTransaction",
    "debug_traceCall",
    // They estimate gas (execution) for what the caller left out.
    "eth_sendTransaction",
    "eth_signTransaction",
    // Builds a storage trie that is not cached: seconds and memory for a large contract.
    "eth_getProof",
];

/// Methods that may run long (scans over many blocks, signing with estimation): they run on
/// Tokio's blocking pool. Every other method is a few point reads and answers on the
/// connection's task, without the hop to another thread.
const BLOCKING: &[&str] = &[
    "eth_getLogs",
    "eth_getFilterLogs",
    "eth_feeHistory",
    "eth_getBlockReceipts",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_sendRawTransaction",
    "dag_getVirtualChain",
    "txpool_content",
    "txpool_inspect",
];

pub(crate) fn bad(e: impl std::fmt::Display) -> RpcError {
    RpcError::InvalidParams(e.to_string())
}

/// Resolves a block parameter to a selected-chain number; `None` means `latest`.
pub(crate) fn resolve<N: NodeApi>(node: &N, id: Option<BlockId>) -> Result<u64, RpcError> {
    let latest = node.latest_number()?;
    match id {
        None => Ok(latest),
        Some(BlockId::Number(tag)) => match tag {
            BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => Ok(latest),
            BlockNumberOrTag::Earliest => Ok(0),
            BlockNumberOrTag::Safe | BlockNumberOrTag::Finalized => node.finalized_number(),
            BlockNumberOrTag::Number(n) if n <= latest => Ok(n),
            BlockNumberOrTag::Number(_) => Err(RpcError::HeaderNotFound),
        },
        Some(BlockId::Hash(h)) => node.number_of(h.block_hash)?.ok_or_else(|| {
            RpcError::InvalidParams(format!(
                "block {} not found on the selected chain",
                h.block_hash
            ))
        }),
    }
}

/// Like [`resolve`] but `None` when the block does not exist (for `eth_getBlockBy*`).
fn resolve_opt<N: NodeApi>(node: &N, id: BlockId) -> Result<Option<u64>, RpcError> {
    match resolve(node, Some(id)) {
        Ok(n) => Ok(Some(n)),
        Err(RpcError::HeaderNotFound) => Ok(None),
        Err(RpcError::InvalidParams(_)) if matches!(id, BlockId::Hash(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn call_request(tx: TransactionRequest) -> CallRequest {
    CallRequest {
        from: tx.from,
        to: match tx.to {
            Some(TxKind::Call(to)) => Some(to),
            _ => None,
        },
        gas: tx.gas,
        gas_price: tx.gas_price,
        max_fee_per_gas: tx.max_fee_per_gas,
        max_priority_fee_per_gas: tx.max_priority_fee_per_gas,
        value: tx.value,
        input: tx.input.input().cloned().unwrap_or_default(),
        nonce: tx.nonce,
        access_list: tx.access_list,
    }
}

fn call_result(outcome: Result<CallOutcome, CallError>) -> Result<Bytes, RpcError> {
    match outcome {
        Ok(CallOutcome::Success { output, .. }) => Ok(output),
        Ok(failure) => Err(failure_error(failure)),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn failure_error(outcome: CallOutcome) -> RpcError {
    match outcome {
        CallOutcome::Revert { output, .. } => RpcError::reverted(output),
        CallOutcome::Halt { reason, gas_used } => {
            if reason.contains("OutOfGas") {
                RpcError::Halted(format!("out of gas: gas required exceeds allowance ({gas_used})"))
            } else {
                RpcError::Halted(format!("execution halted: {reason}"))
            }
        }
        CallOutcome::Success { .. } => RpcError::internal("success is not a failure"),
    }
}

/// Builds the RPC module over `node`. Call it inside a Tokio runtime: it starts the task that
/// feeds the polled filters.
pub fn eth_module<N: NodeApi>(
    node: Arc<N>,
    metrics: Option<Arc<dyn RpcMetrics>>,
    config: &RpcConfig,
) -> RpcModule<Ctx<N>> {
    eth_module_sharing(node, metrics, config, new_blocking_slots())
}

/// The bound on [`BLOCKING`] calls running at once.
pub(crate) fn new_blocking_slots() -> Arc<tokio::sync::Semaphore> {
    Arc::new(tokio::sync::Semaphore::new(MAX_BLOCKING_CALLS))
}

/// [`eth_module`] whose [`BLOCKING`] calls share `blocking_slots` with the batch path.
pub(crate) fn eth_module_sharing<N: NodeApi>(
    node: Arc<N>,
    metrics: Option<Arc<dyn RpcMetrics>>,
    config: &RpcConfig,
    blocking_slots: Arc<tokio::sync::Semaphore>,
) -> RpcModule<Ctx<N>> {
    let filters = Arc::new(Filters::default());
    filters.spawn_dispatcher(&*node);
    let mut m = RpcModule::new(Ctx {
        node,
        metrics,
        filters,
        log_limits: config.log_limits,
        evm_slots: Arc::new(tokio::sync::Semaphore::new(config.max_evm_calls)),
        blocking_slots,
        max_evm_calls: config.max_evm_calls,
        evm_timeout: config.evm_timeout,
    });
    register_filters(&mut m);
    register_accounts(&mut m);
    register_txpool(&mut m);

    register(&mut m, "web3_clientVersion", |_, _| {
        Ok(format!(
            "lattice/v{}/{}-{}/rust",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH
        ))
    });
    register(&mut m, "web3_sha3", |p, _| {
        let data: Bytes = p.one().map_err(bad)?;
        Ok(keccak256(&data))
    });
    register(&mut m, "net_version", |_, n| Ok(n.chain_id().to_string()));
    register(&mut m, "net_listening", |_, _| Ok(true));
    register(&mut m, "net_peerCount", |_, n| Ok(U64::from(n.peer_count())));
    register(&mut m, "eth_chainId", |_, n| Ok(U64::from(n.chain_id())));
    register(&mut m, "eth_syncing", |_, n| {
        Ok(match n.syncing() {
            None => serde_json::Value::Bool(false),
            Some((starting, current, highest)) => serde_json::json!({
                "startingBlock": U64::from(starting),
                "currentBlock": U64::from(current),
                "highestBlock": U64::from(highest),
            }),
        })
    });
    register(&mut m, "admin_nodeInfo", |_, n| n.node_info());
    register(&mut m, "admin_peers", |_, n| n.peers());
    register(&mut m, "eth_accounts", |_, n| Ok(n.accounts()));
    register(&mut m, "eth_blockNumber", |_, n| Ok(U64::from(n.latest_number()?)));

    register(&mut m, "eth_getBalance", |p, n| {
        let mut seq = p.sequence();
        let address: Address = seq.next().map_err(bad)?;
        let number = resolve(n, seq.optional_next().map_err(bad)?)?;
        Ok(n.account(number, address)?.balance)
    });
    register(&mut m, "eth_getTransactionCount", |p, n| {
        let mut seq = p.sequence();
        let address: Address = seq.next().map_err(bad)?;
        let id: Option<BlockId> = seq.optional_next().map_err(bad)?;
        if matches!(id, Some(BlockId::Number(BlockNumberOrTag::Pending))) {
            return Ok(U64::from(n.pending_nonce(address)?));
        }
        let number = resolve(n, id)?;
        Ok(U64::from(n.account(number, address)?.nonce))
    });
    register(&mut m, "eth_getCode", |p, n| {
        let mut seq = p.sequence();
        let address: Address = seq.next().map_err(bad)?;
        let number = resolve(n, seq.optional_next().map_err(bad)?)?;
        Ok(n.account(number, address)?.code)
    });
    register(&mut m, "eth_getStorageAt", |p, n| {
        let mut seq = p.sequence();
        let address: Address = seq.next().map_err(bad)?;
        let slot: U256 = seq.next().map_err(bad)?;
        let number = resolve(n, seq.optional_next().map_err(bad)?)?;
        Ok(B256::from(n.storage(number, address, B256::from(slot))?))
    });

    register(&mut m, "eth_gasPrice", |_, n| {
        Ok(U256::from(n.next_base_fee()? as u128 + n.suggested_tip()))
    });
    register(&mut m, "eth_maxPriorityFeePerGas", |_, n| Ok(U256::from(n.suggested_tip())));
    register(&mut m, "eth_feeHistory", |p, n| fee_history(p, n));

    register(&mut m, "eth_call", |p, n| {
        let mut seq = p.sequence();
        let tx: TransactionRequest = seq.next().map_err(bad)?;
        let number = resolve(n, seq.optional_next().map_err(bad)?)?;
        call_result(n.call(number, &call_request(tx))?)
    });
    register(&mut m, "eth_estimateGas", |p, n| {
        let mut seq = p.sequence();
        let tx: TransactionRequest = seq.next().map_err(bad)?;
        let number = resolve(n, seq.optional_next().map_err(bad)?)?;
        match n.estimate_gas(number, &call_request(tx))? {
            Ok(Ok(gas)) => Ok(U64::from(gas)),
            Ok(Err(failure)) => Err(failure_error(failure)),
            Err(e) => Err(e.into()),
        }
    });

    register(&mut m, "eth_getProof", |p, n| {
        let mut seq = p.sequence();
        let address: Address = seq.next().map_err(bad)?;
        let keys: Vec<alloy_serde::storage::JsonStorageKey> = seq.next().map_err(bad)?;
        if keys.len() > MAX_PROOF_KEYS {
            return Err(RpcError::LimitExceeded(format!(
                "too many storage keys: {} (at most {MAX_PROOF_KEYS})",
                keys.len()
            )));
        }
        let number = resolve(n, seq.optional_next().map_err(bad)?)?;
        n.proof(number, address, keys)
    });
    register(&mut m, "eth_createAccessList", |p, n| {
        let mut seq = p.sequence();
        let tx: TransactionRequest = seq.next().map_err(bad)?;
        let number = resolve(n, seq.optional_next().map_err(bad)?)?;
        let (list, outcome) = match n.create_access_list(number, &call_request(tx))? {
            Ok(found) => found,
            Err(e) => return Err(e.into()),
        };
        let (gas_used, error) = match &outcome {
            CallOutcome::Success { gas_used, .. } => (*gas_used, None),
            CallOutcome::Revert { gas_used, .. } | CallOutcome::Halt { gas_used, .. } => {
                (*gas_used, Some(failure_error(outcome.clone()).to_string()))
            }
        };
        let mut out = serde_json::json!({ "accessList": list, "gasUsed": U64::from(gas_used) });
        if let Some(error) = error {
            out["error"] = serde_json::Value::String(error);
        }
        Ok(out)
    });
    register(&mut m, "debug_traceCall", |p, n| {
        let mut seq = p.sequence();
        let tx: TransactionRequest = seq.next().map_err(bad)?;
        let number = resolve(n, seq.optional_next().map_err(bad)?)?;
        let opts: Option<GethDebugTracingOptions> = seq.optional_next().map_err(bad)?;
        match n.trace_call(number, &call_request(tx), opts.unwrap_or_default())? {
            Ok(trace) => Ok(trace),
            Err(e) => Err(e.into()),
        }
    });
    register(&mut m, "debug_traceTransaction", |p, n| {
        let mut seq = p.sequence();
        let hash: B256 = seq.next().map_err(bad)?;
        let opts: Option<GethDebugTracingOptions> = seq.optional_next().map_err(bad)?;
        n.trace_transaction(hash, opts.unwrap_or_default())?
            .ok_or_else(|| RpcError::Rejected(format!("transaction {hash} not found")))
    });

    register(&mut m, "eth_getBlockByNumber", |p, n| {
        let (id, full): (BlockNumberOrTag, bool) = p.parse().map_err(bad)?;
        let Some(number) = resolve_opt(n, BlockId::Number(id))? else { return Ok(None) };
        Ok(n.chain_block(number)?.map(|b| convert::block(&b, full)))
    });
    register(&mut m, "eth_getBlockByHash", |p, n| {
        let (hash, full): (B256, bool) = p.parse().map_err(bad)?;
        let Some(number) = n.number_of(hash)? else { return Ok(None) };
        Ok(n.chain_block(number)?.map(|b| convert::block(&b, full)))
    });
    register(&mut m, "eth_getBlockTransactionCountByNumber", |p, n| {
        let (id,): (BlockNumberOrTag,) = p.parse().map_err(bad)?;
        let Some(number) = resolve_opt(n, BlockId::Number(id))? else { return Ok(None) };
        Ok(n.chain_block(number)?.map(|b| U64::from(b.transactions.len())))
    });
    register(&mut m, "eth_getBlockTransactionCountByHash", |p, n| {
        let (hash,): (B256,) = p.parse().map_err(bad)?;
        let Some(number) = n.number_of(hash)? else { return Ok(None) };
        Ok(n.chain_block(number)?.map(|b| U64::from(b.transactions.len())))
    });
    register(&mut m, "eth_getTransactionByBlockNumberAndIndex", |p, n| {
        let (id, index): (BlockNumberOrTag, U64) = p.parse().map_err(bad)?;
        let Some(number) = resolve_opt(n, BlockId::Number(id))? else { return Ok(None) };
        Ok(n.chain_block(number)?.and_then(|b| convert::block_transaction(&b, index.to())))
    });
    register(&mut m, "eth_getTransactionByBlockHashAndIndex", |p, n| {
        let (hash, index): (B256, U64) = p.parse().map_err(bad)?;
        let Some(number) = n.number_of(hash)? else { return Ok(None) };
        Ok(n.chain_block(number)?.and_then(|b| convert::block_transaction(&b, index.to())))
    });
    register(&mut m, "eth_getUncleCountByBlockNumber", |_, _| Ok(U64::ZERO));
    register(&mut m, "eth_getUncleCountByBlockHash", |_, _| Ok(U64::ZERO));
    register(&mut m, "eth_getBlockReceipts", |p, n| {
        let (id,): (BlockId,) = p.parse().map_err(bad)?;
        let Some(number) = resolve_opt(n, id)? else { return Ok(None) };
        let Some(block) = n.chain_block(number)? else { return Ok(None) };
        Ok(Some(block.into_receipt_views().iter().map(convert::receipt).collect::<Vec<_>>()))
    });

    register(&mut m, "eth_sendRawTransaction", |p, n| {
        let raw: Bytes = p.one().map_err(bad)?;
        n.send_transaction(decode_raw_transaction(&raw)?)
    });
    register(&mut m, "eth_getTransactionByHash", |p, n| {
        let hash: B256 = p.one().map_err(bad)?;
        Ok(n.transaction(hash)?.map(|t| convert::transaction(&t)))
    });
    register(&mut m, "eth_getTransactionReceipt", |p, n| {
        let hash: B256 = p.one().map_err(bad)?;
        Ok(n.receipt(hash)?.map(|r| convert::receipt(&r)))
    });

    register(&mut m, "lattice_ipfsStatus", |_, n| {
        Ok(match n.ipfs_status() {
            Some(mut status) => {
                status["configured"] = serde_json::Value::Bool(true);
                status
            }
            None => serde_json::json!({
                "configured": false,
                "reachable": false,
                "message": "IPFS is not configured: start the node with --ipfs-api URL (Kubo's HTTP RPC)",
            }),
        })
    });
    register(&mut m, "lattice_pins", |p, n| {
        let mut seq = p.sequence();
        let offset: Option<U64> = seq.optional_next().map_err(bad)?;
        let limit: Option<U64> = seq.optional_next().map_err(bad)?;
        let limit = limit.map_or(MAX_PINS_PAGE, |l| l.to::<u64>().min(MAX_PINS_PAGE));
        let offset = offset.map_or(0, |o| o.to::<u64>());
        n.ipfs_pins(offset as usize, limit as usize)?
            .ok_or_else(|| RpcError::Rejected(PINNING_OFF.into()))
    });
    register(&mut m, "lattice_pinningSummary", |_, n| {
        Ok(n.ipfs_pinning_summary()?
            .unwrap_or_else(|| serde_json::json!({"configured": false, "message": PINNING_OFF})))
    });
    register(&mut m, "dag_getTips", |_, n| n.dag_tips());
    register(&mut m, "dag_getBlock", |p, n| {
        let hash: B256 = p.one().map_err(bad)?;
        n.dag_block(hash)
    });
    register(&mut m, "dag_getVirtualChain", |p, n| {
        let mut seq = p.sequence();
        let from: Option<U64> = seq.optional_next().map_err(bad)?;
        let limit: Option<U64> = seq.optional_next().map_err(bad)?;
        let latest = n.latest_number()?;
        let limit =
            limit.map(|l| l.to::<u64>()).unwrap_or(MAX_VIRTUAL_CHAIN).min(MAX_VIRTUAL_CHAIN);
        let from =
            from.map(|f| f.to::<u64>()).unwrap_or(latest.saturating_sub(limit.saturating_sub(1)));
        let mut out = Vec::new();
        for number in from..=latest.min(from.saturating_add(limit).saturating_sub(1)) {
            let Some(b) = n.chain_block(number)? else { break };
            out.push(crate::api::ChainEntry {
                number,
                hash: b.hash,
                blue_score: b.header.blue_score,
                mergeset_size: b.mergeset_blues.len() + b.mergeset_reds.len(),
            });
        }
        Ok(out)
    });
    m
}

/// Signing with the node's unlocked accounts (the test accounts in `--dev`).
fn register_accounts<N: NodeApi>(m: &mut Module<N>) {
    register(m, "eth_sendTransaction", |p, n| {
        let req: TransactionRequest = p.one().map_err(bad)?;
        n.send_transaction(sign::sign_request(n, req)?)
    });
    register(m, "eth_signTransaction", |p, n| {
        let req: TransactionRequest = p.one().map_err(bad)?;
        sign::sign_transaction(n, req)
    });
    register(m, "eth_sign", |p, n| {
        let (address, message): (Address, Bytes) = p.parse().map_err(bad)?;
        sign::sign_message(n, address, &message)
    });
    register(m, "personal_sign", |p, n| {
        let (message, address): (Bytes, Address) = p.parse().map_err(bad)?;
        sign::sign_message(n, address, &message)
    });
    register(m, "eth_signTypedData_v4", |p, n| {
        let (address, data): (Address, serde_json::Value) = p.parse().map_err(bad)?;
        sign::sign_typed_data(n, address, data)
    });
}

/// `txpool_status`, `txpool_content` and `txpool_inspect` (geth's shapes).
fn register_txpool<N: NodeApi>(m: &mut Module<N>) {
    register(m, "txpool_status", |_, n| {
        let (pending, queued) = n.txpool_status();
        Ok(serde_json::json!({ "pending": U64::from(pending), "queued": U64::from(queued) }))
    });
    register(m, "txpool_content", |_, n| {
        let (pending, queued) = n.txpool_content();
        let view = |t: crate::api::TxView| {
            serde_json::to_value(convert::transaction(&t)).unwrap_or_default()
        };
        Ok(
            serde_json::json!({ "pending": by_sender(pending, view), "queued": by_sender(queued, view) }),
        )
    });
    register(m, "txpool_inspect", |_, n| {
        use alloy_consensus::Transaction as _;
        let (pending, queued) = n.txpool_content();
        let summary = |t: crate::api::TxView| {
            let to = match t.tx.to() {
                Some(to) => to.to_checksum(None),
                None => "contract creation".to_string(),
            };
            serde_json::Value::String(format!(
                "{to}: {} wei + {} gas × {} wei",
                t.tx.value(),
                t.tx.gas_limit(),
                t.tx.max_fee_per_gas()
            ))
        };
        Ok(
            serde_json::json!({ "pending": by_sender(pending, summary), "queued": by_sender(queued, summary) }),
        )
    });
}

/// geth's txpool layout: sender (checksummed) → nonce (decimal) → `item(tx)`.
fn by_sender(
    groups: crate::api::PoolGroups,
    item: impl Fn(crate::api::TxView) -> serde_json::Value,
) -> serde_json::Map<String, serde_json::Value> {
    groups
        .into_iter()
        .map(|(sender, txs)| {
            let by_nonce = txs
                .into_iter()
                .map(|t| (alloy_consensus::Transaction::nonce(&t.tx).to_string(), item(t)))
                .collect();
            (sender.to_checksum(None), serde_json::Value::Object(by_nonce))
        })
        .collect()
}

/// Log queries, polled filters and subscriptions.
fn register_filters<N: NodeApi>(m: &mut Module<N>) {
    register_ctx(m, "eth_getLogs", |p, ctx, _| {
        let filter: Filter = p.one().map_err(bad)?;
        get_logs(&*ctx.node, &filter, &ctx.log_limits)
    });
    /// The connection a call came on (filters are counted per connection).
    fn connection(ext: &Extensions) -> usize {
        ext.get::<jsonrpsee::ConnectionId>().map_or(0, |c| c.0)
    }
    fn install<N: NodeApi>(
        ctx: &Ctx<N>,
        ext: &Extensions,
        kind: FilterKind,
    ) -> Result<String, RpcError> {
        // chain events sent before now are not this filter's, even if the feed has not got them yet
        let since = ctx.node.chain_event_seq() + 1;
        ctx.filters.install(kind, connection(ext), since).map_err(|full| {
            RpcError::LimitExceeded(match full {
                crate::filters::Full::Node => {
                    format!("too many filters installed (at most {})", crate::filters::MAX_FILTERS)
                }
                crate::filters::Full::Connection => format!(
                    "too many filters installed by this connection (at most {})",
                    crate::filters::MAX_FILTERS_PER_CONNECTION
                ),
            })
        })
    }
    register_ctx(m, "eth_newFilter", |p, ctx, ext| {
        let filter: Filter = p.one().map_err(bad)?;
        filter.block_option.ensure_valid_block_range().map_err(bad)?;
        crate::logs::check_filter(&filter)?;
        install(ctx, ext, FilterKind::Logs(Box::new(filter)))
    });
    register_ctx(m, "eth_newBlockFilter", |_, ctx, ext| install(ctx, ext, FilterKind::Blocks));
    register_ctx(m, "eth_newPendingTransactionFilter", |p, ctx, ext| {
        let full: Option<bool> = p.sequence().optional_next().map_err(bad)?;
        install(ctx, ext, FilterKind::Pending { full: full.unwrap_or(false) })
    });
    register_ctx(m, "eth_getFilterChanges", |p, ctx, _| {
        let id: String = p.one().map_err(bad)?;
        ctx.filters.changes(&id).ok_or(RpcError::FilterNotFound)
    });
    register_ctx(m, "eth_getFilterLogs", |p, ctx, _| {
        let id: String = p.one().map_err(bad)?;
        let filter = ctx.filters.log_filter(&id).ok_or(RpcError::FilterNotFound)?;
        get_logs(&*ctx.node, &filter, &ctx.log_limits)
    });
    register_ctx(m, "eth_uninstallFilter", |p, ctx, _| {
        let id: String = p.one().map_err(bad)?;
        Ok(ctx.filters.uninstall(&id))
    });
    m.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |params, pending, ctx, _| async move {
            match Subscription::parse(params) {
                Ok(kind) => crate::filters::run_subscription(&*ctx.node, kind, pending).await,
                Err(msg) => {
                    pending.reject(ErrorObjectOwned::from(RpcError::InvalidParams(msg))).await;
                    Ok(())
                }
            }
        },
    )
    .expect("subscription names are unique");
}

/// Most storage keys one `eth_getProof` may ask for.
pub const MAX_PROOF_KEYS: usize = 1_000;

/// Most chain blocks `dag_getVirtualChain` returns at once.
pub const MAX_VIRTUAL_CHAIN: u64 = 1_000;

fn fee_history<N: NodeApi>(p: Params<'_>, n: &N) -> Result<FeeHistory, RpcError> {
    let mut seq = p.sequence();
    let count: U64 = seq.next().map_err(bad)?;
    let newest: BlockNumberOrTag = seq.next().map_err(bad)?;
    let percentiles: Option<Vec<f64>> = seq.optional_next().map_err(bad)?;
    if let Some(ps) = &percentiles {
        if ps.len() > MAX_REWARD_PERCENTILES {
            return Err(RpcError::InvalidParams(format!(
                "too many reward percentiles: {} (at most {MAX_REWARD_PERCENTILES})",
                ps.len()
            )));
        }
        for (i, p) in ps.iter().enumerate() {
            if !(0.0..=100.0).contains(p) || (i > 0 && *p < ps[i - 1]) {
                return Err(RpcError::InvalidParams(format!(
                    "invalid reward percentile: {p} (percentiles must be ascending and within [0, 100])"
                )));
            }
        }
    }
    let newest = resolve(n, Some(BlockId::Number(newest)))?;
    let count = count.to::<u64>().min(MAX_FEE_HISTORY_BLOCKS).min(newest + 1);
    if count == 0 {
        return Ok(FeeHistory::default());
    }
    let oldest = newest + 1 - count;
    let mut history = FeeHistory { oldest_block: oldest, ..Default::default() };
    let mut rewards = Vec::new();
    for number in oldest..=newest {
        let block = n.chain_block(number)?.ok_or(RpcError::HeaderNotFound)?;
        let base_fee = block.header.base_fee;
        history.base_fee_per_gas.push(base_fee as u128);
        history.gas_used_ratio.push(if block.capacity == 0 {
            0.0
        } else {
            block.header.gas_used as f64 / block.capacity as f64
        });
        history.base_fee_per_blob_gas.push(0);
        history.blob_gas_used_ratio.push(0.0);
        if let Some(ps) = &percentiles {
            rewards.push(block_rewards(&block, base_fee, ps));
        }
    }
    let latest = n.latest_number()?;
    let next = if newest == latest {
        n.next_base_fee()? as u128
    } else {
        n.chain_block(newest + 1)?.map(|b| b.header.base_fee as u128).unwrap_or_default()
    };
    history.base_fee_per_gas.push(next);
    history.base_fee_per_blob_gas.push(0);
    if percentiles.is_some() {
        history.reward = Some(rewards);
    }
    Ok(history)
}

/// Tips at the given percentiles of gas used, as geth computes them.
fn block_rewards(block: &crate::ChainBlock, base_fee: u64, percentiles: &[f64]) -> Vec<u128> {
    use alloy_consensus::Transaction as _;
    if block.transactions.is_empty() {
        return vec![0; percentiles.len()];
    }
    let mut tips: Vec<(u128, u64)> = block
        .transactions
        .iter()
        .zip(&block.receipts)
        .map(|(t, r)| (t.tx.effective_tip_per_gas(base_fee).unwrap_or(0), r.gas_used))
        .collect();
    tips.sort_unstable();
    let total: u64 = tips.iter().map(|t| t.1).sum();
    percentiles
        .iter()
        .map(|p| {
            let threshold = (total as f64 * p / 100.0) as u64;
            let mut sum = 0u64;
            for (tip, gas) in &tips {
                sum += gas;
                if sum >= threshold {
                    return *tip;
                }
            }
            tips.last().map(|t| t.0).unwrap_or(0)
        })
        .collect()
}

//! `eth_getLogs`: block ranges and hashes, address and topic filters, limits.
//!
//! The node's index narrows a range to the chain blocks that can match
//! ([`NodeApi::log_candidates`]); this module reads those blocks' receipts and checks every log
//! against the filter exactly, with the positions of topics, as geth does.

use crate::api::{BlockLogs, NodeApi};
use crate::error::RpcError;
use alloy_primitives::B256;
use alloy_rpc_types_eth::{BlockNumberOrTag, Filter, FilterBlockOption, Log};
use lattice_primitives::StoredReceipt;

/// Limits on one log query (reth's defaults).
#[derive(Clone, Copy, Debug)]
pub struct LogLimits {
    /// Most blocks one query may span.
    pub max_blocks: u64,
    /// Most logs one response may hold.
    pub max_logs: usize,
    /// Longest one query may run.
    pub max_duration: std::time::Duration,
}

/// Most addresses one log filter may name (geth's limit).
pub const MAX_FILTER_ADDRESSES: usize = 1_000;
/// Most alternatives one topic position of a log filter may list (geth's limit).
pub const MAX_FILTER_SUBTOPICS: usize = 1_000;

impl Default for LogLimits {
    fn default() -> Self {
        Self {
            max_blocks: 100_000,
            max_logs: 20_000,
            max_duration: std::time::Duration::from_secs(10),
        }
    }
}

/// Refuses filters that name more addresses or topic alternatives than the limits allow.
pub fn check_filter(filter: &Filter) -> Result<(), RpcError> {
    if filter.address.len() > MAX_FILTER_ADDRESSES {
        return Err(RpcError::InvalidParams(format!(
            "too many addresses in the filter: {} (at most {MAX_FILTER_ADDRESSES})",
            filter.address.len()
        )));
    }
    if let Some(n) = filter.topics.iter().map(|t| t.len()).find(|n| *n > MAX_FILTER_SUBTOPICS) {
        return Err(RpcError::InvalidParams(format!(
            "too many alternatives in one topic position: {n} (at most {MAX_FILTER_SUBTOPICS})"
        )));
    }
    Ok(())
}

/// The logs of a chain block's receipts that `filter` matches (address and topics only), with
/// their place in the block. `removed` marks logs a reorg undid.
pub fn block_logs(
    number: u64,
    hash: B256,
    timestamp: u64,
    receipts: &[StoredReceipt],
    filter: &Filter,
    removed: bool,
) -> Vec<Log> {
    let mut out = Vec::new();
    let mut log_index = 0u64;
    for (tx_index, receipt) in receipts.iter().enumerate() {
        for log in &receipt.logs {
            if filter.matches(log) {
                out.push(Log {
                    inner: log.clone(),
                    block_hash: Some(hash),
                    block_number: Some(number),
                    block_timestamp: Some(timestamp),
                    transaction_hash: Some(receipt.tx_hash),
                    transaction_index: Some(tx_index as u64),
                    log_index: Some(log_index),
                    removed,
                });
            }
            log_index += 1;
        }
    }
    out
}

fn from_block_logs(b: &BlockLogs, filter: &Filter) -> Vec<Log> {
    block_logs(b.number, b.hash, b.timestamp, &b.receipts, filter, false)
}

/// Resolves a range bound: tags to numbers, `None` to `latest`.
fn bound<N: NodeApi>(
    node: &N,
    tag: Option<&BlockNumberOrTag>,
    latest: u64,
) -> Result<u64, RpcError> {
    Ok(match tag {
        None | Some(BlockNumberOrTag::Latest | BlockNumberOrTag::Pending) => latest,
        Some(BlockNumberOrTag::Earliest) => 0,
        Some(BlockNumberOrTag::Safe | BlockNumberOrTag::Finalized) => node.finalized_number()?,
        Some(BlockNumberOrTag::Number(n)) => *n,
    })
}

/// The inclusive chain range a range filter covers now, `None` when it lies wholly after the
/// latest block.
pub fn resolve_range<N: NodeApi>(
    node: &N,
    filter: &Filter,
) -> Result<Option<(u64, u64)>, RpcError> {
    let latest = node.latest_number()?;
    let (from, to) = filter.block_option.as_range();
    let from = bound(node, from, latest)?;
    if from > latest
        && matches!(to, None | Some(BlockNumberOrTag::Latest | BlockNumberOrTag::Pending))
    {
        // A poller asking for blocks after the latest one: nothing yet.
        return Ok(None);
    }
    let to = bound(node, to, latest)?;
    if from > to {
        return Err(RpcError::InvalidParams(format!(
            "invalid block range params: fromBlock {from} is after toBlock {to}"
        )));
    }
    if from > latest {
        return Ok(None);
    }
    Ok(Some((from, to.min(latest))))
}

/// Runs `eth_getLogs`.
pub fn get_logs<N: NodeApi>(
    node: &N,
    filter: &Filter,
    limits: &LogLimits,
) -> Result<Vec<Log>, RpcError> {
    check_filter(filter)?;
    let started = std::time::Instant::now();
    if let FilterBlockOption::AtBlockHash(hash) = filter.block_option {
        let number = node
            .number_of(hash)?
            .ok_or_else(|| RpcError::Rejected(format!("unknown block {hash}")))?;
        let block = node.block_logs(number)?.ok_or(RpcError::HeaderNotFound)?;
        return Ok(from_block_logs(&block, filter));
    }
    let Some((from, to)) = resolve_range(node, filter)? else { return Ok(Vec::new()) };
    if to - from >= limits.max_blocks {
        return Err(RpcError::LimitExceeded(format!(
            "query exceeds max block range {}: blocks {from}-{to} span {}",
            limits.max_blocks,
            to - from + 1
        )));
    }
    let addresses: Vec<_> = filter.address.iter().copied().collect();
    let topics: Vec<Vec<B256>> =
        filter.topics.iter().map(|t| t.iter().copied().collect()).collect();
    let mut out = Vec::new();
    for number in node.log_candidates(from, to, &addresses, &topics)? {
        if started.elapsed() > limits.max_duration {
            return Err(RpcError::LimitExceeded(format!(
                "query timeout exceeded after {:?}: blocks {from}-{} were scanned, narrow the range",
                limits.max_duration,
                number.saturating_sub(1).max(from)
            )));
        }
        let Some(block) = node.block_logs(number)? else { continue };
        let logs = from_block_logs(&block, filter);
        if out.len() + logs.len() > limits.max_logs {
            // Every block before this one fits.
            let retry = match number.checked_sub(1) {
                Some(last) if last >= from => format!(", retry with the range {from}-{last}"),
                _ => String::new(),
            };
            return Err(RpcError::LimitExceeded(format!(
                "query exceeds max results {}{retry}",
                limits.max_logs
            )));
        }
        out.extend(logs);
    }
    Ok(out)
}

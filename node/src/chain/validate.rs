//! The rules a block must pass to join the DAG. Each failure names the offending values.
//!
//! Checked on arrival, before any execution: the producer's signature and authority, the
//! producer's sealing rate, parents (known, no duplicates, none an ancestor of another, at most
//! `max_block_parents`), the GHOSTDAG fields and mergeset size, the timestamp against the past
//! median and the local clock, the base fee, the gas limit, the transactions root and each
//! transaction (signature, chain id, type, no duplicates, total gas). The execution commitments
//! (state root, receipts root, logs bloom, gas used) are checked when the block joins the
//! selected chain (`virtual_chain`).

use super::Chain;
use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::Transaction;
use alloy_primitives::{Address, B256};
use lattice_consensus::{
    validate_header_ghostdag, BlockConsensusDiff, GhostdagHeaderFields, RuleError,
};
use lattice_primitives::{Block, SealedBlock};
use std::collections::HashSet;

/// How far ahead of the local clock a block's timestamp may be.
pub const MAX_FUTURE_MS: u64 = 15_000;
/// Number of selected-chain blocks whose median time a new block may not precede.
pub const MEDIAN_TIME_WINDOW: usize = 11;
/// Most bytes of `extra_data`.
pub const MAX_EXTRA_DATA: usize = 32;

/// Why a block was refused.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// Some parents are not in the DAG yet.
    #[error("block {hash} has {} unknown parents", missing.len())]
    MissingParents {
        /// The block.
        hash: B256,
        /// Its unknown parents.
        missing: Vec<B256>,
    },
    /// The signature does not recover.
    #[error("block {hash} has an invalid signature: {reason}")]
    BadSignature {
        /// The block.
        hash: B256,
        /// Why.
        reason: String,
    },
    /// Signed by someone else than the named producer.
    #[error("block {hash} names producer {named} but was signed by {signer}")]
    ProducerMismatch {
        /// The block.
        hash: B256,
        /// Named in the header.
        named: Address,
        /// Recovered.
        signer: Address,
    },
    /// The signer is not a producer of this chain.
    #[error("block {hash} is signed by {signer}, which is not a producer of this chain")]
    UnknownProducer {
        /// The block.
        hash: B256,
        /// Recovered signer.
        signer: Address,
    },
    /// The producer sealed again too soon.
    #[error(
        "producer {producer} sealed block {hash} {elapsed_ms} ms after its previous block {previous} \
         in the block's past; the chain allows one every {min_ms} ms"
    )]
    TooFast {
        /// The block.
        hash: B256,
        /// The producer.
        producer: Address,
        /// Its previous block in the new block's past.
        previous: B256,
        /// Milliseconds between them.
        elapsed_ms: i128,
        /// The minimum.
        min_ms: u64,
    },
    /// A DAG or GHOSTDAG rule.
    #[error("block {hash}: {source}")]
    Rule {
        /// The block.
        hash: B256,
        /// The rule.
        source: RuleError,
    },
    /// Timestamp before the median of recent chain blocks.
    #[error("block {hash} has timestamp {timestamp_ms}, before the past median {median_ms}")]
    TimestampTooOld {
        /// The block.
        hash: B256,
        /// Its timestamp.
        timestamp_ms: u64,
        /// The median.
        median_ms: u64,
    },
    /// Timestamp too far ahead of the local clock.
    #[error("block {hash} has timestamp {timestamp_ms}, {ahead_ms} ms ahead of this node's clock")]
    TimestampInFuture {
        /// The block.
        hash: B256,
        /// Its timestamp.
        timestamp_ms: u64,
        /// How far ahead.
        ahead_ms: u64,
    },
    /// Header field differs from what the chain requires.
    #[error("block {hash} has {field} {given}, expected {expected}")]
    WrongField {
        /// The block.
        hash: B256,
        /// Which field.
        field: &'static str,
        /// In the header.
        given: String,
        /// Required.
        expected: String,
    },
    /// A carried transaction is invalid.
    #[error("block {hash} carries an invalid transaction at index {index}: {reason}")]
    BadTransaction {
        /// The block.
        hash: B256,
        /// Index in the body.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The block joined the DAG but its committed state, receipts, gas or bloom are not what
    /// executing its mergeset gives: it is disqualified from the selected chain.
    #[error("block {hash} commits to a state its execution does not reach; disqualified")]
    WrongCommitment {
        /// The block.
        hash: B256,
    },
    /// The node failed to process a valid-looking block.
    #[error("internal error: {0}")]
    Internal(String),
}

impl BlockError {
    /// An internal failure.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    /// Whether the block breaks a rule that any node can check from the block and its past
    /// (a peer sending it deserves a penalty), as opposed to missing context, a local clock or
    /// failure, or a wrong commitment (only seen by executing, so evidence against the
    /// producer, not the relayer).
    pub fn is_invalid_block(&self) -> bool {
        let local = matches!(
            self,
            Self::Rule {
                source: RuleError::Store(_)
                    | RuleError::Reachability(_)
                    | RuleError::UnknownBlock(_),
                ..
            }
        );
        !local
            && !matches!(
                self,
                Self::MissingParents { .. }
                    | Self::Internal(_)
                    | Self::TimestampInFuture { .. }
                    | Self::WrongCommitment { .. }
            )
    }
}

impl From<eyre::Report> for BlockError {
    fn from(e: eyre::Report) -> Self {
        Self::internal(e)
    }
}

fn wrong(
    hash: B256,
    field: &'static str,
    given: impl ToString,
    expected: impl ToString,
) -> BlockError {
    BlockError::WrongField { hash, field, given: given.to_string(), expected: expected.to_string() }
}

/// Checks every arrival rule and returns the block's consensus diff, ready to commit.
pub fn validate_block(
    chain: &Chain,
    block: &SealedBlock,
    now_ms: u64,
) -> Result<(BlockConsensusDiff, Vec<Address>), BlockError> {
    let hash = block.hash();
    let h = &block.header.header;
    let spec = chain.spec();

    // Authority.
    let signer = h
        .recover_producer()
        .map_err(|e| BlockError::BadSignature { hash, reason: e.to_string() })?;
    if signer != h.producer {
        return Err(BlockError::ProducerMismatch { hash, named: h.producer, signer });
    }
    if !spec.is_producer(&signer) {
        return Err(BlockError::UnknownProducer { hash, signer });
    }

    // The parent list's shape, before anything waits for those parents: a block naming
    // thousands of (bogus) parents is refused outright, never kept as an orphan.
    let rule = |source| BlockError::Rule { hash, source };
    if h.parents.is_empty() {
        return Err(rule(RuleError::NoParents));
    }
    let max = usize::from(spec.max_block_parents);
    if h.parents.len() > max {
        return Err(rule(RuleError::TooManyParents { count: h.parents.len(), max }));
    }
    let mut distinct = HashSet::with_capacity(h.parents.len());
    if let Some(twice) = h.parents.iter().find(|p| !distinct.insert(**p)) {
        return Err(rule(RuleError::DuplicateParent(*twice)));
    }

    // Parents and GHOSTDAG.
    let dag = chain.dag.read();
    let missing: Vec<B256> = h.parents.iter().copied().filter(|p| !dag.contains(*p)).collect();
    if !missing.is_empty() {
        return Err(BlockError::MissingParents { hash, missing });
    }
    let diff = dag.prepare(hash, &h.parents).map_err(|source| BlockError::Rule { hash, source })?;
    let fields = GhostdagHeaderFields {
        blue_score: h.blue_score,
        blue_work: h.blue_work,
        selected_parent: None,
    };
    validate_header_ghostdag(&diff.ghostdag, &fields)
        .map_err(|source| BlockError::Rule { hash, source })?;

    // Sealing rate: against the producer's latest block in this block's past.
    if let Some((previous, at)) =
        dag.latest_by_producer_in_past(&h.parents, signer).map_err(BlockError::internal)?
    {
        let elapsed = h.timestamp_ms as i128 - at as i128;
        if elapsed < spec.min_block_interval_ms as i128 {
            tracing::warn!(target: "lattice::consensus", %hash, %previous, producer = %signer, elapsed_ms = elapsed as i64,
                "evidence: producer sealed faster than the chain allows");
            return Err(BlockError::TooFast {
                hash,
                producer: signer,
                previous,
                elapsed_ms: elapsed,
                min_ms: spec.min_block_interval_ms,
            });
        }
    }
    let selected_parent = diff.ghostdag.selected_parent;
    drop(dag);

    // Time.
    let median = past_median_time(chain, selected_parent)?;
    if h.timestamp_ms < median {
        return Err(BlockError::TimestampTooOld {
            hash,
            timestamp_ms: h.timestamp_ms,
            median_ms: median,
        });
    }
    if h.timestamp_ms > now_ms + MAX_FUTURE_MS {
        return Err(BlockError::TimestampInFuture {
            hash,
            timestamp_ms: h.timestamp_ms,
            ahead_ms: h.timestamp_ms - now_ms,
        });
    }

    // Fees and limits.
    let sp = chain
        .header(selected_parent)?
        .ok_or_else(|| BlockError::internal("selected parent without header"))?;
    let base_fee =
        spec.next_base_fee(sp.gas_used, chain.capacity_of(selected_parent)?, sp.base_fee);
    if h.base_fee != base_fee {
        return Err(wrong(hash, "base fee", h.base_fee, base_fee));
    }
    if h.gas_limit != spec.gas_limit {
        return Err(wrong(hash, "gas limit", h.gas_limit, spec.gas_limit));
    }
    if h.extra_data.len() > MAX_EXTRA_DATA {
        return Err(wrong(hash, "extra data length", h.extra_data.len(), MAX_EXTRA_DATA));
    }

    // Body.
    let root = Block::compute_transactions_root(&block.transactions);
    if root != h.transactions_root {
        return Err(wrong(hash, "transactions root", h.transactions_root, root));
    }
    let mut seen = HashSet::with_capacity(block.transactions.len());
    let mut senders = Vec::with_capacity(block.transactions.len());
    let mut gas = 0u64;
    for (index, tx) in block.transactions.iter().enumerate() {
        let bad = |reason: String| BlockError::BadTransaction { hash, index, reason };
        if tx.is_eip4844() {
            return Err(bad("blob transactions are not supported".into()));
        }
        if tx.chain_id() != Some(spec.chain_id) {
            return Err(bad(format!("chain id {:?}, expected {}", tx.chain_id(), spec.chain_id)));
        }
        senders.push(tx.recover_signer().map_err(|e| bad(format!("invalid signature: {e}")))?);
        if !seen.insert(*tx.tx_hash()) {
            return Err(bad(format!("transaction {} appears twice", tx.tx_hash())));
        }
        gas = gas.saturating_add(tx.gas_limit());
    }
    if gas > h.gas_limit {
        return Err(wrong(hash, "summed transaction gas", gas, format!("at most {}", h.gas_limit)));
    }
    Ok((diff, senders))
}

/// Median timestamp of the last [`MEDIAN_TIME_WINDOW`] blocks of the selected chain ending at
/// `tip`.
pub fn past_median_time(chain: &Chain, tip: B256) -> Result<u64, BlockError> {
    let mut times = Vec::with_capacity(MEDIAN_TIME_WINDOW);
    let mut at = tip;
    while times.len() < MEDIAN_TIME_WINDOW {
        let header =
            chain.header(at)?.ok_or_else(|| BlockError::internal(format!("no header for {at}")))?;
        times.push(header.timestamp_ms);
        if header.parents.is_empty() {
            break;
        }
        at = chain
            .ghostdag(at)
            .map_err(BlockError::internal)?
            .map(|g| g.selected_parent)
            .ok_or_else(|| BlockError::internal("no GHOSTDAG data"))?;
    }
    times.sort_unstable();
    Ok(times[times.len() / 2])
}

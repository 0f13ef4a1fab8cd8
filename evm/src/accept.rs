//! Acceptance: a selected-chain block executes the transactions its mergeset carried.
//!
//! The rules (see `docs/consensus-and-execution.md`): blocks in consensus order, each block's
//! transactions in block order; a transaction that cannot apply at its place is skipped with a
//! reason and changes nothing; one that reverts is executed and charged. The priority fee goes to
//! the coinbase of the block that carried the transaction, the base fee is burned (or credited
//! to the chain spec's recipient), and each merged block's reward goes to its own coinbase when
//! it is blue and to the accepting block's coinbase when it is red.

use crate::error::EvmError;
use crate::overlay::{Overlay, StateChanges};
use crate::receipt::{logs_bloom, receipts_root};
use crate::state::StateReader;
use crate::tx::{tx_env, SPEC};
use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::Typed2718;
use alloy_primitives::{map::HashSet, Address, Bloom, B256, U256};
use lattice_primitives::{AcceptanceEntry, SkipReason, StoredReceipt};
use revm::context::{BlockEnv, Context, ContextTr};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::context_interface::result::{EVMError, ExecutionResult};
use revm::database_interface::DatabaseCommit;
use revm::handler::MainnetContext;
use revm::inspector::NoOpInspector;
use revm::{ExecuteEvm, InspectEvm, Inspector, MainBuilder, MainContext};

/// The accepting chain block's environment.
#[derive(Clone, Debug)]
pub struct AcceptEnv {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Position of the accepting block on the selected chain (`NUMBER`).
    pub number: u64,
    /// Timestamp of the accepting block in seconds (`TIMESTAMP`).
    pub timestamp: u64,
    /// Base fee of the accepting block.
    pub base_fee: u64,
    /// Gas capacity of the acceptance (`GASLIMIT`): the sum of the merged blocks' gas limits.
    pub capacity: u64,
    /// The accepting block's coinbase (receives red blocks' rewards).
    pub coinbase: Address,
    /// `PREVRANDAO`: the accepting block's selected parent hash.
    pub prevrandao: B256,
    /// Reward per blue block.
    pub block_reward: U256,
    /// Where base fees go; `None` burns them.
    pub base_fee_recipient: Option<Address>,
}

/// One block of the mergeset, in consensus order.
#[derive(Clone, Debug)]
pub struct MergedBlock {
    /// Its hash.
    pub hash: B256,
    /// Its coinbase.
    pub coinbase: Address,
    /// Blue in the accepting block's mergeset.
    pub blue: bool,
    /// Whether the block earns a reward at all (genesis does not).
    pub rewarded: bool,
    /// Its transactions with their recovered senders, in block order.
    pub transactions: Vec<(Address, TxEnvelope)>,
}

/// What an acceptance produced.
#[derive(Clone, Debug, Default)]
pub struct AcceptanceOutcome {
    /// Receipts of executed transactions, in order.
    pub receipts: Vec<StoredReceipt>,
    /// Every carried transaction with its outcome.
    pub entries: Vec<AcceptanceEntry>,
    /// State changes.
    pub changes: StateChanges,
    /// Gas used by executed transactions.
    pub gas_used: u64,
    /// Bloom of all logs.
    pub logs_bloom: Bloom,
    /// Receipts root.
    pub receipts_root: B256,
}

impl AcceptanceOutcome {
    /// Number of skipped transactions.
    pub fn skipped(&self) -> usize {
        self.entries.iter().filter(|e| e.skip != 0).count()
    }
}

/// Accepts `mergeset` (in consensus order) on top of `base`.
///
/// `executed_before(hash)` tells whether a transaction was already executed by an earlier chain
/// block; those are skipped as [`SkipReason::AlreadyExecuted`].
pub fn accept_mergeset<R: StateReader>(
    base: R,
    env: &AcceptEnv,
    mergeset: &[MergedBlock],
    executed_before: impl Fn(&B256) -> Result<bool, EvmError>,
) -> Result<AcceptanceOutcome, EvmError> {
    let no_target = |_: &mut NoOpInspector, _: Target<'_, R>| ();
    match accept_with(base, env, mergeset, executed_before, NoOpInspector, None, no_target)? {
        Accepted::Completed(out) => Ok(out),
        Accepted::Target(()) => Err(EvmError::Evm("no target to trace".into())),
    }
}

/// The transaction a traced acceptance stopped at, just executed (not committed).
pub(crate) struct Target<'a, R> {
    /// Its index among the executed transactions of the accepting block.
    pub index: u64,
    /// The environment it ran with.
    pub tx: &'a revm::context::TxEnv,
    /// The block environment (beneficiary: the carrier's coinbase).
    pub block: &'a BlockEnv,
    /// Its result and touched state.
    pub result: &'a revm::context_interface::result::ResultAndState,
    /// The state just before it.
    pub db: &'a mut Overlay<R>,
}

/// How an acceptance run ended.
pub(crate) enum Accepted<T> {
    /// Every transaction ran.
    Completed(AcceptanceOutcome),
    /// The target ran through the inspector; what `on_target` made of it.
    Target(T),
}

/// The acceptance loop. When `target` is given, that transaction runs through `inspector` and
/// the run stops there with `on_target`'s result.
pub(crate) fn accept_with<R, I, T>(
    base: R,
    env: &AcceptEnv,
    mergeset: &[MergedBlock],
    executed_before: impl Fn(&B256) -> Result<bool, EvmError>,
    inspector: I,
    target: Option<(B256, std::time::Instant)>,
    on_target: impl FnOnce(&mut I, Target<'_, R>) -> T,
) -> Result<Accepted<T>, EvmError>
where
    R: StateReader,
    I: Inspector<MainnetContext<Overlay<R>>>,
{
    let mut on_target = Some(on_target);
    let block_env = BlockEnv {
        number: U256::from(env.number),
        beneficiary: env.coinbase,
        timestamp: U256::from(env.timestamp),
        gas_limit: env.capacity,
        basefee: env.base_fee,
        difficulty: U256::ZERO,
        prevrandao: Some(env.prevrandao),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new_with_spec(0, SPEC)),
        ..Default::default()
    };
    let mut evm = Context::mainnet()
        .with_db(Overlay::new(base))
        .modify_cfg_chained(|cfg| {
            cfg.set_spec_and_mainnet_gas_params(SPEC);
            cfg.chain_id = env.chain_id;
        })
        .with_block(block_env)
        .build_mainnet_with_inspector(inspector);

    let mut out = AcceptanceOutcome::default();
    let mut executed_here: HashSet<B256> = HashSet::default();
    for block in mergeset {
        for (index, (sender, tx)) in block.transactions.iter().enumerate() {
            // Tracing replays what came before its target uninspected: the caller's deadline
            // bounds that replay too.
            if target.is_some_and(|(_, deadline)| std::time::Instant::now() >= deadline) {
                return Err(EvmError::Evm(crate::budget::TIMEOUT_MESSAGE.into()));
            }
            let hash = *tx.tx_hash();
            let mut entry = AcceptanceEntry {
                tx_hash: hash,
                carrier: block.hash,
                carrier_index: index as u64,
                skip: 0,
            };
            let skip = if executed_here.contains(&hash) || executed_before(&hash)? {
                Some(SkipReason::AlreadyExecuted)
            } else {
                precheck(evm.ctx.db_mut(), env, *sender, tx)?
            };
            if let Some(reason) = skip {
                entry.skip = reason as u8;
                out.entries.push(entry);
                continue;
            }
            evm.ctx.modify_block(|b| b.beneficiary = block.coinbase);
            if target.is_some_and(|(t, _)| t == hash) {
                let tx = tx_env(tx, *sender);
                let result = evm.inspect_tx(tx.clone()).map_err(|e| match e {
                    EVMError::Database(e) => e,
                    e => EvmError::Evm(e.to_string()),
                })?;
                let block_env = evm.ctx.block.clone();
                let at = Target {
                    index: out.receipts.len() as u64,
                    tx: &tx,
                    block: &block_env,
                    result: &result,
                    db: &mut evm.ctx.journaled_state.database,
                };
                let on_target = on_target.take().expect("one target");
                return Ok(Accepted::Target(on_target(&mut evm.inspector, at)));
            }
            let result = match evm.transact(tx_env(tx, *sender)) {
                Ok(r) => r,
                Err(EVMError::Transaction(_)) | Err(EVMError::Header(_)) => {
                    entry.skip = SkipReason::Invalid as u8;
                    out.entries.push(entry);
                    continue;
                }
                Err(EVMError::Database(e)) => return Err(e),
                Err(e) => return Err(EvmError::Evm(e.to_string())),
            };
            evm.ctx.db_mut().commit(result.state);
            let gas_used = result.result.tx_gas_used();
            if let Some(recipient) = env.base_fee_recipient {
                let burned = U256::from(gas_used) * U256::from(env.base_fee);
                evm.ctx.db_mut().add_balance(recipient, burned)?;
            }
            out.gas_used += gas_used;
            executed_here.insert(hash);
            out.receipts.push(receipt(
                tx,
                *sender,
                block.hash,
                env.base_fee,
                gas_used,
                out.gas_used,
                result.result,
            ));
            out.entries.push(entry);
        }
    }
    for block in mergeset.iter().filter(|b| b.rewarded) {
        let to = if block.blue { block.coinbase } else { env.coinbase };
        evm.ctx.db_mut().add_balance(to, env.block_reward)?;
    }
    let overlay = evm.ctx.journaled_state.database;
    out.changes = overlay.into_changes();
    out.logs_bloom = logs_bloom(out.receipts.iter().flat_map(|r| r.logs.iter()));
    out.receipts_root = receipts_root(&out.receipts);
    Ok(Accepted::Completed(out))
}

/// The skip rules that depend on state at the transaction's place in the order.
fn precheck<R: StateReader>(
    db: &mut Overlay<R>,
    env: &AcceptEnv,
    sender: Address,
    tx: &TxEnvelope,
) -> Result<Option<SkipReason>, EvmError> {
    if tx.is_eip4844() {
        return Ok(Some(SkipReason::Invalid));
    }
    let (nonce, balance) = db.nonce_and_balance(sender)?;
    if tx.nonce() < nonce {
        return Ok(Some(SkipReason::NonceTooLow));
    }
    if tx.nonce() > nonce {
        return Ok(Some(SkipReason::NonceTooHigh));
    }
    if tx.max_fee_per_gas() < env.base_fee as u128 {
        return Ok(Some(SkipReason::FeeCapTooLow));
    }
    if !lattice_primitives::can_afford(balance, tx) {
        return Ok(Some(SkipReason::InsufficientFunds));
    }
    Ok(None)
}

fn receipt(
    tx: &TxEnvelope,
    sender: Address,
    carrier: B256,
    base_fee: u64,
    gas_used: u64,
    cumulative_gas_used: u64,
    result: ExecutionResult,
) -> StoredReceipt {
    let contract_address = result.created_address().unwrap_or(Address::ZERO);
    let success = result.is_success();
    StoredReceipt {
        tx_hash: *tx.tx_hash(),
        tx_type: tx.ty(),
        success,
        cumulative_gas_used,
        gas_used,
        effective_gas_price: tx.effective_gas_price(Some(base_fee)),
        from: sender,
        contract_address,
        logs: result.into_logs(),
        carrier,
    }
}

//! Calls that commit nothing: `eth_call` and `eth_estimateGas`.

use crate::budget::{aborted_by, Budget, Limits};
use crate::error::EvmError;
use crate::overlay::Overlay;
use crate::state::StateReader;
use crate::tx::SPEC;
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, Bytes, Log, TxKind, B256, KECCAK256_EMPTY, U256};

/// Gas of a plain transfer.
const TX_BASE_GAS: u64 = 21_000;
use revm::context::{BlockEnv, Context, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::context_interface::result::{EVMError, ExecutionResult, ResultAndState};
use revm::handler::MainnetContext;
use revm::inspector::NoOpInspector;
use revm::{ExecuteEvm, InspectEvm, Inspector, MainBuilder, MainContext};

/// A call as `eth_call` receives it; absent fields take geth's defaults.
#[derive(Clone, Debug, Default)]
pub struct CallRequest {
    /// Sender (zero address when absent).
    pub from: Option<Address>,
    /// Callee; `None` creates a contract.
    pub to: Option<Address>,
    /// Gas limit (the gas cap when absent).
    pub gas: Option<u64>,
    /// Legacy gas price.
    pub gas_price: Option<u128>,
    /// EIP-1559 max fee.
    pub max_fee_per_gas: Option<u128>,
    /// EIP-1559 priority fee.
    pub max_priority_fee_per_gas: Option<u128>,
    /// Value sent.
    pub value: Option<U256>,
    /// Call data.
    pub input: Bytes,
    /// Nonce. Never checked against the account's (geth skips nonce checks in calls and
    /// estimates, so a signer can estimate a transaction queued behind others).
    pub nonce: Option<u64>,
    /// EIP-2930 access list.
    pub access_list: Option<AccessList>,
}

/// The block environment a call runs in.
#[derive(Clone, Debug)]
pub struct CallEnv {
    /// Chain id.
    pub chain_id: u64,
    /// Block number the call sees.
    pub number: u64,
    /// Timestamp (seconds).
    pub timestamp: u64,
    /// Base fee.
    pub base_fee: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Most gas a call may use (`--rpc.gascap`).
    pub gas_cap: u64,
    /// Coinbase.
    pub coinbase: Address,
    /// `PREVRANDAO`.
    pub prevrandao: B256,
    /// Bounds on the work (RPC calls); `None` runs unbounded but for gas.
    pub limits: Option<Limits>,
}

/// What a call did.
#[derive(Clone, Debug)]
pub enum CallOutcome {
    /// Returned normally.
    Success {
        /// Gas used (after refunds).
        gas_used: u64,
        /// Gas spent before refunds (what the gas limit must cover).
        gas_spent: u64,
        /// Return data.
        output: Bytes,
        /// Logs.
        logs: Vec<Log>,
    },
    /// `REVERT`: the revert data.
    Revert {
        /// Gas used.
        gas_used: u64,
        /// Revert data.
        output: Bytes,
    },
    /// Exceptional halt (out of gas, invalid opcode, ...).
    Halt {
        /// Gas used.
        gas_used: u64,
        /// Why.
        reason: String,
    },
}

/// Why a call could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The call is invalid as a transaction (e.g. insufficient funds, fee below base fee).
    #[error("{0}")]
    Invalid(String),
    /// Stopped by its limits (deadline or step budget) before it finished.
    #[error("{0}")]
    Aborted(&'static str),
    /// An internal failure.
    #[error(transparent)]
    Internal(#[from] EvmError),
}

/// Runs `req` on top of `base` without committing anything.
pub fn call<R: StateReader>(
    base: R,
    env: &CallEnv,
    req: &CallRequest,
) -> Result<CallOutcome, CallError> {
    let gas = req.gas.unwrap_or(env.gas_cap).min(env.gas_cap);
    run(base, env, req, gas)
}

fn run<R: StateReader>(
    base: R,
    env: &CallEnv,
    req: &CallRequest,
    gas: u64,
) -> Result<CallOutcome, CallError> {
    let result = match env.limits {
        Some(limits) => run_with(base, env, req, gas, Budget::new(limits), true)?.result,
        None => run_with(base, env, req, gas, NoOpInspector, false)?.result,
    };
    Ok(outcome_of(result.result))
}

/// What one inspected (or plain) run of a call left behind.
pub(crate) struct Ran<R, I> {
    /// Result and touched state.
    pub result: ResultAndState,
    /// The inspector after the run.
    pub inspector: I,
    /// The state before the call (nothing is committed).
    pub db: Overlay<R>,
    /// The transaction environment the call ran with.
    pub tx: TxEnv,
    /// The block environment.
    pub block: BlockEnv,
}

/// Runs `req` with `gas`; through `inspector` when `inspect` is set.
pub(crate) fn run_with<R, I>(
    base: R,
    env: &CallEnv,
    req: &CallRequest,
    gas: u64,
    inspector: I,
    inspect: bool,
) -> Result<Ran<R, I>, CallError>
where
    R: StateReader,
    I: Inspector<MainnetContext<Overlay<R>>>,
{
    let priced = req.gas_price.is_some() || req.max_fee_per_gas.is_some();
    let (gas_price, priority) = match (req.gas_price, req.max_fee_per_gas) {
        (Some(p), _) => (p, None),
        (None, Some(max)) => (max, Some(req.max_priority_fee_per_gas.unwrap_or(0).min(max))),
        (None, None) => (0, None),
    };
    let tx_type = if req.max_fee_per_gas.is_some() {
        2
    } else if req.access_list.is_some() {
        1
    } else {
        0
    };
    let tx = TxEnv {
        tx_type,
        caller: req.from.unwrap_or_default(),
        gas_limit: gas,
        gas_price,
        kind: req.to.map(TxKind::Call).unwrap_or(TxKind::Create),
        value: req.value.unwrap_or_default(),
        data: req.input.clone(),
        nonce: req.nonce.unwrap_or_default(),
        chain_id: Some(env.chain_id),
        access_list: req.access_list.clone().unwrap_or_default(),
        gas_priority_fee: priority,
        ..Default::default()
    };
    let block = BlockEnv {
        number: U256::from(env.number),
        beneficiary: env.coinbase,
        timestamp: U256::from(env.timestamp),
        gas_limit: env.gas_limit,
        basefee: env.base_fee,
        prevrandao: Some(env.prevrandao),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new_with_spec(0, SPEC)),
        ..Default::default()
    };
    let mut evm = Context::mainnet()
        .with_db(Overlay::new(base))
        .modify_cfg_chained(|cfg| {
            cfg.set_spec_and_mainnet_gas_params(SPEC);
            cfg.chain_id = env.chain_id;
            cfg.disable_nonce_check = true;
            cfg.disable_base_fee = !priced;
            cfg.disable_block_gas_limit = true;
            cfg.disable_eip3607 = true;
            cfg.tx_gas_limit_cap = Some(env.gas_cap.max(gas));
        })
        .with_block(block.clone())
        .build_mainnet_with_inspector(inspector);
    let result = if inspect { evm.inspect_tx(tx.clone()) } else { evm.transact(tx.clone()) };
    let result = match result {
        Ok(r) => r,
        Err(EVMError::Transaction(e)) => {
            return Err(CallError::Invalid(invalid_message(&e.to_string())))
        }
        Err(EVMError::Header(e)) => return Err(CallError::Invalid(e.to_string())),
        Err(EVMError::Database(e)) => return Err(CallError::Internal(e)),
        Err(EVMError::Custom(e)) if aborted_by(&e).is_some() => {
            return Err(CallError::Aborted(aborted_by(&e).expect("checked")))
        }
        Err(e) => return Err(CallError::Internal(EvmError::Evm(e.to_string()))),
    };
    Ok(Ran { result, inspector: evm.inspector, db: evm.ctx.journaled_state.database, tx, block })
}

fn outcome_of(result: ExecutionResult) -> CallOutcome {
    match result {
        ExecutionResult::Success { gas, logs, output, .. } => CallOutcome::Success {
            gas_used: gas.tx_gas_used(),
            gas_spent: gas.total_gas_spent(),
            output: output.into_data(),
            logs,
        },
        ExecutionResult::Revert { gas, output, .. } => {
            CallOutcome::Revert { gas_used: gas.tx_gas_used(), output }
        }
        ExecutionResult::Halt { reason, gas, .. } => {
            CallOutcome::Halt { gas_used: gas.tx_gas_used(), reason: format!("{reason:?}") }
        }
    }
}

/// `eth_createAccessList`: the addresses and slots `req` touches (the sender, recipient and
/// precompiles are not listed as addresses, as geth), and the gas it uses with that list. Runs until the list
/// stops changing, since adding a list changes the gas and possibly the path.
pub fn create_access_list<R: StateReader + Clone>(
    base: R,
    env: &CallEnv,
    req: &CallRequest,
) -> Result<(AccessList, CallOutcome), CallError> {
    let gas = req.gas.unwrap_or(env.gas_cap).min(env.gas_cap);
    let mut list = req.access_list.clone().unwrap_or_default();
    for _ in 0..8 {
        let mut attempt = req.clone();
        attempt.access_list = Some(list.clone());
        let inspector = revm_inspectors::access_list::AccessListInspector::new(list.clone());
        let budget = Budget::new(env.limits.unwrap_or_else(Limits::none));
        let ran = run_with(base.clone(), env, &attempt, gas, (inspector, budget), true)?;
        // The inspector leaves out the sender, the recipient and precompiles, as geth does.
        let found = ran.inspector.0.into_access_list();
        if found == list {
            return Ok((list, outcome_of(ran.result.result)));
        }
        list = found;
    }
    let mut last = req.clone();
    last.access_list = Some(list.clone());
    let outcome = run(base, env, &last, gas)?;
    Ok((list, outcome))
}

/// revm's wording of transaction errors, mapped to geth's where clients match on it.
fn invalid_message(revm_message: &str) -> String {
    let lower = revm_message.to_lowercase();
    if lower.contains("lack of funds") || lower.contains("insufficient") {
        "insufficient funds for gas * price + value".to_string()
    } else if lower.contains("nonce too low") || lower.contains("nonce") && lower.contains("low") {
        "nonce too low".to_string()
    } else if lower.contains("basefee") || lower.contains("base fee") {
        "max fee per gas less than block base fee".to_string()
    } else if lower.contains("intrinsic") || lower.contains("call gas cost") {
        "intrinsic gas too low".to_string()
    } else {
        revm_message.to_string()
    }
}

/// `eth_estimateGas`: the least gas limit (within 1.5%, as geth) with which `req` succeeds.
/// A call that fails even with the highest allowed limit returns its failure.
pub fn estimate_gas<R: StateReader + Clone>(
    base: R,
    env: &CallEnv,
    req: &CallRequest,
) -> Result<Result<u64, CallOutcome>, CallError> {
    let mut hi = req.gas.unwrap_or(env.gas_limit.max(21_000)).min(env.gas_cap);
    let first = run(base.clone(), env, req, hi)?;
    // What the limit must cover: the gas spent, or the EIP-7623 calldata floor when that is
    // higher (`gas_used` is at least the floor).
    let spent = match &first {
        CallOutcome::Success { gas_spent, gas_used, .. } => (*gas_spent).max(*gas_used),
        _ => return Ok(Err(first)),
    };
    // A plain transfer to an account without code: try exactly 21,000 first, as geth does
    // (an access list or other fields can make it cost more, then the search below runs).
    if req.input.is_empty() {
        if let Some(to) = req.to {
            let code_hash = base.account(to)?.map(|a| a.code_hash);
            if code_hash.is_none_or(|h| h == KECCAK256_EMPTY)
                && matches!(
                    run(base.clone(), env, req, TX_BASE_GAS),
                    Ok(CallOutcome::Success { .. })
                )
            {
                return Ok(Ok(TX_BASE_GAS));
            }
        }
    }
    let mut lo = spent.saturating_sub(1).max(TX_BASE_GAS - 1);
    // Most calls succeed with what they spent plus the 1/64 retained by nested calls.
    let optimistic = ((spent + 2_300) * 64 / 63).min(hi);
    if optimistic < hi {
        match run(base.clone(), env, req, optimistic) {
            Ok(CallOutcome::Success { .. }) => hi = optimistic,
            Ok(_) | Err(CallError::Invalid(_)) => lo = optimistic,
            Err(e) => return Err(e),
        }
    }
    while lo + 1 < hi {
        if ((hi - lo) as f64) < 0.015 * (hi as f64) {
            break;
        }
        let mid = lo + (hi - lo) / 2;
        match run(base.clone(), env, req, mid) {
            Ok(CallOutcome::Success { .. }) => hi = mid,
            Ok(_) | Err(CallError::Invalid(_)) => lo = mid,
            Err(e) => return Err(e),
        }
    }
    Ok(Ok(hi))
}

//! geth's `debug_traceTransaction` and `debug_traceCall`: the struct logger, `callTracer` and
//! the other built-in tracers, through revm-inspectors' [`DebugInspector`].
//!
//! A transaction is traced where it executed: its accepting chain block's acceptance is run
//! again on the state before that block, every earlier transaction of the order applied as it
//! was, and the run stops once the target has executed through the tracer.

use crate::accept::{accept_with, AcceptEnv, Accepted, MergedBlock, Target};
use crate::call::{run_with, CallEnv, CallError, CallRequest};
use crate::error::EvmError;
use crate::state::StateReader;
use alloy_primitives::B256;
pub use alloy_rpc_types_trace::geth::{GethDebugTracingOptions, GethTrace};
use revm_inspectors::tracing::{DebugInspector, TransactionContext};

fn inspector(opts: GethDebugTracingOptions) -> Result<DebugInspector, String> {
    DebugInspector::new(opts).map_err(|e| format!("unsupported tracer options: {e}"))
}

/// `debug_traceCall`: traces `req` on top of `base`.
pub fn trace_call<R: StateReader>(
    base: R,
    env: &CallEnv,
    req: &CallRequest,
    opts: GethDebugTracingOptions,
) -> Result<GethTrace, CallError> {
    let gas = req.gas.unwrap_or(env.gas_cap).min(env.gas_cap);
    let inspector = inspector(opts).map_err(CallError::Invalid)?;
    let mut ran = run_with(base, env, req, gas, inspector, true)?;
    ran.inspector
        .get_result(None, &ran.tx, &ran.block, &ran.result, &mut ran.db)
        .map_err(|e| CallError::Internal(EvmError::Evm(e.to_string())))
}

/// Where the traced transaction sits, for the trace's context.
#[derive(Clone, Copy, Debug)]
pub struct TxPlace {
    /// Transaction hash.
    pub hash: B256,
    /// The accepting chain block.
    pub block_hash: B256,
}

/// `debug_traceTransaction`: runs the acceptance of `mergeset` on `base` (the state before
/// the accepting block) up to `place.hash` and traces that transaction. `Ok(None)` if the
/// transaction does not execute in this acceptance.
pub fn trace_transaction<R: StateReader>(
    base: R,
    env: &AcceptEnv,
    mergeset: &[MergedBlock],
    executed_before: impl Fn(&B256) -> Result<bool, EvmError>,
    place: TxPlace,
    opts: GethDebugTracingOptions,
) -> Result<Result<Option<GethTrace>, String>, EvmError> {
    let inspector = match inspector(opts) {
        Ok(i) => i,
        Err(msg) => return Ok(Err(msg)),
    };
    let on_target = |inspector: &mut DebugInspector, at: Target<'_, R>| {
        let context = TransactionContext {
            block_hash: Some(place.block_hash),
            tx_index: Some(at.index as usize),
            tx_hash: Some(place.hash),
        };
        inspector
            .get_result(Some(context), at.tx, at.block, at.result, at.db)
            .map_err(|e| EvmError::Evm(e.to_string()))
    };
    match accept_with(base, env, mergeset, executed_before, inspector, Some(place.hash), on_target)?
    {
        Accepted::Target(trace) => Ok(Ok(Some(trace?))),
        Accepted::Completed(_) => Ok(Ok(None)),
    }
}

//! geth's `debug_traceTransaction` and `debug_traceCall`: the struct logger, `callTracer` and
//! the other built-in tracers, through revm-inspectors' [`DebugInspector`].
//!
//! A transaction is traced where it executed: its accepting chain block's acceptance is run
//! again on the state before that block, every earlier transaction of the order applied as it
//! was, and the run stops once the target has executed through the tracer.

use crate::accept::{accept_with, AcceptEnv, Accepted, MergedBlock, Target};
use crate::budget::{Budget, Limits};
use crate::call::{run_with, CallEnv, CallError, CallRequest};
use crate::error::EvmError;
use crate::state::StateReader;
use alloy_primitives::B256;
pub use alloy_rpc_types_trace::geth::{GethDebugTracingOptions, GethTrace};
use revm_inspectors::tracing::{
    DebugInspector, TraceLimitBehavior, TraceLimits, TransactionContext,
};

/// Most bytes a trace may record (call inputs, memory snapshots and deltas); beyond it the run
/// stops with an error rather than growing without bound.
pub const MAX_TRACE_BYTES: usize = 256 * 1024 * 1024;

/// The tracer `opts` asks for, with [`MAX_TRACE_BYTES`] applied to every tracer that records,
/// and (for the struct logger, whose log grows with every instruction) `max_steps` applied as
/// the step budget of `limits`.
fn inspector(
    opts: GethDebugTracingOptions,
    limits: Option<Limits>,
    max_steps: u64,
) -> Result<(DebugInspector, Budget), String> {
    let struct_logger = opts.tracer.is_none();
    let mut inspector =
        DebugInspector::new(opts).map_err(|e| format!("unsupported tracer options: {e}"))?;
    let bound = TraceLimits::default()
        .set_max_recorded_bytes(Some(MAX_TRACE_BYTES))
        .set_behavior(TraceLimitBehavior::Halt);
    match &mut inspector {
        DebugInspector::CallTracer(t, _)
        | DebugInspector::PreStateTracer(t, _)
        | DebugInspector::FlatCallTracer(t)
        | DebugInspector::Erc7562Tracer(t, _)
        | DebugInspector::Default(t, _) => *t = std::mem::take(t).with_limits(bound),
        _ => {}
    }
    let mut limits = limits.unwrap_or_else(Limits::none);
    if struct_logger {
        limits.max_steps = limits.max_steps.min(max_steps);
    }
    Ok((inspector, Budget::new(limits)))
}

/// `debug_traceCall`: traces `req` on top of `base`.
pub fn trace_call<R: StateReader>(
    base: R,
    env: &CallEnv,
    req: &CallRequest,
    opts: GethDebugTracingOptions,
    max_steps: u64,
) -> Result<GethTrace, CallError> {
    let gas = req.gas.unwrap_or(env.gas_cap).min(env.gas_cap);
    let inspector = inspector(opts, env.limits, max_steps).map_err(CallError::Invalid)?;
    let mut ran = run_with(base, env, req, gas, inspector, true)?;
    ran.inspector
        .0
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
    limits: Option<Limits>,
    max_steps: u64,
) -> Result<Result<Option<GethTrace>, String>, EvmError> {
    let inspector = match inspector(opts, limits, max_steps) {
        Ok(i) => i,
        Err(msg) => return Ok(Err(msg)),
    };
    let on_target = |(inspector, _): &mut (DebugInspector, Budget), at: Target<'_, R>| {
        let context = TransactionContext {
            block_hash: Some(place.block_hash),
            tx_index: Some(at.index as usize),
            tx_hash: Some(place.hash),
        };
        inspector
            .get_result(Some(context), at.tx, at.block, at.result, at.db)
            .map_err(|e| EvmError::Evm(e.to_string()))
    };
    let deadline = inspector.1.deadline();
    match accept_with(
        base,
        env,
        mergeset,
        executed_before,
        inspector,
        Some((place.hash, deadline)),
        on_target,
    )? {
        Accepted::Target(trace) => Ok(Ok(Some(trace?))),
        Accepted::Completed(_) => Ok(Ok(None)),
    }
}

//! Bounds on work done for RPC callers: a wall-clock deadline and a step budget, enforced by an
//! inspector that stops the EVM between two instructions. Blocks the chain executes never run
//! under one; `eth_call`, `eth_estimateGas`, `eth_createAccessList` and traces do.

use revm::context_interface::{ContextError, ContextTr};
use revm::interpreter::interpreter_types::LoopControl;
use revm::interpreter::Interpreter;
use revm::Inspector;
use std::time::{Duration, Instant};

/// The error text a stopped run carries, and what the RPC layer looks for.
pub const TIMEOUT_MESSAGE: &str = "execution timeout";
/// The error text of a run stopped by its step budget.
pub const STEPS_MESSAGE: &str = "execution step budget exhausted";
/// The error text revm-inspectors gives a trace stopped at its byte budget.
pub const TRACE_BYTES_MESSAGE: &str = "trace recorded byte limit exceeded";

/// The limit a stopped run's error text names, if it is one of ours.
pub fn aborted_by(error: &str) -> Option<&'static str> {
    [TIMEOUT_MESSAGE, STEPS_MESSAGE, TRACE_BYTES_MESSAGE].into_iter().find(|m| error.contains(m))
}

/// How much a run may do.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Stop at this instant.
    pub deadline: Instant,
    /// Stop after this many instructions (all frames together).
    pub max_steps: u64,
}

impl Limits {
    /// No limit (a deadline a year away).
    pub fn none() -> Self {
        Self::timeout(Duration::from_secs(365 * 24 * 3600))
    }

    /// `timeout` from now, with no step budget.
    pub fn timeout(timeout: Duration) -> Self {
        Self { deadline: Instant::now() + timeout, max_steps: u64::MAX }
    }
}

/// Stops execution when the deadline passes or the step budget is spent.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    limits: Limits,
    steps: u64,
    stopped: Option<&'static str>,
}

impl Budget {
    /// A budget for one run (or several that share the limits).
    pub fn new(limits: Limits) -> Self {
        Self { limits, steps: 0, stopped: None }
    }

    /// When the budget's time runs out.
    pub fn deadline(&self) -> Instant {
        self.limits.deadline
    }

    /// Whether the limits are already spent (checked between runs of a search).
    pub fn expired(limits: &Limits) -> bool {
        Instant::now() >= limits.deadline
    }
}

impl<CTX: ContextTr> Inspector<CTX> for Budget {
    fn step(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        self.steps += 1;
        if self.stopped.is_none() {
            if self.steps > self.limits.max_steps {
                self.stopped = Some(STEPS_MESSAGE);
            } else if self.steps & 1023 == 0 && Instant::now() >= self.limits.deadline {
                self.stopped = Some(TIMEOUT_MESSAGE);
            }
        }
        let Some(why) = self.stopped else { return };
        // A context error makes revm end the whole transaction with it (no result), which is
        // what a timeout is: not an out-of-gas that a gas search would mistake for one.
        if context.error().is_ok() {
            *context.error() = Err(ContextError::Custom(why.to_string()));
        }
        interp.bytecode.reset_action();
        interp.halt_fatal();
    }
}

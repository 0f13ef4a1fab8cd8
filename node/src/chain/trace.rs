//! Re-running a chain block's acceptance to trace one of its transactions.

use super::Chain;
use alloy_primitives::B256;
use eyre::{eyre, Result};
use lattice_evm::trace::{self, GethDebugTracingOptions, GethTrace, TxPlace};
use lattice_evm::{EvmError, HistoricalState};
use lattice_storage::tables;

impl Chain {
    /// Traces executed transaction `hash` where it executed. `Ok(None)`: not executed on the
    /// selected chain. The inner error is a bad tracer option.
    pub fn trace_transaction(
        &self,
        hash: B256,
        opts: GethDebugTracingOptions,
    ) -> Result<Option<Result<GethTrace, String>>> {
        let Some(loc) = self.tx_location(hash)? else { return Ok(None) };
        let Some(number) = self.number_of(loc.block)? else { return Ok(None) };
        let header = self.header(loc.block)?.ok_or_else(|| eyre!("no header for {}", loc.block))?;
        let gd =
            self.ghostdag(loc.block).ok_or_else(|| eyre!("no GHOSTDAG data for {}", loc.block))?;
        let (merged, capacity) = self.merged_blocks(&gd)?;
        let env = self.accept_env(
            number,
            gd.selected_parent,
            header.coinbase,
            header.timestamp_ms,
            header.base_fee,
            capacity,
        );
        let db = &*self.db;
        // Executed before this block: recorded in the tx index at a smaller chain number.
        let executed_before = |h: &B256| -> Result<bool, EvmError> {
            let Some(at) = db.get::<tables::TxLookup>(h).map_err(EvmError::from)? else {
                return Ok(false);
            };
            let n = db.get::<tables::ChainNumbers>(&at.block).map_err(EvmError::from)?;
            Ok(n.is_some_and(|n| n < number))
        };
        let place = TxPlace { hash, block_hash: loc.block };
        let base = HistoricalState::new(db, number - 1);
        match trace::trace_transaction(base, &env, &merged, executed_before, place, opts)? {
            Ok(Some(trace)) => Ok(Some(Ok(trace))),
            Ok(None) => {
                Err(eyre!("transaction {hash} did not execute when its block was replayed"))
            }
            Err(bad_options) => Ok(Some(Err(bad_options))),
        }
    }
}

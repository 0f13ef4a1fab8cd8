use lattice_storage::StorageError;

/// Errors of execution. None of them is a property of a transaction: a transaction that cannot
/// apply is *skipped*, not an error.
#[derive(Debug, thiserror::Error)]
pub enum EvmError {
    /// Reading or writing state failed.
    #[error("state storage: {0}")]
    Storage(#[from] StorageError),
    /// State the node needs is missing (e.g. code for a known code hash).
    #[error("state is inconsistent: {0}")]
    Inconsistent(String),
    /// The state asked for is older than the node keeps (`--prune`): its change sets are gone.
    #[error(
        "historical state not available: chain block {number} is below the oldest state this \
         node keeps ({floor}; --prune)"
    )]
    HistoryPruned {
        /// The chain block whose state was asked for.
        number: u64,
        /// The oldest chain block whose state can be read.
        floor: u64,
    },
    /// revm failed for a reason that is not the transaction's fault.
    #[error("evm: {0}")]
    Evm(String),
}

impl revm::database_interface::DBErrorMarker for EvmError {}

//! The one place where errors become JSON-RPC error objects (codes as geth and reth use them).

use alloy_primitives::Bytes;
use alloy_sol_types::{Panic, Revert, SolError};
use jsonrpsee::types::ErrorObjectOwned;

/// Errors of RPC methods.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Bad parameters (-32602).
    #[error("{0}")]
    InvalidParams(String),
    /// A transaction the pool refused, or a call that is invalid as a transaction (-32000).
    #[error("{0}")]
    Rejected(String),
    /// The requested block does not exist (-32000 "header not found", as geth).
    #[error("header not found")]
    HeaderNotFound,
    /// Execution reverted (code 3, revert data in `data`).
    #[error("execution reverted{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Reverted {
        /// Decoded reason, when the data is `Error(string)` or `Panic(uint256)`.
        reason: Option<String>,
        /// Raw revert data.
        data: Bytes,
    },
    /// Execution halted (out of gas, invalid opcode, ...) (-32000).
    #[error("{0}")]
    Halted(String),
    /// An unknown or expired filter id (-32000 "filter not found", as geth).
    #[error("filter not found")]
    FilterNotFound,
    /// A limit was exceeded (-32005).
    #[error("{0}")]
    LimitExceeded(String),
    /// The method exists but this node does not serve it in its configuration (-32601 style).
    #[error("{0}")]
    Unsupported(String),
    /// Anything else (-32603).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<lattice_evm::CallError> for RpcError {
    /// A call that could not run: invalid as a transaction (-32000 with geth's text), stopped
    /// by the RPC execution limits (-32000 "execution aborted: …", as geth's timeout), or an
    /// internal failure.
    fn from(e: lattice_evm::CallError) -> Self {
        match e {
            lattice_evm::CallError::Invalid(msg) => Self::Rejected(msg),
            lattice_evm::CallError::Aborted(why) => {
                Self::Rejected(format!("execution aborted: {why}"))
            }
            lattice_evm::CallError::Internal(e) => e.into(),
        }
    }
}

impl From<lattice_evm::EvmError> for RpcError {
    /// State older than the node keeps is the caller's to know about (-32000 "historical state
    /// not available: …", as geth and reth answer for pruned state); anything else is internal.
    fn from(e: lattice_evm::EvmError) -> Self {
        match e {
            lattice_evm::EvmError::HistoryPruned { .. } => Self::Rejected(e.to_string()),
            e => Self::internal(e),
        }
    }
}

impl RpcError {
    /// An internal error from any displayable error.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    /// A revert with `data`, decoding the reason when it is a standard one.
    pub fn reverted(data: Bytes) -> Self {
        Self::Reverted { reason: decode_revert_reason(&data), data }
    }
}

/// The reason string of `Error(string)` or a description of `Panic(uint256)`.
pub fn decode_revert_reason(data: &[u8]) -> Option<String> {
    if let Ok(revert) = Revert::abi_decode(data) {
        return Some(revert.reason);
    }
    if let Ok(panic) = Panic::abi_decode(data) {
        return Some(match panic.kind() {
            Some(kind) => format!("panic: {kind} (0x{:02x})", panic.code),
            None => format!("panic: 0x{:x}", panic.code),
        });
    }
    None
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(e: RpcError) -> Self {
        let msg = e.to_string();
        match e {
            RpcError::InvalidParams(_) => ErrorObjectOwned::owned(-32602, msg, None::<()>),
            RpcError::Rejected(_)
            | RpcError::HeaderNotFound
            | RpcError::FilterNotFound
            | RpcError::Halted(_) => ErrorObjectOwned::owned(-32000, msg, None::<()>),
            RpcError::Reverted { data, .. } => ErrorObjectOwned::owned(3, msg, Some(data)),
            RpcError::LimitExceeded(_) => ErrorObjectOwned::owned(-32005, msg, None::<()>),
            RpcError::Unsupported(_) => ErrorObjectOwned::owned(-32601, msg, None::<()>),
            RpcError::Internal(_) => ErrorObjectOwned::owned(-32603, msg, None::<()>),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;

    #[test]
    fn revert_reasons_decode_and_map_to_code_3() {
        let data: Bytes = Revert::from("unlucky").abi_encode().into();
        let obj: ErrorObjectOwned = RpcError::reverted(data).into();
        assert_eq!(obj.code(), 3);
        assert_eq!(obj.message(), "execution reverted: unlucky");
        let panic: Bytes = Panic { code: U256::from(0x11) }.abi_encode().into();
        assert!(decode_revert_reason(&panic).unwrap().contains("0x11"));
        let custom = RpcError::reverted(Bytes::from_static(&[1, 2, 3, 4]));
        assert_eq!(custom.to_string(), "execution reverted");
    }
}

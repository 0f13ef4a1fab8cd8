//! Ethereum JSON-RPC for Lattice: HTTP and WebSocket on one port (jsonrpsee).
//!
//! The server depends only on [`NodeApi`], a small read/submit interface the node implements,
//! not on the node's internals. Conversion to alloy's RPC types, including the DAG's extra
//! fields (`blueScore`, `blueWork`, `parents`, `mergesetBlues`, `mergesetReds`,
//! `carrierBlockHash`), lives in [`convert`]; the mapping of errors to JSON-RPC codes lives in
//! one place, [`error`].

mod api;
mod batch;
pub mod convert;
pub mod error;
mod eth;
pub mod filters;
pub mod logs;
mod server;
mod sign;

pub use api::{
    AcceptanceView, AcceptedTx, AccountView, BlockLogs, ChainBlock, ChainEntry, ChainEvent,
    DagBlockView, EventBlock, NodeApi, PoolGroups, ReceiptView, RpcMetrics, TxView,
};
pub use error::RpcError;
pub use eth::{
    eth_module, Ctx as RpcContext, MAX_FEE_HISTORY_BLOCKS, MAX_PROOF_KEYS, MAX_REWARD_PERCENTILES,
};
pub use jsonrpsee::server::ServerHandle;
pub use logs::LogLimits;
pub use server::{
    start_server, RpcConfig, DEFAULT_EVM_TIMEOUT, DEFAULT_RPC_ADDR, DEFAULT_RPC_APIS,
    DEFAULT_TRACE_MAX_STEPS, DEFAULT_VHOSTS, RPC_APIS,
};

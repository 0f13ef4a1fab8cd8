//! Types every Lattice crate shares: the DAG block header and block, the chain specification
//! (producers, fees, GHOSTDAG parameters, genesis allocation) and the dev chain.
//!
//! This crate holds data and pure functions over it (hashing, signing, encoding). It performs no
//! I/O and knows nothing of storage, execution or the network.

mod block;
mod dev;
mod execution;
mod header;
mod spec;

pub use block::{Block, SealedBlock};
pub use dev::{dev_signers, sign_transaction, DEV_ACCOUNT_COUNT, DEV_MNEMONIC};
pub use execution::{
    can_afford, max_tx_cost, AcceptanceEntry, SkipReason, StoredReceipt, TxLocation,
};
pub use header::{Header, HeaderError, SealedHeader};
pub use spec::{ChainSpec, GenesisAccount, CREATE2_DEPLOYER, CREATE2_DEPLOYER_CODE};

/// Re-exported so downstream crates name one transaction type.
pub use alloy_consensus::TxEnvelope;

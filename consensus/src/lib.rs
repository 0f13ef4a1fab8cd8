//! GHOSTDAG consensus for Lattice: selected parent, mergeset, k-cluster colouring, blue
//! score and blue work, the reachability index, and the consensus order execution follows.
//!
//! The algorithms reproduce Kaspa's exactly (they pass Kaspa's published test DAGs, see
//! `tests/kaspa_vectors.rs`) and are written against store *reader* traits
//! ([`stores`]): [`ghostdag::ghostdag`] only reads; the reachability updates of a block are
//! collected in a [`stores::ReachabilityStaging`] overlay; everything one block changes comes
//! out as one [`BlockConsensusDiff`] that a store commits atomically. The same code runs on
//! the in-memory store ([`MemoryConsensusStore`]: tests, replay, benchmarks) and on RocksDB
//! (implemented in the storage layer against the same traits).
//!
//! Entry points:
//! - [`Dag`]: the façade the node uses — [`Dag::add_block`], GHOSTDAG data, ancestry
//!   queries, [`Dag::consensus_order_of_mergeset`], tips, sink, selected chain, parent
//!   selection for new blocks, and the header rules that belong to consensus.
//! - [`GhostdagParams`] and [`calculate_ghostdag_k`]: the chain-spec parameters.
//! - [`replay::replay`]: the `lattice dag replay FILE` tool over Kaspa's test-DAG JSON.
//!
//! Not here: proof-of-authority signatures, timestamps, transactions and execution,
//! persistence formats. Conventions: a block is its own ancestor in every ancestry query;
//! hashes compare lexicographically on their bytes; every block carries positive work.

pub mod dag;
pub mod diff;
pub mod errors;
pub mod ghostdag;
pub mod params;
pub mod reachability;
pub mod replay;
pub mod stores;
pub mod types;

pub use dag::{check_mergeset_limit, validate_header_ghostdag, Dag, GhostdagHeaderFields};
pub use diff::BlockConsensusDiff;
pub use errors::{ReachabilityError, RuleError, StoreError};
pub use ghostdag::GhostdagData;
pub use params::{calculate_ghostdag_k, GhostdagParams, DEFAULT_GHOSTDAG_DELTA};
pub use replay::{replay, ReplayError};
pub use stores::{
    ConsensusStore, ConsensusStoreReader, ConsensusStoreWriter, MemoryConsensusStore,
};
pub use types::{BlockHash, BlockHashes, BlueWork, KType, SortableBlock};

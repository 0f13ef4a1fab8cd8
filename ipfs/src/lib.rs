//! The node's IPFS side (issue 15): a client of Kubo's HTTP RPC bounded in time and bytes
//! ([`IpfsClient`]), and a watcher that keeps what the node reports about its Kubo
//! ([`IpfsWatch`]): reachable or not, version, peer id, repository size.
//!
//! Kubo being slow or gone never stalls the node: calls time out, the watcher runs on its own
//! task, and what it learnt is read without waiting.

pub mod client;
pub mod dev;
pub mod merkle;
pub mod pinning;
pub mod watch;

pub use client::{
    Added, ClientConfig, DagStat, Identity, IpfsClient, IpfsError, RepoStat, Version,
    DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT,
};
pub use watch::{IpfsStatus, IpfsWatch, DEFAULT_CHECK_EVERY};

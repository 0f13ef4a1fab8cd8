//! Typed tables over RocksDB.
//!
//! Every table is a type implementing [`Table`] (name, key type, value type) and lives in its own
//! column family. Keys and values go through [`Codec`]: integers big-endian so that iteration
//! follows numeric order, fixed-size hashes raw, structured values RLP. Writes are staged in a
//! [`Batch`] and applied atomically: the node writes each accepted block as one batch.
//!
//! This crate knows the shape of the node's tables but not what they mean; the rules of what is
//! written when live in the crates that own the data.

mod codec;
mod db;
pub mod tables;

pub use codec::{Codec, CodecError, Json};
pub use db::{Batch, Db, Entry, StorageError, Table};

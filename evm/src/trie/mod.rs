//! An in-memory Ethereum Merkle-Patricia trie that keeps its nodes and their hashes between
//! blocks, so a new root costs O(changes · depth) instead of O(state).
//!
//! [`MerkleTrie`] maps 32-byte keys that are already hashed (`keccak256(address)` for the
//! account trie, `keccak256(slot)` for a storage trie) to RLP-encoded values. The nodes and their
//! encodings are exactly Ethereum's (through alloy-trie's node encoders), so [`MerkleTrie::root`]
//! equals alloy-trie's [`HashBuilder`](alloy_trie::HashBuilder) over the same sorted entries.
//! Values are stored as given and only an empty value means "absent": a storage slot set to
//! zero must be removed, not stored as `rlp(0)` (`0x80`).
//!
//! The trie is persistent: nodes sit behind [`Arc`] and are copied on write, so
//! [`Clone::clone`] is O(1) and an update copies only the nodes on its key's path. Each node
//! caches its encoding once computed, and an update clears it only on the path it touched. A
//! speculative block is therefore cheap to try and to throw away:
//!
//! ```
//! # use alloy_primitives::B256;
//! # use lattice_evm::trie::MerkleTrie;
//! let mut committed = MerkleTrie::from_sorted([(B256::with_last_byte(1), vec![0x01])]);
//! let before = committed.root();
//! let mut next = committed.clone();
//! next.insert(B256::with_last_byte(2), vec![0x02]);
//! let root = next.root(); // hashes only the new path
//! assert_eq!(committed.root(), before); // `committed` did not change
//! # let block_commits = true;
//! if block_commits {
//!     committed = next;
//! }
//! # assert_eq!(committed.root(), root);
//! ```
//!
//! It is not a database: it holds the whole trie in memory (a few hundred bytes per key, see
//! `benches/trie.rs`) and persists nothing; loading it from the stored state is the caller's
//! business ([`MerkleTrie::from_sorted`]). [`MerkleTrie::proof`] gives `eth_getProof`'s node
//! lists.

mod node;
#[cfg(test)]
mod tests;

use alloy_primitives::{keccak256, B256};
use alloy_trie::Nibbles;
pub use alloy_trie::EMPTY_ROOT_HASH;
use node::{Node, Removed};
use std::fmt;
use std::sync::Arc;

/// An in-memory, copy-on-write Merkle-Patricia trie over hashed 32-byte keys. See the
/// [module docs](self).
#[derive(Clone, Default)]
pub struct MerkleTrie {
    root: Option<Arc<Node>>,
    len: usize,
}

impl MerkleTrie {
    /// An empty trie; its root is [`EMPTY_ROOT_HASH`].
    pub const fn new() -> Self {
        Self { root: None, len: 0 }
    }

    /// Builds a trie from entries in strictly ascending key order, in O(n · depth) without
    /// hashing (hashes are computed by the first [`root`](Self::root)).
    ///
    /// Entries with an empty value are skipped (an empty value means "absent"). Input that is
    /// not strictly ascending is sorted first (later duplicates win), so the result is always the
    /// trie that inserting the entries one by one would give; sorted input skips that
    /// O(n log n) step.
    pub fn from_sorted(entries: impl IntoIterator<Item = (B256, Vec<u8>)>) -> Self {
        let mut entries: Vec<(B256, Box<[u8]>)> =
            entries.into_iter().map(|(key, value)| (key, value.into_boxed_slice())).collect();
        if !entries.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            // Stable sort, so equal keys stay in input order and the last one is kept.
            entries.sort_by_key(|(key, _)| *key);
            let mut unique: Vec<(B256, Box<[u8]>)> = Vec::with_capacity(entries.len());
            for entry in entries {
                match unique.last_mut() {
                    Some(last) if last.0 == entry.0 => *last = entry,
                    _ => unique.push(entry),
                }
            }
            entries = unique;
        }
        entries.retain(|(_, value)| !value.is_empty());
        let len = entries.len();
        let root = (len > 0).then(|| Arc::new(node::build(&mut entries, 0)));
        Self { root, len }
    }

    /// Number of keys.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the trie has no keys.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: B256) -> Option<&[u8]> {
        node::get(self.root.as_deref()?, &Nibbles::unpack(key))
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: B256) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`; an empty `value` removes the key. Writing the value a key already
    /// has changes nothing (and keeps the cached hashes).
    pub fn insert(&mut self, key: B256, value: Vec<u8>) {
        if value.is_empty() {
            self.remove(key);
            return;
        }
        if self.get(key) == Some(value.as_slice()) {
            return;
        }
        let path = Nibbles::unpack(key);
        let value = value.into_boxed_slice();
        match &mut self.root {
            Some(root) => {
                if node::insert(root, &path, 0, value) {
                    self.len += 1;
                }
            }
            None => {
                self.root = Some(Arc::new(Node::leaf(path, value)));
                self.len = 1;
            }
        }
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&mut self, key: B256) -> bool {
        // Checking first keeps an absent key from unsharing the nodes on its path.
        if !self.contains_key(key) {
            return false;
        }
        let Some(root) = &mut self.root else { return false };
        match node::remove(root, &Nibbles::unpack(key), 0) {
            Removed::Absent => false,
            Removed::Shrunk => {
                self.len -= 1;
                true
            }
            Removed::Gone => {
                self.root = None;
                self.len = 0;
                true
            }
        }
    }

    /// The Merkle proof of `key` (present or absent): the encodings of the nodes on its path,
    /// root first, as `eth_getProof` returns them. Empty for an empty trie.
    pub fn proof(&self, key: B256) -> Vec<alloy_primitives::Bytes> {
        let Some(root) = &self.root else { return Vec::new() };
        node::proof(root, &Nibbles::unpack(key)).into_iter().map(Into::into).collect()
    }

    /// The root hash. Hashes only the nodes changed since they were last hashed (all of them
    /// after [`from_sorted`](Self::from_sorted)) and caches the result in the nodes, which
    /// clones share; calling it again without changes costs O(1).
    pub fn root(&self) -> B256 {
        let Some(root) = &self.root else { return EMPTY_ROOT_HASH };
        let mut buf = Vec::with_capacity(600);
        let rlp = root.rlp(&mut buf);
        // The root is always referenced by hash, even when its encoding is shorter than 32 bytes.
        rlp.as_hash().unwrap_or_else(|| keccak256(rlp.as_slice()))
    }
}

impl Extend<(B256, Vec<u8>)> for MerkleTrie {
    /// Applies [`insert`](MerkleTrie::insert) to each entry in order.
    fn extend<I: IntoIterator<Item = (B256, Vec<u8>)>>(&mut self, entries: I) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}

impl fmt::Debug for MerkleTrie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerkleTrie").field("len", &self.len).finish_non_exhaustive()
    }
}

//! The nodes of [`MerkleTrie`](super::MerkleTrie) and the recursive lookup, update, removal,
//! bulk build and hashing over them.
//!
//! Nodes sit behind [`Arc`] and are changed only through [`Arc::make_mut`], so a node shared
//! with another trie is copied before it changes and a cached encoding, once set, stays true for
//! as long as the node lives.

use alloy_primitives::B256;
use alloy_trie::nodes::{BranchNodeRef, ExtensionNodeRef, LeafNodeRef, RlpNode};
use alloy_trie::{Nibbles, TrieMask};
use std::mem;
use std::sync::{Arc, OnceLock};

/// A node with its reference as a child: its RLP if shorter than 32 bytes, else the RLP of its
/// keccak256. Computed on first use; cleared whenever the node changes.
#[derive(Clone, Debug)]
pub(super) struct Node {
    pub(super) kind: NodeKind,
    rlp: OnceLock<RlpNode>,
}

/// The three node kinds of a trie whose keys all have the same length (so a branch never holds
/// a value). Paths are relative to the node's position.
#[derive(Clone, Debug)]
pub(super) enum NodeKind {
    /// The rest of a key's path and its value (never empty).
    Leaf { path: Nibbles, value: Box<[u8]> },
    /// A shared path (never empty) leading to a branch.
    Extension { path: Nibbles, child: Arc<Node> },
    /// At least two children, sorted by nibble; `mask` has a bit set for each.
    Branch { mask: TrieMask, children: Vec<Arc<Node>> },
}

/// What a removal did to the subtree it was applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Removed {
    /// The key was not there; nothing changed.
    Absent,
    /// The key was removed and the subtree still holds other keys.
    Shrunk,
    /// The key was the subtree's only one: the subtree is gone.
    Gone,
}

impl Node {
    pub(super) fn new(kind: NodeKind) -> Self {
        Self { kind, rlp: OnceLock::new() }
    }

    pub(super) fn leaf(path: Nibbles, value: Box<[u8]>) -> Self {
        Self::new(NodeKind::Leaf { path, value })
    }

    /// The node's reference as a child, computing (and caching) it and those of its descendants
    /// that are not cached yet. `buf` is scratch space.
    pub(super) fn rlp(&self, buf: &mut Vec<u8>) -> &RlpNode {
        self.rlp.get_or_init(|| self.encode(buf))
    }

    /// Whether the node's reference is cached (for tests).
    #[cfg(test)]
    pub(super) fn is_hashed(&self) -> bool {
        self.rlp.get().is_some()
    }

    /// Whether the cached reference, if any, is the one the node's contents give (for tests).
    #[cfg(test)]
    pub(super) fn cache_is_fresh(&self) -> bool {
        self.rlp.get().is_none_or(|cached| *cached == self.encode(&mut Vec::new()))
    }

    fn encode(&self, buf: &mut Vec<u8>) -> RlpNode {
        match &self.kind {
            NodeKind::Leaf { path, value } => {
                buf.clear();
                LeafNodeRef::new(path, value).rlp(buf)
            }
            NodeKind::Extension { path, child } => {
                let child = child.rlp(buf).clone();
                buf.clear();
                ExtensionNodeRef::new(path, &child).rlp(buf)
            }
            NodeKind::Branch { mask, children } => {
                let mut stack: [RlpNode; 16] = std::array::from_fn(|_| RlpNode::default());
                for (slot, child) in stack.iter_mut().zip(children) {
                    *slot = child.rlp(buf).clone();
                }
                buf.clear();
                BranchNodeRef::new(&stack[..children.len()], *mask).rlp(buf)
            }
        }
    }
}

impl NodeKind {
    /// A branch without children, only ever a placeholder while a node is being rebuilt.
    const PLACEHOLDER: Self = Self::Branch { mask: TrieMask::new(0), children: Vec::new() };

    fn is_branch(&self) -> bool {
        matches!(self, Self::Branch { .. })
    }

    /// A branch of two children at different nibbles.
    fn branch_of_two(a: (u8, Arc<Node>), b: (u8, Arc<Node>)) -> Self {
        let (first, second) = if a.0 < b.0 { (a, b) } else { (b, a) };
        let mut mask = TrieMask::from_nibble(first.0);
        mask.set_bit(second.0);
        Self::Branch { mask, children: vec![first.1, second.1] }
    }

    /// `branch` itself if `prefix` is empty, else an extension of `prefix` leading to it.
    fn behind(prefix: Nibbles, branch: Self) -> Self {
        if prefix.is_empty() {
            branch
        } else {
            Self::Extension { path: prefix, child: Arc::new(Node::new(branch)) }
        }
    }

    /// The node that replaces an extension of `prefix` (or a branch whose only child is at
    /// `prefix`) over `child`: paths of leaves and extensions are merged into one.
    fn prefixed(prefix: Nibbles, child: Arc<Node>) -> Self {
        if child.kind.is_branch() {
            return Self::Extension { path: prefix, child };
        }
        match Arc::unwrap_or_clone(child).kind {
            Self::Leaf { path, value } => Self::Leaf { path: prefix.join(&path), value },
            Self::Extension { path, child } => Self::Extension { path: prefix.join(&path), child },
            branch @ Self::Branch { .. } => Self::behind(prefix, branch),
        }
    }
}

/// Position of `nibble`'s child among a branch's children.
fn child_index(mask: TrieMask, nibble: u8) -> usize {
    (mask.get() & ((1u16 << nibble) - 1)).count_ones() as usize
}

/// The node in `slot`, unshared (copied if another trie holds it too), with its cache cleared
/// because the caller is about to change it.
fn make_mut(slot: &mut Arc<Node>) -> &mut Node {
    let node = Arc::make_mut(slot);
    node.rlp.take();
    node
}

/// The value of `key` below `node`, which sits at nibble 0 of the key.
pub(super) fn get<'a>(mut node: &'a Node, key: &Nibbles) -> Option<&'a [u8]> {
    let mut depth = 0;
    loop {
        match &node.kind {
            NodeKind::Leaf { path, value } => {
                return (*path == key.slice(depth..)).then_some(&**value);
            }
            NodeKind::Extension { path, child } => {
                if !key.slice(depth..).starts_with(path) {
                    return None;
                }
                depth += path.len();
                node = child;
            }
            NodeKind::Branch { mask, children } => {
                let nibble = key.get_unchecked(depth);
                if !mask.is_bit_set(nibble) {
                    return None;
                }
                node = &children[child_index(*mask, nibble)];
                depth += 1;
            }
        }
    }
}

/// The encodings of the nodes on `key`'s path from `node` (the root) down, as `eth_getProof`
/// lists them: the root always, then every node referenced by hash (nodes shorter than 32
/// bytes are inlined in their parent). Ends where the path leaves the trie, so it also proves
/// absence.
pub(super) fn proof(mut node: &Node, key: &Nibbles) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = Vec::with_capacity(600);
    let mut depth = 0;
    loop {
        // Children's references are cached by `rlp`; `encode` then leaves the node's own
        // encoding in `buf`.
        node.rlp(&mut buf);
        node.encode(&mut buf);
        if out.is_empty() || buf.len() >= 32 {
            out.push(buf.clone());
        }
        match &node.kind {
            NodeKind::Leaf { .. } => return out,
            NodeKind::Extension { path, child } => {
                if !key.slice(depth..).starts_with(path) {
                    return out;
                }
                depth += path.len();
                node = child;
            }
            NodeKind::Branch { mask, children } => {
                let nibble = key.get_unchecked(depth);
                if !mask.is_bit_set(nibble) {
                    return out;
                }
                node = &children[child_index(*mask, nibble)];
                depth += 1;
            }
        }
    }
}

/// Sets `key` to `value` below `slot`, which sits at nibble `depth` of the key. Returns whether
/// the key is new. Every node on the key's path is unshared and its cache cleared.
pub(super) fn insert(slot: &mut Arc<Node>, key: &Nibbles, depth: usize, value: Box<[u8]>) -> bool {
    let node = make_mut(slot);
    let rest = key.slice(depth..);
    match &mut node.kind {
        NodeKind::Leaf { path, value: old } => {
            if *path == rest {
                *old = value;
                return false;
            }
            // Keys have equal lengths, so the paths differ at some nibble `common`.
            let common = path.common_prefix_length(&rest);
            let old_leaf = Arc::new(Node::leaf(path.slice(common + 1..), mem::take(old)));
            let new_leaf = Arc::new(Node::leaf(rest.slice(common + 1..), value));
            let branch = NodeKind::branch_of_two(
                (path.get_unchecked(common), old_leaf),
                (rest.get_unchecked(common), new_leaf),
            );
            node.kind = NodeKind::behind(rest.slice(..common), branch);
            true
        }
        NodeKind::Extension { path, child } => {
            let common = path.common_prefix_length(&rest);
            if common == path.len() {
                return insert(child, key, depth + common, value);
            }
            let old_side = if common + 1 == path.len() {
                child.clone()
            } else {
                let path = path.slice(common + 1..);
                Arc::new(Node::new(NodeKind::Extension { path, child: child.clone() }))
            };
            let new_leaf = Arc::new(Node::leaf(rest.slice(common + 1..), value));
            let branch = NodeKind::branch_of_two(
                (path.get_unchecked(common), old_side),
                (rest.get_unchecked(common), new_leaf),
            );
            node.kind = NodeKind::behind(rest.slice(..common), branch);
            true
        }
        NodeKind::Branch { mask, children } => {
            let nibble = rest.get_unchecked(0);
            let index = child_index(*mask, nibble);
            if mask.is_bit_set(nibble) {
                insert(&mut children[index], key, depth + 1, value)
            } else {
                children.insert(index, Arc::new(Node::leaf(rest.slice(1..), value)));
                mask.set_bit(nibble);
                true
            }
        }
    }
}

/// Removes `key` below `slot`, which sits at nibble `depth` of the key, keeping the trie in
/// canonical form: a branch left with one child is folded into its parent path, and an extension
/// over a node that stopped being a branch is merged with it.
///
/// Nodes on the key's path are unshared even when the key turns out to be absent below a branch;
/// callers that expect absent keys check with [`get`] first.
pub(super) fn remove(slot: &mut Arc<Node>, key: &Nibbles, depth: usize) -> Removed {
    let rest = key.slice(depth..);
    match &slot.kind {
        NodeKind::Leaf { path, .. } => {
            return if *path == rest { Removed::Gone } else { Removed::Absent };
        }
        NodeKind::Extension { path, .. } if !rest.starts_with(path) => return Removed::Absent,
        NodeKind::Branch { mask, .. } if !mask.is_bit_set(rest.get_unchecked(0)) => {
            return Removed::Absent;
        }
        NodeKind::Extension { .. } | NodeKind::Branch { .. } => {}
    }
    let node = make_mut(slot);
    match &mut node.kind {
        NodeKind::Leaf { .. } => Removed::Absent, // returned above
        NodeKind::Extension { path, child } => {
            let removed = remove(child, key, depth + path.len());
            if removed == Removed::Shrunk && !child.kind.is_branch() {
                if let NodeKind::Extension { path, child } =
                    mem::replace(&mut node.kind, NodeKind::PLACEHOLDER)
                {
                    node.kind = NodeKind::prefixed(path, child);
                }
            }
            removed
        }
        NodeKind::Branch { mask, children } => {
            let nibble = rest.get_unchecked(0);
            let index = child_index(*mask, nibble);
            match remove(&mut children[index], key, depth + 1) {
                Removed::Gone => {
                    children.remove(index);
                    mask.unset_bit(nibble);
                    match (mask.first_set_bit_index(), children.len()) {
                        (Some(only), 1) => {
                            let child = children.pop().expect("branch has exactly one child");
                            let prefix = Nibbles::from_nibbles_unchecked([only]);
                            node.kind = NodeKind::prefixed(prefix, child);
                            Removed::Shrunk
                        }
                        (None, _) => Removed::Gone,
                        _ => Removed::Shrunk,
                    }
                }
                removed => removed,
            }
        }
    }
}

/// Builds the subtree of `entries` (keys strictly ascending, values non-empty, at least one
/// entry, all sharing their first `depth` nibbles). Values are moved out of `entries`.
pub(super) fn build(entries: &mut [(B256, Box<[u8]>)], depth: usize) -> Node {
    let first = entries.first().expect("build is given at least one entry").0;
    if let [(key, value)] = entries {
        return Node::leaf(Nibbles::unpack(key).slice(depth..), mem::take(value));
    }
    let last = entries.last().expect("build is given at least one entry").0;
    // Sorted keys: all entries share the prefix that the first and the last share.
    let split = differing_nibble(&first, &last);
    debug_assert!(split >= depth, "entries share their first {depth} nibbles");

    let mut mask = TrieMask::default();
    let mut children = Vec::new();
    let mut rest = entries;
    while let Some((head, _)) = rest.first() {
        let nibble = nibble_at(head, split);
        let end = rest.partition_point(|(key, _)| nibble_at(key, split) == nibble);
        let (group, tail) = mem::take(&mut rest).split_at_mut(end);
        children.push(Arc::new(build(group, split + 1)));
        mask.set_bit(nibble);
        rest = tail;
    }
    let branch = NodeKind::Branch { mask, children };
    Node::new(NodeKind::behind(Nibbles::unpack(first).slice(depth..split), branch))
}

/// The nibble at `index` (0..64) of `key`.
fn nibble_at(key: &B256, index: usize) -> u8 {
    let byte = key[index / 2];
    if index.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0f
    }
}

/// Index of the first nibble at which two distinct keys differ.
fn differing_nibble(a: &B256, b: &B256) -> usize {
    let (index, (x, y)) = a
        .iter()
        .zip(b.iter())
        .enumerate()
        .find(|(_, (x, y))| x != y)
        .expect("build is given distinct keys");
    if (x ^ y) & 0xf0 != 0 {
        index * 2
    } else {
        index * 2 + 1
    }
}

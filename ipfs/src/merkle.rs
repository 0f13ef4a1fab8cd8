//! The storage commitment `IPFSIncentives` checks (docs/contracts.md, "Storage proofs"):
//! SHA-256 of each 1024-byte chunk, the leaf level padded with zero hashes to a power of two,
//! `sha256(left ‖ right)` upwards. The pinning service recomputes it from the content Kubo
//! returns and compares it with the on-chain `ContentSpec`; a provider answers challenges
//! with [`proof`].

use sha2::{Digest, Sha256};

/// Bytes per leaf.
pub const LEAF_BYTES: usize = 1024;

/// A 32-byte SHA-256 node.
pub type Node = [u8; 32];

/// What a `ContentSpec` commits to about a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commitment {
    /// Its length.
    pub size_bytes: u64,
    /// `ceil(size / 1024)`.
    pub leaf_count: u64,
    /// The root over the padded leaf level.
    pub merkle_root: Node,
}

fn sha256(parts: &[&[u8]]) -> Node {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Every level of the tree over `data`, leaves first (padded to a power of two), the root
/// last. `None` for empty data, which has no commitment.
pub fn levels(data: &[u8]) -> Option<Vec<Vec<Node>>> {
    if data.is_empty() {
        return None;
    }
    let mut level: Vec<Node> = data.chunks(LEAF_BYTES).map(|c| sha256(&[c])).collect();
    level.resize(level.len().next_power_of_two(), [0; 32]);
    let mut out = vec![level];
    while out.last().is_some_and(|l| l.len() > 1) {
        let below = out.last().expect("at least the leaves");
        out.push(below.chunks(2).map(|pair| sha256(&[&pair[0], &pair[1]])).collect());
    }
    Some(out)
}

/// The commitment of `data`; `None` for empty data.
pub fn commitment(data: &[u8]) -> Option<Commitment> {
    let levels = levels(data)?;
    Some(Commitment {
        size_bytes: data.len() as u64,
        leaf_count: data.len().div_ceil(LEAF_BYTES) as u64,
        merkle_root: levels.last().expect("a root")[0],
    })
}

/// The Merkle path of leaf `index`: the sibling at each level, leaves first. `None` past the
/// padded leaf level (the contract refuses any index from `leaf_count` on).
pub fn proof(levels: &[Vec<Node>], index: usize) -> Option<Vec<Node>> {
    let leaves = levels.first()?;
    if index >= leaves.len() {
        return None;
    }
    Some((0..levels.len() - 1).map(|k| levels[k][(index >> k) ^ 1]).collect())
}

/// A challenge's answer, in the order the leaves were drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Each drawn leaf's bytes.
    pub chunks: Vec<Vec<u8>>,
    /// Each drawn leaf's Merkle path.
    pub paths: Vec<Vec<Node>>,
}

/// The answer to a challenge drawing `indices` (repeats allowed). `None` when `data` is empty
/// or an index is past its last leaf.
pub fn answer(data: &[u8], indices: &[u64]) -> Option<Answer> {
    let levels = levels(data)?;
    let leaves = data.len().div_ceil(LEAF_BYTES) as u64;
    let mut chunks = Vec::with_capacity(indices.len());
    let mut paths = Vec::with_capacity(indices.len());
    for &index in indices {
        if index >= leaves {
            return None;
        }
        let start = index as usize * LEAF_BYTES;
        chunks.push(data[start..(start + LEAF_BYTES).min(data.len())].to_vec());
        paths.push(proof(&levels, index as usize)?);
    }
    Some(Answer { chunks, paths })
}

/// Whether `chunk` is leaf `index` under `root` by `path`, as the contract checks it.
pub fn verify(root: &Node, index: usize, chunk: &[u8], path: &[Node]) -> bool {
    let mut node = sha256(&[chunk]);
    for (k, sibling) in path.iter().enumerate() {
        node = if (index >> k) & 1 == 0 {
            sha256(&[&node, sibling])
        } else {
            sha256(&[sibling, &node])
        };
    }
    &node == root
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `scripts/merkle_root.py --pattern N`: byte i is (7i + 3) mod 256.
    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((7 * i + 3) % 256) as u8).collect()
    }

    fn hex(node: &Node) -> String {
        node.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn commitments_match_the_reference_script() {
        // From scripts/merkle_root.py, written from the rules independently of this code.
        let vectors = [
            (1, 1, "084fed08b978af4d7d196a7446a86b58009e636b611db16211b65a9aadff29c5"),
            (1024, 1, "e9183d9a79aad8a047b8e67981210d50b01fc75b1edba5bc32ba3d3ec4d5056d"),
            (1025, 2, "7d114e77138e0e04180a43e24450773e906e1851a1feaa8b4f3169ef73939833"),
            (5000, 5, "a51abdb56f7ab091166699b39168e6c8a7a21ca9c8f86a10d5e24919b99da859"),
            (300_000, 293, "9598ebd341b5267b008c47eb014aed8b04374985026fd9d3fe0068bb4c2b683b"),
        ];
        for (size, leaves, root) in vectors {
            let c = commitment(&pattern(size)).unwrap();
            assert_eq!((c.size_bytes, c.leaf_count), (size as u64, leaves), "{size}");
            assert_eq!(hex(&c.merkle_root), root, "{size}");
        }
        assert_eq!(commitment(&[]), None);
    }

    #[test]
    fn proofs_match_the_reference_and_verify() {
        let data = pattern(5000);
        let levels = levels(&data).unwrap();
        let root = levels.last().unwrap()[0];
        let last = proof(&levels, 4).unwrap();
        let want = [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b",
            "d46af8950f44fe0840e7a68bfcbf7507605044b8908f6cdee1cba1a95da91f22",
        ];
        assert_eq!(last.iter().map(hex).collect::<Vec<_>>(), want);
        for index in 0..5 {
            let chunk = &data[index * LEAF_BYTES..((index + 1) * LEAF_BYTES).min(data.len())];
            let path = proof(&levels, index).unwrap();
            assert!(verify(&root, index, chunk, &path), "leaf {index}");
            // The pattern repeats every 256 bytes, so full chunks are equal: a wrong index can
            // only be told apart where the neighbour differs (the short last leaf and its pad).
            if levels[0][index] != levels[0][index ^ 1] {
                assert!(!verify(&root, index ^ 1, chunk, &path), "leaf {index} at the wrong index");
            }
            let mut tampered = chunk.to_vec();
            tampered[0] ^= 1;
            assert!(!verify(&root, index, &tampered, &path), "tampered leaf {index}");
        }
        assert_eq!(proof(&levels, 8), None);
    }

    #[test]
    fn an_answer_holds_each_drawn_leaf_and_its_path() {
        let data = pattern(5000);
        let root = commitment(&data).unwrap().merkle_root;
        let indices = [4, 0, 4, 2];
        let Answer { chunks, paths } = answer(&data, &indices).unwrap();
        assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), [904, 1024, 904, 1024]);
        for (i, &index) in indices.iter().enumerate() {
            assert!(verify(&root, index as usize, &chunks[i], &paths[i]), "draw {i}");
        }
        // Leaves 5..8 are padding: no content to answer with.
        assert_eq!(answer(&data, &[5]), None);
        assert_eq!(answer(&[], &[0]), None);
    }
}

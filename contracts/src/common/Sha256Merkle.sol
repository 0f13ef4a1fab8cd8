// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Sha256Merkle
/// @notice Verifies a leaf of the SHA-256 Merkle tree that commits to a stored file (see
///         docs/contracts.md, "Storage proofs"):
///         - the file is cut into `LEAF_SIZE`-byte chunks (the last one may be shorter);
///           `leafCount = ceil(size / LEAF_SIZE)`;
///         - leaf hash = sha256(chunk bytes);
///         - the leaf level is padded with `bytes32(0)` up to the next power of two;
///         - a parent = sha256(left ‖ right) (64 bytes); the root of a one-leaf tree is the leaf hash;
///         - a proof lists the siblings from the leaf level up; bit i of the leaf index says on
///           which side the running hash sits at level i (0: left, 1: right).
///         Every hash goes through the SHA-256 precompile (address 0x02).
library Sha256Merkle {
    /// @notice Bytes per leaf chunk.
    uint256 internal constant LEAF_SIZE = 1024;
    /// @notice Deepest tree accepted (2^64 leaves).
    uint256 internal constant MAX_DEPTH = 64;

    /// @notice Number of leaves of a file of `size` bytes.
    function leafCountFor(uint256 size) internal pure returns (uint256) {
        return (size + LEAF_SIZE - 1) / LEAF_SIZE;
    }

    /// @notice Length in bytes of leaf `index` of a file of `size` bytes (0 if out of range).
    function leafLength(uint256 size, uint256 index) internal pure returns (uint256) {
        uint256 start = index * LEAF_SIZE;
        if (start >= size) return 0;
        uint256 rest = size - start;
        return rest < LEAF_SIZE ? rest : LEAF_SIZE;
    }

    /// @notice Depth of the tree over `leafCount` leaves: ceil(log2(leafCount)), 0 for one leaf.
    function depthFor(uint256 leafCount) internal pure returns (uint256 depth) {
        while ((uint256(1) << depth) < leafCount) {
            ++depth;
        }
    }

    /// @notice The root obtained by hashing `leaf` up with `proof` at position `index`.
    function rootFrom(bytes32 leaf, uint256 index, bytes32[] calldata proof) internal pure returns (bytes32 node) {
        node = leaf;
        for (uint256 i; i < proof.length; ++i) {
            node = (index >> i) & 1 == 0 ? _parent(node, proof[i]) : _parent(proof[i], node);
        }
    }

    /// @notice True iff `chunk` is leaf `index` of the tree with `root` over `leafCount` leaves.
    /// @dev The proof length must equal the tree depth, so an inner node can never pass as a leaf.
    function verify(bytes32 root, uint256 leafCount, uint256 index, bytes calldata chunk, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        if (index >= leafCount) return false;
        uint256 depth = depthFor(leafCount);
        if (depth > MAX_DEPTH || proof.length != depth) return false;
        return rootFrom(sha256(chunk), index, proof) == root;
    }

    function _parent(bytes32 left, bytes32 right) private pure returns (bytes32) {
        return sha256(abi.encodePacked(left, right));
    }
}

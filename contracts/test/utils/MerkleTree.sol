// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title MerkleTree
/// @notice The off-chain prover's side of the storage-proof tree, in Solidity for the tests:
///         cut content into 1 KiB chunks, hash each with SHA-256, pad the leaf level with
///         zero hashes to a power of two, hash pairs up to the root, and read proofs off it.
library MerkleTree {
    uint256 internal constant LEAF_SIZE = 1024;

    /// @notice Chunk `index` of `data`.
    function chunk(bytes memory data, uint256 index) internal pure returns (bytes memory out) {
        uint256 start = index * LEAF_SIZE;
        uint256 end = start + LEAF_SIZE;
        if (end > data.length) end = data.length;
        out = new bytes(end - start);
        for (uint256 i; i < out.length; ++i) {
            out[i] = data[start + i];
        }
    }

    /// @notice SHA-256 of every chunk of `data`.
    function leaves(bytes memory data) internal pure returns (bytes32[] memory hashes) {
        uint256 n = (data.length + LEAF_SIZE - 1) / LEAF_SIZE;
        hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            hashes[i] = sha256(chunk(data, i));
        }
    }

    /// @notice The root over `leafHashes`.
    function root(bytes32[] memory leafHashes) internal pure returns (bytes32) {
        bytes32[] memory level = _padded(leafHashes);
        while (level.length > 1) {
            level = _up(level);
        }
        return level[0];
    }

    /// @notice The siblings of leaf `index`, from the leaf level up.
    function proof(bytes32[] memory leafHashes, uint256 index) internal pure returns (bytes32[] memory path) {
        bytes32[] memory level = _padded(leafHashes);
        uint256 depth;
        while ((uint256(1) << depth) < level.length) ++depth;
        path = new bytes32[](depth);
        for (uint256 d; d < depth; ++d) {
            path[d] = level[index ^ 1];
            level = _up(level);
            index >>= 1;
        }
    }

    /// @notice `n` bytes of deterministic pseudo-random content from `seed`.
    function content(uint256 seed, uint256 n) internal pure returns (bytes memory data) {
        data = new bytes(n);
        bytes32 word;
        for (uint256 i; i < n; ++i) {
            if (i % 32 == 0) word = keccak256(abi.encode(seed, i));
            data[i] = word[i % 32];
        }
    }

    function _padded(bytes32[] memory leafHashes) private pure returns (bytes32[] memory level) {
        uint256 width = 1;
        while (width < leafHashes.length) width <<= 1;
        level = new bytes32[](width);
        for (uint256 i; i < leafHashes.length; ++i) {
            level[i] = leafHashes[i];
        }
    }

    function _up(bytes32[] memory level) private pure returns (bytes32[] memory next) {
        next = new bytes32[](level.length / 2);
        for (uint256 i; i < next.length; ++i) {
            next[i] = sha256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
        }
    }
}

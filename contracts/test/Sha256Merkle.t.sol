// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Sha256Merkle} from "../src/common/Sha256Merkle.sol";
import {MerkleTree} from "./utils/MerkleTree.sol";
import {Test} from "./utils/Test.sol";

/// @dev Exposes the library with calldata arguments, as the contracts use it.
contract MerkleHarness {
    function verify(bytes32 root, uint256 leafCount, uint256 index, bytes calldata chunk, bytes32[] calldata proof)
        external
        pure
        returns (bool)
    {
        return Sha256Merkle.verify(root, leafCount, index, chunk, proof);
    }

    function depthFor(uint256 leafCount) external pure returns (uint256) {
        return Sha256Merkle.depthFor(leafCount);
    }

    function leafCountFor(uint256 size) external pure returns (uint256) {
        return Sha256Merkle.leafCountFor(size);
    }

    function leafLength(uint256 size, uint256 index) external pure returns (uint256) {
        return Sha256Merkle.leafLength(size, index);
    }
}

contract Sha256MerkleTest is Test {
    MerkleHarness internal h;

    function setUp() public {
        h = new MerkleHarness();
    }

    function test_geometry() public view {
        assertEq(h.depthFor(1), 0, "one leaf");
        assertEq(h.depthFor(2), 1, "two leaves");
        assertEq(h.depthFor(3), 2, "three leaves");
        assertEq(h.depthFor(1024), 10, "1024 leaves");
        assertEq(h.depthFor(1025), 11, "1025 leaves");
        assertEq(h.leafCountFor(1), 1, "1 byte");
        assertEq(h.leafCountFor(1024), 1, "1 KiB");
        assertEq(h.leafCountFor(1025), 2, "1 KiB + 1");
        assertEq(h.leafLength(2500, 0), 1024, "full leaf");
        assertEq(h.leafLength(2500, 2), 452, "last leaf");
        assertEq(h.leafLength(2500, 3), 0, "past the end");
    }

    /// @dev A hand-computed vector: two one-byte leaves "a" and "b" (documented in docs/contracts.md).
    function test_knownVector() public view {
        bytes32 la = sha256("a");
        bytes32 lb = sha256("b");
        assertEq(la, 0xca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb, "sha256(a)");
        bytes32 root = sha256(abi.encodePacked(la, lb));
        assertEq(root, 0xe5a01fee14e0ed5c48714f22180f25ad8365b53f9779f79dc4a3d7e93963f94a, "root(a, b)");
        bytes32[] memory abc = new bytes32[](3);
        abc[0] = la;
        abc[1] = lb;
        abc[2] = sha256("c");
        assertEq(
            MerkleTree.root(abc), 0xd0a664079d491a97357efa1ce1eab5aeb566adef78a2b910e8d13e901e192832, "root(a, b, c)"
        );
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = lb;
        assertTrue(h.verify(root, 2, 0, "a", proof), "leaf 0");
        proof[0] = la;
        assertTrue(h.verify(root, 2, 1, "b", proof), "leaf 1");
        assertFalse(h.verify(root, 2, 0, "b", proof), "wrong side");
    }

    function test_singleLeaf_rootIsLeafHash() public view {
        bytes32[] memory none = new bytes32[](0);
        assertTrue(h.verify(sha256("x"), 1, 0, "x", none), "one leaf");
        bytes32[] memory one = new bytes32[](1);
        assertFalse(h.verify(sha256("x"), 1, 0, "x", one), "extra proof element");
    }

    function test_paddedTree() public view {
        bytes memory content = MerkleTree.content(7, 3 * 1024); // 3 leaves, padded to 4
        bytes32[] memory leaves = MerkleTree.leaves(content);
        bytes32 root = MerkleTree.root(leaves);
        bytes32 left = sha256(abi.encodePacked(leaves[0], leaves[1]));
        bytes32 right = sha256(abi.encodePacked(leaves[2], bytes32(0)));
        assertEq(root, sha256(abi.encodePacked(left, right)), "padding with zero hashes");
        for (uint256 i; i < 3; ++i) {
            assertTrue(h.verify(root, 3, i, MerkleTree.chunk(content, i), MerkleTree.proof(leaves, i)), "leaf");
        }
        // the padding slot is not a leaf
        assertFalse(h.verify(root, 3, 3, "", MerkleTree.proof(leaves, 2)), "index past leafCount");
    }

    function test_rejectsWrongProofLength() public view {
        bytes memory content = MerkleTree.content(8, 4 * 1024);
        bytes32[] memory leaves = MerkleTree.leaves(content);
        bytes32 root = MerkleTree.root(leaves);
        bytes32[] memory proof = MerkleTree.proof(leaves, 1);
        bytes32[] memory short_ = new bytes32[](1);
        short_[0] = proof[0];
        assertFalse(h.verify(root, 4, 1, MerkleTree.chunk(content, 1), short_), "short proof");
        // an inner node presented as a 64-byte "leaf" with a shorter path fails too
        bytes memory inner = abi.encodePacked(leaves[0], leaves[1]);
        bytes32[] memory upper = new bytes32[](1);
        upper[0] = proof[1];
        assertFalse(h.verify(root, 4, 0, inner, upper), "second preimage");
    }

    /// @dev Every valid proof of a random tree passes; every tampered one fails.
    function testFuzz_randomProofs(uint256 seed, uint256 leafCount, uint256 index, uint256 tamper) public view {
        leafCount = bound(leafCount, 1, 40);
        index = bound(index, 0, leafCount - 1);
        bytes32[] memory leaves = new bytes32[](leafCount);
        for (uint256 i; i < leafCount; ++i) {
            leaves[i] = sha256(abi.encode(seed, i));
        }
        bytes memory chunk = abi.encode(seed, index); // leaves[index] = sha256(chunk)
        bytes32 root = MerkleTree.root(leaves);
        bytes32[] memory proof = MerkleTree.proof(leaves, index);
        assertTrue(h.verify(root, leafCount, index, chunk, proof), "valid proof");

        // flip one bit of the chunk
        bytes memory badChunk = bytes.concat(chunk);
        uint256 bit = tamper % (badChunk.length * 8);
        badChunk[bit / 8] = badChunk[bit / 8] ^ bytes1(uint8(1) << uint8(bit % 8));
        assertFalse(h.verify(root, leafCount, index, badChunk, proof), "tampered chunk");

        // flip one bit of one proof element
        if (proof.length > 0) {
            bytes32[] memory badProof = new bytes32[](proof.length);
            for (uint256 i; i < proof.length; ++i) {
                badProof[i] = proof[i];
            }
            uint256 at = (tamper >> 16) % proof.length;
            badProof[at] = badProof[at] ^ bytes32(uint256(1) << ((tamper >> 32) % 256));
            assertFalse(h.verify(root, leafCount, index, chunk, badProof), "tampered proof");
        }

        // another index, another root, another leaf count
        uint256 other = (index + 1 + (tamper >> 64) % leafCount) % leafCount;
        if (other != index && leaves[other] != leaves[index]) {
            assertFalse(h.verify(root, leafCount, other, chunk, proof), "wrong index");
        }
        assertFalse(h.verify(root ^ bytes32(uint256(1)), leafCount, index, chunk, proof), "wrong root");
        assertFalse(h.verify(root, leafCount, leafCount + (tamper % 8), chunk, proof), "index out of range");
        // 2n + 1 leaves always make a deeper tree, so the proof's length no longer matches
        assertFalse(h.verify(root, leafCount * 2 + 1, index, chunk, proof), "leaf count of another depth");
    }

    /// @dev Vectors from scripts/merkle_root.py, which builds the tree from the rules in Python,
    ///      independently of this contract and of the tests' MerkleTree
    ///      (`scripts/merkle_root.py --pattern N`: N bytes, byte i = (7i + 3) mod 256). Every
    ///      leaf must prove against the independent root, and the tests' tree must agree with it.
    function test_independentVectors() public view {
        uint256[5] memory sizes = [uint256(1), 1024, 1025, 5220, 9000];
        bytes32[5] memory roots = [
            bytes32(0x084fed08b978af4d7d196a7446a86b58009e636b611db16211b65a9aadff29c5),
            0xe9183d9a79aad8a047b8e67981210d50b01fc75b1edba5bc32ba3d3ec4d5056d,
            0x7d114e77138e0e04180a43e24450773e906e1851a1feaa8b4f3169ef73939833,
            0x50032d0f68c8b1b94fe68dbbded7729e46d1e8bdb3779a54ab8f68344bbd9074,
            0x30a8be5ec8d9709b7c991880e33c2ab3824e6d0651896feacdf963f82b17003f
        ];
        for (uint256 v; v < sizes.length; ++v) {
            bytes memory content = new bytes(sizes[v]);
            for (uint256 i; i < content.length; ++i) {
                content[i] = bytes1(uint8((7 * i + 3) % 256));
            }
            bytes32[] memory leaves = MerkleTree.leaves(content);
            assertEq(leaves.length, h.leafCountFor(sizes[v]), "leaf count");
            assertEq(MerkleTree.root(leaves), roots[v], "the tests' tree agrees");
            for (uint256 i; i < leaves.length; ++i) {
                assertTrue(
                    h.verify(roots[v], leaves.length, i, MerkleTree.chunk(content, i), MerkleTree.proof(leaves, i)),
                    "leaf proves against the independent root"
                );
            }
        }
        // the last leaf of 5220 bytes, with the path the script prints (--proof 5)
        bytes memory last = new bytes(100);
        for (uint256 i; i < 100; ++i) {
            last[i] = bytes1(uint8((7 * (5120 + i) + 3) % 256));
        }
        bytes32[] memory path = new bytes32[](3);
        path[0] = 0xe9183d9a79aad8a047b8e67981210d50b01fc75b1edba5bc32ba3d3ec4d5056d;
        path[1] = 0xf5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b;
        path[2] = 0xd46af8950f44fe0840e7a68bfcbf7507605044b8908f6cdee1cba1a95da91f22;
        assertTrue(h.verify(roots[3], 6, 5, last, path), "the script's proof");
    }

    /// @dev Real content: every leaf of random content of random size proves against its root.
    function testFuzz_contentLeaves(uint256 seed, uint256 size, uint256 index) public view {
        size = bound(size, 1, 9 * 1024);
        bytes memory content = MerkleTree.content(seed, size);
        bytes32[] memory leaves = MerkleTree.leaves(content);
        index = bound(index, 0, leaves.length - 1);
        bytes memory chunk = MerkleTree.chunk(content, index);
        assertEq(chunk.length, h.leafLength(size, index), "chunk length");
        assertTrue(
            h.verify(MerkleTree.root(leaves), leaves.length, index, chunk, MerkleTree.proof(leaves, index)),
            "leaf proves"
        );
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPFSIncentives} from "../../src/IPFSIncentives.sol";
import {MerkleTree} from "./MerkleTree.sol";
import {Fixtures} from "./Fixtures.sol";

/// @title Challenges
/// @notice The challenger's and the provider's sides of a storage challenge, for the tests:
///         commit to a secret, reveal it once the seed block is deep enough, and answer the
///         drawn leaves from the content held.
abstract contract Challenges is Fixtures {
    bytes32 internal constant SECRET = keccak256("the challenger's secret");

    function _commitment(bytes32 secret, address challenger) internal pure returns (bytes32) {
        return keccak256(abi.encode(secret, challenger));
    }

    /// @dev `challenger` challenges `provider`'s pin of `rid`, committing to `secret`.
    function _challengeBy(address challenger, uint256 rid, address provider, bytes32 secret)
        internal
        returns (uint256 id)
    {
        uint256 bond = incentives.params().challengeBond;
        vm.prank(challenger);
        id = incentives.challenge{value: bond}(rid, provider, _commitment(secret, challenger));
    }

    /// @dev Rolls to the first block at which challenge `id` can be revealed.
    function _rollToReveal(uint256 id) internal {
        uint256 from = incentives.getChallenge(id).seedBlock + incentives.SEED_CONFIRMATIONS();
        if (block.number < from) vm.roll(from);
    }

    function _revealWith(uint256 id, bytes32 secret) internal {
        _rollToReveal(id);
        incentives.reveal(id, secret);
    }

    /// @dev The leaves a challenge draws, computed here from the rule in docs/contracts.md and
    ///      not read from the contract: seed = keccak256(abi.encode(secret, blockhash(seedBlock),
    ///      id)), leaf i = keccak256(abi.encode(seed, i)) mod leafCount.
    function _drawn(uint256 id, bytes32 secret, uint256 leafCount) internal view returns (uint256[] memory idx) {
        bytes32 seed = keccak256(abi.encode(secret, blockhash(incentives.getChallenge(id).seedBlock), id));
        idx = new uint256[](incentives.LEAVES_PER_CHALLENGE());
        for (uint256 i; i < idx.length; ++i) {
            idx[i] = uint256(keccak256(abi.encode(seed, i))) % leafCount;
        }
    }

    /// @dev The answer to challenge `id` from `content`, for the leaves the contract asks for.
    function _answerFrom(uint256 id, bytes memory content)
        internal
        view
        returns (bytes[] memory chunks, bytes32[][] memory proofs)
    {
        uint64[] memory idx = incentives.leafIndices(id);
        bytes32[] memory hashes = MerkleTree.leaves(content);
        chunks = new bytes[](idx.length);
        proofs = new bytes32[][](idx.length);
        for (uint256 i; i < idx.length; ++i) {
            chunks[i] = MerkleTree.chunk(content, idx[i]);
            proofs[i] = MerkleTree.proof(hashes, idx[i]);
        }
    }

    /// @dev `provider` answers challenge `id` over the default content.
    function _answerAs(address provider, uint256 id) internal {
        (bytes[] memory chunks, bytes32[][] memory proofs) = _answerFrom(id, data);
        vm.prank(provider);
        incentives.respond(id, chunks, proofs);
    }

    function _status(uint256 id) internal view returns (IPFSIncentives.ChallengeStatus) {
        return incentives.getChallenge(id).status;
    }
}

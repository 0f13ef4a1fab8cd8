// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IIPFSIncentives
/// @notice What the model registry needs from the pinning incentives contract.
interface IIPFSIncentives {
    /// @notice What a content record commits to and how it pays.
    /// @param sizeBytes size of the content in bytes
    /// @param merkleRoot SHA-256 Merkle root over the content's leaf chunks (see Sha256Merkle)
    /// @param leafCount number of leaf chunks: ceil(sizeBytes / 1024)
    /// @param replicationTarget how many providers may pin it at once
    /// @param durationEpochs how many epochs, from the current one, pins are paid
    /// @param rewardPerByteEpoch wei paid per byte per epoch to each provider whose pin stands
    struct ContentSpec {
        uint64 sizeBytes;
        bytes32 merkleRoot;
        uint64 leafCount;
        uint16 replicationTarget;
        uint32 durationEpochs;
        uint128 rewardPerByteEpoch;
    }

    /// @notice Opens a pinning record for `cid`; `msg.value` funds its reward pool and is
    ///         counted as `funder`'s contribution. Returns the record id.
    function openRecord(string calldata cid, ContentSpec calldata spec, address funder)
        external
        payable
        returns (uint256 recordId);
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IModelRegistry
/// @notice What the compute marketplace needs from the model registry.
interface IModelRegistry {
    /// @notice True iff model `modelId` exists, is active, and `user` may use it.
    function canUse(uint256 modelId, address user) external view returns (bool);
    /// @notice The current owner of model `modelId` (reverts for an unknown model).
    function ownerOf(uint256 modelId) external view returns (address);
    /// @notice The price per use of model `modelId`, in wei (reverts for an unknown model).
    function priceOf(uint256 modelId) external view returns (uint256);
}

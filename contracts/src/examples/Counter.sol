// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Counter
/// @notice The smallest useful contract: the node's end-to-end tests deploy it, send
///         transactions to it and read its state, events and revert data over JSON-RPC.
contract Counter {
    /// @notice The current value.
    uint256 public count;

    /// @notice Emitted whenever `count` changes.
    event Incremented(address indexed by, uint256 newCount);

    /// @notice `setCount` was asked for a value above 1000.
    error TooLarge(uint256 value);

    /// @notice Adds one to `count`.
    function increment() external {
        uint256 next = count + 1;
        count = next;
        emit Incremented(msg.sender, next);
    }

    /// @notice Sets `count` to `v`. Reverts with `TooLarge(v)` when v > 1000 and with the
    ///         string reason "unlucky" when v == 13 (so both revert kinds can be tested).
    function setCount(uint256 v) external {
        if (v > 1000) revert TooLarge(v);
        require(v != 13, "unlucky");
        count = v;
        emit Incremented(msg.sender, v);
    }
}

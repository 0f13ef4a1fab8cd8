// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// The client suite's contract: an indexed event, a custom error and a require reason.
contract Emitter {
    event Stored(address indexed who, uint256 indexed key, uint256 value);

    error TooBig(uint256 value, uint256 limit);

    uint256 public constant LIMIT = 1000;
    mapping(uint256 => uint256) public values;

    function store(uint256 key, uint256 value) external {
        if (value > LIMIT) revert TooBig(value, LIMIT);
        values[key] = value;
        emit Stored(msg.sender, key, value);
    }

    function positive(uint256 value) external pure returns (uint256) {
        require(value > 0, "value must be positive");
        return value;
    }
}

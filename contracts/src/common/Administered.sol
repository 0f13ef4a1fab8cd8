// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title Administered
/// @notice What the three AI-layer contracts share: an admin (`DEFAULT_ADMIN_ROLE`), a pauser
///         (`PAUSER_ROLE`), both given to `admin` at deployment, and a treasury that receives the
///         protocol's fees. What a pause stops is each contract's own choice (`whenNotPaused`).
abstract contract Administered is AccessControl, Pausable {
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice Receives protocol fees.
    address public treasury;

    event TreasuryUpdated(address indexed previous, address indexed current);

    error ZeroAddress();

    constructor(address admin, address treasury_) {
        if (admin == address(0) || treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        emit TreasuryUpdated(address(0), treasury_);
    }

    /// @notice Changes the treasury (admin).
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert ZeroAddress();
        emit TreasuryUpdated(treasury, treasury_);
        treasury = treasury_;
    }

    /// @notice Stops what the contract guards with `whenNotPaused` (pauser).
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes after `pause` (pauser).
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title Administered
/// @notice What the three AI-layer contracts share: one admin (`DEFAULT_ADMIN_ROLE`), a pauser
///         (`PAUSER_ROLE`), both given to `admin` at deployment, and a treasury that receives the
///         protocol's fees. What a pause stops is each contract's own choice (`whenNotPaused`).
///
///         Every change the admin makes to money-relevant settings (parameters, fees, the
///         treasury, role grants, the admin itself) goes through a timelock: it is scheduled
///         first, becomes possible `changeDelay` seconds later, is applied with exactly the
///         scheduled value, and lapses `CHANGE_GRACE` after that. Users see what is coming
///         (`ChangeScheduled`) and can leave before it applies. The admin role moves in two steps
///         (`transferAdmin`, then `acceptAdmin` by the new admin after the delay), together with
///         `PAUSER_ROLE`; every change the old admin scheduled dies with the handover. The admin
///         role cannot be granted, revoked or renounced directly. Revoking other roles is
///         immediate (an emergency brake, like pausing).
abstract contract Administered is AccessControl, Pausable {
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Longest timelock a deployment may choose.
    uint64 public constant MAX_CHANGE_DELAY = 30 days;
    /// @notice How long a ready change stays applicable.
    uint64 public constant CHANGE_GRACE = 14 days;

    /// @notice Seconds between scheduling a change and applying it.
    uint64 public immutable changeDelay;
    /// @notice Receives protocol fees.
    address public treasury;
    /// @notice Holds `DEFAULT_ADMIN_ROLE`.
    address public admin;
    /// @notice When the contract was last unpaused (0: never paused).
    uint64 public unpausedAt;
    /// @notice When each scheduled change may be applied (0: not scheduled).
    mapping(bytes32 change => uint64 readyAt) public changeReadyAt;

    event TreasuryUpdated(address indexed previous, address indexed current);
    event ChangeScheduled(bytes32 indexed change, bytes4 indexed setter, bytes args, uint64 readyAt);
    event ChangeCancelled(bytes32 indexed change);
    event AdminTransferred(address indexed previous, address indexed current);

    error ZeroAddress();
    error InvalidDelay(uint64 delay);
    /// @notice `change` was not scheduled (`readyAt` 0) or its delay has not passed.
    error ChangeNotReady(bytes32 change, uint64 readyAt);
    error ChangeExpired(bytes32 change, uint64 readyAt);
    error AdminRoleMovesByTransfer();

    constructor(address admin_, address treasury_, uint64 changeDelay_) {
        if (admin_ == address(0) || treasury_ == address(0)) revert ZeroAddress();
        if (changeDelay_ > MAX_CHANGE_DELAY) revert InvalidDelay(changeDelay_);
        changeDelay = changeDelay_;
        treasury = treasury_;
        admin = admin_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin_);
        _grantRole(PAUSER_ROLE, admin_);
        emit TreasuryUpdated(address(0), treasury_);
    }

    // ------------------------------------------------------------------ timelock

    /// @dev The id of the change "call `setter` with `args`" (the ABI-encoded arguments) that
    ///      the current admin schedules, as `ChangeScheduled` reports it:
    ///      keccak256(abi.encode(setter, args, admin)). A new admin starts with no schedule.
    function changeId(bytes4 setter, bytes memory args) internal view returns (bytes32) {
        return keccak256(abi.encode(setter, args, admin));
    }

    /// @notice Schedules the change "call `setter` with `args`" (admin): e.g. `setParams`'s
    ///         selector and `abi.encode(params)`. It may be applied after `changeDelay`.
    function scheduleChange(bytes4 setter, bytes calldata args) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _schedule(setter, args);
    }

    function _schedule(bytes4 setter, bytes memory args) private {
        bytes32 change = changeId(setter, args);
        uint64 readyAt = uint64(block.timestamp) + changeDelay;
        changeReadyAt[change] = readyAt;
        emit ChangeScheduled(change, setter, args, readyAt);
    }

    /// @notice Drops a scheduled change (admin).
    function cancelChange(bytes32 change) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (changeReadyAt[change] == 0) revert ChangeNotReady(change, 0);
        delete changeReadyAt[change];
        emit ChangeCancelled(change);
    }

    /// @dev Consumes the scheduled change "call `setter` with `args`", or reverts.
    function _applyChange(bytes4 setter, bytes memory args) internal {
        bytes32 change = changeId(setter, args);
        uint64 readyAt = changeReadyAt[change];
        if (readyAt == 0 || block.timestamp < readyAt) revert ChangeNotReady(change, readyAt);
        if (block.timestamp > uint256(readyAt) + CHANGE_GRACE) revert ChangeExpired(change, readyAt);
        delete changeReadyAt[change];
    }

    /// @notice Changes the treasury (admin, scheduled).
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert ZeroAddress();
        _applyChange(this.setTreasury.selector, abi.encode(treasury_));
        emit TreasuryUpdated(treasury, treasury_);
        treasury = treasury_;
    }

    // ------------------------------------------------------------------ the admin

    /// @notice First step of moving the admin role to `newAdmin` (admin): schedules
    ///         `transferAdmin(newAdmin)`; `newAdmin` accepts after the delay.
    function transferAdmin(address newAdmin) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newAdmin == address(0)) revert ZeroAddress();
        _schedule(this.transferAdmin.selector, abi.encode(newAdmin));
    }

    /// @notice Second step: the new admin takes the admin and pauser roles once the delay has
    ///         passed; the old admin loses them (other roles it was granted stay until revoked).
    function acceptAdmin() external {
        _applyChange(this.transferAdmin.selector, abi.encode(msg.sender));
        address previous = admin;
        admin = msg.sender;
        _revokeRole(DEFAULT_ADMIN_ROLE, previous);
        _revokeRole(PAUSER_ROLE, previous);
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _grantRole(PAUSER_ROLE, msg.sender);
        emit AdminTransferred(previous, msg.sender);
    }

    /// @notice Grants a role other than the admin's, as scheduled with `scheduleChange`
    ///         (`grantRole` selector, `abi.encode(role, account)`) at least `changeDelay` before.
    function grantRole(bytes32 role, address account) public override {
        if (role == DEFAULT_ADMIN_ROLE) revert AdminRoleMovesByTransfer();
        super.grantRole(role, account);
        _applyChange(this.grantRole.selector, abi.encode(role, account));
    }

    function revokeRole(bytes32 role, address account) public override {
        if (role == DEFAULT_ADMIN_ROLE) revert AdminRoleMovesByTransfer();
        super.revokeRole(role, account);
    }

    function renounceRole(bytes32 role, address account) public override {
        if (role == DEFAULT_ADMIN_ROLE) revert AdminRoleMovesByTransfer();
        super.renounceRole(role, account);
    }

    // ------------------------------------------------------------------ pause

    /// @notice Stops what the contract guards with `whenNotPaused` (pauser), at once.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes after `pause` (pauser).
    function unpause() external onlyRole(PAUSER_ROLE) {
        unpausedAt = uint64(block.timestamp);
        _unpause();
    }
}

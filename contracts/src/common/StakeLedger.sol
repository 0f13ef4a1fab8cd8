// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title StakeLedger
/// @notice Stake shared by storage providers (IPFSIncentives) and compute providers
///         (ComputeMarketplace): bonded stake backs a provider's work; `requestUnbond` moves
///         part of it into an unbonding bucket that can be withdrawn after `unbondingDelay`;
///         slashing takes from the bonded stake first and then from the unbonding bucket, so
///         unbonding does not escape a pending fault. The inheriting contract decides who may
///         stake and when unbonding or withdrawing is allowed (the `_check*` hooks).
abstract contract StakeLedger is ReentrancyGuard {
    struct Stake {
        uint128 bonded;
        uint128 unbonding;
        uint64 unbondingReadyAt;
    }

    mapping(address account => Stake) private _stakes;

    /// @notice Bonded plus unbonding stake of every account.
    uint256 public totalStaked;
    /// @notice Seconds between `requestUnbond` and the moment the amount can be withdrawn.
    uint64 public immutable unbondingDelay;

    event StakeAdded(address indexed account, uint256 amount, uint256 bonded);
    event UnbondingStarted(address indexed account, uint256 amount, uint256 unbonding, uint64 readyAt);
    event StakeWithdrawn(address indexed account, uint256 amount);
    event StakeSlashed(address indexed account, uint256 amount, bytes32 indexed reason);

    error ZeroAmount();
    error StakeTooLarge(uint256 amount);
    error InsufficientBonded(address account, uint256 requested, uint256 bonded);
    error NothingUnbonding(address account);
    error UnbondingNotReady(uint64 readyAt, uint256 nowTs);

    constructor(uint64 unbondingDelay_) {
        unbondingDelay = unbondingDelay_;
    }

    /// @notice The stake of `account`.
    function stakeOf(address account) public view returns (Stake memory) {
        return _stakes[account];
    }

    /// @notice The bonded (not unbonding) stake of `account`.
    function bondedOf(address account) public view returns (uint256) {
        return _stakes[account].bonded;
    }

    /// @notice Adds `msg.value` to the caller's bonded stake.
    function addStake() external payable {
        _checkCanStake(msg.sender);
        _addStake(msg.sender, msg.value);
    }

    /// @notice Moves `amount` of bonded stake into unbonding; adding to an existing unbonding
    ///         amount restarts its delay.
    function requestUnbond(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Stake storage s = _stakes[msg.sender];
        if (amount > s.bonded) revert InsufficientBonded(msg.sender, amount, s.bonded);
        _checkCanUnbond(msg.sender, s.bonded - amount);
        s.bonded -= SafeCast.toUint128(amount);
        s.unbonding += SafeCast.toUint128(amount);
        s.unbondingReadyAt = SafeCast.toUint64(block.timestamp) + unbondingDelay;
        emit UnbondingStarted(msg.sender, amount, s.unbonding, s.unbondingReadyAt);
    }

    /// @notice Sends the caller its unbonded stake once the delay has passed.
    function withdrawStake() external nonReentrant returns (uint256 amount) {
        Stake storage s = _stakes[msg.sender];
        amount = s.unbonding;
        if (amount == 0) revert NothingUnbonding(msg.sender);
        if (block.timestamp < s.unbondingReadyAt) revert UnbondingNotReady(s.unbondingReadyAt, block.timestamp);
        _checkCanWithdrawStake(msg.sender);
        s.unbonding = 0;
        s.unbondingReadyAt = 0;
        totalStaked -= amount;
        emit StakeWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    function _addStake(address account, uint256 amount) internal {
        if (amount == 0) revert ZeroAmount();
        Stake storage s = _stakes[account];
        uint256 bonded = uint256(s.bonded) + amount;
        if (bonded > type(uint128).max) revert StakeTooLarge(amount);
        s.bonded = SafeCast.toUint128(bonded);
        totalStaked += amount;
        emit StakeAdded(account, amount, bonded);
    }

    /// @dev Removes up to `amount` from `account` (bonded first, then unbonding) and returns
    ///      what was taken; the caller must credit it somewhere, or it leaves the books.
    function _slash(address account, uint256 amount, bytes32 reason) internal returns (uint256 slashed) {
        Stake storage s = _stakes[account];
        uint256 fromBonded = amount < s.bonded ? amount : s.bonded;
        s.bonded -= SafeCast.toUint128(fromBonded);
        uint256 rest = amount - fromBonded;
        uint256 fromUnbonding = rest < s.unbonding ? rest : s.unbonding;
        s.unbonding -= SafeCast.toUint128(fromUnbonding);
        slashed = fromBonded + fromUnbonding;
        if (slashed == 0) return 0;
        totalStaked -= slashed;
        emit StakeSlashed(account, slashed, reason);
    }

    /// @dev Reverts unless `account` may add stake (e.g. it is a registered provider).
    function _checkCanStake(address account) internal view virtual;
    /// @dev Reverts unless `account` may unbond down to `remainingBonded`.
    function _checkCanUnbond(address account, uint256 remainingBonded) internal view virtual;
    /// @dev Reverts unless `account` may take its unbonded stake now (no pending fault).
    function _checkCanWithdrawStake(address account) internal view virtual;
}

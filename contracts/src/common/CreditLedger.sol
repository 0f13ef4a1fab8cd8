// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title CreditLedger
/// @notice Pull payments: the contracts never push value to a party in the middle of a state
///         change. Rewards, refunds, fees and slash shares are credited here, and each party
///         takes its credit with `withdraw()`. `totalCredits` is part of each contract's
///         liabilities (see the solvency invariants).
abstract contract CreditLedger is ReentrancyGuard {
    mapping(address account => uint256 amount) private _credits;

    /// @notice Sum of all credits not yet withdrawn.
    uint256 public totalCredits;

    /// @notice `amount` was credited to `account`; `reason` is a short tag ("reward", "fee", ...).
    event Credited(address indexed account, uint256 amount, bytes32 indexed reason);
    /// @notice `account` withdrew its whole credit.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice `account` has no credit to withdraw.
    error NothingToWithdraw(address account);
    /// @notice A credit to the zero address was attempted.
    error CreditToZeroAddress();

    /// @notice The credit `account` can withdraw.
    function creditOf(address account) public view returns (uint256) {
        return _credits[account];
    }

    /// @notice Sends the caller its whole credit. The credit is cleared before the transfer, so
    ///         a second call (or a re-entrant one) finds nothing.
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = _credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _credits[msg.sender] = 0;
        totalCredits -= amount;
        emit Withdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    /// @dev Credits `amount` (no-op for zero) to `account`; the caller has already moved the
    ///      amount out of whichever other liability (escrow, pool, stake, bond) held it.
    function _credit(address account, uint256 amount, bytes32 reason) internal {
        if (amount == 0) return;
        if (account == address(0)) revert CreditToZeroAddress();
        _credits[account] += amount;
        totalCredits += amount;
        emit Credited(account, amount, reason);
    }
}

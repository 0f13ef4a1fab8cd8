// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ComputeMarketplace} from "../src/ComputeMarketplace.sol";
import {IPFSIncentives} from "../src/IPFSIncentives.sol";

/// @title DeployConfig
/// @notice The default parameters of a Lattice dev-chain deployment (docs/contracts.md lists
///         them); the deploy script and the tests both start from these.
library DeployConfig {
    uint64 internal constant EPOCH_LENGTH = 1 hours;
    uint64 internal constant UNBONDING_DELAY = 7 days;
    /// @dev The admin's timelock: parameters, fees, treasury and the admin change this long
    ///      after they are scheduled.
    uint64 internal constant CHANGE_DELAY = 2 days;
    uint256 internal constant REGISTRATION_FEE = 0.01 ether;

    function incentivesParams() internal pure returns (IPFSIncentives.Params memory) {
        return IPFSIncentives.Params({
            minStake: 1 ether,
            stakePerByte: 10 gwei,
            challengeBond: 0.1 ether,
            challengeSlash: 0.5 ether,
            challengerShareBps: 5_000,
            responseWindow: 10 minutes
        });
    }

    function marketParams() internal pure returns (ComputeMarketplace.Params memory) {
        return ComputeMarketplace.Params({
            minStake: 1 ether,
            stakePerJob: 0.5 ether,
            slashAmount: 0.5 ether,
            disputeBond: 0.1 ether,
            platformFeeBps: 250,
            buyerShareBps: 5_000,
            applyBlocks: 10,
            revealWindow: 1 hours,
            challengeWindow: 1 days,
            arbitrationWindow: 3 days
        });
    }
}

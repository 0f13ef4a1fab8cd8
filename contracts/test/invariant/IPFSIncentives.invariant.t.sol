// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPFSIncentives} from "../../src/IPFSIncentives.sol";
import {IIPFSIncentives} from "../../src/interfaces/IIPFSIncentives.sol";
import {Fixtures} from "../utils/Fixtures.sol";
import {InvariantTest} from "../utils/Test.sol";
import {IPFSHandler} from "./IPFSHandler.sol";

/// @notice Accounting and access invariants of ModelRegistry + IPFSIncentives under random
///         sequences of registrations, funding, pins, reports, challenges, answers, timeouts,
///         unbonding, reclaims and withdrawals.
contract IPFSIncentivesInvariantTest is Fixtures, InvariantTest {
    event log_named_uint(string key, uint256 val);

    IPFSHandler internal handler;
    uint256 internal totalEth;

    function setUp() public {
        _deployAll();
        // records long enough (200 epochs) that challenges, reveals and answers happen in a run
        IIPFSIncentives.ContentSpec memory spec = defaultSpec;
        spec.durationEpochs = 200;
        handler = new IPFSHandler(incentives, registry, admin, treasury, data, spec);
        address[] memory all = handler.everyone();
        for (uint256 i; i < all.length; ++i) {
            vm.deal(all[i], 1_000 ether);
            totalEth += 1_000 ether;
        }
        // start every run from a live market: two funded records, three staked providers, pins
        handler.registerModel(0, 3 ether);
        handler.registerModel(1, 1 ether);
        for (uint256 i; i < 3; ++i) {
            handler.registerProvider(i, 2 ether);
            handler.commitPin(i, 0);
        }
        handler.commitPin(0, 1);
        targetContract(address(handler));
    }

    /// @dev What the contracts hold is exactly what they owe (no contract ever owes more than it holds).
    function invariant_incentivesSolvent() public view {
        assertEq(
            address(incentives).balance,
            incentives.liabilities(),
            "incentives: balance == stakes + credits + pools + bonds"
        );
    }

    function invariant_registrySolvent() public view {
        assertEq(address(registry).balance, registry.liabilities(), "registry: balance == credits");
    }

    /// @dev ETH only moves between the cast and the contracts: none is created or lost.
    function invariant_ethConserved() public view {
        address[] memory all = handler.everyone();
        uint256 sum = address(incentives).balance + address(registry).balance;
        for (uint256 i; i < all.length; ++i) {
            sum += all[i].balance;
        }
        assertEq(sum, totalEth, "conservation");
    }

    /// @dev A slashed, expired or paid party never withdraws the same funds twice.
    function invariant_noDoubleWithdrawal() public view {
        assertFalse(handler.doubleWithdrawal(), "double withdrawal");
    }

    /// @dev Only the roles named can do what they gate; a corrupted storage proof never passes.
    function invariant_rolesGate() public view {
        assertFalse(handler.unauthorizedSuccess(), "gated call succeeded");
        assertFalse(handler.wrongRejection(), "gated call failed for another reason than access");
    }

    /// @dev Pin bookkeeping: providers' and records' pin counts agree and respect the target;
    ///      the bonds held are those of open challenges.
    function invariant_pinsAndBonds() public view {
        uint256 recordPins;
        for (uint256 id = 1; id <= incentives.recordCount(); ++id) {
            IPFSIncentives.Record memory r = incentives.getRecord(id);
            assertLe(r.activePins, r.replicationTarget, "replication target");
            recordPins += r.activePins;
        }
        uint256 providerPins;
        uint256 openChallenges;
        for (uint256 i; i < 3; ++i) {
            IPFSIncentives.Provider memory p = incentives.getProvider(handler.providers(i));
            providerPins += p.activePins;
            openChallenges += p.openChallenges;
        }
        assertEq(providerPins, recordPins, "pin counts agree");
        assertEq(
            incentives.totalBonds(), openChallenges * incentives.params().challengeBond, "bonds of open challenges"
        );
    }

    /// @dev No pin is paid for an epoch it did not stand through, challengeable, from start to end.
    function invariant_paidOnlyCoveredEpochs() public view {
        assertFalse(handler.paidUncoveredEpoch(), "paid an uncovered epoch");
    }

    /// @dev The diligent provider, which answers every challenge it is asked, never loses stake,
    ///      whatever the reorgs of the seed blocks.
    function invariant_diligentProviderNeverSlashed() public view {
        address p = handler.providers(0);
        uint256 held = incentives.stakeOf(p).bonded + incentives.stakeOf(p).unbonding;
        assertEq(held + handler.diligentOut(), handler.diligentIn(), "diligent stake intact");
    }

    /// @dev No party is credited more than the rules grant it: rewards of reported epochs,
    ///      bonds and slash shares of the challenges it won, refunds of its contributions.
    function invariant_nobodyGetsMoreThanGranted() public view {
        address[] memory all = handler.everyone();
        for (uint256 i; i < all.length; ++i) {
            assertLe(
                incentives.creditOf(all[i]) + handler.withdrawnCredits(all[i]),
                handler.granted(all[i]),
                "credited within the rules"
            );
        }
    }

    /// @dev Shows (with -vv) how many actions of each kind succeeded in the last run.
    function afterInvariant() external {
        string[18] memory actions = [
            "registerModel",
            "fund",
            "reclaim",
            "registerProvider",
            "addStake",
            "requestUnbond",
            "withdrawStake",
            "commitPin",
            "unpin",
            "reportPin",
            "challenge",
            "reveal",
            "reorg",
            "respondHonest",
            "respondWrong",
            "resolve",
            "withdraw",
            "challengeCycle"
        ];
        for (uint256 i; i < actions.length; ++i) {
            emit log_named_uint(actions[i], handler.calls(bytes32(bytes(actions[i]))));
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ComputeMarketplace} from "../../src/ComputeMarketplace.sol";
import {Fixtures} from "../utils/Fixtures.sol";
import {InvariantTest} from "../utils/Test.sol";
import {MarketHandler} from "./MarketHandler.sol";

/// @notice Accounting and access invariants of ComputeMarketplace under random job lifecycles.
contract ComputeMarketplaceInvariantTest is Fixtures, InvariantTest {
    event log_named_uint(string key, uint256 val);

    MarketHandler internal handler;
    uint256 internal totalEth;

    function setUp() public {
        _deployAll();
        (uint256 modelId,) = _registerModel(alice, 0.05 ether, 0);
        handler = new MarketHandler(market, registry, admin, treasury, alice, modelId);
        address[] memory all = handler.everyone();
        for (uint256 i; i < all.length; ++i) {
            vm.deal(all[i], 1_000 ether);
        }
        for (uint256 i; i < all.length; ++i) {
            totalEth += all[i].balance;
        }
        // start every run with staked providers and an open job
        for (uint256 i; i < 4; ++i) {
            handler.registerProvider(i, 2 ether, 0.5 ether);
        }
        handler.postJob(0, 2, 1 ether, 1 days);
        targetContract(address(handler));
    }

    /// @dev What the marketplace holds is exactly what it owes (no contract ever owes more than it holds).
    function invariant_solvent() public view {
        assertEq(address(market).balance, market.liabilities(), "balance == stakes + credits + escrow");
    }

    /// @dev The escrow total is the sum of the jobs' escrows, and only unsettled jobs hold any.
    function invariant_escrowPerJob() public view {
        uint256 sum;
        for (uint256 id = 1; id <= market.jobCount(); ++id) {
            ComputeMarketplace.Job memory j = market.getJob(id);
            sum += j.escrow;
            bool settled = j.status == ComputeMarketplace.JobStatus.Completed
                || j.status == ComputeMarketplace.JobStatus.Failed || j.status == ComputeMarketplace.JobStatus.Cancelled;
            if (settled) assertEq(j.escrow, 0, "settled job holds no escrow");
        }
        assertEq(sum, market.totalEscrow(), "total escrow");
    }

    /// @dev Providers are bound to exactly the jobs that are not settled (candidates of open
    ///      jobs, assigned providers of the others), and lock stake for each of them.
    function invariant_activeJobs() public view {
        uint256 bound_;
        for (uint256 id = 1; id <= market.jobCount(); ++id) {
            ComputeMarketplace.JobStatus s = market.getJob(id).status;
            if (s == ComputeMarketplace.JobStatus.Open) {
                bound_ += market.candidateCount(id); // candidates until the draw
            } else if (
                s == ComputeMarketplace.JobStatus.Running || s == ComputeMarketplace.JobStatus.Verifying
                    || s == ComputeMarketplace.JobStatus.Disputed
            ) {
                bound_ += market.getAssignments(id).length;
            }
        }
        uint256 active;
        for (uint256 i; i < 4; ++i) {
            active += market.getProvider(handler.gpus(i)).activeJobs;
        }
        assertEq(active, bound_, "active jobs");
        uint256 lockedByJobs;
        for (uint256 id = 1; id <= market.jobCount(); ++id) {
            ComputeMarketplace.Job memory j = market.getJob(id);
            if (j.status == ComputeMarketplace.JobStatus.Open) {
                lockedByJobs += market.candidateCount(id) * j.terms.stakePerJob;
            } else if (
                j.status == ComputeMarketplace.JobStatus.Running || j.status == ComputeMarketplace.JobStatus.Verifying
                    || j.status == ComputeMarketplace.JobStatus.Disputed
            ) {
                lockedByJobs += market.getAssignments(id).length * j.terms.stakePerJob;
            }
        }
        uint256 locked;
        for (uint256 i; i < 4; ++i) {
            locked += market.getProvider(handler.gpus(i)).locked;
        }
        assertEq(locked, lockedByJobs, "stake locked per active job, at each job's own terms");
    }

    /// @dev ETH only moves between the cast and the contracts.
    function invariant_ethConserved() public view {
        address[] memory all = handler.everyone();
        uint256 sum = address(market).balance + address(registry).balance + address(incentives).balance;
        for (uint256 i; i < all.length; ++i) {
            sum += all[i].balance;
        }
        assertEq(sum, totalEth + FEE, "conservation");
    }

    /// @dev A slashed, refunded or paid party never withdraws the same funds twice.
    function invariant_noDoubleWithdrawal() public view {
        assertFalse(handler.doubleWithdrawal(), "double withdrawal");
    }

    /// @dev Only the arbiter resolves disputes, only the buyer disputes or cancels, only the
    ///      admin and pauser configure.
    function invariant_rolesGate() public view {
        assertFalse(handler.unauthorizedSuccess(), "gated call succeeded");
        assertFalse(handler.wrongRejection(), "gated call failed for another reason than access");
    }

    /// @dev A provider that revealed the honest result is never slashed, unless the arbiter
    ///      itself rules against that result: not by a vote of other providers, not by a
    ///      timeout of the arbiter.
    function invariant_honestProviderNeverSlashedByOthers() public view {
        assertFalse(handler.honestSlashed(), "honest provider slashed");
    }

    /// @dev Shows (with -vv) how many actions of each kind succeeded in the last run.
    function afterInvariant() external {
        string[15] memory actions = [
            "registerProvider",
            "addStake",
            "requestUnbond",
            "withdrawStake",
            "postJob",
            "cancelJob",
            "acceptJob",
            "assign",
            "commit",
            "reveal",
            "finalize",
            "dispute",
            "resolveDispute",
            "fullJob",
            "tryGated"
        ];
        for (uint256 i; i < actions.length; ++i) {
            emit log_named_uint(actions[i], handler.calls(bytes32(bytes(actions[i]))));
        }
    }
}

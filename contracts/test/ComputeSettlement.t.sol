// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CreditLedger} from "../src/common/CreditLedger.sol";
import {ComputeMarketplace} from "../src/ComputeMarketplace.sol";
import {MarketFixtures} from "./ComputeMarketplace.t.sol";

/// @notice Settlement of ComputeMarketplace jobs: majority with r >= 2, the challenge
///         window and disputes with r = 1, missed deadlines, fees and refunds.
contract ComputeSettlementTest is MarketFixtures {
    event JobVerifying(uint256 indexed jobId, string resultCid, uint64 challengeEnd);
    event JobDisputed(uint256 indexed jobId, address indexed buyer);
    event DisputeResolved(uint256 indexed jobId, address indexed arbiter, bool providerAtFault);
    event ProviderPenalized(uint256 indexed jobId, address indexed provider, bytes32 reason, uint256 slashed);
    event JobCompleted(
        uint256 indexed jobId, string resultCid, uint256 paidProviders, uint256 fee, uint256 modelFee, uint256 refund
    );
    event JobFailed(uint256 indexed jobId, bytes32 reason, uint256 refund);

    function _fee(uint256 paid) internal pure returns (uint256) {
        return paid * 250 / 10_000;
    }

    function _runR1(string memory cid) internal returns (uint256 jobId) {
        jobId = _postAndAssign(1);
        _commit(jobId, 0, cid);
        _reveal(jobId, 0, cid);
    }

    // ------------------------------------------------------------------ r >= 2

    function test_majority_paysWinnersAndSlashesDissenter() public {
        uint256 jobId = _postAndAssign(3);
        uint256 escrow = market.getJob(jobId).escrow;
        _commit(jobId, 0, "bafyA");
        _commit(jobId, 1, "bafyB");
        _commit(jobId, 2, "bafyA");
        _reveal(jobId, 0, "bafyA");
        _reveal(jobId, 1, "bafyB");
        uint256 paid = 2 * uint256(ASK);
        uint256 refund = escrow - paid - _fee(paid) - MODEL_PRICE;
        vm.expectEmit(true, true, false, true, address(market));
        emit ProviderPenalized(jobId, gpus[1], "fraud", SLASH);
        vm.expectEmit(true, false, false, true, address(market));
        emit JobCompleted(jobId, "bafyA", paid, _fee(paid), MODEL_PRICE, refund);
        _reveal(jobId, 2, "bafyA"); // the last reveal settles

        ComputeMarketplace.Job memory j = market.getJob(jobId);
        assertTrue(j.status == ComputeMarketplace.JobStatus.Completed, "completed");
        assertEq(j.resultCid, "bafyA", "majority result");
        assertEq(j.escrow, 0, "escrow released");
        assertEq(market.creditOf(gpus[0]), ASK, "winner paid");
        assertEq(market.creditOf(gpus[2]), ASK, "winner paid");
        assertEq(market.creditOf(gpus[1]), 0, "dissenter unpaid");
        assertEq(market.bondedOf(gpus[1]), STAKE - SLASH, "dissenter slashed");
        assertEq(market.creditOf(alice), MODEL_PRICE, "model owner paid");
        assertEq(market.creditOf(treasury), _fee(paid) + SLASH / 2, "fee + half the slash");
        assertEq(market.creditOf(bob), refund + SLASH / 2, "refund + compensation");
        for (uint256 i; i < 3; ++i) {
            assertEq(market.getProvider(gpus[i]).activeJobs, 0, "released");
        }
        _solvent();
    }

    function test_majority_missingRevealSlashedAtFinalize() public {
        uint256 jobId = _postAndAssign(3);
        _commit(jobId, 0, "bafyA");
        _commit(jobId, 1, "bafyA");
        // gpus[2] never commits
        vm.warp(deadline + 1);
        _reveal(jobId, 0, "bafyA");
        _reveal(jobId, 1, "bafyA");
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotFinalizable.selector, jobId));
        market.finalize(jobId);
        vm.warp(deadline + 1 hours + 1);
        vm.expectEmit(true, true, false, true, address(market));
        emit ProviderPenalized(jobId, gpus[2], "timeout", SLASH);
        vm.prank(stranger);
        market.finalize(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Completed, "2 of 3 is a majority");
        assertEq(market.creditOf(gpus[0]), ASK, "paid");
        assertEq(market.bondedOf(gpus[2]), STAKE - SLASH, "timeout slashed");
        _solvent();
    }

    function test_noMajority_failsAndRefunds() public {
        uint256 jobId = _postAndAssign(2);
        uint256 escrow = market.getJob(jobId).escrow;
        _commit(jobId, 0, "bafyA");
        _commit(jobId, 1, "bafyB");
        _reveal(jobId, 0, "bafyA");
        vm.expectEmit(true, false, false, true, address(market));
        emit JobFailed(jobId, "no-majority", escrow);
        _reveal(jobId, 1, "bafyB");
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Failed, "failed");
        assertEq(market.creditOf(bob), escrow, "full refund");
        assertEq(market.bondedOf(gpus[0]), STAKE, "no one slashed");
        assertEq(market.bondedOf(gpus[1]), STAKE, "no one slashed");
        assertEq(market.creditOf(alice), 0, "model unpaid");
        _solvent();
    }

    function test_noReveals_allSlashed() public {
        uint256 jobId = _postAndAssign(3);
        uint256 escrow = market.getJob(jobId).escrow;
        vm.warp(deadline + 1 hours + 1);
        market.finalize(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Failed, "failed");
        for (uint256 i; i < 3; ++i) {
            assertEq(market.bondedOf(gpus[i]), STAKE - SLASH, "slashed");
        }
        assertEq(market.creditOf(bob), escrow + 3 * SLASH / 2, "refund + compensation");
        _solvent();
    }

    // ------------------------------------------------------------------ r = 1

    function test_single_paidAfterChallengeWindow() public {
        uint256 jobId = _postAndAssign(1);
        uint256 escrow = market.getJob(jobId).escrow;
        _commit(jobId, 0, "bafyout");
        uint64 end = uint64(block.timestamp + 1 days);
        vm.expectEmit(true, false, false, true, address(market));
        emit JobVerifying(jobId, "bafyout", end);
        _reveal(jobId, 0, "bafyout");
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Verifying, "verifying");
        assertEq(market.getJob(jobId).challengeEnd, end, "window");
        assertEq(market.getProvider(gpus[0]).activeJobs, 1, "still bound to the job");

        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotFinalizable.selector, jobId));
        market.finalize(jobId);
        vm.warp(end + 1);
        market.finalize(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Completed, "completed");
        assertEq(market.creditOf(gpus[0]), ASK, "provider paid");
        assertEq(market.creditOf(alice), MODEL_PRICE, "owner paid");
        assertEq(market.creditOf(treasury), _fee(ASK), "fee");
        assertEq(market.creditOf(bob), escrow - ASK - _fee(ASK) - MODEL_PRICE, "unused escrow back");
        assertEq(market.getProvider(gpus[0]).activeJobs, 0, "released");
        _solvent();
    }

    function test_single_disputeUpheld() public {
        uint256 jobId = _runR1("bafybad");
        uint256 escrow = market.getJob(jobId).escrow;
        vm.expectEmit(true, true, false, true, address(market));
        emit JobDisputed(jobId, bob);
        vm.prank(bob);
        market.dispute(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Disputed, "disputed");
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotFinalizable.selector, jobId));
        market.finalize(jobId);

        vm.expectEmit(true, true, false, true, address(market));
        emit DisputeResolved(jobId, admin, true);
        vm.prank(admin);
        market.resolveDispute(jobId, true);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Failed, "failed");
        assertEq(market.bondedOf(gpus[0]), STAKE - SLASH, "slashed");
        assertEq(market.creditOf(bob), escrow + SLASH / 2, "refund + compensation");
        assertEq(market.creditOf(gpus[0]), 0, "unpaid");
        assertEq(market.getProvider(gpus[0]).activeJobs, 0, "released");
        _solvent();
    }

    function test_single_disputeRejected() public {
        uint256 jobId = _runR1("bafygood");
        vm.prank(bob);
        market.dispute(jobId);
        vm.prank(admin);
        market.resolveDispute(jobId, false);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Completed, "completed");
        assertEq(market.creditOf(gpus[0]), ASK, "paid");
        assertEq(market.bondedOf(gpus[0]), STAKE, "not slashed");
        _solvent();
    }

    function test_dispute_reverts() public {
        uint256 jobId = _runR1("bafyout");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotBuyer.selector, jobId, stranger));
        market.dispute(jobId);
        uint64 end = market.getJob(jobId).challengeEnd;
        vm.warp(end + 1);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.ChallengeWindowClosed.selector, jobId, end));
        market.dispute(jobId);
        market.finalize(jobId);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(
                ComputeMarketplace.WrongStatus.selector, jobId, ComputeMarketplace.JobStatus.Completed
            )
        );
        market.dispute(jobId);
    }

    function test_resolveDispute_onlyArbiterWhenDisputed() public {
        uint256 jobId = _runR1("bafyout");
        vm.prank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(
                ComputeMarketplace.WrongStatus.selector, jobId, ComputeMarketplace.JobStatus.Verifying
            )
        );
        market.resolveDispute(jobId, true);
        vm.prank(bob);
        market.dispute(jobId);
        bytes32 role = market.ARBITER_ROLE();
        vm.expectRevert(_unauthorized(bob, role));
        vm.prank(bob);
        market.resolveDispute(jobId, true);
        vm.prank(admin);
        market.grantRole(role, carol);
        vm.prank(carol);
        market.resolveDispute(jobId, false);
    }

    function test_single_noResultSlashesAndRefunds() public {
        uint256 jobId = _postAndAssign(1);
        uint256 escrow = market.getJob(jobId).escrow;
        _commit(jobId, 0, "bafyout"); // committed but never revealed
        vm.warp(deadline + 1 hours + 1);
        vm.expectEmit(true, false, false, true, address(market));
        emit JobFailed(jobId, "no-result", escrow);
        market.finalize(jobId);
        assertEq(market.bondedOf(gpus[0]), STAKE - SLASH, "slashed");
        assertEq(market.creditOf(bob), escrow + SLASH / 2, "refund + compensation");
        _solvent();
    }

    // ------------------------------------------------------------------ deadlines

    function test_unassignedJob_expiresWithoutSlashing() public {
        uint256 jobId = _post(3);
        uint256 escrow = market.getJob(jobId).escrow;
        vm.prank(gpus[0]);
        market.acceptJob(jobId);
        _commit(jobId, 0, "bafyout");
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotFinalizable.selector, jobId));
        market.finalize(jobId);
        vm.warp(deadline + 1);
        vm.expectEmit(true, false, false, true, address(market));
        emit JobFailed(jobId, "unassigned", escrow);
        market.finalize(jobId);
        assertEq(market.creditOf(bob), escrow, "refund");
        assertEq(market.bondedOf(gpus[0]), STAKE, "not slashed: the job never started");
        assertEq(market.getProvider(gpus[0]).activeJobs, 0, "released");
        _solvent();
    }

    function test_finalize_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.UnknownJob.selector, 7));
        market.finalize(7);
        uint256 jobId = _postAndAssign(2);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotFinalizable.selector, jobId));
        market.finalize(jobId);
        vm.warp(deadline + 1 hours + 1);
        market.finalize(jobId);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotFinalizable.selector, jobId));
        market.finalize(jobId);
    }

    // ------------------------------------------------------------------ payments

    function test_modelFeeGoesToCurrentOwner() public {
        uint256 jobId = _postAndAssign(1);
        vm.prank(alice);
        registry.transferModelOwnership(modelId, carol);
        _commit(jobId, 0, "bafyout");
        _reveal(jobId, 0, "bafyout");
        vm.warp(block.timestamp + 1 days + 1);
        market.finalize(jobId);
        assertEq(market.creditOf(carol), MODEL_PRICE, "new owner paid");
        assertEq(market.creditOf(alice), 0, "old owner not");
    }

    function test_withdraw_onceOnly() public {
        uint256 jobId = _runR1("bafyout");
        vm.warp(block.timestamp + 1 days + 1);
        market.finalize(jobId);
        uint256 before = gpus[0].balance;
        vm.prank(gpus[0]);
        market.withdraw();
        assertEq(gpus[0].balance - before, ASK, "paid out");
        vm.prank(gpus[0]);
        vm.expectRevert(abi.encodeWithSelector(CreditLedger.NothingToWithdraw.selector, gpus[0]));
        market.withdraw();
        _solvent();
    }

    function test_slashedProvider_cannotWithdrawTwice() public {
        uint256 jobId = _postAndAssign(1);
        vm.warp(deadline + 1 hours + 1);
        market.finalize(jobId); // slashed for the timeout
        vm.startPrank(gpus[0]);
        market.requestUnbond(STAKE - SLASH);
        vm.warp(block.timestamp + UNBONDING);
        assertEq(market.withdrawStake(), STAKE - SLASH, "what is left");
        vm.expectRevert(abi.encodeWithSelector(CreditLedger.NothingToWithdraw.selector, gpus[0]));
        market.withdraw();
        vm.stopPrank();
        _solvent();
    }

    // ------------------------------------------------------------------ fuzz

    /// @dev For any prices, fee and redundancy, an honest run pays every provider its ask, the
    ///      fee and the model price, refunds the rest, and leaves the books balanced.
    function testFuzz_honestSettlement(uint128 maxPrice, uint128 ask, uint8 r, uint16 feeBps, uint128 modelPrice)
        public
    {
        maxPrice = uint128(bound(maxPrice, 1, 100 ether));
        ask = uint128(bound(ask, 0, maxPrice));
        r = uint8(bound(r, 2, 5));
        feeBps = uint16(bound(feeBps, 0, 2_000));
        modelPrice = uint128(bound(modelPrice, 0, 5 ether));
        ComputeMarketplace.Params memory p = market.params();
        p.platformFeeBps = feeBps;
        vm.prank(admin);
        market.setParams(p);
        vm.prank(alice);
        registry.setPrice(modelId, modelPrice);
        uint256 escrow = market.quote(modelId, maxPrice, r);
        vm.deal(bob, escrow);
        vm.prank(bob);
        uint256 jobId = market.postJob{value: escrow}(modelId, "bafy", maxPrice, deadline, r);
        for (uint256 i; i < r; ++i) {
            vm.prank(gpus[i]);
            market.updateCapabilities("gpu", 24, ask);
            vm.prank(gpus[i]);
            market.acceptJob(jobId);
        }
        for (uint256 i; i < r; ++i) {
            _commit(jobId, i, "bafyresult");
        }
        for (uint256 i; i < r; ++i) {
            _reveal(jobId, i, "bafyresult");
        }
        uint256 paid = uint256(ask) * r;
        uint256 fee = paid * feeBps / 10_000;
        assertEq(market.creditOf(treasury), fee, "fee");
        assertEq(market.creditOf(alice), modelPrice, "model price");
        assertEq(market.creditOf(bob), escrow - paid - fee - modelPrice, "refund");
        uint256 credited = market.creditOf(treasury) + market.creditOf(alice) + market.creditOf(bob);
        for (uint256 i; i < r; ++i) {
            credited += market.creditOf(gpus[i]);
        }
        assertEq(credited, escrow, "the escrow is distributed exactly");
        _solvent();
    }

    /// @dev Random votes among three results: the outcome is the strict majority of r, if any;
    ///      dissenters are slashed only when there is one.
    function testFuzz_majorityRule(uint8 r, uint256 votes) public {
        r = uint8(bound(r, 2, 5));
        uint256 jobId = _postAndAssign(r);
        string[3] memory cids = ["bafyA", "bafyB", "bafyC"];
        uint256[3] memory tally;
        uint256[5] memory choice;
        for (uint256 i; i < r; ++i) {
            choice[i] = (votes >> (i * 8)) % 3;
            tally[choice[i]] += 1;
            _commit(jobId, i, cids[choice[i]]);
        }
        for (uint256 i; i < r; ++i) {
            _reveal(jobId, i, cids[choice[i]]);
        }
        int256 winner = -1;
        for (uint256 k; k < 3; ++k) {
            if (tally[k] * 2 > r) winner = int256(k);
        }
        ComputeMarketplace.Job memory j = market.getJob(jobId);
        if (winner < 0) {
            assertTrue(j.status == ComputeMarketplace.JobStatus.Failed, "no majority fails");
        } else {
            assertTrue(j.status == ComputeMarketplace.JobStatus.Completed, "majority completes");
            assertEq(j.resultCid, cids[uint256(winner)], "majority result");
        }
        for (uint256 i; i < r; ++i) {
            bool slashed = winner >= 0 && choice[i] != uint256(winner);
            bool paid = winner >= 0 && choice[i] == uint256(winner);
            assertEq(market.bondedOf(gpus[i]), slashed ? STAKE - SLASH : STAKE, "slashed iff dissenting");
            assertEq(market.creditOf(gpus[i]), paid ? ASK : 0, "paid iff in the majority");
            assertEq(market.getProvider(gpus[i]).activeJobs, 0, "released");
        }
        _solvent();
    }

    /// @dev A provider that misses the deadline is slashed and the buyer refunded, whatever the timing.
    function testFuzz_missedDeadline(uint256 lateBy) public {
        lateBy = bound(lateBy, 1, 30 days);
        uint256 jobId = _postAndAssign(1);
        uint256 escrow = market.getJob(jobId).escrow;
        vm.warp(uint256(deadline) + 1 hours + lateBy);
        market.finalize(jobId);
        assertEq(market.bondedOf(gpus[0]), STAKE - SLASH, "slashed");
        assertEq(market.creditOf(bob), escrow + SLASH / 2, "refund + compensation");
        _solvent();
    }
}

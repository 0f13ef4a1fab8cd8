// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CreditLedger} from "../src/common/CreditLedger.sol";
import {ComputeMarketplace} from "../src/ComputeMarketplace.sol";
import {MarketFixtures} from "./ComputeMarketplace.t.sol";

/// @notice Settlement of ComputeMarketplace jobs: agreement and arbitration with r >= 2, the
///         challenge window and disputes with r = 1, missed deadlines, fees and refunds.
contract ComputeSettlementTest is MarketFixtures {
    event JobVerifying(uint256 indexed jobId, bytes32 resultHash, uint64 challengeEnd);
    event JobDisputed(uint256 indexed jobId, address indexed buyer, uint64 decideBy);
    event DisputeResolved(uint256 indexed jobId, address indexed arbiter, bytes32 upheldResult);
    event DisputeTimedOut(uint256 indexed jobId);
    event ProviderPenalized(uint256 indexed jobId, address indexed provider, bytes32 reason, uint256 slashed);
    event JobCompleted(
        uint256 indexed jobId, bytes32 resultHash, uint256 paidProviders, uint256 fee, uint256 modelFee, uint256 refund
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

    /// @dev Disagreeing results are not settled by vote: the job waits for the arbiter, and
    ///      only then is the rejected result's provider slashed; its slash goes to the buyer's
    ///      share and to the upheld providers, none to the treasury.
    function test_disagreement_goesToArbitration() public {
        uint256 jobId = _postAndAssign(3);
        uint256 escrow = market.getJob(jobId).escrow;
        _commit(jobId, 0, "bafyA");
        _commit(jobId, 1, "bafyB");
        _commit(jobId, 2, "bafyA");
        _reveal(jobId, 0, "bafyA");
        _reveal(jobId, 1, "bafyB");
        vm.expectEmit(true, true, false, true, address(market));
        emit JobDisputed(jobId, bob, uint64(block.timestamp + 3 days));
        _reveal(jobId, 2, "bafyA");
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Disputed, "to the arbiter");
        for (uint256 i; i < 3; ++i) {
            assertEq(market.bondedOf(gpus[i]), STAKE, "nobody slashed for disagreeing");
        }
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotFinalizable.selector, jobId));
        market.finalize(jobId);

        uint256 paid = 2 * uint256(ASK);
        uint256 refund = escrow - paid - _fee(paid) - MODEL_PRICE;
        vm.expectEmit(true, true, false, true, address(market));
        emit DisputeResolved(jobId, admin, keccak256("bafyA"));
        vm.expectEmit(true, true, false, true, address(market));
        emit ProviderPenalized(jobId, gpus[1], "fraud", SLASH);
        vm.prank(admin);
        market.resolveDispute(jobId, keccak256("bafyA"));

        ComputeMarketplace.Job memory j = market.getJob(jobId);
        assertTrue(j.status == ComputeMarketplace.JobStatus.Completed, "completed");
        assertEq(j.resultHash, keccak256("bafyA"), "upheld result");
        assertEq(j.escrow, 0, "escrow released");
        assertEq(market.creditOf(gpus[0]), ASK, "paid");
        assertEq(market.creditOf(gpus[2]), ASK, "paid");
        assertEq(market.creditOf(gpus[1]), 0, "rejected: unpaid");
        assertEq(market.bondedOf(gpus[1]), STAKE - SLASH, "rejected: slashed");
        assertEq(market.creditOf(alice), MODEL_PRICE, "model owner paid");
        assertEq(market.creditOf(treasury), _fee(paid), "the fee only: no slash to the treasury");
        assertEq(market.creditOf(bob), refund + SLASH, "refund + the whole slash as compensation");
        for (uint256 i; i < 3; ++i) {
            assertEq(market.getProvider(gpus[i]).activeJobs, 0, "released");
        }
        _solvent();
    }

    /// @dev The arbiter may reject every result: all are slashed, the buyer is refunded and
    ///      takes the slashes.
    /// @dev A two-provider job whose results differ ("bafyA", "bafyB"): in arbitration.
    function _disagreeingPair() internal returns (uint256 jobId, uint256 escrow) {
        jobId = _postAndAssign(2);
        escrow = market.getJob(jobId).escrow;
        _commit(jobId, 0, "bafyA");
        _commit(jobId, 1, "bafyB");
        _reveal(jobId, 0, "bafyA");
        _reveal(jobId, 1, "bafyB");
    }

    function test_disagreement_noResultUpheld() public {
        (uint256 jobId, uint256 escrow) = _disagreeingPair();
        vm.prank(admin);
        market.resolveDispute(jobId, bytes32(0));
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Failed, "failed");
        assertEq(market.creditOf(bob), escrow + 2 * SLASH, "refund + both slashes");
        assertEq(market.creditOf(treasury), 0, "nothing to the treasury");
        _solvent();
    }

    /// @dev An arbiter that does not decide in time: every provider that revealed is paid.
    function test_disagreement_arbiterSilent_paysEveryRevealer() public {
        (uint256 jobId, uint256 escrow) = _disagreeingPair();
        vm.warp(block.timestamp + 3 days);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotFinalizable.selector, jobId));
        market.finalize(jobId);
        vm.warp(block.timestamp + 1);
        vm.expectEmit(true, false, false, false, address(market));
        emit DisputeTimedOut(jobId);
        market.finalize(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Completed, "completed");
        uint256 paid = 2 * uint256(ASK);
        assertEq(market.creditOf(gpus[0]), ASK, "paid");
        assertEq(market.creditOf(gpus[1]), ASK, "paid");
        assertEq(market.creditOf(bob), escrow - paid - _fee(paid) - MODEL_PRICE, "refund");
        assertEq(market.bondedOf(gpus[0]) + market.bondedOf(gpus[1]), 2 * STAKE, "nobody slashed");
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

    /// @dev One reveal of three is too few to trust, but the revealer is not left unpaid while
    ///      its result is public: the job goes to the arbiter, and the silent ones are slashed.
    function test_tooFewReveals_goToArbitration() public {
        uint256 jobId = _postAndAssign(3);
        uint256 escrow = market.getJob(jobId).escrow;
        _commit(jobId, 0, "bafyA");
        vm.warp(deadline + 1);
        _reveal(jobId, 0, "bafyA");
        vm.warp(deadline + 1 hours + 1);
        market.finalize(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Disputed, "to the arbiter");
        assertEq(market.bondedOf(gpus[0]), STAKE, "the one that revealed is not slashed");
        assertEq(market.bondedOf(gpus[1]), STAKE - SLASH, "timeout");
        // the arbiter stays silent: the revealer is paid
        vm.warp(block.timestamp + 3 days + 1);
        market.finalize(jobId);
        assertEq(market.creditOf(gpus[0]), ASK, "paid");
        assertEq(market.creditOf(bob), escrow - ASK - _fee(ASK) - MODEL_PRICE + SLASH, "refund + two half slashes");
        _solvent();
    }

    /// @dev The review's H2: drawing after the deadline would have made every drawn provider
    ///      miss a commit it could no longer make, and be slashed. Now a late draw fails the job
    ///      with nobody at fault.
    function test_lateDraw_failsWithoutSlashing() public {
        uint256 jobId = _post(3);
        uint256 escrow = market.getJob(jobId).escrow;
        for (uint256 i; i < 3; ++i) {
            vm.prank(gpus[i]);
            market.acceptJob(jobId);
        }
        vm.roll(market.getJob(jobId).drawBlock + 32);
        vm.warp(deadline);
        vm.prank(bob);
        market.assign(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Failed, "failed");
        assertEq(market.creditOf(bob), escrow, "refund, and no compensation");
        for (uint256 i; i < 3; ++i) {
            assertEq(market.bondedOf(gpus[i]), STAKE, "nobody slashed");
            assertEq(market.getProvider(gpus[i]).activeJobs, 0, "released");
        }
        _solvent();
    }

    /// @dev The review's M5: the arbiter cannot rule after its window; the job then pays.
    function test_resolveDispute_closesWithTheWindow() public {
        uint256 jobId = _runR1("bafyout");
        vm.prank(bob);
        market.dispute{value: BOND}(jobId);
        uint64 end = market.getJob(jobId).challengeEnd;
        vm.warp(end + 1);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.ChallengeWindowClosed.selector, jobId, end));
        market.resolveDispute(jobId, bytes32(0));
        market.finalize(jobId);
        assertEq(market.bondedOf(gpus[0]), STAKE, "not slashed");
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
        emit JobVerifying(jobId, keccak256("bafyout"), end);
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
        emit JobDisputed(jobId, bob, uint64(block.timestamp + 3 days));
        vm.prank(bob);
        market.dispute{value: BOND}(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Disputed, "disputed");
        assertEq(market.getJob(jobId).escrow, escrow + BOND, "bond held with the escrow");
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotFinalizable.selector, jobId));
        market.finalize(jobId);

        vm.expectEmit(true, true, false, true, address(market));
        emit DisputeResolved(jobId, admin, bytes32(0));
        vm.prank(admin);
        market.resolveDispute(jobId, bytes32(0));
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Failed, "failed");
        assertEq(market.bondedOf(gpus[0]), STAKE - SLASH, "slashed");
        assertEq(market.creditOf(bob), escrow + BOND + SLASH, "refund + bond + the slash");
        assertEq(market.creditOf(treasury), 0, "nothing to the treasury (the arbiter here)");
        assertEq(market.creditOf(gpus[0]), 0, "unpaid");
        assertEq(market.getProvider(gpus[0]).activeJobs, 0, "released");
        _solvent();
    }

    function test_single_disputeRejected() public {
        uint256 jobId = _runR1("bafygood");
        vm.prank(bob);
        market.dispute{value: BOND}(jobId);
        vm.prank(admin);
        market.resolveDispute(jobId, keccak256("bafygood"));
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Completed, "completed");
        assertEq(market.creditOf(gpus[0]), ASK + BOND, "paid + the buyer's bond");
        assertEq(market.bondedOf(gpus[0]), STAKE, "not slashed");
        _solvent();
    }

    function test_single_disputeArbiterSilent_paysProvider() public {
        uint256 jobId = _runR1("bafygood");
        vm.prank(bob);
        market.dispute{value: BOND}(jobId);
        vm.warp(block.timestamp + 3 days + 1);
        market.finalize(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Completed, "completed");
        assertEq(market.creditOf(gpus[0]), ASK + BOND, "paid + the bond");
        assertEq(market.bondedOf(gpus[0]), STAKE, "not slashed");
        assertEq(market.getProvider(gpus[0]).activeJobs, 0, "released");
        _solvent();
    }

    function test_dispute_reverts() public {
        uint256 jobId = _runR1("bafyout");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotBuyer.selector, jobId, stranger));
        market.dispute{value: BOND}(jobId);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.WrongBond.selector, BOND, 0));
        market.dispute(jobId);
        uint64 end = market.getJob(jobId).challengeEnd;
        vm.warp(end + 1);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.ChallengeWindowClosed.selector, jobId, end));
        market.dispute{value: BOND}(jobId);
        market.finalize(jobId);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(
                ComputeMarketplace.WrongStatus.selector, jobId, ComputeMarketplace.JobStatus.Completed
            )
        );
        market.dispute{value: BOND}(jobId);
    }

    function test_resolveDispute_onlyArbiterWhenDisputed() public {
        uint256 jobId = _runR1("bafyout");
        vm.prank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(
                ComputeMarketplace.WrongStatus.selector, jobId, ComputeMarketplace.JobStatus.Verifying
            )
        );
        market.resolveDispute(jobId, bytes32(0));
        vm.prank(bob);
        market.dispute{value: BOND}(jobId);
        bytes32 role = market.ARBITER_ROLE();
        vm.expectRevert(_unauthorized(bob, role));
        vm.prank(bob);
        market.resolveDispute(jobId, bytes32(0));
        _grant(market, role, carol);
        vm.prank(carol);
        market.resolveDispute(jobId, keccak256("bafyout"));
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

    function test_undrawnJob_expiresWithoutSlashing() public {
        uint256 jobId = _post(3);
        uint256 escrow = market.getJob(jobId).escrow;
        vm.prank(gpus[0]);
        market.acceptJob(jobId);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotFinalizable.selector, jobId));
        market.finalize(jobId);
        vm.warp(deadline + 1);
        vm.expectEmit(true, false, false, true, address(market));
        emit JobFailed(jobId, "unassigned", escrow);
        market.finalize(jobId);
        assertEq(market.creditOf(bob), escrow, "refund");
        assertEq(market.bondedOf(gpus[0]), STAKE, "not slashed: the job never started");
        assertEq(market.getProvider(gpus[0]).activeJobs, 0, "released");
        assertEq(market.getProvider(gpus[0]).locked, 0, "unlocked");
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
        vm.prank(carol);
        registry.acceptModelOwnership(modelId);
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
        _setMarketParams(p);
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
        _draw(jobId);
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

    /// @dev Random results among three: unanimous results complete and are paid; any
    ///      disagreement waits for the arbiter, with nobody paid or slashed before it rules.
    function testFuzz_resultsRule(uint8 r, uint256 votes) public {
        r = uint8(bound(r, 2, 5));
        uint256 jobId = _postAndAssign(r);
        string[3] memory cids = ["bafyA", "bafyB", "bafyC"];
        uint256[5] memory choice;
        bool differ;
        for (uint256 i; i < r; ++i) {
            choice[i] = (votes >> (i * 8)) % 3;
            if (choice[i] != choice[0]) differ = true;
            _commit(jobId, i, cids[choice[i]]);
        }
        for (uint256 i; i < r; ++i) {
            _reveal(jobId, i, cids[choice[i]]);
        }
        ComputeMarketplace.Job memory j = market.getJob(jobId);
        if (differ) {
            assertTrue(j.status == ComputeMarketplace.JobStatus.Disputed, "disagreement goes to arbitration");
        } else {
            assertTrue(j.status == ComputeMarketplace.JobStatus.Completed, "agreement completes");
            assertEq(j.resultHash, keccak256(bytes(cids[choice[0]])), "the agreed result");
        }
        for (uint256 i; i < r; ++i) {
            assertEq(market.bondedOf(gpus[i]), STAKE, "nobody slashed by a vote");
            assertEq(market.creditOf(gpus[i]), differ ? 0 : ASK, "paid iff agreed");
            assertEq(market.getProvider(gpus[i]).activeJobs, differ ? 1 : 0, "held until the ruling");
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

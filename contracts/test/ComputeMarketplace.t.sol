// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Administered} from "../src/common/Administered.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {StakeLedger} from "../src/common/StakeLedger.sol";
import {ComputeMarketplace} from "../src/ComputeMarketplace.sol";
import {IModelRegistry} from "../src/interfaces/IModelRegistry.sol";
import {DeployConfig} from "../script/DeployConfig.sol";
import {Fixtures} from "./utils/Fixtures.sol";

/// @dev Shared set-up and helpers of the marketplace tests.
abstract contract MarketFixtures is Fixtures {
    uint256 internal constant MODEL_PRICE = 0.05 ether;
    uint128 internal constant MAX_PRICE = 1 ether;
    uint128 internal constant ASK = 0.8 ether;
    uint256 internal constant STAKE = 2 ether;
    uint256 internal constant SLASH = 0.5 ether;
    uint256 internal constant PER_JOB = 0.5 ether; // stake each job locks
    uint256 internal constant BOND = 0.1 ether; // dispute bond

    address[5] internal gpus;
    uint256 internal modelId;
    uint64 internal deadline;

    function setUp() public virtual {
        _deployAll();
        (modelId,) = _registerModel(alice, uint128(MODEL_PRICE), 0);
        for (uint256 i; i < 5; ++i) {
            gpus[i] = makeAddr(string.concat("gpu", vm.toString(i)));
            vm.deal(gpus[i], 100 ether);
            vm.prank(gpus[i]);
            market.registerProvider{value: STAKE}("1x A100 80GB", 80, ASK);
        }
        deadline = uint64(block.timestamp + 1 hours);
    }

    function _post(uint8 r) internal returns (uint256 jobId) {
        uint256 escrow = market.quote(modelId, MAX_PRICE, r);
        vm.prank(bob);
        jobId = market.postJob{value: escrow}(modelId, "bafyinput", MAX_PRICE, deadline, r);
    }

    /// @dev Posts a job, gpus[0..r) apply, and the draw assigns them all.
    function _postAndAssign(uint8 r) internal returns (uint256 jobId) {
        jobId = _post(r);
        for (uint256 i; i < r; ++i) {
            vm.prank(gpus[i]);
            market.acceptJob(jobId);
        }
        _draw(jobId);
    }

    /// @dev Rolls to the first block at which job `jobId` can be drawn, and draws it.
    function _draw(uint256 jobId) internal {
        uint256 from = market.getJob(jobId).drawBlock + market.DRAW_CONFIRMATIONS();
        if (block.number < from) vm.roll(from);
        market.assign(jobId);
    }

    function _assignmentOf(uint256 jobId, address provider)
        internal
        view
        returns (ComputeMarketplace.Assignment memory a)
    {
        ComputeMarketplace.Assignment[] memory as_ = market.getAssignments(jobId);
        for (uint256 i; i < as_.length; ++i) {
            if (as_[i].provider == provider) return as_[i];
        }
        revert("not assigned");
    }

    function _commit(uint256 jobId, uint256 i, string memory cid) internal {
        bytes32 c = market.commitmentFor(jobId, gpus[i], cid, bytes32(i + 1));
        vm.prank(gpus[i]);
        market.commitResult(jobId, c);
    }

    function _reveal(uint256 jobId, uint256 i, string memory cid) internal {
        vm.prank(gpus[i]);
        market.revealResult(jobId, cid, bytes32(i + 1));
    }

    function _status(uint256 jobId) internal view returns (ComputeMarketplace.JobStatus) {
        return market.getJob(jobId).status;
    }

    function _solvent() internal view {
        assertEq(address(market).balance, market.liabilities(), "marketplace solvent");
    }

    function _unauthorized(address account, bytes32 role) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, account, role);
    }
}

/// @notice Providers, jobs, assignment and commit-reveal of ComputeMarketplace; settlement,
///         disputes and deadlines are in ComputeSettlement.t.sol.
contract ComputeMarketplaceTest is MarketFixtures {
    event ProviderRegistered(
        address indexed provider, string hardware, uint32 memoryGB, uint128 pricePerJob, uint256 stake
    );
    event CapabilitiesUpdated(address indexed provider, string hardware, uint32 memoryGB, uint128 pricePerJob);
    event JobPosted(
        uint256 indexed jobId,
        address indexed buyer,
        uint256 indexed modelId,
        string inputCid,
        uint128 maxPrice,
        uint64 deadline,
        uint8 redundancy,
        uint256 escrow
    );
    event JobApplied(uint256 indexed jobId, address indexed provider, uint128 price, uint128 weight);
    event JobAccepted(uint256 indexed jobId, address indexed provider, uint128 price, uint8 assigned);
    event JobFullyAssigned(uint256 indexed jobId);
    event JobFailed(uint256 indexed jobId, bytes32 reason, uint256 refund);
    event ResultCommitted(uint256 indexed jobId, address indexed provider, bytes32 commitment);
    event ResultRevealed(uint256 indexed jobId, address indexed provider, string resultCid);
    event JobCancelled(uint256 indexed jobId, uint256 refund);

    // ------------------------------------------------------------------ setup and admin

    function test_constructor() public {
        assertTrue(market.hasRole(market.ARBITER_ROLE(), admin), "arbiter");
        assertTrue(market.hasRole(market.PAUSER_ROLE(), admin), "pauser");
        assertEq(address(market.registry()), address(registry), "registry");
        assertEq(market.treasury(), treasury, "treasury");
        assertEq(market.unbondingDelay(), UNBONDING, "unbonding");
        ComputeMarketplace.Params memory p = DeployConfig.marketParams();
        IModelRegistry reg = IModelRegistry(address(registry));
        vm.expectRevert(Administered.ZeroAddress.selector);
        new ComputeMarketplace(address(0), treasury, 0, admin, reg, UNBONDING, p);
        vm.expectRevert(Administered.ZeroAddress.selector);
        new ComputeMarketplace(admin, address(0), 0, admin, reg, UNBONDING, p);
        vm.expectRevert(Administered.ZeroAddress.selector);
        new ComputeMarketplace(admin, treasury, 0, admin, IModelRegistry(address(0)), UNBONDING, p);
    }

    /// @dev Each field, one at a time, just outside its bound.
    function test_setParams_validates() public {
        for (uint256 field; field < 12; ++field) {
            ComputeMarketplace.Params memory p = DeployConfig.marketParams();
            if (field == 0) p.minStake = 0;
            else if (field == 1) p.platformFeeBps = 2_001;
            else if (field == 2) p.buyerShareBps = 10_001;
            else if (field == 3) p.revealWindow = 59;
            else if (field == 4) p.challengeWindow = 0;
            else if (field == 5) p.arbitrationWindow = 59;
            else if (field == 6) p.challengeWindow = 30 days + 1;
            else if (field == 7) p.applyBlocks = 0;
            else if (field == 8) p.applyBlocks = 1_001;
            else if (field == 9) p.slashAmount = 1_000_001 ether;
            else if (field == 10) p.stakePerJob = 1_000_001 ether;
            else p.disputeBond = 1_000_001 ether;
            vm.prank(admin);
            vm.expectRevert(ComputeMarketplace.InvalidParams.selector);
            market.setParams(p);
        }
        ComputeMarketplace.Params memory ok = DeployConfig.marketParams();
        ok.platformFeeBps = 100;
        _setMarketParams(ok);
        assertEq(market.params().platformFeeBps, 100, "updated");
        vm.expectRevert(_unauthorized(stranger, market.DEFAULT_ADMIN_ROLE()));
        vm.prank(stranger);
        market.setParams(ok);
    }

    function test_setTreasury() public {
        _setTreasury(market, bob);
        assertEq(market.treasury(), bob, "treasury");
        vm.prank(admin);
        vm.expectRevert(Administered.ZeroAddress.selector);
        market.setTreasury(address(0));
        vm.expectRevert(_unauthorized(stranger, market.DEFAULT_ADMIN_ROLE()));
        vm.prank(stranger);
        market.setTreasury(stranger);
    }

    function test_pause() public {
        uint256 escrow = market.quote(modelId, MAX_PRICE, 1);
        uint256 open = _post(1);
        vm.expectRevert(_unauthorized(stranger, market.PAUSER_ROLE()));
        vm.prank(stranger);
        market.pause();
        vm.prank(admin);
        market.pause();
        vm.prank(bob);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        market.postJob{value: escrow}(modelId, "bafy", MAX_PRICE, deadline, 1);
        vm.prank(gpus[0]);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        market.acceptJob(open);
        vm.prank(stranger);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        market.registerProvider{value: STAKE}("", 0, 0);
        // the buyer can still leave
        vm.prank(bob);
        market.cancelJob(open);
        vm.expectRevert(_unauthorized(stranger, market.PAUSER_ROLE()));
        vm.prank(stranger);
        market.unpause();
        vm.prank(admin);
        market.unpause();
    }

    // ------------------------------------------------------------------ providers

    function test_registerProvider() public {
        vm.expectEmit(true, false, false, true, address(market));
        emit ProviderRegistered(stranger, "8x H100", 640, 3 ether, STAKE);
        vm.prank(stranger);
        market.registerProvider{value: STAKE}("8x H100", 640, 3 ether);
        ComputeMarketplace.Provider memory p = market.getProvider(stranger);
        assertTrue(p.registered, "registered");
        assertEq(p.hardware, "8x H100", "hardware");
        assertEq(p.memoryGB, 640, "memory");
        assertEq(p.pricePerJob, 3 ether, "price");
        assertEq(market.bondedOf(stranger), STAKE, "stake");
    }

    function test_registerProvider_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.StakeBelowMinimum.selector, 1, 1 ether));
        market.registerProvider{value: 1}("", 0, 0);
        vm.prank(gpus[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.AlreadyRegistered.selector, gpus[0]));
        market.registerProvider{value: STAKE}("", 0, 0);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotRegistered.selector, stranger));
        market.addStake{value: 1 ether}();
    }

    function test_updateCapabilities() public {
        vm.expectEmit(true, false, false, true, address(market));
        emit CapabilitiesUpdated(gpus[0], "2x A100", 160, 0.5 ether);
        vm.prank(gpus[0]);
        market.updateCapabilities("2x A100", 160, 0.5 ether);
        assertEq(market.getProvider(gpus[0]).pricePerJob, 0.5 ether, "price");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotRegistered.selector, stranger));
        market.updateCapabilities("", 0, 0);
    }

    function test_unbonding_blockedByActiveJobs() public {
        _postAndAssign(1);
        vm.startPrank(gpus[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.HasActiveJobs.selector, gpus[0], 1));
        market.requestUnbond(STAKE);
        // the minimum plus what the job locks must stay bonded
        assertEq(market.requiredStake(gpus[0]), 1 ether + PER_JOB, "required");
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.HasActiveJobs.selector, gpus[0], 1));
        market.requestUnbond(PER_JOB + 1);
        market.requestUnbond(PER_JOB);
        vm.warp(block.timestamp + UNBONDING);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.HasActiveJobs.selector, gpus[0], 1));
        market.withdrawStake();
        vm.stopPrank();
        // an idle provider leaves freely
        vm.prank(gpus[4]);
        market.requestUnbond(STAKE);
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(gpus[4]);
        assertEq(market.withdrawStake(), STAKE, "withdrawn");
    }

    // ------------------------------------------------------------------ posting

    function test_quote() public view {
        uint256 providers = 3 * uint256(MAX_PRICE);
        assertEq(market.quote(modelId, MAX_PRICE, 3), providers + providers * 250 / 10_000 + MODEL_PRICE, "quote");
    }

    function test_postJob() public {
        uint256 escrow = market.quote(modelId, MAX_PRICE, 3);
        vm.expectEmit(true, true, true, true, address(market));
        emit JobPosted(1, bob, modelId, "bafyinput", MAX_PRICE, deadline, 3, escrow);
        uint256 jobId = _post(3);
        ComputeMarketplace.Job memory j = market.getJob(jobId);
        assertEq(j.buyer, bob, "buyer");
        assertTrue(j.status == ComputeMarketplace.JobStatus.Open, "open");
        assertEq(j.redundancy, 3, "r");
        assertEq(j.deadline, deadline, "deadline");
        assertEq(j.revealDeadline, deadline + 1 hours, "reveal deadline");
        assertEq(j.modelId, modelId, "model");
        assertEq(j.maxPrice, MAX_PRICE, "max price");
        assertEq(j.modelFee, MODEL_PRICE, "model fee");
        assertEq(j.escrow, escrow, "escrow");
        assertEq(j.inputCid, "bafyinput", "input");
        assertEq(market.totalEscrow(), escrow, "total escrow");
        assertEq(market.jobCount(), 1, "count");
        _solvent();
    }

    function test_postJob_reverts() public {
        uint256 escrow = market.quote(modelId, MAX_PRICE, 1);
        vm.startPrank(bob);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.InvalidRedundancy.selector, 0, 9));
        market.postJob{value: escrow}(modelId, "bafy", MAX_PRICE, deadline, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.InvalidRedundancy.selector, 10, 9));
        market.postJob{value: escrow}(modelId, "bafy", MAX_PRICE, deadline, 10);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.InvalidDeadline.selector, block.timestamp));
        market.postJob{value: escrow}(modelId, "bafy", MAX_PRICE, uint64(block.timestamp), 1);
        uint64 far = uint64(block.timestamp + 30 days + 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.InvalidDeadline.selector, far));
        market.postJob{value: escrow}(modelId, "bafy", MAX_PRICE, far, 1);
        vm.expectRevert(ComputeMarketplace.ZeroPrice.selector);
        market.postJob{value: escrow}(modelId, "bafy", 0, deadline, 1);
        vm.expectRevert(ComputeMarketplace.EmptyCid.selector);
        market.postJob{value: escrow}(modelId, "", MAX_PRICE, deadline, 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.CidTooLong.selector, 129, 128));
        market.postJob{value: escrow}(modelId, string(new bytes(129)), MAX_PRICE, deadline, 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.ModelNotUsable.selector, 99, bob));
        market.postJob{value: escrow}(99, "bafy", MAX_PRICE, deadline, 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.WrongEscrow.selector, escrow, escrow - 1));
        market.postJob{value: escrow - 1}(modelId, "bafy", MAX_PRICE, deadline, 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.WrongEscrow.selector, escrow, escrow + 1));
        market.postJob{value: escrow + 1}(modelId, "bafy", MAX_PRICE, deadline, 1);
        vm.stopPrank();
    }

    function test_postJob_respectsModelAccess() public {
        uint256 escrow = market.quote(modelId, MAX_PRICE, 1);
        vm.prank(alice);
        registry.setPermissioned(modelId, true);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.ModelNotUsable.selector, modelId, bob));
        market.postJob{value: escrow}(modelId, "bafy", MAX_PRICE, deadline, 1);
        vm.prank(alice);
        registry.grantAccess(modelId, bob);
        vm.prank(bob);
        market.postJob{value: escrow}(modelId, "bafy", MAX_PRICE, deadline, 1);
        vm.prank(alice);
        registry.setActive(modelId, false);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.ModelNotUsable.selector, modelId, bob));
        market.postJob{value: escrow}(modelId, "bafy", MAX_PRICE, deadline, 1);
    }

    function test_cancelJob() public {
        uint256 jobId = _post(2);
        uint256 escrow = market.getJob(jobId).escrow;
        vm.expectEmit(true, false, false, true, address(market));
        emit JobCancelled(jobId, escrow);
        vm.prank(bob);
        market.cancelJob(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Cancelled, "cancelled");
        assertEq(market.creditOf(bob), escrow, "refund");
        assertEq(market.totalEscrow(), 0, "escrow released");
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(
                ComputeMarketplace.WrongStatus.selector, jobId, ComputeMarketplace.JobStatus.Cancelled
            )
        );
        market.cancelJob(jobId);
        _solvent();
    }

    function test_cancelJob_reverts() public {
        uint256 jobId = _post(2);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotBuyer.selector, jobId, stranger));
        market.cancelJob(jobId);
        vm.prank(gpus[0]);
        market.acceptJob(jobId);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.HasCandidates.selector, jobId, 1));
        market.cancelJob(jobId);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.UnknownJob.selector, 42));
        market.cancelJob(42);
    }

    // ------------------------------------------------------------------ assignment

    function test_acceptJob_appliesThenTheDrawAssigns() public {
        uint256 jobId = _post(2);
        vm.expectEmit(true, true, false, true, address(market));
        emit JobApplied(jobId, gpus[0], ASK, uint128(STAKE));
        vm.prank(gpus[0]);
        market.acceptJob(jobId);
        vm.prank(gpus[1]);
        market.acceptJob(jobId);
        vm.prank(gpus[2]);
        market.acceptJob(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Open, "still open: applications");
        assertEq(market.candidateCount(jobId), 3, "three candidates");
        assertEq(market.getProvider(gpus[2]).activeJobs, 1, "a candidacy is an active job");
        assertEq(market.getProvider(gpus[2]).locked, PER_JOB, "and locks stake");

        uint256 from = market.getJob(jobId).drawBlock + 32;
        vm.roll(from - 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.DrawNotReady.selector, jobId, from));
        market.assign(jobId);
        vm.roll(from);
        vm.expectEmit(true, false, false, true, address(market));
        emit JobFullyAssigned(jobId);
        vm.prank(stranger);
        market.assign(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Running, "running");
        ComputeMarketplace.Assignment[] memory as_ = market.getAssignments(jobId);
        assertEq(as_.length, 2, "two drawn");
        assertTrue(as_[0].provider != as_[1].provider, "distinct");
        assertEq(as_[1].price, ASK, "its price");
        uint256 held;
        for (uint256 i; i < 3; ++i) {
            held += market.getProvider(gpus[i]).activeJobs;
        }
        assertEq(held, 2, "the one not drawn is released");
        vm.expectRevert(
            abi.encodeWithSelector(ComputeMarketplace.WrongStatus.selector, jobId, ComputeMarketplace.JobStatus.Running)
        );
        market.assign(jobId);
    }

    /// @dev Each pick is weighted by bonded stake: over 40 jobs with one slot, a candidate with
    ///      9 times the stake of the other is drawn far more often.
    function test_assign_weighsByStake() public {
        vm.prank(gpus[1]);
        market.addStake{value: 16 ether}(); // 18 ether against gpus[0]'s 2
        uint256 heavy;
        for (uint256 k; k < 40; ++k) {
            uint256 jobId = _post(1);
            vm.prank(gpus[0]);
            market.acceptJob(jobId);
            vm.prank(gpus[1]);
            market.acceptJob(jobId);
            _draw(jobId);
            address drawn = market.getAssignments(jobId)[0].provider;
            if (drawn == gpus[1]) ++heavy;
            vm.warp(uint256(deadline) + 1 hours + 1);
            market.finalize(jobId); // no result: the drawn one is slashed, and tops up again
            deadline = uint64(block.timestamp + 1 hours);
            vm.prank(drawn);
            market.addStake{value: SLASH}();
        }
        // expectation 36 of 40; a first-come or unweighted draw would give about 20 or 0
        assertGe(heavy, 30, "weighted by stake");
        assertLe(heavy, 39, "but not always the heavy one");
    }

    function test_assign_tooFewCandidatesFails() public {
        uint256 jobId = _post(3);
        uint256 escrow = market.getJob(jobId).escrow;
        vm.prank(gpus[0]);
        market.acceptJob(jobId);
        vm.roll(market.getJob(jobId).drawBlock + 32);
        vm.expectEmit(true, false, false, true, address(market));
        emit JobFailed(jobId, "unassigned", escrow);
        market.assign(jobId);
        assertEq(market.creditOf(bob), escrow, "refund");
        assertEq(market.getProvider(gpus[0]).activeJobs, 0, "released");
        assertEq(market.getProvider(gpus[0]).locked, 0, "unlocked");
        _solvent();
    }

    function test_assign_agedOutDrawBlockWaitsForANewOne() public {
        uint256 jobId = _post(1);
        vm.prank(gpus[0]);
        market.acceptJob(jobId);
        uint64 drawBlock = market.getJob(jobId).drawBlock;
        vm.roll(drawBlock + 257);
        market.assign(jobId);
        assertEq(market.getJob(jobId).drawBlock, block.number, "new draw block");
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Open, "not drawn yet");
        _draw(jobId);
        assertTrue(_status(jobId) == ComputeMarketplace.JobStatus.Running, "drawn");
    }

    function test_acceptJob_reverts() public {
        uint256 jobId = _post(2);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotRegistered.selector, stranger));
        market.acceptJob(jobId);

        vm.prank(gpus[0]);
        market.acceptJob(jobId);
        vm.prank(gpus[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.AlreadyApplied.selector, jobId, gpus[0]));
        market.acceptJob(jobId);

        vm.prank(gpus[1]);
        market.updateCapabilities("", 0, MAX_PRICE + 1);
        vm.prank(gpus[1]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.PriceAboveMax.selector, MAX_PRICE + 1, MAX_PRICE));
        market.acceptJob(jobId);

        vm.prank(gpus[2]);
        market.requestUnbond(STAKE);
        vm.prank(gpus[2]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.StakeBelowMinimum.selector, 0, 1 ether + PER_JOB));
        market.acceptJob(jobId);

        vm.prank(bob);
        market.registerProvider{value: STAKE}("", 0, 0);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.BuyerCannotServe.selector, jobId));
        market.acceptJob(jobId);

        // a provider's stake locks one job at a time per PER_JOB
        uint256 other = _post(1);
        vm.prank(gpus[3]);
        market.requestUnbond(STAKE - 1 ether - PER_JOB); // exactly enough for one job
        vm.prank(gpus[3]);
        market.acceptJob(jobId);
        vm.prank(gpus[3]);
        vm.expectRevert(
            abi.encodeWithSelector(
                ComputeMarketplace.StakeBelowMinimum.selector, 1 ether + PER_JOB, 1 ether + 2 * PER_JOB
            )
        );
        market.acceptJob(other);

        vm.warp(deadline);
        vm.prank(gpus[4]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.DeadlinePassed.selector, jobId, deadline));
        market.acceptJob(jobId);
        vm.warp(deadline - 1);
        uint64 drawBlock = market.getJob(jobId).drawBlock;
        vm.roll(drawBlock + 1);
        vm.prank(gpus[4]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.ApplicationsClosed.selector, jobId, drawBlock));
        market.acceptJob(jobId);
    }

    /// @dev The review's H3: 32 small sybil stakes filled the candidate list first and kept the
    ///      market out. A full list now gives way to heavier candidates.
    function test_acceptJob_fullListEvictsTheLightest() public {
        uint256 jobId = _post(1);
        for (uint256 i; i < 32; ++i) {
            address g = address(uint160(0xE000 + i));
            vm.deal(g, 2 ether);
            vm.prank(g);
            market.registerProvider{value: 1.5 ether}("gpu", 24, ASK);
            vm.prank(g);
            market.acceptJob(jobId);
        }
        assertEq(market.candidateCount(jobId), 32, "full");
        // as light as the lightest: refused
        vm.deal(stranger, 10 ether);
        vm.prank(stranger);
        market.registerProvider{value: 1.5 ether}("gpu", 24, ASK);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.TooManyCandidates.selector, jobId));
        market.acceptJob(jobId);
        // heavier: takes the first lightest place, which is released
        vm.prank(gpus[0]);
        market.acceptJob(jobId);
        assertEq(market.candidateCount(jobId), 32, "still 32");
        address out = address(uint160(0xE000));
        assertEq(market.getProvider(out).activeJobs, 0, "evicted and released");
        assertEq(market.getProvider(out).locked, 0, "unlocked");
        assertEq(market.getProvider(gpus[0]).activeJobs, 1, "in");
        // the evicted one may apply again, and is refused as the lightest
        vm.prank(out);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.TooManyCandidates.selector, jobId));
        market.acceptJob(jobId);
    }

    // ------------------------------------------------------------------ commit-reveal

    function test_commitResult() public {
        uint256 jobId = _post(2);
        vm.prank(gpus[0]);
        market.acceptJob(jobId);
        vm.prank(gpus[1]);
        market.acceptJob(jobId);
        bytes32 c = market.commitmentFor(jobId, gpus[0], "bafyout", bytes32(uint256(1)));
        vm.prank(gpus[0]);
        vm.expectRevert(
            abi.encodeWithSelector(ComputeMarketplace.WrongStatus.selector, jobId, ComputeMarketplace.JobStatus.Open)
        );
        market.commitResult(jobId, c); // not before the draw
        _draw(jobId);
        vm.expectEmit(true, true, false, true, address(market));
        emit ResultCommitted(jobId, gpus[0], c);
        vm.prank(gpus[0]);
        market.commitResult(jobId, c);
        assertEq(_assignmentOf(jobId, gpus[0]).commitment, c, "stored");
        assertEq(market.getJob(jobId).committed, 1, "count");
    }

    function test_commitResult_reverts() public {
        uint256 jobId = _postAndAssign(2);
        vm.prank(gpus[0]);
        vm.expectRevert(ComputeMarketplace.ZeroCommitment.selector);
        market.commitResult(jobId, bytes32(0));
        vm.prank(gpus[3]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotAssigned.selector, jobId, gpus[3]));
        market.commitResult(jobId, bytes32(uint256(1)));
        _commit(jobId, 0, "bafyout");
        vm.prank(gpus[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.AlreadyCommitted.selector, jobId, gpus[0]));
        market.commitResult(jobId, bytes32(uint256(1)));
        vm.warp(deadline + 1);
        vm.prank(gpus[1]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.DeadlinePassed.selector, jobId, deadline));
        market.commitResult(jobId, bytes32(uint256(1)));

        deadline = uint64(block.timestamp + 1 hours);
        uint256 cancelled = _post(1);
        vm.prank(bob);
        market.cancelJob(cancelled);
        vm.prank(gpus[0]);
        vm.expectRevert(
            abi.encodeWithSelector(
                ComputeMarketplace.WrongStatus.selector, cancelled, ComputeMarketplace.JobStatus.Cancelled
            )
        );
        market.commitResult(cancelled, bytes32(uint256(1)));
    }

    function test_revealResult_reverts() public {
        uint256 jobId = _postAndAssign(2);
        _commit(jobId, 0, "bafyout");
        // not everyone committed and the deadline has not passed: nothing may be revealed yet
        vm.prank(gpus[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.RevealNotOpen.selector, jobId));
        market.revealResult(jobId, "bafyout", bytes32(uint256(1)));
        _commit(jobId, 1, "bafyout");
        vm.prank(gpus[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.CommitmentMismatch.selector, jobId, gpus[0]));
        market.revealResult(jobId, "bafycopied", bytes32(uint256(1)));
        vm.prank(gpus[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.CommitmentMismatch.selector, jobId, gpus[0]));
        market.revealResult(jobId, "bafyout", bytes32(uint256(2)));
        vm.prank(gpus[0]);
        vm.expectRevert(ComputeMarketplace.EmptyCid.selector);
        market.revealResult(jobId, "", bytes32(uint256(1)));
        vm.prank(gpus[3]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotAssigned.selector, jobId, gpus[3]));
        market.revealResult(jobId, "bafyout", bytes32(uint256(1)));
        _reveal(jobId, 0, "bafyout");
        vm.prank(gpus[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.AlreadyRevealed.selector, jobId, gpus[0]));
        market.revealResult(jobId, "bafyout", bytes32(uint256(1)));
        vm.warp(deadline + 1 hours + 1);
        vm.prank(gpus[1]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.RevealClosed.selector, jobId, deadline + 1 hours));
        market.revealResult(jobId, "bafyout", bytes32(uint256(2)));

        deadline = uint64(block.timestamp + 1 hours);
        uint256 open = _post(2);
        vm.prank(gpus[0]);
        vm.expectRevert(
            abi.encodeWithSelector(ComputeMarketplace.WrongStatus.selector, open, ComputeMarketplace.JobStatus.Open)
        );
        market.revealResult(open, "bafyout", bytes32(uint256(1)));
    }

    function test_revealResult_notCommittedAfterDeadline() public {
        uint256 jobId = _postAndAssign(2);
        _commit(jobId, 0, "bafyout");
        vm.warp(deadline + 1);
        _reveal(jobId, 0, "bafyout"); // reveals open once the deadline passed
        vm.prank(gpus[1]);
        vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.NotCommitted.selector, jobId, gpus[1]));
        market.revealResult(jobId, "bafyout", bytes32(uint256(2)));
    }

    function test_revealResult_emits() public {
        uint256 jobId = _postAndAssign(2);
        _commit(jobId, 0, "bafyout");
        _commit(jobId, 1, "bafyout");
        vm.expectEmit(true, true, false, true, address(market));
        emit ResultRevealed(jobId, gpus[0], "bafyout");
        _reveal(jobId, 0, "bafyout");
        ComputeMarketplace.Assignment memory a = _assignmentOf(jobId, gpus[0]);
        assertTrue(a.revealed, "revealed");
        assertEq(a.resultHash, keccak256("bafyout"), "hash");
    }

    // ------------------------------------------------------------------ fuzz

    function testFuzz_postJobEscrow(uint128 maxPrice, uint8 r, uint16 feeBps, uint128 modelPrice) public {
        maxPrice = uint128(bound(maxPrice, 1, 1_000 ether));
        r = uint8(bound(r, 1, 9));
        feeBps = uint16(bound(feeBps, 0, 2_000));
        modelPrice = uint128(bound(modelPrice, 0, 10 ether));
        ComputeMarketplace.Params memory p = DeployConfig.marketParams();
        p.platformFeeBps = feeBps;
        _setMarketParams(p);
        vm.prank(alice);
        registry.setPrice(modelId, modelPrice);
        uint256 expected = uint256(maxPrice) * r + uint256(maxPrice) * r * feeBps / 10_000 + modelPrice;
        assertEq(market.quote(modelId, maxPrice, r), expected, "quote");
        vm.deal(bob, expected);
        vm.prank(bob);
        uint256 jobId = market.postJob{value: expected}(modelId, "bafy", maxPrice, deadline, r);
        assertEq(market.getJob(jobId).escrow, expected, "escrowed");
        _solvent();
    }

    function testFuzz_postJobDeadline(uint64 offset) public {
        uint256 escrow = market.quote(modelId, MAX_PRICE, 1);
        uint64 d = uint64(bound(offset, 0, 60 days)) + uint64(block.timestamp);
        bool ok = d > block.timestamp && d <= block.timestamp + 30 days;
        if (!ok) vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.InvalidDeadline.selector, d));
        vm.prank(bob);
        market.postJob{value: escrow}(modelId, "bafy", MAX_PRICE, d, 1);
    }

    function testFuzz_commitBeforeDeadlineOnly(uint256 wait) public {
        wait = bound(wait, 0, 2 hours);
        uint256 jobId = _postAndAssign(1);
        vm.warp(block.timestamp + wait);
        bytes32 c = market.commitmentFor(jobId, gpus[0], "bafyout", bytes32(uint256(1)));
        if (block.timestamp > deadline) {
            vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.DeadlinePassed.selector, jobId, deadline));
        }
        vm.prank(gpus[0]);
        market.commitResult(jobId, c);
    }

    /// @dev No one can reveal a result other than the one committed to (copying is useless).
    function testFuzz_revealMustMatchCommitment(string calldata other, bytes32 salt) public {
        vm.assume(bytes(other).length > 0 && bytes(other).length <= 128);
        uint256 jobId = _postAndAssign(2);
        _commit(jobId, 0, "bafyout");
        _commit(jobId, 1, "bafyother");
        bool same = keccak256(bytes(other)) == keccak256("bafyout") && salt == bytes32(uint256(1));
        if (!same) {
            vm.expectRevert(abi.encodeWithSelector(ComputeMarketplace.CommitmentMismatch.selector, jobId, gpus[0]));
        }
        vm.prank(gpus[0]);
        market.revealResult(jobId, other, salt);
    }
}

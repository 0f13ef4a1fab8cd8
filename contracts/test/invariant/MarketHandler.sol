// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Administered} from "../../src/common/Administered.sol";
import {ComputeMarketplace} from "../../src/ComputeMarketplace.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {Test} from "../utils/Test.sol";

/// @notice Drives ComputeMarketplace through random, mostly valid job lifecycles: providers
///         join, stake and unbond; buyers post and cancel jobs; providers apply, are drawn,
///         commit and reveal honest or divergent results or stay silent; anyone finalizes;
///         buyers dispute and the arbiter decides or stays silent; everyone withdraws. Records
///         double withdrawals, gated calls by the wrong party (made in a state where the right
///         party would succeed, and checked to fail for the access reason), and any slash of a
///         provider that revealed the honest result ("bafyA").
contract MarketHandler is Test {
    ComputeMarketplace public immutable market;
    ModelRegistry public immutable registry;
    address public immutable arbiter;
    address public immutable treasury;
    address public immutable modelOwner;
    uint256 public immutable modelId;

    address[] public gpus;
    address[] public buyers;
    address[] internal _everyone;

    bool public doubleWithdrawal;
    bool public unauthorizedSuccess;
    /// @notice A gated call by the wrong party failed for another reason than access.
    bool public wrongRejection;
    /// @notice A provider that revealed the honest result was slashed.
    bool public honestSlashed;
    mapping(bytes32 action => uint256) public calls;

    /// @dev The result each provider committed to in each job (0 = honest "bafyA", 1 = "bafyB").
    mapping(uint256 jobId => mapping(address provider => uint8)) internal _choice;

    constructor(
        ComputeMarketplace market_,
        ModelRegistry registry_,
        address arbiter_,
        address treasury_,
        address modelOwner_,
        uint256 modelId_
    ) {
        market = market_;
        registry = registry_;
        arbiter = arbiter_;
        treasury = treasury_;
        modelOwner = modelOwner_;
        modelId = modelId_;
        for (uint256 i; i < 4; ++i) {
            address g = address(uint160(0xC000 + i));
            gpus.push(g);
            _everyone.push(g);
        }
        for (uint256 i; i < 2; ++i) {
            address b = address(uint160(0xD000 + i));
            buyers.push(b);
            _everyone.push(b);
        }
        _everyone.push(treasury_);
        _everyone.push(modelOwner_);
    }

    function everyone() external view returns (address[] memory) {
        return _everyone;
    }

    function _gpu(uint256 seed) internal view returns (address) {
        return gpus[seed % gpus.length];
    }

    /// @dev One of the three most recent jobs.
    function _jobId(uint256 seed) internal view returns (uint256) {
        uint256 n = market.jobCount();
        if (n == 0) return 0;
        return n - seed % (n < 3 ? n : 3);
    }

    function _cid(uint8 choice) internal pure returns (string memory) {
        return choice == 0 ? "bafyA" : "bafyB";
    }

    // ------------------------------------------------------------------ time

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 1, 1 hours));
        calls["warp"]++;
    }

    // ------------------------------------------------------------------ providers

    function registerProvider(uint256 seed, uint256 stake, uint128 price) external {
        address g = _gpu(seed);
        if (market.getProvider(g).registered) return;
        stake = bound(stake, 1 ether, 3 ether);
        price = uint128(bound(price, 0, 1 ether));
        vm.prank(g);
        market.registerProvider{value: stake}("gpu", 24, price);
        calls["registerProvider"]++;
    }

    function addStake(uint256 seed, uint256 amount) external {
        address g = _gpu(seed);
        if (!market.getProvider(g).registered) return;
        amount = bound(amount, 1, 2 ether);
        vm.prank(g);
        market.addStake{value: amount}();
        calls["addStake"]++;
    }

    function requestUnbond(uint256 seed, uint256 amount) external {
        address g = _gpu(seed);
        uint256 bonded = market.bondedOf(g);
        if (bonded == 0) return;
        // mostly stay above the minimum (keep working); now and then leave altogether
        uint256 min = market.params().minStake;
        amount = amount % 4 == 0 || bonded <= min ? bound(amount, 1, bonded) : bound(amount, 1, bonded - min);
        vm.prank(g);
        try market.requestUnbond(amount) {
            calls["requestUnbond"]++;
        } catch {}
    }

    function withdrawStake(uint256 seed) external {
        address g = _gpu(seed);
        uint64 readyAt = market.stakeOf(g).unbondingReadyAt;
        if (readyAt > block.timestamp && seed % 4 == 0) vm.warp(readyAt); // now and then, wait it out
        vm.prank(g);
        try market.withdrawStake() {
            calls["withdrawStake"]++;
            vm.prank(g);
            try market.withdrawStake() {
                doubleWithdrawal = true;
            } catch {}
        } catch {}
    }

    // ------------------------------------------------------------------ jobs

    function postJob(uint256 buyerSeed, uint8 r, uint128 maxPrice, uint256 duration) external {
        address buyer = buyers[buyerSeed % buyers.length];
        r = uint8(bound(r, 1, 3));
        maxPrice = uint128(bound(maxPrice, 0.5 ether, 1 ether));
        uint256 escrow = market.quote(modelId, maxPrice, r);
        vm.prank(buyer);
        market.postJob{value: escrow}(
            modelId, "bafyinput", maxPrice, uint64(block.timestamp + bound(duration, 1 hours, 2 days)), r
        );
        calls["postJob"]++;
    }

    function cancelJob(uint256 jobSeed) external {
        uint256 id = _jobId(jobSeed);
        if (id == 0 || jobSeed % 4 != 0) return; // buyers rarely cancel
        vm.prank(market.getJob(id).buyer);
        try market.cancelJob(id) {
            calls["cancelJob"]++;
        } catch {}
    }

    /// @dev Providers, starting at a random one, apply for the job.
    function acceptJob(uint256 seed, uint256 jobSeed) external {
        uint256 id = _jobId(jobSeed);
        if (id == 0) return;
        for (uint256 i; i < gpus.length; ++i) {
            vm.prank(_gpu(seed % gpus.length + i));
            try market.acceptJob(id) {
                calls["acceptJob"]++;
            } catch {}
        }
    }

    /// @dev Someone draws the job's providers once its draw block is deep enough.
    function assign(uint256 jobSeed) external {
        uint256 id = _jobId(jobSeed);
        if (id == 0) return;
        ComputeMarketplace.Job memory j = market.getJob(id);
        if (j.status != ComputeMarketplace.JobStatus.Open) return;
        uint256 from = uint256(j.drawBlock) + market.DRAW_CONFIRMATIONS();
        if (block.number < from) vm.roll(from);
        try market.assign(id) {
            calls["assign"]++;
        } catch {}
    }

    /// @dev Every assigned provider of a job commits; `divergent` bits pick who commits "bafyB".
    function commitAll(uint256 jobSeed, uint8 divergent) external {
        uint256 id = _jobId(jobSeed);
        if (id == 0) return;
        ComputeMarketplace.Assignment[] memory as_ = market.getAssignments(id);
        for (uint256 i; i < as_.length; ++i) {
            address g = as_[i].provider;
            if (as_[i].commitment != bytes32(0)) continue;
            uint8 choice = uint8((divergent >> i) & 1);
            bytes32 c = market.commitmentFor(id, g, _cid(choice), bytes32(uint256(uint160(g))));
            vm.prank(g);
            try market.commitResult(id, c) {
                _choice[id][g] = choice;
                calls["commit"]++;
            } catch {}
        }
    }

    /// @dev Every committed provider reveals, except those whose `silent` bit is set.
    function revealAll(uint256 jobSeed, uint8 silent) external {
        uint256 id = _jobId(jobSeed);
        if (id == 0) return;
        ComputeMarketplace.Assignment[] memory as_ = market.getAssignments(id);
        for (uint256 i; i < as_.length; ++i) {
            address g = as_[i].provider;
            if ((silent >> i) & 1 == 1 || as_[i].commitment == bytes32(0) || as_[i].revealed) continue;
            vm.prank(g);
            try market.revealResult(id, _cid(_choice[id][g]), bytes32(uint256(uint160(g)))) {
                calls["reveal"]++;
            } catch {}
        }
    }

    /// @dev Someone finalizes the job; with `wait`, after letting its current window run out.
    function finalize(uint256 jobSeed, bool wait) external {
        uint256 id = _jobId(jobSeed);
        if (id == 0) return;
        if (wait) {
            ComputeMarketplace.Job memory j = market.getJob(id);
            uint256 until;
            if (j.status == ComputeMarketplace.JobStatus.Open) until = j.deadline;
            else if (j.status == ComputeMarketplace.JobStatus.Running) until = j.revealDeadline;
            else if (j.status == ComputeMarketplace.JobStatus.Verifying) until = j.challengeEnd;
            else if (j.status == ComputeMarketplace.JobStatus.Disputed) until = j.challengeEnd;
            if (until >= block.timestamp) vm.warp(until + 1);
        }
        uint256[] memory before = _honestStakes(id);
        try market.finalize(id) {
            calls["finalize"]++;
        } catch {}
        _checkHonest(id, before, false);
    }

    function dispute(uint256 jobSeed) external {
        uint256 id = _jobId(jobSeed);
        if (id == 0) return;
        vm.prank(market.getJob(id).buyer);
        try market.dispute{value: market.getJob(id).terms.disputeBond}(id) {
            calls["dispute"]++;
        } catch {}
    }

    /// @dev The arbiter upholds "bafyA" (the honest result), "bafyB", or neither.
    function resolveDispute(uint256 jobSeed, uint8 ruling) external {
        uint256 id = _jobId(jobSeed);
        if (id == 0) return;
        ruling %= 3;
        bytes32 upheld = ruling == 2 ? bytes32(0) : keccak256(bytes(_cid(ruling)));
        uint256[] memory before = _honestStakes(id);
        vm.prank(arbiter);
        try market.resolveDispute(id, upheld) {
            calls["resolveDispute"]++;
        } catch {}
        // an arbiter that upholds the honest result never has an honest provider slashed
        _checkHonest(id, before, ruling != 0);
    }

    /// @dev Bonded + unbonding stake of each provider of a job that revealed the honest result.
    function _honestStakes(uint256 id) internal view returns (uint256[] memory held) {
        ComputeMarketplace.Assignment[] memory as_ = market.getAssignments(id);
        held = new uint256[](as_.length);
        for (uint256 i; i < as_.length; ++i) {
            if (as_[i].revealed && as_[i].resultHash == keccak256("bafyA")) {
                held[i] = market.stakeOf(as_[i].provider).bonded + market.stakeOf(as_[i].provider).unbonding;
            }
        }
    }

    function _checkHonest(uint256 id, uint256[] memory before, bool wrongRuling) internal {
        if (wrongRuling) return;
        ComputeMarketplace.Assignment[] memory as_ = market.getAssignments(id);
        for (uint256 i; i < before.length; ++i) {
            if (before[i] == 0) continue;
            uint256 now_ = market.stakeOf(as_[i].provider).bonded + market.stakeOf(as_[i].provider).unbonding;
            if (now_ < before[i]) honestSlashed = true;
        }
    }

    /// @dev A whole job in one step, so that every run settles jobs through every path:
    ///      post, apply, draw, commit (bits of `divergent` pick "bafyB"), reveal (bits of
    ///      `silent` stay silent), then finalize after the windows; a single result may be
    ///      disputed, and a dispute is ruled on (three ways) or left to time out.
    function fullJob(uint256 seed, uint8 r, uint8 divergent, uint8 silent, uint8 disputeMode) external {
        r = uint8(bound(r, 1, 3));
        this.postJob(seed, r, 1 ether, 1 days);
        this.acceptJob(seed, 0);
        this.assign(0);
        this.commitAll(0, divergent);
        this.revealAll(0, silent);
        uint256 id = market.jobCount();
        if (market.getJob(id).status == ComputeMarketplace.JobStatus.Verifying && disputeMode % 4 != 0) {
            this.dispute(0);
        }
        if (market.getJob(id).status == ComputeMarketplace.JobStatus.Disputed && disputeMode % 4 != 3) {
            this.resolveDispute(0, disputeMode);
        }
        this.finalize(0, true);
        this.finalize(0, true); // a Running job may pass through Verifying or Disputed
        calls["fullJob"]++;
    }

    /// @dev The admin changes the terms of future jobs (no delay in this deployment); running
    ///      jobs keep theirs.
    function changeParams(uint256 perJob, uint16 feeBps) external {
        ComputeMarketplace.Params memory p = market.params();
        p.stakePerJob = uint128(bound(perJob, 0, 1 ether));
        p.platformFeeBps = uint16(bound(feeBps, 0, 2_000));
        vm.startPrank(arbiter); // the admin of this deployment
        market.scheduleChange(ComputeMarketplace.setParams.selector, abi.encode(p));
        market.setParams(p);
        vm.stopPrank();
        calls["changeParams"]++;
    }

    // ------------------------------------------------------------------ withdrawals

    function withdraw(uint256 who) external {
        address account = _everyone[who % _everyone.length];
        if (market.creditOf(account) == 0) return;
        vm.prank(account);
        market.withdraw();
        vm.prank(account);
        try market.withdraw() {
            doubleWithdrawal = true;
        } catch {}
        calls["withdraw"]++;
    }

    // ------------------------------------------------------------------ gated calls by the wrong party

    /// @dev A gated call by the wrong party, made only in a state where the right party's call
    ///      would pass its other checks, so that it can only fail for access. The revert must be
    ///      the access error.
    function tryGated(uint256 who, uint256 jobSeed, uint8 which) external {
        address caller = _everyone[who % _everyone.length];
        uint256 id = _jobId(jobSeed);
        if (id == 0) return;
        ComputeMarketplace.Job memory j = market.getJob(id);
        uint256 op = which % 5;
        bytes memory call;
        bytes4 expected;
        if (op == 0 && caller != arbiter && j.status == ComputeMarketplace.JobStatus.Disputed) {
            call = abi.encodeCall(ComputeMarketplace.resolveDispute, (id, bytes32(0)));
            expected = IAccessControl.AccessControlUnauthorizedAccount.selector;
        } else if (op == 1 && caller != arbiter) {
            call = abi.encodeCall(ComputeMarketplace.setParams, (market.params()));
            expected = IAccessControl.AccessControlUnauthorizedAccount.selector;
        } else if (op == 2 && caller != arbiter && !market.paused()) {
            call = abi.encodeCall(Administered.pause, ());
            expected = IAccessControl.AccessControlUnauthorizedAccount.selector;
        } else if (
            op == 3 && caller != j.buyer && j.status == ComputeMarketplace.JobStatus.Verifying
                && block.timestamp <= j.challengeEnd
        ) {
            call = abi.encodeCall(ComputeMarketplace.dispute, (id));
            expected = ComputeMarketplace.NotBuyer.selector;
        } else if (
            op == 4 && caller != j.buyer && j.status == ComputeMarketplace.JobStatus.Open
                && market.candidateCount(id) == 0
        ) {
            call = abi.encodeCall(ComputeMarketplace.cancelJob, (id));
            expected = ComputeMarketplace.NotBuyer.selector;
        } else {
            return;
        }
        uint256 value = op == 3 ? j.terms.disputeBond : 0;
        vm.deal(caller, caller.balance + value);
        vm.prank(caller);
        (bool ok, bytes memory ret) = address(market).call{value: value}(call);
        if (ok) unauthorizedSuccess = true;
        else if (ret.length < 4 || bytes4(ret) != expected) wrongRejection = true;
        calls["tryGated"]++;
    }
}

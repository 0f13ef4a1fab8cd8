// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Administered} from "../src/common/Administered.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {CreditLedger} from "../src/common/CreditLedger.sol";
import {StakeLedger} from "../src/common/StakeLedger.sol";
import {IPFSIncentives} from "../src/IPFSIncentives.sol";
import {IIPFSIncentives} from "../src/interfaces/IIPFSIncentives.sol";
import {DeployConfig} from "../script/DeployConfig.sol";
import {Fixtures} from "./utils/Fixtures.sol";

/// @notice Records, funding, providers, pins, rewards and staking of IPFSIncentives.
///         Storage proofs are in IPFSChallenges.t.sol.
contract IPFSIncentivesTest is Fixtures {
    event RecordFunded(uint256 indexed recordId, address indexed funder, uint256 amount, uint256 pool);
    event FundsReclaimed(uint256 indexed recordId, address indexed funder, uint256 amount);
    event ProviderRegistered(address indexed provider, string peerId, uint256 stake);
    event ProviderPeerIdUpdated(address indexed provider, string peerId);
    event PinCommitted(uint256 indexed recordId, address indexed provider, uint64 firstEpoch, uint256 backing);
    event PinDropped(uint256 indexed recordId, address indexed provider, bytes32 reason);
    event PinLeaving(uint256 indexed recordId, address indexed provider, uint64 exitBlock, uint64 exitAt);
    event PinReported(
        uint256 indexed recordId, address indexed provider, uint64 fromEpoch, uint64 toEpoch, uint256 reward
    );
    event UnbondingStarted(address indexed account, uint256 amount, uint256 unbonding, uint64 readyAt);
    event StakeWithdrawn(address indexed account, uint256 amount);

    uint256 internal constant MIN_STAKE = 1 ether;
    // 5220 bytes at 1 gwei per byte-epoch
    uint256 internal constant REWARD = (5 * 1024 + 100) * 1 gwei;
    // the stake a pin of those 5220 bytes needs at 10 gwei per byte
    uint256 internal constant BACKING = (5 * 1024 + 100) * 10 gwei;
    // what `_register` bonds: enough for one pin
    uint256 internal constant STAKE = MIN_STAKE + BACKING;

    address internal p1;
    address internal p2;
    address internal p3;
    address internal p4;
    uint256 internal recordId;
    uint64 internal epoch0;

    function setUp() public {
        _deployAll();
        p1 = makeAddr("p1");
        p2 = makeAddr("p2");
        p3 = makeAddr("p3");
        p4 = makeAddr("p4");
        address[4] memory ps = [p1, p2, p3, p4];
        for (uint256 i; i < 4; ++i) {
            vm.deal(ps[i], 100 ether);
        }
        (, recordId) = _registerModel(alice, 0, 1 ether);
        epoch0 = incentives.currentEpoch();
    }

    function _register(address p) internal {
        vm.prank(p);
        incentives.registerProvider{value: STAKE}("12D3KooWpeer");
    }

    /// @dev Moves to the start of epoch `epoch0 + n`.
    function _toEpoch(uint256 n) internal {
        vm.warp((uint256(epoch0) + n) * EPOCH);
    }

    function _pin(address p) internal {
        _register(p);
        vm.prank(p);
        incentives.commitPin(recordId);
    }

    function _unauthorized(address account, bytes32 role) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, account, role);
    }

    // ------------------------------------------------------------------ setup and admin

    function test_constructor() public {
        assertEq(incentives.epochLength(), EPOCH, "epoch length");
        assertEq(incentives.unbondingDelay(), UNBONDING, "unbonding delay");
        assertEq(incentives.treasury(), treasury, "treasury");
        assertEq(incentives.params().minStake, MIN_STAKE, "min stake");
        IPFSIncentives.Params memory p = DeployConfig.incentivesParams();
        vm.expectRevert(Administered.ZeroAddress.selector);
        new IPFSIncentives(address(0), treasury, 0, address(0), EPOCH, UNBONDING, p);
        vm.expectRevert(Administered.ZeroAddress.selector);
        new IPFSIncentives(admin, address(0), 0, address(0), EPOCH, UNBONDING, p);
        vm.expectRevert(IPFSIncentives.InvalidParams.selector);
        new IPFSIncentives(admin, treasury, 0, address(0), 0, UNBONDING, p);
    }

    function test_setParams() public {
        IPFSIncentives.Params memory p = DeployConfig.incentivesParams();
        p.minStake = 2 ether;
        _setIncentivesParams(p);
        assertEq(incentives.params().minStake, 2 ether, "updated");

        // each field, one at a time, just outside its bound
        for (uint256 field; field < 9; ++field) {
            IPFSIncentives.Params memory bad = DeployConfig.incentivesParams();
            if (field == 0) bad.challengerShareBps = 10_001;
            else if (field == 1) bad.responseWindow = 59;
            else if (field == 2) bad.responseWindow = 1 days + 1;
            else if (field == 3) bad.minStake = 0;
            else if (field == 4) bad.minStake = 1_000_001 ether;
            else if (field == 5) bad.stakePerByte = 1 ether + 1;
            else if (field == 6) bad.challengeBond = 0;
            else if (field == 7) bad.challengeBond = 1_000_001 ether;
            else bad.challengeSlash = 1_000_001 ether;
            vm.prank(admin);
            vm.expectRevert(IPFSIncentives.InvalidParams.selector);
            incentives.setParams(bad);
        }

        vm.expectRevert(_unauthorized(stranger, incentives.DEFAULT_ADMIN_ROLE()));
        vm.prank(stranger);
        incentives.setParams(p);
    }

    function test_setTreasury() public {
        _setTreasury(incentives, bob);
        assertEq(incentives.treasury(), bob, "treasury");
        vm.prank(admin);
        vm.expectRevert(Administered.ZeroAddress.selector);
        incentives.setTreasury(address(0));
        vm.expectRevert(_unauthorized(stranger, incentives.DEFAULT_ADMIN_ROLE()));
        vm.prank(stranger);
        incentives.setTreasury(stranger);
    }

    function test_pause_gatesEntryPointsButNotExitsOrChallenges() public {
        _pin(p1);
        _pin(p2);
        vm.expectRevert(_unauthorized(stranger, incentives.PAUSER_ROLE()));
        vm.prank(stranger);
        incentives.pause();
        vm.prank(admin);
        incentives.pause();

        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(bob);
        incentives.fund{value: 1}(recordId);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(p2);
        incentives.registerProvider{value: MIN_STAKE}("");
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(p1);
        incentives.commitPin(recordId);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(p1);
        incentives.reportPin(recordId);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(address(registry));
        incentives.openRecord("bafy", _defaultSpec(), alice);

        // a pin stays challengeable through a pause
        vm.prank(carol);
        incentives.challenge{value: 0.1 ether}(recordId, p2, keccak256("commitment"));
        // exits keep working
        _leave(p1, recordId);
        vm.prank(p1);
        incentives.requestUnbond(MIN_STAKE);

        vm.expectRevert(_unauthorized(stranger, incentives.PAUSER_ROLE()));
        vm.prank(stranger);
        incentives.unpause();
        vm.prank(admin);
        incentives.unpause();
        vm.prank(bob);
        incentives.fund{value: 1}(recordId);
    }

    // ------------------------------------------------------------------ records

    function test_openRecord_onlyRegistrar() public {
        bytes32 role = incentives.REGISTRAR_ROLE();
        IIPFSIncentives.ContentSpec memory spec = _defaultSpec();
        vm.expectRevert(_unauthorized(stranger, role));
        vm.prank(stranger);
        incentives.openRecord("bafy", spec, stranger);
    }

    function test_openRecord_storesEverything() public view {
        IPFSIncentives.Record memory r = incentives.getRecord(recordId);
        assertEq(r.funder, alice, "funder");
        assertEq(r.replicationTarget, 3, "replication");
        assertEq(r.activePins, 0, "pins");
        assertEq(r.sizeBytes, data.length, "size");
        assertEq(r.leafCount, 6, "leaves");
        assertEq(r.startEpoch, epoch0, "start");
        assertEq(r.endEpoch, epoch0 + 10, "end");
        assertEq(r.merkleRoot, defaultSpec.merkleRoot, "root");
        assertEq(r.rewardPerByteEpoch, 1 gwei, "rate");
        assertEq(r.pool, 1 ether, "pool");
        assertEq(r.contributed, 1 ether, "contributed");
        assertEq(r.cid, "bafymodel", "cid");
        assertEq(incentives.recordCount(), 1, "count");
        assertEq(incentives.totalPools(), 1 ether, "total pools");
    }

    function test_openRecord_validatesSpec() public {
        _grant(incentives, incentives.REGISTRAR_ROLE(), admin);
        vm.startPrank(admin);
        IIPFSIncentives.ContentSpec memory s = _defaultSpec();

        vm.expectRevert(Administered.ZeroAddress.selector);
        incentives.openRecord("bafy", s, address(0));
        vm.expectRevert(IPFSIncentives.EmptyCid.selector);
        incentives.openRecord("", s, alice);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.CidTooLong.selector, 129, 128));
        incentives.openRecord(string(new bytes(129)), s, alice);

        s.sizeBytes = 0;
        vm.expectRevert(IPFSIncentives.ZeroSize.selector);
        incentives.openRecord("bafy", s, alice);
        s = _defaultSpec();
        s.merkleRoot = bytes32(0);
        vm.expectRevert(IPFSIncentives.ZeroRoot.selector);
        incentives.openRecord("bafy", s, alice);
        s = _defaultSpec();
        s.leafCount = 7;
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.LeafCountMismatch.selector, 6, 7));
        incentives.openRecord("bafy", s, alice);
        s = _defaultSpec();
        s.replicationTarget = 0;
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.InvalidReplication.selector, 0, 64));
        incentives.openRecord("bafy", s, alice);
        s.replicationTarget = 65;
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.InvalidReplication.selector, 65, 64));
        incentives.openRecord("bafy", s, alice);
        s = _defaultSpec();
        s.durationEpochs = 0;
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.InvalidDuration.selector, 0, 1_000_000));
        incentives.openRecord("bafy", s, alice);
        s.durationEpochs = 1_000_001;
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.InvalidDuration.selector, 1_000_001, 1_000_000));
        incentives.openRecord("bafy", s, alice);
        vm.stopPrank();
    }

    function test_fund_topsUpPool() public {
        vm.expectEmit(true, true, false, true, address(incentives));
        emit RecordFunded(recordId, bob, 2 ether, 3 ether);
        vm.prank(bob);
        incentives.fund{value: 2 ether}(recordId);
        assertEq(incentives.getRecord(recordId).pool, 3 ether, "pool");
        assertEq(incentives.contributionOf(recordId, bob), 2 ether, "bob's share");
        assertEq(incentives.totalPools(), 3 ether, "total");
    }

    function test_fund_reverts() public {
        vm.prank(bob);
        vm.expectRevert(StakeLedger.ZeroAmount.selector);
        incentives.fund(recordId);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.UnknownRecord.selector, 9));
        incentives.fund{value: 1}(9);
        vm.warp(block.timestamp + 10 * EPOCH);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.RecordExpired.selector, recordId, epoch0 + 10));
        incentives.fund{value: 1}(recordId);
    }

    function test_reclaim_proRataAfterExpiry() public {
        vm.prank(bob);
        incentives.fund{value: 3 ether}(recordId); // alice 1, bob 3
        _pin(p1);
        _toEpoch(2);
        vm.prank(p1);
        incentives.reportPin(recordId); // epoch0 + 1: pool 4 ether - REWARD
        _toEpoch(11); // the record ended at epoch0 + 10, and its grace epoch has passed
        uint256 remaining = 4 ether - REWARD;

        vm.expectEmit(true, true, false, true, address(incentives));
        emit FundsReclaimed(recordId, alice, remaining / 4);
        vm.prank(alice);
        uint256 a = incentives.reclaim(recordId);
        vm.prank(bob);
        uint256 b = incentives.reclaim(recordId);
        assertEq(a, remaining / 4, "alice's quarter");
        assertEq(a + b, remaining, "everything returned, no dust");
        assertEq(incentives.getRecord(recordId).pool, 0, "pool empty");
        assertEq(incentives.totalPools(), 0, "total");
        assertEq(incentives.creditOf(bob), b, "credited");

        // a funder cannot reclaim twice
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NothingToReclaim.selector, recordId, bob));
        incentives.reclaim(recordId);
        vm.prank(bob);
        incentives.withdraw();
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(CreditLedger.NothingToWithdraw.selector, bob));
        incentives.withdraw();
    }

    function test_reclaim_reverts() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ReclaimNotOpen.selector, recordId, epoch0 + 11));
        incentives.reclaim(recordId);
        // the record has ended, but its providers may still report its last epoch
        _toEpoch(10);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ReclaimNotOpen.selector, recordId, epoch0 + 11));
        incentives.reclaim(recordId);
        _toEpoch(11);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NothingToReclaim.selector, recordId, stranger));
        incentives.reclaim(recordId);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.UnknownRecord.selector, 5));
        incentives.reclaim(5);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.UnknownRecord.selector, 5));
        incentives.getRecord(5);
    }

    // ------------------------------------------------------------------ providers

    function test_registerProvider() public {
        vm.expectEmit(true, false, false, true, address(incentives));
        emit ProviderRegistered(p1, "12D3KooWpeer", 2 ether);
        vm.prank(p1);
        incentives.registerProvider{value: 2 ether}("12D3KooWpeer");
        IPFSIncentives.Provider memory p = incentives.getProvider(p1);
        assertTrue(p.registered, "registered");
        assertEq(p.peerId, "12D3KooWpeer", "peer id");
        assertEq(incentives.bondedOf(p1), 2 ether, "stake");
        assertEq(incentives.totalStaked(), 2 ether, "total staked");
    }

    function test_registerProvider_reverts() public {
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.StakeBelowRequired.selector, 1, MIN_STAKE));
        incentives.registerProvider{value: 1}("");
        _register(p1);
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.AlreadyRegistered.selector, p1));
        incentives.registerProvider{value: MIN_STAKE}("");
    }

    function test_setPeerId() public {
        _register(p1);
        vm.expectEmit(true, false, false, true, address(incentives));
        emit ProviderPeerIdUpdated(p1, "/ip4/1.2.3.4/tcp/4001");
        vm.prank(p1);
        incentives.setPeerId("/ip4/1.2.3.4/tcp/4001");
        assertEq(incentives.getProvider(p1).peerId, "/ip4/1.2.3.4/tcp/4001", "peer id");
        vm.prank(p2);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NotRegistered.selector, p2));
        incentives.setPeerId("x");
    }

    function test_addStake() public {
        _register(p1);
        vm.prank(p1);
        incentives.addStake{value: 3 ether}();
        assertEq(incentives.bondedOf(p1), STAKE + 3 ether, "bonded");
        vm.prank(p2);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NotRegistered.selector, p2));
        incentives.addStake{value: 1 ether}();
        vm.prank(p1);
        vm.expectRevert(StakeLedger.ZeroAmount.selector);
        incentives.addStake();
    }

    function test_unbondAndWithdrawStake() public {
        _register(p1);
        uint64 readyAt = uint64(block.timestamp) + UNBONDING;
        vm.expectEmit(true, false, false, true, address(incentives));
        emit UnbondingStarted(p1, STAKE, STAKE, readyAt);
        vm.prank(p1);
        incentives.requestUnbond(STAKE);
        assertEq(incentives.bondedOf(p1), 0, "bonded");
        assertEq(incentives.stakeOf(p1).unbonding, STAKE, "unbonding");

        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(StakeLedger.UnbondingNotReady.selector, readyAt, block.timestamp));
        incentives.withdrawStake();

        vm.warp(readyAt);
        uint256 before = p1.balance;
        vm.expectEmit(true, false, false, true, address(incentives));
        emit StakeWithdrawn(p1, STAKE);
        vm.prank(p1);
        incentives.withdrawStake();
        assertEq(p1.balance - before, STAKE, "paid out");
        assertEq(incentives.totalStaked(), 0, "total");

        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(StakeLedger.NothingUnbonding.selector, p1));
        incentives.withdrawStake();
    }

    function test_requestUnbond_reverts() public {
        _pin(p1);
        vm.startPrank(p1);
        vm.expectRevert(StakeLedger.ZeroAmount.selector);
        incentives.requestUnbond(0);
        vm.expectRevert(abi.encodeWithSelector(StakeLedger.InsufficientBonded.selector, p1, 2 ether, STAKE));
        incentives.requestUnbond(2 ether);
        // the pin's backing is held as well as the minimum
        assertEq(incentives.requiredStake(p1), STAKE, "required");
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.HasActivePins.selector, p1, 1));
        incentives.requestUnbond(1);
        // above what the pins need, unbonding is fine even with pins
        incentives.addStake{value: 1 ether}();
        incentives.requestUnbond(1 ether);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.HasActivePins.selector, p1, 1));
        incentives.requestUnbond(1);
        vm.stopPrank();
        // without pins, everything may go
        _leave(p1, recordId);
        assertEq(incentives.requiredStake(p1), MIN_STAKE, "backing released");
        vm.prank(p1);
        incentives.requestUnbond(STAKE);
    }

    // ------------------------------------------------------------------ pins

    function test_commitPin() public {
        _register(p1);
        vm.expectEmit(true, true, false, true, address(incentives));
        emit PinCommitted(recordId, p1, epoch0 + 1, BACKING);
        vm.prank(p1);
        incentives.commitPin(recordId);
        IPFSIncentives.Pin memory pin = incentives.getPin(recordId, p1);
        assertTrue(pin.active, "active");
        assertEq(pin.nextEpoch, epoch0 + 1, "earns from the next whole epoch");
        assertEq(pin.backing, BACKING, "backing");
        assertEq(pin.nonce, 1, "nonce");
        assertEq(incentives.getProvider(p1).backing, BACKING, "provider backing");
        assertEq(incentives.getRecord(recordId).activePins, 1, "record pins");
        assertEq(incentives.getProvider(p1).activePins, 1, "provider pins");
    }

    function test_commitPin_reverts() public {
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NotRegistered.selector, p1));
        incentives.commitPin(recordId);

        _pin(p1);
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.AlreadyPinned.selector, recordId, p1));
        incentives.commitPin(recordId);
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.UnknownRecord.selector, 7));
        incentives.commitPin(7);

        _pin(p2);
        _pin(p3);
        _register(p4);
        vm.prank(p4);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ReplicationFull.selector, recordId, 3));
        incentives.commitPin(recordId);

        _leave(p3, recordId);
        vm.prank(p4);
        incentives.requestUnbond(1);
        vm.prank(p4);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.StakeBelowRequired.selector, STAKE - 1, STAKE));
        incentives.commitPin(recordId);

        vm.warp(block.timestamp + 10 * EPOCH);
        vm.prank(p4);
        incentives.addStake{value: 1}();
        vm.prank(p4);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.RecordExpired.selector, recordId, epoch0 + 10));
        incentives.commitPin(recordId);
    }

    function test_unpin_givesNoticeThenDrops() public {
        _pin(p1);
        _toEpoch(3);
        uint64 exitBlock = uint64(block.number + 64);
        uint64 exitAt = uint64(block.timestamp + 10 minutes);
        vm.expectEmit(true, true, false, true, address(incentives));
        emit PinLeaving(recordId, p1, exitBlock, exitAt);
        vm.prank(p1);
        incentives.unpin(recordId);
        assertTrue(incentives.getPin(recordId, p1).active, "still pinned, and challengeable");
        assertEq(incentives.getPin(recordId, p1).exitEpoch, epoch0 + 3, "exit epoch");
        // the notice runs in blocks and in time
        vm.roll(exitBlock - 1);
        vm.warp(exitAt);
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ExitNoticeRunning.selector, recordId, exitBlock, exitAt));
        incentives.unpin(recordId);
        vm.roll(exitBlock);
        vm.warp(exitAt - 1);
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ExitNoticeRunning.selector, recordId, exitBlock, exitAt));
        incentives.unpin(recordId);
        // epochs 1 and 2 were earned; the notice epoch and later are not
        _toEpoch(6);
        vm.prank(p1);
        assertEq(incentives.reportPin(recordId), 2 * REWARD, "up to the notice epoch");
        vm.expectEmit(true, true, false, true, address(incentives));
        emit PinDropped(recordId, p1, "voluntary");
        vm.prank(p1);
        incentives.unpin(recordId);
        assertFalse(incentives.getPin(recordId, p1).active, "dropped");
        assertEq(incentives.getRecord(recordId).activePins, 0, "record pins");
        assertEq(incentives.getProvider(p1).activePins, 0, "provider pins");
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NotPinned.selector, recordId, p1));
        incentives.unpin(recordId);
    }

    // ------------------------------------------------------------------ rewards

    function test_reportPin_paysEndedEpochsOnly() public {
        _pin(p1);
        // the commit epoch is never paid, nor the epoch in progress
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NothingToReport.selector, recordId, p1, epoch0 + 1));
        incentives.reportPin(recordId);
        _toEpoch(1);
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NothingToReport.selector, recordId, p1, epoch0 + 1));
        incentives.reportPin(recordId);

        _toEpoch(2);
        vm.expectEmit(true, true, false, true, address(incentives));
        emit PinReported(recordId, p1, epoch0 + 1, epoch0 + 2, REWARD);
        vm.prank(p1);
        uint256 reward = incentives.reportPin(recordId);
        assertEq(reward, REWARD, "size * rate");
        assertEq(incentives.creditOf(p1), REWARD, "credited");
        assertEq(incentives.getRecord(recordId).pool, 1 ether - REWARD, "pool");
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NothingToReport.selector, recordId, p1, epoch0 + 2));
        incentives.reportPin(recordId);

        // epochs accrue: a report pays every epoch ended since the last one
        _toEpoch(5);
        vm.prank(p1);
        assertEq(incentives.reportPin(recordId), 3 * REWARD, "three epochs");
    }

    function test_reportPin_repinForfeitsTheEpochInProgress() public {
        _pin(p1);
        _toEpoch(2);
        vm.prank(p1);
        incentives.reportPin(recordId);
        _leave(p1, recordId);
        vm.prank(p1);
        incentives.commitPin(recordId);
        assertEq(incentives.getPin(recordId, p1).nonce, 2, "a new pin");
        _toEpoch(3);
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NothingToReport.selector, recordId, p1, epoch0 + 3));
        incentives.reportPin(recordId);
        _toEpoch(4);
        vm.prank(p1);
        assertEq(incentives.reportPin(recordId), REWARD, "only epoch0 + 3");
    }

    /// @dev Only whole epochs the pool covers are paid; the rest waits for a top-up.
    function test_reportPin_paysWholeEpochsThePoolCovers() public {
        _grant(incentives, incentives.REGISTRAR_ROLE(), admin);
        vm.deal(admin, 1 ether);
        vm.prank(admin);
        uint256 small = incentives.openRecord{value: REWARD * 3 / 2}("bafysmall", _defaultSpec(), admin);
        _register(p1);
        vm.prank(p1);
        incentives.commitPin(small);
        _toEpoch(4);
        vm.prank(p1);
        assertEq(incentives.reportPin(small), REWARD, "one epoch of the three ended");
        assertEq(incentives.getPin(small, p1).nextEpoch, epoch0 + 2, "the others wait");
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.PoolExhausted.selector, small, REWARD / 2));
        incentives.reportPin(small);
        vm.prank(bob);
        incentives.fund{value: REWARD * 3 / 2}(small);
        vm.prank(p1);
        assertEq(incentives.reportPin(small), 2 * REWARD, "paid once topped up");
    }

    function test_reportPin_reverts() public {
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NotPinned.selector, recordId, p1));
        incentives.reportPin(recordId);

        _pin(p1);
        _toEpoch(2);
        // the admin raises the minimum: p1's pin stands but it cannot report until it tops up
        IPFSIncentives.Params memory p = DeployConfig.incentivesParams();
        p.minStake = 2 ether;
        _setIncentivesParams(p);
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.StakeBelowRequired.selector, STAKE, 2 ether + BACKING));
        incentives.reportPin(recordId);
        vm.prank(p1);
        incentives.addStake{value: 1 ether}();

        // after the record's end, its last epochs are still paid once
        _toEpoch(14);
        vm.prank(p1);
        assertEq(incentives.reportPin(recordId), 9 * REWARD, "epochs 1..9 of the record");
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NothingToReport.selector, recordId, p1, epoch0 + 10));
        incentives.reportPin(recordId);
    }

    function test_withdraw_rewards() public {
        _pin(p1);
        _toEpoch(2);
        vm.prank(p1);
        incentives.reportPin(recordId);
        uint256 before = p1.balance;
        vm.prank(p1);
        incentives.withdraw();
        assertEq(p1.balance - before, REWARD, "paid");
        assertEq(address(incentives).balance, incentives.liabilities(), "solvent");
    }

    // ------------------------------------------------------------------ fuzz

    /// @dev Over any number of epochs and providers, the pool pays exactly what was reported
    ///      and never more than it holds.
    function testFuzz_rewardsAcrossEpochs(uint256 pool, uint8 epochs, uint8 providers, uint256 rate) public {
        pool = bound(pool, 0, 10 ether);
        epochs = uint8(bound(epochs, 1, 12));
        providers = uint8(bound(providers, 1, 3));
        rate = bound(rate, 0, 1e12);
        IIPFSIncentives.ContentSpec memory s = _defaultSpec();
        s.rewardPerByteEpoch = uint128(rate);
        _grant(incentives, incentives.REGISTRAR_ROLE(), admin);
        vm.startPrank(admin);
        vm.deal(admin, pool);
        uint256 id = incentives.openRecord{value: pool}("bafyfuzz", s, admin);
        vm.stopPrank();
        address[3] memory ps = [p1, p2, p3];
        for (uint256 i; i < providers; ++i) {
            _register(ps[i]);
            vm.prank(ps[i]);
            incentives.commitPin(id);
        }
        uint256 perEpoch = uint256(s.sizeBytes) * rate;
        uint256 paid;
        for (uint256 e = 1; e <= epochs; ++e) {
            _toEpoch(e);
            uint64 to = incentives.currentEpoch();
            if (to > epoch0 + 10) to = epoch0 + 10;
            for (uint256 i; i < providers; ++i) {
                if (incentives.getPin(id, ps[i]).nextEpoch >= to) continue;
                if (perEpoch != 0 && incentives.getRecord(id).pool < perEpoch) continue; // exhausted
                vm.prank(ps[i]);
                paid += incentives.reportPin(id);
            }
        }
        // epochs epoch0 + 1 .. min(epochs, 10) - 1 have ended, for each provider; the pool pays
        // whole epochs while it covers one
        uint256 ended = uint256(providers) * ((epochs < 10 ? epochs : 10) - 1);
        uint256 covered = perEpoch == 0 ? ended : pool / perEpoch;
        assertEq(paid, (ended < covered ? ended : covered) * perEpoch, "whole epochs, as far as the pool goes");
        assertEq(incentives.getRecord(id).pool, pool - paid, "pool decreases by what was paid");
        assertEq(address(incentives).balance, incentives.liabilities(), "solvent");
    }

    /// @dev Any split of funding among funders is returned in full after expiry.
    function testFuzz_reclaimReturnsEverything(uint256 a, uint256 b, uint256 c, bool report) public {
        a = bound(a, 1, 50 ether);
        b = bound(b, 1, 50 ether);
        c = bound(c, 1, 50 ether);
        vm.prank(bob);
        incentives.fund{value: a}(recordId);
        vm.prank(carol);
        incentives.fund{value: b}(recordId);
        vm.prank(stranger);
        incentives.fund{value: c}(recordId);
        if (report) {
            _pin(p1);
            _toEpoch(2);
            vm.prank(p1);
            incentives.reportPin(recordId);
        }
        uint256 left = incentives.getRecord(recordId).pool;
        _toEpoch(11);
        uint256 back;
        address[4] memory funders = [alice, bob, carol, stranger];
        for (uint256 i; i < 4; ++i) {
            vm.prank(funders[i]);
            back += incentives.reclaim(recordId);
        }
        assertEq(back, left, "all unspent funds returned");
        assertEq(incentives.totalPools(), 0, "no pool left");
        assertEq(address(incentives).balance, incentives.liabilities(), "solvent");
    }

    /// @dev Reports in the same epoch never pay twice, whatever the timing inside the epoch.
    function testFuzz_duplicateReportSameEpoch(uint256 offset1, uint256 offset2) public {
        _pin(p1);
        uint256 epochStart = uint256(epoch0 + 2) * EPOCH;
        offset1 = bound(offset1, 0, EPOCH - 1);
        offset2 = bound(offset2, offset1, EPOCH - 1);
        vm.warp(epochStart + offset1);
        vm.prank(p1);
        incentives.reportPin(recordId);
        vm.warp(epochStart + offset2);
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NothingToReport.selector, recordId, p1, epoch0 + 2));
        incentives.reportPin(recordId);
        assertEq(incentives.creditOf(p1), REWARD, "paid once");
    }

    /// @dev Stake can only leave after the unbonding delay, whatever the amounts and timing.
    function testFuzz_unbondingDelay(uint256 stake, uint256 amount, uint256 wait) public {
        stake = bound(stake, MIN_STAKE, 50 ether);
        amount = bound(amount, 1, stake);
        wait = bound(wait, 0, 2 * UNBONDING);
        vm.prank(p1);
        incentives.registerProvider{value: stake}("");
        vm.prank(p1);
        incentives.requestUnbond(amount);
        vm.warp(block.timestamp + wait);
        if (wait < UNBONDING) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    StakeLedger.UnbondingNotReady.selector, uint64(block.timestamp - wait + UNBONDING), block.timestamp
                )
            );
        }
        vm.prank(p1);
        incentives.withdrawStake();
        assertEq(incentives.totalStaked(), wait < UNBONDING ? stake : stake - amount, "stake");
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Administered} from "../src/common/Administered.sol";
import {ComputeMarketplace} from "../src/ComputeMarketplace.sol";
import {IPFSIncentives} from "../src/IPFSIncentives.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IModelRegistry} from "../src/interfaces/IModelRegistry.sol";
import {DeployConfig} from "../script/DeployConfig.sol";
import {Test} from "./utils/Test.sol";

/// @notice Audit finding 11: the admin's changes go through a timelock, parameters have bounds,
///         and the admin role moves in two steps. Against a default deployment (2-day delay).
contract AdminTimelockTest is Test {
    event ChangeScheduled(bytes32 indexed change, bytes4 indexed setter, bytes args, uint64 readyAt);
    event AdminTransferred(address indexed previous, address indexed current);

    uint64 internal constant DELAY = DeployConfig.CHANGE_DELAY;

    IPFSIncentives internal incentives;
    ModelRegistry internal registry;
    ComputeMarketplace internal market;
    address internal admin = address(0xAD);
    address internal treasury = address(0x7E);
    address internal next = address(0x11);
    address internal stranger = address(0x55);

    function setUp() public {
        vm.warp(1_700_000_000);
        incentives =
            new IPFSIncentives(admin, treasury, DELAY, address(0), 1 hours, 7 days, DeployConfig.incentivesParams());
        registry = new ModelRegistry(admin, treasury, DELAY, incentives, 0.01 ether);
        market = new ComputeMarketplace(
            admin, treasury, DELAY, admin, IModelRegistry(address(registry)), 7 days, DeployConfig.marketParams()
        );
    }

    function _id(bytes4 setter, bytes memory args) internal view returns (bytes32) {
        return keccak256(abi.encode(setter, args, incentives.admin()));
    }

    /// @dev The attack the finding describes: the admin raises a fee (or a slash, or moves the
    ///      treasury) at once, under users who committed to the old terms. Now nothing changes
    ///      without a public schedule and a two-day wait.
    function test_finding11_noChangeWithoutNotice() public {
        bytes32 fee = _id(ModelRegistry.setRegistrationFee.selector, abi.encode(10 ether));
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(Administered.ChangeNotReady.selector, fee, 0));
        registry.setRegistrationFee(10 ether);

        IPFSIncentives.Params memory p = DeployConfig.incentivesParams();
        p.challengeSlash = 100 ether;
        bytes32 params = _id(IPFSIncentives.setParams.selector, abi.encode(p));
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(Administered.ChangeNotReady.selector, params, 0));
        incentives.setParams(p);

        // nor can it hand the arbiter's power (it decides slashes) to a friend at once
        bytes32 arbiterRole = market.ARBITER_ROLE();
        bytes32 grant = _id(Administered.grantRole.selector, abi.encode(arbiterRole, stranger));
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(Administered.ChangeNotReady.selector, grant, 0));
        market.grantRole(arbiterRole, stranger);

        bytes32 moved = _id(Administered.setTreasury.selector, abi.encode(stranger));
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(Administered.ChangeNotReady.selector, moved, 0));
        market.setTreasury(stranger);
    }

    function test_scheduledChange_appliesAfterTheDelayOnly() public {
        ComputeMarketplace.Params memory p = DeployConfig.marketParams();
        p.platformFeeBps = 2_000;
        bytes memory args = abi.encode(p);
        bytes32 change = _id(ComputeMarketplace.setParams.selector, args);
        uint64 readyAt = uint64(block.timestamp) + DELAY;

        bytes32 adminRole = market.DEFAULT_ADMIN_ROLE();
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, adminRole)
        );
        market.scheduleChange(ComputeMarketplace.setParams.selector, args);

        vm.expectEmit(true, true, false, true, address(market));
        emit ChangeScheduled(change, ComputeMarketplace.setParams.selector, args, readyAt);
        vm.prank(admin);
        market.scheduleChange(ComputeMarketplace.setParams.selector, args);
        assertEq(market.changeReadyAt(change), readyAt, "ready at");

        vm.warp(readyAt - 1);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(Administered.ChangeNotReady.selector, change, readyAt));
        market.setParams(p);
        // only the scheduled value: another one is not ready
        ComputeMarketplace.Params memory other = DeployConfig.marketParams();
        other.platformFeeBps = 1_999;
        bytes32 otherId = _id(ComputeMarketplace.setParams.selector, abi.encode(other));
        vm.warp(readyAt);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(Administered.ChangeNotReady.selector, otherId, 0));
        market.setParams(other);

        vm.prank(admin);
        market.setParams(p);
        assertEq(market.params().platformFeeBps, 2_000, "applied");
        // once: a schedule is consumed
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(Administered.ChangeNotReady.selector, change, 0));
        market.setParams(p);
    }

    function test_cancelChange() public {
        bytes memory args = abi.encode(uint256(1 ether));
        bytes32 change = _id(ModelRegistry.setRegistrationFee.selector, args);
        vm.prank(admin);
        registry.scheduleChange(ModelRegistry.setRegistrationFee.selector, args);
        vm.prank(stranger);
        vm.expectRevert();
        registry.cancelChange(change);
        vm.prank(admin);
        registry.cancelChange(change);
        vm.warp(block.timestamp + DELAY);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(Administered.ChangeNotReady.selector, change, 0));
        registry.setRegistrationFee(1 ether);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(Administered.ChangeNotReady.selector, change, 0));
        registry.cancelChange(change);
    }

    function test_adminMovesInTwoSteps() public {
        bytes32 role = incentives.DEFAULT_ADMIN_ROLE();
        vm.startPrank(admin);
        vm.expectRevert(Administered.AdminRoleMovesByTransfer.selector);
        incentives.grantRole(role, next);
        vm.expectRevert(Administered.AdminRoleMovesByTransfer.selector);
        incentives.revokeRole(role, admin);
        vm.expectRevert(Administered.AdminRoleMovesByTransfer.selector);
        incentives.renounceRole(role, admin);
        incentives.transferAdmin(next);
        vm.stopPrank();

        bytes32 change = _id(Administered.transferAdmin.selector, abi.encode(next));
        uint64 readyAt = uint64(block.timestamp) + DELAY;
        vm.prank(next);
        vm.expectRevert(abi.encodeWithSelector(Administered.ChangeNotReady.selector, change, readyAt));
        incentives.acceptAdmin();
        vm.warp(readyAt);
        bytes32 notOffered = _id(Administered.transferAdmin.selector, abi.encode(stranger));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Administered.ChangeNotReady.selector, notOffered, 0));
        incentives.acceptAdmin();

        vm.expectEmit(true, true, false, false, address(incentives));
        emit AdminTransferred(admin, next);
        vm.prank(next);
        incentives.acceptAdmin();
        assertTrue(incentives.hasRole(role, next), "new admin");
        assertFalse(incentives.hasRole(role, admin), "old admin out");
        assertTrue(incentives.hasRole(incentives.PAUSER_ROLE(), next), "the pauser role moves too");
        assertFalse(incentives.hasRole(incentives.PAUSER_ROLE(), admin), "old admin cannot pause");
        assertEq(incentives.admin(), next, "admin()");
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, admin, role));
        incentives.transferAdmin(admin);
    }

    /// @dev The review's M3: a change the old admin scheduled (another transfer, a parameter)
    ///      dies with the handover, and a ready change lapses after the grace period.
    function test_schedulesDieWithTheAdminAndLapse() public {
        address mallory = address(0xBAD);
        vm.startPrank(admin);
        incentives.transferAdmin(mallory);
        incentives.transferAdmin(next);
        incentives.scheduleChange(Administered.setTreasury.selector, abi.encode(mallory));
        vm.stopPrank();
        vm.warp(block.timestamp + DELAY);
        vm.prank(next);
        incentives.acceptAdmin();
        vm.warp(block.timestamp + 365 days);
        vm.prank(mallory);
        vm.expectRevert();
        incentives.acceptAdmin();
        assertEq(incentives.admin(), next, "still next");
        vm.prank(next);
        vm.expectRevert();
        incentives.setTreasury(mallory);

        // a ready change lapses CHANGE_GRACE after it became ready
        bytes memory args = abi.encode(uint256(1 ether));
        vm.prank(admin);
        registry.scheduleChange(ModelRegistry.setRegistrationFee.selector, args);
        bytes32 change = _id2(registry, ModelRegistry.setRegistrationFee.selector, args);
        uint64 readyAt = uint64(block.timestamp) + DELAY;
        vm.warp(uint256(readyAt) + 14 days + 1);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(Administered.ChangeExpired.selector, change, readyAt));
        registry.setRegistrationFee(1 ether);
    }

    function _id2(Administered target, bytes4 setter, bytes memory args) internal view returns (bytes32) {
        return keccak256(abi.encode(setter, args, target.admin()));
    }

    function test_delayIsBounded() public {
        vm.expectRevert(abi.encodeWithSelector(Administered.InvalidDelay.selector, 30 days + 1));
        new ModelRegistry(admin, treasury, 30 days + 1, incentives, 0);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.FeeTooHigh.selector, 100 ether + 1, 100 ether));
        new ModelRegistry(admin, treasury, DELAY, incentives, 100 ether + 1);
        assertEq(registry.changeDelay(), DELAY, "default deployment: two days");
    }
}

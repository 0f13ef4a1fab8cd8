// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Administered} from "../src/common/Administered.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {CreditLedger} from "../src/common/CreditLedger.sol";
import {IPFSIncentives} from "../src/IPFSIncentives.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IIPFSIncentives} from "../src/interfaces/IIPFSIncentives.sol";
import {Fixtures} from "./utils/Fixtures.sol";

contract ModelRegistryTest is Fixtures {
    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        string name,
        string framework,
        string metadataURI,
        uint128 pricePerUse,
        bool permissioned
    );
    event ModelVersionAdded(uint256 indexed modelId, uint32 indexed version, string cid, uint256 pinRecordId);
    event ModelActiveChanged(uint256 indexed modelId, bool active);
    event ModelPriceChanged(uint256 indexed modelId, uint128 pricePerUse);
    event ModelMetadataChanged(uint256 indexed modelId, string metadataURI);
    event ModelAccessModeChanged(uint256 indexed modelId, bool permissioned);
    event AccessGranted(uint256 indexed modelId, address indexed user);
    event AccessRevoked(uint256 indexed modelId, address indexed user);
    event ModelOwnershipOffered(uint256 indexed modelId, address indexed owner, address indexed offeredTo);
    event ModelOwnershipTransferred(uint256 indexed modelId, address indexed previousOwner, address indexed newOwner);
    event RegistrationFeeUpdated(uint256 previous, uint256 current);
    event TreasuryUpdated(address indexed previous, address indexed current);

    function setUp() public {
        _deployAll();
    }

    // ------------------------------------------------------------------ constructor, admin

    function test_constructor_setsRolesAndConfig() public view {
        assertTrue(registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), admin), "admin role");
        assertTrue(registry.hasRole(registry.PAUSER_ROLE(), admin), "pauser role");
        assertEq(registry.treasury(), treasury, "treasury");
        assertEq(registry.registrationFee(), FEE, "fee");
        assertEq(address(registry.incentives()), address(incentives), "incentives");
    }

    function test_constructor_revertsOnZeroAddresses() public {
        vm.expectRevert(Administered.ZeroAddress.selector);
        new ModelRegistry(address(0), treasury, 0, incentives, FEE);
        vm.expectRevert(Administered.ZeroAddress.selector);
        new ModelRegistry(admin, address(0), 0, incentives, FEE);
        vm.expectRevert(Administered.ZeroAddress.selector);
        new ModelRegistry(admin, treasury, 0, IIPFSIncentives(address(0)), FEE);
    }

    function test_setRegistrationFee() public {
        vm.prank(admin);
        registry.scheduleChange(ModelRegistry.setRegistrationFee.selector, abi.encode(1 ether));
        vm.expectEmit(false, false, false, true, address(registry));
        emit RegistrationFeeUpdated(FEE, 1 ether);
        vm.prank(admin);
        registry.setRegistrationFee(1 ether);
        assertEq(registry.registrationFee(), 1 ether, "fee");
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.FeeTooHigh.selector, 100 ether + 1, 100 ether));
        registry.setRegistrationFee(100 ether + 1);
    }

    function test_setRegistrationFee_revertsForNonAdmin() public {
        vm.expectRevert(_unauthorized(stranger, registry.DEFAULT_ADMIN_ROLE()));
        vm.prank(stranger);
        registry.setRegistrationFee(0);
    }

    function test_setTreasury() public {
        vm.prank(admin);
        registry.scheduleChange(Administered.setTreasury.selector, abi.encode(bob));
        vm.expectEmit(true, true, false, true, address(registry));
        emit TreasuryUpdated(treasury, bob);
        vm.prank(admin);
        registry.setTreasury(bob);
        assertEq(registry.treasury(), bob, "treasury");
    }

    function test_setTreasury_reverts() public {
        vm.prank(admin);
        vm.expectRevert(Administered.ZeroAddress.selector);
        registry.setTreasury(address(0));
        vm.expectRevert(_unauthorized(stranger, registry.DEFAULT_ADMIN_ROLE()));
        vm.prank(stranger);
        registry.setTreasury(bob);
    }

    function test_pause_blocksRegistrationAndVersions() public {
        (uint256 id,) = _registerModel(alice, 0, 0);
        vm.prank(admin);
        registry.pause();
        vm.prank(alice);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        registry.registerModel{value: FEE}(_input("m", 0, false), "bafy2", _defaultSpec());
        vm.prank(alice);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        registry.addVersion{value: FEE}(id, "bafy2", _defaultSpec(), FEE);
        // everything else keeps working
        vm.prank(alice);
        registry.setPrice(id, 5);
        vm.prank(admin);
        registry.unpause();
        vm.prank(alice);
        registry.addVersion{value: FEE}(id, "bafy2", _defaultSpec(), FEE);
    }

    function test_pause_revertsForNonPauser() public {
        bytes32 role = registry.PAUSER_ROLE();
        vm.expectRevert(_unauthorized(stranger, role));
        vm.prank(stranger);
        registry.pause();
        vm.prank(admin);
        registry.pause();
        vm.expectRevert(_unauthorized(stranger, role));
        vm.prank(stranger);
        registry.unpause();
    }

    // ------------------------------------------------------------------ registration

    function test_registerModel_storesModelAndOpensRecord() public {
        IIPFSIncentives.ContentSpec memory spec = _defaultSpec();
        vm.expectEmit(true, true, false, true, address(registry));
        emit ModelRegistered(1, alice, "llama", "pytorch", "ipfs://bafymeta", 7, false);
        vm.expectEmit(true, true, false, true, address(registry));
        emit ModelVersionAdded(1, 1, "bafymodel", 1);
        vm.prank(alice);
        uint256 id = registry.registerModel{value: FEE + 2 ether}(_input("llama", 7, false), "bafymodel", spec);

        assertEq(id, 1, "id");
        assertEq(registry.modelCount(), 1, "count");
        ModelRegistry.Model memory m = registry.getModel(id);
        assertEq(m.owner, alice, "owner");
        assertTrue(m.active, "active");
        assertFalse(m.permissioned, "public");
        assertEq(m.versionCount, 1, "versions");
        assertEq(m.createdAt, START_TIME, "createdAt");
        assertEq(m.pricePerUse, 7, "price");
        assertEq(m.name, "llama", "name");
        assertEq(m.framework, "pytorch", "framework");
        assertEq(m.metadataURI, "ipfs://bafymeta", "uri");

        ModelRegistry.Version memory v = registry.getVersion(id, 1);
        assertEq(v.cid, "bafymodel", "cid");
        assertEq(v.pinRecordId, 1, "record");
        IPFSIncentives.Record memory r = incentives.getRecord(v.pinRecordId);
        assertEq(r.cid, "bafymodel", "record cid");
        assertEq(r.funder, alice, "record funder");
        assertEq(r.pool, 2 ether, "record pool");
        assertEq(r.merkleRoot, spec.merkleRoot, "record root");
        assertEq(incentives.contributionOf(1, alice), 2 ether, "contribution");

        assertEq(registry.creditOf(treasury), FEE, "treasury credit");
        assertEq(address(registry).balance, FEE, "registry holds the fee");
        assertEq(registry.liabilities(), address(registry).balance, "solvent");
    }

    function test_registerModel_revertsOnBadInput() public {
        IIPFSIncentives.ContentSpec memory spec = _defaultSpec();
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.EmptyField.selector, bytes32("name")));
        registry.registerModel{value: FEE}(_input("", 0, false), "bafy", spec);

        ModelRegistry.ModelInput memory input = _input("m", 0, false);
        input.framework = "";
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.EmptyField.selector, bytes32("framework")));
        registry.registerModel{value: FEE}(input, "bafy", spec);

        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.EmptyField.selector, bytes32("cid")));
        registry.registerModel{value: FEE}(_input("m", 0, false), "", spec);

        string memory long = string(new bytes(129));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.FieldTooLong.selector, bytes32("name"), 129, 128));
        registry.registerModel{value: FEE}(_input(long, 0, false), "bafy", spec);

        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.FieldTooLong.selector, bytes32("cid"), 129, 128));
        registry.registerModel{value: FEE}(_input("m", 0, false), long, spec);

        input = _input("m", 0, false);
        input.framework = string(new bytes(65));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.FieldTooLong.selector, bytes32("framework"), 65, 64));
        registry.registerModel{value: FEE}(input, "bafy", spec);

        input = _input("m", 0, false);
        input.metadataURI = string(new bytes(513));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.FieldTooLong.selector, bytes32("metadataURI"), 513, 512));
        registry.registerModel{value: FEE}(input, "bafy", spec);

        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.InsufficientFee.selector, FEE, FEE - 1));
        registry.registerModel{value: FEE - 1}(_input("m", 0, false), "bafy", spec);

        // the incentives contract's checks apply to the version's record
        spec.leafCount = 1;
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.LeafCountMismatch.selector, 6, 1));
        registry.registerModel{value: FEE}(_input("m", 0, false), "bafy", spec);
        vm.stopPrank();
    }

    function test_registerModel_revertsWithoutRegistrarRole() public {
        bytes32 role = incentives.REGISTRAR_ROLE();
        vm.prank(admin);
        incentives.revokeRole(role, address(registry));
        vm.expectRevert(_unauthorized(address(registry), role));
        vm.prank(alice);
        registry.registerModel{value: FEE}(_input("m", 0, false), "bafy", _defaultSpec());
    }

    function test_addVersion_keepsHistory() public {
        (uint256 id,) = _registerModel(alice, 0, 0);
        vm.expectEmit(true, true, false, true, address(registry));
        emit ModelVersionAdded(id, 2, "bafyv2", 2);
        vm.prank(alice);
        uint32 version = registry.addVersion{value: FEE + 1 ether}(id, "bafyv2", _defaultSpec(), FEE);
        assertEq(version, 2, "version");
        assertEq(registry.getVersion(id, 1).cid, "bafymodel", "v1 kept");
        assertEq(registry.latestVersion(id).cid, "bafyv2", "latest");
        assertEq(registry.latestVersion(id).pinRecordId, 2, "record of v2");
        assertEq(incentives.getRecord(2).pool, 1 ether, "v2 pool");
        assertEq(registry.creditOf(treasury), 2 * FEE, "two fees");
    }

    function test_addVersion_reverts() public {
        (uint256 id,) = _registerModel(alice, 0, 0);
        IIPFSIncentives.ContentSpec memory spec = _defaultSpec();
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, bob));
        registry.addVersion{value: FEE}(id, "x", spec, FEE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, 99));
        registry.addVersion{value: FEE}(99, "x", spec, FEE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.InsufficientFee.selector, FEE, 0));
        registry.addVersion(id, "x", spec, FEE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.EmptyField.selector, bytes32("cid")));
        registry.addVersion{value: FEE}(id, "", spec, FEE);
    }

    // ------------------------------------------------------------------ owner settings

    function test_setActive() public {
        (uint256 id,) = _registerModel(alice, 0, 0);
        vm.expectEmit(true, false, false, true, address(registry));
        emit ModelActiveChanged(id, false);
        vm.prank(alice);
        registry.setActive(id, false);
        assertFalse(registry.getModel(id).active, "inactive");
        assertFalse(registry.canUse(id, bob), "inactive model is unusable");
        vm.prank(alice);
        registry.setActive(id, true);
        assertTrue(registry.canUse(id, bob), "active again");
    }

    function test_setActive_reverts() public {
        (uint256 id,) = _registerModel(alice, 0, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.AlreadyInState.selector, id));
        registry.setActive(id, true);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, bob));
        registry.setActive(id, false);
    }

    function test_setPrice() public {
        (uint256 id,) = _registerModel(alice, 1, 0);
        vm.expectEmit(true, false, false, true, address(registry));
        emit ModelPriceChanged(id, 42);
        vm.prank(alice);
        registry.setPrice(id, 42);
        assertEq(registry.priceOf(id), 42, "price");
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, bob));
        registry.setPrice(id, 0);
    }

    function test_setMetadataURI() public {
        (uint256 id,) = _registerModel(alice, 0, 0);
        vm.expectEmit(true, false, false, true, address(registry));
        emit ModelMetadataChanged(id, "ipfs://new");
        vm.prank(alice);
        registry.setMetadataURI(id, "ipfs://new");
        assertEq(registry.getModel(id).metadataURI, "ipfs://new", "uri");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.FieldTooLong.selector, bytes32("metadataURI"), 513, 512));
        registry.setMetadataURI(id, string(new bytes(513)));
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, bob));
        registry.setMetadataURI(id, "x");
    }

    function test_accessControl_permissionedModel() public {
        (uint256 id,) = _registerModel(alice, 0, 0);
        vm.expectEmit(true, false, false, true, address(registry));
        emit ModelAccessModeChanged(id, true);
        vm.prank(alice);
        registry.setPermissioned(id, true);
        assertFalse(registry.canUse(id, bob), "not on the list");
        assertTrue(registry.canUse(id, alice), "owner always may");

        vm.expectEmit(true, true, false, true, address(registry));
        emit AccessGranted(id, bob);
        vm.prank(alice);
        registry.grantAccess(id, bob);
        assertTrue(registry.hasAccess(id, bob), "listed");
        assertTrue(registry.canUse(id, bob), "granted");

        vm.expectEmit(true, true, false, true, address(registry));
        emit AccessRevoked(id, bob);
        vm.prank(alice);
        registry.revokeAccess(id, bob);
        assertFalse(registry.canUse(id, bob), "revoked");

        vm.prank(alice);
        registry.setPermissioned(id, false);
        assertTrue(registry.canUse(id, bob), "public again");
    }

    function test_accessControl_reverts() public {
        (uint256 id,) = _registerModel(alice, 0, 0);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.AlreadyInState.selector, id));
        registry.setPermissioned(id, false);
        vm.expectRevert(Administered.ZeroAddress.selector);
        registry.grantAccess(id, address(0));
        registry.grantAccess(id, bob);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.AlreadyInState.selector, id));
        registry.grantAccess(id, bob);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.AlreadyInState.selector, id));
        registry.revokeAccess(id, carol);
        vm.stopPrank();
        vm.startPrank(bob);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, bob));
        registry.setPermissioned(id, true);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, bob));
        registry.grantAccess(id, bob);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, bob));
        registry.revokeAccess(id, bob);
        vm.stopPrank();
    }

    function test_transferModelOwnership_twoSteps() public {
        (uint256 id,) = _registerModel(alice, 0, 0);
        vm.expectEmit(true, true, true, true, address(registry));
        emit ModelOwnershipOffered(id, alice, bob);
        vm.prank(alice);
        registry.transferModelOwnership(id, bob);
        assertEq(registry.ownerOf(id), alice, "an offer does not move the model");
        assertEq(registry.pendingOwner(id), bob, "offered");
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, carol));
        registry.acceptModelOwnership(id);
        vm.expectEmit(true, true, true, true, address(registry));
        emit ModelOwnershipTransferred(id, alice, bob);
        vm.prank(bob);
        registry.acceptModelOwnership(id);
        assertEq(registry.ownerOf(id), bob, "owner");
        assertEq(registry.pendingOwner(id), address(0), "offer consumed");
        assertEq(registry.modelCountOf(alice), 0, "alice has none");
        assertEq(registry.modelCountOf(bob), 1, "bob has one");
        assertEq(registry.modelsOf(bob, 0, 10)[0], id, "bob's list");
        // the old owner lost its rights
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, alice));
        registry.setPrice(id, 1);
    }

    /// @dev Low finding: the registration fee was read at execution; a caller now names the
    ///      most it agrees to pay, so a fee raised before its transaction lands cannot take more.
    function test_maxFee() public {
        _setRegistrationFee(1 ether);
        ModelRegistry.ModelInput memory input = _input("m", 0, false);
        input.maxFee = FEE;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.FeeAboveMax.selector, 1 ether, FEE));
        registry.registerModel{value: 2 ether}(input, "bafy", _defaultSpec());
        input.maxFee = 1 ether;
        vm.prank(alice);
        uint256 id = registry.registerModel{value: 2 ether}(input, "bafy", _defaultSpec());
        IIPFSIncentives.ContentSpec memory spec = _defaultSpec();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.FeeAboveMax.selector, 1 ether, 0.5 ether));
        registry.addVersion{value: 2 ether}(id, "bafy2", spec, 0.5 ether);
    }

    function test_transferModelOwnership_reverts() public {
        (uint256 id,) = _registerModel(alice, 0, 0);
        vm.startPrank(alice);
        vm.expectRevert(Administered.ZeroAddress.selector);
        registry.transferModelOwnership(id, address(0));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.AlreadyInState.selector, id));
        registry.transferModelOwnership(id, alice);
        vm.stopPrank();
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, bob));
        registry.transferModelOwnership(id, bob);
    }

    // ------------------------------------------------------------------ views

    function test_views_unknownModelAndVersion() public {
        (uint256 id,) = _registerModel(alice, 0, 0);
        assertFalse(registry.canUse(99, alice), "unknown model is unusable");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, 99));
        registry.ownerOf(99);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, 99));
        registry.priceOf(99);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, 99));
        registry.getModel(99);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, 99));
        registry.latestVersion(99);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownVersion.selector, id, 0));
        registry.getVersion(id, 0);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownVersion.selector, id, 2));
        registry.getVersion(id, 2);
    }

    function test_paging_byOwnerAndAll() public {
        for (uint256 i; i < 5; ++i) {
            _registerModel(i % 2 == 0 ? alice : bob, uint128(i), 0);
        }
        uint256[] memory ids = registry.modelsOf(alice, 0, 10);
        assertEq(ids.length, 3, "alice has 3");
        assertEq(ids[0], 1, "first");
        assertEq(ids[2], 5, "last");
        ids = registry.modelsOf(alice, 1, 1);
        assertEq(ids.length, 1, "page of one");
        assertEq(ids[0], 3, "second model");
        assertEq(registry.modelsOf(alice, 3, 10).length, 0, "past the end");

        ModelRegistry.Model[] memory page = registry.listModels(1, 3);
        assertEq(page.length, 3, "page");
        assertEq(page[0].pricePerUse, 1, "model 2");
        assertEq(page[2].pricePerUse, 3, "model 4");
        assertEq(registry.listModels(4, 100).length, 1, "tail");
        assertEq(registry.listModels(5, 100).length, 0, "empty");

        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.PageTooLarge.selector, 101, 100));
        registry.listModels(0, 101);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.PageTooLarge.selector, 101, 100));
        registry.modelsOf(alice, 0, 101);
    }

    // ------------------------------------------------------------------ fees

    function test_withdraw_feesOnceOnly() public {
        _registerModel(alice, 0, 0);
        uint256 before = treasury.balance;
        vm.prank(treasury);
        registry.withdraw();
        assertEq(treasury.balance - before, FEE, "treasury paid");
        vm.prank(treasury);
        vm.expectRevert(abi.encodeWithSelector(CreditLedger.NothingToWithdraw.selector, treasury));
        registry.withdraw();
    }

    // ------------------------------------------------------------------ fuzz

    function testFuzz_registrationSplitsFeeAndPool(uint256 fee, uint256 extra) public {
        fee = bound(fee, 0, 10 ether);
        extra = bound(extra, 0, 100 ether);
        _setRegistrationFee(fee);
        vm.prank(alice);
        uint256 id = registry.registerModel{value: fee + extra}(_input("m", 0, false), "bafy", _defaultSpec());
        assertEq(registry.creditOf(treasury), fee, "fee to treasury");
        assertEq(incentives.getRecord(registry.latestVersion(id).pinRecordId).pool, extra, "rest to the pool");
        assertEq(address(registry).balance, registry.totalCredits(), "registry solvent");
        assertEq(address(incentives).balance, incentives.liabilities(), "incentives solvent");
    }

    function testFuzz_insufficientFeeReverts(uint256 fee, uint256 sent) public {
        fee = bound(fee, 1, 10 ether);
        sent = bound(sent, 0, fee - 1);
        _setRegistrationFee(fee);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.InsufficientFee.selector, fee, sent));
        registry.registerModel{value: sent}(_input("m", 0, false), "bafy", _defaultSpec());
    }

    function testFuzz_canUse(bool permissioned, bool active, bool granted, uint8 who) public {
        (uint256 id,) = _registerModel(alice, 0, 0);
        vm.startPrank(alice);
        if (permissioned) registry.setPermissioned(id, true);
        if (!active) registry.setActive(id, false);
        if (granted) registry.grantAccess(id, bob);
        vm.stopPrank();
        address user = [alice, bob, carol][who % 3];
        bool expected = active && (!permissioned || user == alice || (user == bob && granted));
        assertEq(registry.canUse(id, user), expected, "canUse");
    }

    function _unauthorized(address account, bytes32 role) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, account, role);
    }
}

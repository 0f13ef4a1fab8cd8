// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Administered} from "../../src/common/Administered.sol";
import {ComputeMarketplace} from "../../src/ComputeMarketplace.sol";
import {IPFSIncentives} from "../../src/IPFSIncentives.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {IIPFSIncentives} from "../../src/interfaces/IIPFSIncentives.sol";
import {IModelRegistry} from "../../src/interfaces/IModelRegistry.sol";
import {DeployConfig} from "../../script/DeployConfig.sol";
import {MerkleTree} from "./MerkleTree.sol";
import {Test} from "./Test.sol";

/// @title Fixtures
/// @notice The three contracts deployed and wired as on a dev chain, named actors, and
///         helpers to register models with real content commitments.
abstract contract Fixtures is Test {
    uint256 internal constant START_TIME = 1_700_000_000;
    uint256 internal constant START_BLOCK = 1_000;
    uint256 internal constant FEE = DeployConfig.REGISTRATION_FEE;
    uint64 internal constant EPOCH = DeployConfig.EPOCH_LENGTH;
    uint64 internal constant UNBONDING = DeployConfig.UNBONDING_DELAY;

    IPFSIncentives internal incentives;
    ModelRegistry internal registry;
    ComputeMarketplace internal market;

    address internal admin;
    address internal treasury;
    address internal alice; // model owner
    address internal bob; // buyer / funder
    address internal carol; // challenger
    address internal stranger;

    /// @dev The content registered by `_registerModel`: 5 KiB + 100 bytes (6 leaves).
    bytes internal data;
    bytes32[] internal leafHashes;
    /// @dev Spec of `data`, computed once: building it calls the SHA-256 precompile, and a
    ///      precompile call would consume a pending `vm.prank`.
    IIPFSIncentives.ContentSpec internal defaultSpec;

    function _deployAll() internal {
        vm.warp(START_TIME);
        vm.roll(START_BLOCK);
        admin = makeAddr("admin");
        treasury = makeAddr("treasury");
        alice = makeAddr("alice");
        bob = makeAddr("bob");
        carol = makeAddr("carol");
        stranger = makeAddr("stranger");
        for (uint256 i; i < 4; ++i) {
            vm.deal([alice, bob, carol, stranger][i], 1_000 ether);
        }

        // no timelock in the unit tests, so that a parameter change does not move the clock
        // (AdminTimelock.t.sol tests the delay of a default deployment)
        address registryAt = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        incentives =
            new IPFSIncentives(admin, treasury, 0, registryAt, EPOCH, UNBONDING, DeployConfig.incentivesParams());
        registry = new ModelRegistry(admin, treasury, 0, incentives, FEE);
        market = new ComputeMarketplace(
            admin, treasury, 0, admin, IModelRegistry(address(registry)), UNBONDING, DeployConfig.marketParams()
        );

        data = MerkleTree.content(42, 5 * 1024 + 100);
        leafHashes = MerkleTree.leaves(data);
        defaultSpec = _spec(data, 3, 10, 1 gwei);
    }

    /// @dev The admin schedules `setParams(p)` and applies it (the fixtures have no delay).
    function _setIncentivesParams(IPFSIncentives.Params memory p) internal {
        vm.startPrank(admin);
        incentives.scheduleChange(IPFSIncentives.setParams.selector, abi.encode(p));
        incentives.setParams(p);
        vm.stopPrank();
    }

    function _setRegistrationFee(uint256 fee) internal {
        vm.startPrank(admin);
        registry.scheduleChange(ModelRegistry.setRegistrationFee.selector, abi.encode(fee));
        registry.setRegistrationFee(fee);
        vm.stopPrank();
    }

    /// @dev The admin schedules and applies a new treasury on `target`.
    function _setTreasury(Administered target, address treasury_) internal {
        vm.startPrank(admin);
        target.scheduleChange(Administered.setTreasury.selector, abi.encode(treasury_));
        target.setTreasury(treasury_);
        vm.stopPrank();
    }

    /// @dev `provider` leaves its pin of `rid`: notice, wait it out, drop.
    function _leave(address provider, uint256 rid) internal {
        vm.prank(provider);
        incentives.unpin(rid);
        IPFSIncentives.Pin memory pin = incentives.getPin(rid, provider);
        if (block.number < pin.exitBlock) vm.roll(pin.exitBlock);
        if (block.timestamp < pin.exitAt) vm.warp(pin.exitAt);
        vm.prank(provider);
        incentives.unpin(rid);
    }

    /// @dev The admin schedules and applies a role grant on `target`.
    function _grant(Administered target, bytes32 role, address account) internal {
        vm.startPrank(admin);
        target.scheduleChange(Administered.grantRole.selector, abi.encode(role, account));
        target.grantRole(role, account);
        vm.stopPrank();
    }

    function _setMarketParams(ComputeMarketplace.Params memory p) internal {
        vm.startPrank(admin);
        market.scheduleChange(ComputeMarketplace.setParams.selector, abi.encode(p));
        market.setParams(p);
        vm.stopPrank();
    }

    function _spec(bytes memory content, uint16 replication, uint32 duration, uint128 rate)
        internal
        pure
        returns (IIPFSIncentives.ContentSpec memory)
    {
        bytes32[] memory hashes = MerkleTree.leaves(content);
        return IIPFSIncentives.ContentSpec({
            sizeBytes: uint64(content.length),
            merkleRoot: MerkleTree.root(hashes),
            leafCount: uint64(hashes.length),
            replicationTarget: replication,
            durationEpochs: duration,
            rewardPerByteEpoch: rate
        });
    }

    /// @dev The default spec for `data`: 3 replicas, 10 epochs, 1 gwei per byte-epoch.
    function _defaultSpec() internal view returns (IIPFSIncentives.ContentSpec memory) {
        return defaultSpec;
    }

    function _input(string memory name, uint128 price, bool permissioned)
        internal
        pure
        returns (ModelRegistry.ModelInput memory)
    {
        return ModelRegistry.ModelInput({
            name: name,
            framework: "pytorch",
            metadataURI: "ipfs://bafymeta",
            pricePerUse: price,
            permissioned: permissioned,
            maxFee: type(uint256).max
        });
    }

    /// @dev `owner` registers a public model over `data` and funds its record with `pool`.
    function _registerModel(address owner, uint128 price, uint256 pool)
        internal
        returns (uint256 modelId, uint256 recordId)
    {
        vm.prank(owner);
        modelId = registry.registerModel{value: FEE + pool}(_input("llama", price, false), "bafymodel", _defaultSpec());
        recordId = registry.latestVersion(modelId).pinRecordId;
    }

    function _proof(uint256 index) internal view returns (bytes memory leaf, bytes32[] memory path) {
        leaf = MerkleTree.chunk(data, index);
        path = MerkleTree.proof(leafHashes, index);
    }
}

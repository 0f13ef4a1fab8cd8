// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ComputeMarketplace} from "../src/ComputeMarketplace.sol";
import {IPFSIncentives} from "../src/IPFSIncentives.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IModelRegistry} from "../src/interfaces/IModelRegistry.sol";
import {Vm, VM} from "../test/utils/Vm.sol";
import {DeployConfig} from "./DeployConfig.sol";

/// @title Deploy
/// @notice Deploys IPFSIncentives, ModelRegistry and ComputeMarketplace and wires them:
///         the registry gets IPFSIncentives' REGISTRAR_ROLE and the marketplace reads the
///         registry. Run by scripts/deploy_contracts.sh:
///           forge script contracts/script/Deploy.s.sol:Deploy --rpc-url $RPC_URL --broadcast
///         Environment: PRIVATE_KEY (default: test-mnemonic account 0), TREASURY and ARBITER
///         (default: the deployer), EPOCH_LENGTH (seconds), REGISTRATION_FEE (wei),
///         CHANGE_DELAY (seconds of the admin's timelock, default 2 days).
contract Deploy {
    Vm internal constant vm = VM;

    /// @dev Account 0 of "test test test test test test test test test test test junk".
    uint256 internal constant DEFAULT_KEY = 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80;

    function run() external returns (IPFSIncentives incentives, ModelRegistry registry, ComputeMarketplace market) {
        uint256 key = vm.envOr("PRIVATE_KEY", DEFAULT_KEY);
        address admin = vm.addr(key);
        address treasury = vm.envOr("TREASURY", admin);
        address arbiter = vm.envOr("ARBITER", admin);
        uint64 epochLength = uint64(vm.envOr("EPOCH_LENGTH", uint256(DeployConfig.EPOCH_LENGTH)));
        uint256 fee = vm.envOr("REGISTRATION_FEE", DeployConfig.REGISTRATION_FEE);
        uint64 delay = uint64(vm.envOr("CHANGE_DELAY", uint256(DeployConfig.CHANGE_DELAY)));
        // a timelock shorter than a day gives users no real notice; 0 is for unit tests only
        require(delay >= 1 days, "CHANGE_DELAY below one day");

        IPFSIncentives.Params memory pinning = DeployConfig.incentivesParams();
        pinning.responseWindow = uint32(vm.envOr("RESPONSE_WINDOW", uint256(pinning.responseWindow)));

        vm.startBroadcast(key);
        // role grants are timelocked, so the registry's REGISTRAR_ROLE is given at construction:
        // the registry is the deployer's next contract after IPFSIncentives
        address registryAt = vm.computeCreateAddress(admin, vm.getNonce(admin) + 1);
        incentives = new IPFSIncentives(
            admin,
            treasury,
            delay,
            registryAt,
            epochLength,
            DeployConfig.UNBONDING_DELAY,
            pinning
        );
        registry = new ModelRegistry(admin, treasury, delay, incentives, fee);
        require(address(registry) == registryAt, "registry address");
        market = new ComputeMarketplace(
            admin,
            treasury,
            delay,
            arbiter,
            IModelRegistry(address(registry)),
            DeployConfig.UNBONDING_DELAY,
            DeployConfig.marketParams()
        );
        vm.stopBroadcast();
    }
}

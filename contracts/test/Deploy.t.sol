// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ComputeMarketplace} from "../src/ComputeMarketplace.sol";
import {IPFSIncentives} from "../src/IPFSIncentives.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {Deploy} from "../script/Deploy.s.sol";
import {Test} from "./utils/Test.sol";

/// @notice The deploy script deploys all three contracts and wires them.
contract DeployTest is Test {
    function test_run_deploysAndWires() public {
        uint256 key =
            vm.envOr("PRIVATE_KEY", uint256(0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80));
        address deployer = vm.addr(key);
        vm.deal(deployer, 100 ether);
        Deploy script = new Deploy();
        (IPFSIncentives incentives, ModelRegistry registry, ComputeMarketplace market) = script.run();

        assertTrue(incentives.hasRole(incentives.REGISTRAR_ROLE(), address(registry)), "registry may open records");
        assertTrue(incentives.hasRole(incentives.DEFAULT_ADMIN_ROLE(), deployer), "incentives admin");
        assertTrue(registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), deployer), "registry admin");
        assertTrue(market.hasRole(market.ARBITER_ROLE(), deployer), "arbiter");
        assertEq(address(registry.incentives()), address(incentives), "registry -> incentives");
        assertEq(address(market.registry()), address(registry), "market -> registry");
        assertEq(registry.treasury(), vm.envOr("TREASURY", deployer), "treasury (default: the deployer)");
        assertEq(incentives.epochLength(), vm.envOr("EPOCH_LENGTH", uint256(1 hours)), "epoch");
        assertEq(registry.registrationFee(), vm.envOr("REGISTRATION_FEE", uint256(0.01 ether)), "fee");
        assertEq(market.changeDelay(), vm.envOr("CHANGE_DELAY", uint256(2 days)), "timelock");
        // EIP-170: a chain (this node included) refuses runtime code above 24,576 bytes, though
        // forge's test EVM does not
        assertLe(address(incentives).code.length, 24_576, "IPFSIncentives fits");
        assertLe(address(registry).code.length, 24_576, "ModelRegistry fits");
        assertLe(address(market).code.length, 24_576, "ComputeMarketplace fits");
    }
}

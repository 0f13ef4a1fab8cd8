// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Counter} from "../src/examples/Counter.sol";
import {Test} from "./utils/Test.sol";

contract CounterTest is Test {
    event Incremented(address indexed by, uint256 newCount);

    Counter internal counter;

    function setUp() public {
        counter = new Counter();
    }

    function test_increment() public {
        vm.expectEmit(true, false, false, true, address(counter));
        emit Incremented(address(this), 1);
        counter.increment();
        counter.increment();
        assertEq(counter.count(), 2, "count");
    }

    function test_setCount() public {
        counter.setCount(1000);
        assertEq(counter.count(), 1000, "count");
    }

    function test_setCount_revertsTooLarge() public {
        vm.expectRevert(abi.encodeWithSelector(Counter.TooLarge.selector, 1001));
        counter.setCount(1001);
    }

    function test_setCount_revertsUnlucky() public {
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "unlucky"));
        counter.setCount(13);
    }

    function testFuzz_setCount(uint256 v) public {
        if (v > 1000) {
            vm.expectRevert(abi.encodeWithSelector(Counter.TooLarge.selector, v));
        } else if (v == 13) {
            vm.expectRevert(abi.encodeWithSignature("Error(string)", "unlucky"));
        }
        counter.setCount(v);
        if (v <= 1000 && v != 13) assertEq(counter.count(), v, "count");
    }
}

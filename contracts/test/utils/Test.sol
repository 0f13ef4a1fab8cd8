// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm, VM} from "./Vm.sol";

/// @title Test
/// @notice A minimal test base: the cheatcodes, assertions that revert with a readable
///         message, `bound` for fuzz inputs and named addresses.
abstract contract Test {
    Vm internal constant vm = VM;

    function assertTrue(bool condition, string memory what) internal pure {
        if (!condition) revert(string.concat("assertTrue failed: ", what));
    }

    function assertFalse(bool condition, string memory what) internal pure {
        if (condition) revert(string.concat("assertFalse failed: ", what));
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": ", VM.toString(a), " != ", VM.toString(b)));
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": ", VM.toString(a), " != ", VM.toString(b)));
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": ", VM.toString(a), " != ", VM.toString(b)));
    }

    function assertEq(bool a, bool b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": bool mismatch"));
    }

    function assertEq(string memory a, string memory b, string memory what) internal pure {
        if (keccak256(bytes(a)) != keccak256(bytes(b))) revert(string.concat(what, ": \"", a, "\" != \"", b, "\""));
    }

    function assertLe(uint256 a, uint256 b, string memory what) internal pure {
        if (a > b) revert(string.concat(what, ": ", VM.toString(a), " > ", VM.toString(b)));
    }

    function assertGe(uint256 a, uint256 b, string memory what) internal pure {
        if (a < b) revert(string.concat(what, ": ", VM.toString(a), " < ", VM.toString(b)));
    }

    /// @dev Maps any `x` into [lo, hi] (uniform enough for fuzzing, keeps small values small).
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (x >= lo && x <= hi) return x;
        uint256 size = hi - lo;
        if (size == type(uint256).max) return x;
        return lo + x % (size + 1);
    }

    /// @dev A deterministic address for `name`, labelled in traces.
    function makeAddr(string memory name) internal returns (address a) {
        a = address(uint160(uint256(keccak256(bytes(name)))));
        vm.label(a, name);
    }
}

/// @title InvariantTest
/// @notice What forge reads from an invariant test contract: the contracts and selectors the
///         fuzzer may call (the same view functions forge-std's StdInvariant provides).
abstract contract InvariantTest is Test {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetContracts;
    FuzzSelector[] private _targetSelectors;

    function targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetSelectors.push(selector);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }
}

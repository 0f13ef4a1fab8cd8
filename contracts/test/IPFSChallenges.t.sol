// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StakeLedger} from "../src/common/StakeLedger.sol";
import {IPFSIncentives} from "../src/IPFSIncentives.sol";
import {IIPFSIncentives} from "../src/interfaces/IIPFSIncentives.sol";
import {DeployConfig} from "../script/DeployConfig.sol";
import {Fixtures} from "./utils/Fixtures.sol";
import {MerkleTree} from "./utils/MerkleTree.sol";

/// @notice Storage proofs: challenges, leaf draws from future block hashes, answers,
///         timeouts, re-seeding and slashing.
contract IPFSChallengesTest is Fixtures {
    event ChallengeOpened(
        uint256 indexed challengeId,
        uint256 indexed recordId,
        address indexed provider,
        address challenger,
        uint64 seedBlock,
        uint64 respondBy
    );
    event ChallengeReseeded(uint256 indexed challengeId, uint64 seedBlock, uint64 respondBy);
    event LeafDrawn(uint256 indexed challengeId, uint64 leafIndex);
    event ChallengeAnswered(uint256 indexed challengeId, address indexed provider, uint64 leafIndex);
    event ChallengeFailed(uint256 indexed challengeId, address indexed provider, bytes32 reason, uint256 slashed);
    event PinDropped(uint256 indexed recordId, address indexed provider, bytes32 reason);

    uint256 internal constant BOND = 0.1 ether;
    uint256 internal constant SLASH = 0.5 ether;
    uint64 internal constant WINDOW = 1 hours;

    address internal prov;
    uint256 internal recordId;

    function setUp() public {
        _deployAll();
        prov = makeAddr("provider");
        vm.deal(prov, 100 ether);
        (, recordId) = _registerModel(alice, 0, 1 ether);
        vm.prank(prov);
        incentives.registerProvider{value: 1 ether}("12D3KooWprov");
        vm.prank(prov);
        incentives.commitPin(recordId);
    }

    function _challenge() internal returns (uint256 id) {
        vm.prank(carol);
        id = incentives.challenge{value: BOND}(recordId, prov);
    }

    /// @dev The leaf the contract will draw for challenge `id` once its seed block exists.
    function _expectedIndex(uint256 id) internal view returns (uint256) {
        IPFSIncentives.Challenge memory c = incentives.getChallenge(id);
        return uint256(keccak256(abi.encode(blockhash(c.seedBlock), id))) % leafHashes.length;
    }

    function _answer(uint256 id) internal returns (bool) {
        (bytes memory leaf, bytes32[] memory path) = _proof(_expectedIndex(id));
        vm.prank(prov);
        return incentives.respond(id, leaf, path);
    }

    // ------------------------------------------------------------------ challenge

    function test_challenge_opens() public {
        uint64 seed = uint64(block.number + 2);
        uint64 respondBy = uint64(block.timestamp + WINDOW);
        vm.expectEmit(true, true, true, true, address(incentives));
        emit ChallengeOpened(1, recordId, prov, carol, seed, respondBy);
        uint256 id = _challenge();
        IPFSIncentives.Challenge memory c = incentives.getChallenge(id);
        assertEq(c.recordId, recordId, "record");
        assertEq(c.provider, prov, "provider");
        assertEq(c.challenger, carol, "challenger");
        assertTrue(c.status == IPFSIncentives.ChallengeStatus.Open, "open");
        assertFalse(c.drawn, "not drawn");
        assertEq(c.seedBlock, seed, "seed block");
        assertEq(c.respondBy, respondBy, "respond by");
        assertEq(c.bond, BOND, "bond");
        assertEq(incentives.totalBonds(), BOND, "bonds held");
        assertEq(incentives.getPin(recordId, prov).openChallenge, id, "pin marked");
        assertEq(incentives.getProvider(prov).openChallenges, 1, "provider marked");
        assertEq(incentives.challengeCount(), 1, "count");
    }

    function test_challenge_reverts() public {
        vm.prank(prov);
        vm.expectRevert(IPFSIncentives.SelfChallenge.selector);
        incentives.challenge{value: BOND}(recordId, prov);
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.WrongBond.selector, BOND, BOND - 1));
        incentives.challenge{value: BOND - 1}(recordId, prov);
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.UnknownRecord.selector, 9));
        incentives.challenge{value: BOND}(9, prov);
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NotPinned.selector, recordId, bob));
        incentives.challenge{value: BOND}(recordId, bob);
        _challenge();
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.PinUnderChallenge.selector, recordId, prov, 1));
        incentives.challenge{value: BOND}(recordId, prov);
        uint64 end = incentives.getRecord(recordId).endEpoch;
        vm.warp(block.timestamp + 10 * EPOCH);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.RecordExpired.selector, recordId, end));
        incentives.challenge{value: BOND}(recordId, prov);
    }

    function test_challengedPin_isFrozen() public {
        uint256 id = _challenge();
        vm.startPrank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.PinUnderChallenge.selector, recordId, prov, id));
        incentives.unpin(recordId);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.PinUnderChallenge.selector, recordId, prov, id));
        incentives.reportPin(recordId);
        incentives.addStake{value: 1 ether}();
        incentives.requestUnbond(1 ether);
        vm.warp(block.timestamp + UNBONDING);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.HasOpenChallenges.selector, prov, 1));
        incentives.withdrawStake();
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ draw

    function test_drawLeaf() public {
        uint256 id = _challenge();
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.SeedNotReady.selector, id, block.number + 2));
        incentives.drawLeaf(id);
        vm.roll(block.number + 3);
        uint256 expected = _expectedIndex(id);
        vm.expectEmit(true, false, false, true, address(incentives));
        emit LeafDrawn(id, uint64(expected));
        vm.prank(stranger);
        assertEq(incentives.drawLeaf(id), expected, "index from the seed block hash");
        IPFSIncentives.Challenge memory c = incentives.getChallenge(id);
        assertTrue(c.drawn, "drawn");
        assertEq(c.leafIndex, expected, "stored");
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.LeafAlreadyDrawn.selector, id));
        incentives.drawLeaf(id);
    }

    function test_drawLeaf_usesTheSeedBlockHash() public {
        uint256 id = _challenge();
        uint256 seed = block.number + 2;
        vm.roll(seed + 1);
        vm.setBlockhash(seed, bytes32(uint256(0xabc)));
        uint256 expected = uint256(keccak256(abi.encode(bytes32(uint256(0xabc)), id))) % 6;
        assertEq(incentives.drawLeaf(id), expected, "seeded index");
    }

    function test_drawLeaf_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.UnknownChallenge.selector, 5));
        incentives.drawLeaf(5);
        uint256 id = _challenge();
        vm.roll(block.number + 2 + 257);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.SeedExpired.selector, id, block.number - 257));
        incentives.drawLeaf(id);
    }

    // ------------------------------------------------------------------ answers

    function test_respond_validProofPaysBond() public {
        uint256 id = _challenge();
        vm.roll(block.number + 3);
        uint256 index = _expectedIndex(id);
        vm.expectEmit(true, true, false, true, address(incentives));
        emit ChallengeAnswered(id, prov, uint64(index));
        assertTrue(_answer(id), "valid");
        IPFSIncentives.Challenge memory c = incentives.getChallenge(id);
        assertTrue(c.status == IPFSIncentives.ChallengeStatus.Answered, "answered");
        assertEq(incentives.creditOf(prov), BOND, "bond to the provider");
        assertTrue(incentives.getPin(recordId, prov).active, "pin stands");
        assertEq(incentives.getPin(recordId, prov).openChallenge, 0, "pin free");
        assertEq(incentives.getProvider(prov).openChallenges, 0, "provider free");
        assertEq(incentives.totalBonds(), 0, "no bond held");
        assertEq(incentives.bondedOf(prov), 1 ether, "not slashed");
        // closed challenges cannot be acted on again
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ChallengeNotOpen.selector, id));
        incentives.respond(id, "", new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ChallengeNotOpen.selector, id));
        incentives.resolveTimeout(id);
        // and the pin can be challenged again
        _challenge();
    }

    function test_respond_lastShortLeaf() public {
        uint256 id = _challenge();
        uint256 seed = block.number + 2;
        vm.roll(seed + 1);
        // find a hash that draws the last (100-byte) leaf
        bytes32 h;
        for (uint256 i;; ++i) {
            h = bytes32(i);
            if (uint256(keccak256(abi.encode(h, id))) % 6 == 5) break;
        }
        vm.setBlockhash(seed, h);
        (bytes memory leaf, bytes32[] memory path) = _proof(5);
        assertEq(leaf.length, 100, "short leaf");
        vm.prank(prov);
        assertTrue(incentives.respond(id, leaf, path), "valid");
    }

    function test_respond_wrongProofSlashes() public {
        uint256 id = _challenge();
        vm.roll(block.number + 3);
        uint256 index = _expectedIndex(id);
        (bytes memory leaf, bytes32[] memory path) = _proof(index);
        leaf[0] = leaf[0] ^ 0x01;
        vm.expectEmit(true, true, false, true, address(incentives));
        emit PinDropped(recordId, prov, "wrong-proof");
        vm.expectEmit(true, true, false, true, address(incentives));
        emit ChallengeFailed(id, prov, "wrong-proof", SLASH);
        vm.prank(prov);
        assertFalse(incentives.respond(id, leaf, path), "invalid");
        _assertSlashed(id);
    }

    function test_respond_wrongLengthSlashes() public {
        uint256 id = _challenge();
        vm.roll(block.number + 3);
        (bytes memory leaf, bytes32[] memory path) = _proof(_expectedIndex(id));
        vm.prank(prov);
        assertFalse(incentives.respond(id, bytes.concat(leaf, hex"00"), path), "padded leaf is wrong");
        _assertSlashed(id);
    }

    function test_respond_reverts() public {
        uint256 id = _challenge();
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.SeedNotReady.selector, id, block.number + 2));
        incentives.respond(id, "", new bytes32[](0));
        vm.roll(block.number + 3);
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NotChallengedProvider.selector, id, carol));
        incentives.respond(id, "", new bytes32[](0));
        vm.warp(block.timestamp + WINDOW + 1);
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ResponseWindowClosed.selector, id, block.timestamp - 1));
        incentives.respond(id, "", new bytes32[](0));
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.UnknownChallenge.selector, 2));
        incentives.respond(2, "", new bytes32[](0));
    }

    function test_respond_afterSeedAgedOutNeedsReseed() public {
        uint256 id = _challenge();
        uint64 seed = uint64(block.number + 2);
        vm.roll(seed + 257);
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.SeedExpired.selector, id, seed));
        incentives.respond(id, "", new bytes32[](0));
    }

    // ------------------------------------------------------------------ timeouts

    function test_resolveTimeout_slashes() public {
        uint256 id = _challenge();
        vm.roll(block.number + 3);
        vm.expectRevert(
            abi.encodeWithSelector(IPFSIncentives.ResponseWindowOpen.selector, id, block.timestamp + WINDOW)
        );
        incentives.resolveTimeout(id);
        vm.warp(block.timestamp + WINDOW + 1);
        vm.expectEmit(true, true, false, true, address(incentives));
        emit ChallengeFailed(id, prov, "no-answer", SLASH);
        vm.prank(stranger);
        incentives.resolveTimeout(id);
        _assertSlashed(id);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ChallengeNotOpen.selector, id));
        incentives.resolveTimeout(id);
    }

    function test_resolveTimeout_needsTheSeedToHaveExisted() public {
        uint256 id = _challenge();
        vm.warp(block.timestamp + WINDOW + 1); // time passes but no block was produced
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.SeedNotReady.selector, id, block.number + 2));
        incentives.resolveTimeout(id);
    }

    function test_slash_takesUnbondingToo() public {
        IPFSIncentives.Params memory p = DeployConfig.incentivesParams();
        p.challengeSlash = 1.5 ether;
        vm.prank(admin);
        incentives.setParams(p);
        vm.prank(prov);
        incentives.addStake{value: 1 ether}();
        vm.prank(prov);
        incentives.requestUnbond(1 ether); // bonded 1, unbonding 1
        uint256 id = _challenge();
        vm.roll(block.number + 3);
        vm.warp(block.timestamp + WINDOW + 1);
        incentives.resolveTimeout(id);
        StakeLedger.Stake memory s = incentives.stakeOf(prov);
        assertEq(s.bonded, 0, "bonded taken");
        assertEq(s.unbonding, 0.5 ether, "rest from unbonding");
        assertEq(incentives.creditOf(carol), BOND + 0.75 ether, "half of 1.5 to the challenger");
        assertEq(address(incentives).balance, incentives.liabilities(), "solvent");
    }

    function test_slash_cappedByStake() public {
        IPFSIncentives.Params memory p = DeployConfig.incentivesParams();
        p.challengeSlash = 10 ether;
        vm.prank(admin);
        incentives.setParams(p);
        uint256 id = _challenge();
        vm.roll(block.number + 3);
        vm.warp(block.timestamp + WINDOW + 1);
        incentives.resolveTimeout(id);
        assertEq(incentives.stakeOf(prov).bonded, 0, "all taken");
        assertEq(incentives.creditOf(carol), BOND + 0.5 ether, "half of what there was");
        assertEq(incentives.creditOf(treasury), 0.5 ether, "treasury");
    }

    // ------------------------------------------------------------------ reseed

    function test_reseed() public {
        uint256 id = _challenge();
        uint64 seed = uint64(block.number + 2);
        vm.roll(seed + 256);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.SeedStillAvailable.selector, id, seed));
        incentives.reseed(id);
        vm.roll(seed + 257);
        vm.warp(block.timestamp + 30 minutes);
        uint64 newSeed = uint64(block.number + 2);
        uint64 respondBy = uint64(block.timestamp + WINDOW);
        vm.expectEmit(true, false, false, true, address(incentives));
        emit ChallengeReseeded(id, newSeed, respondBy);
        vm.prank(stranger);
        incentives.reseed(id);
        assertEq(incentives.getChallenge(id).seedBlock, newSeed, "new seed");
        assertEq(incentives.getChallenge(id).respondBy, respondBy, "window extended");
        vm.roll(newSeed + 1);
        assertTrue(_answer(id), "answerable again");
    }

    function test_reseed_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.UnknownChallenge.selector, 1));
        incentives.reseed(1);
        uint256 id = _challenge();
        vm.roll(block.number + 3);
        incentives.drawLeaf(id);
        vm.roll(block.number + 300);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.LeafAlreadyDrawn.selector, id));
        incentives.reseed(id);
        // a drawn leaf survives the blockhash window: the provider can still answer
        assertTrue(_answerDrawn(id), "answer after 300 blocks");
    }

    function _answerDrawn(uint256 id) internal returns (bool) {
        (bytes memory leaf, bytes32[] memory path) = _proof(incentives.getChallenge(id).leafIndex);
        vm.prank(prov);
        return incentives.respond(id, leaf, path);
    }

    function _assertSlashed(uint256 id) internal view {
        IPFSIncentives.Challenge memory c = incentives.getChallenge(id);
        assertTrue(c.status == IPFSIncentives.ChallengeStatus.Failed, "failed");
        assertEq(incentives.bondedOf(prov), 1 ether - SLASH, "slashed");
        assertEq(incentives.creditOf(carol), BOND + SLASH / 2, "bond back + half the slash");
        assertEq(incentives.creditOf(treasury), SLASH / 2, "rest to treasury");
        assertFalse(incentives.getPin(recordId, prov).active, "pin dropped");
        assertEq(incentives.getRecord(recordId).activePins, 0, "record pins");
        assertEq(incentives.getProvider(prov).activePins, 0, "provider pins");
        assertEq(incentives.getProvider(prov).openChallenges, 0, "no open challenge");
        assertEq(incentives.totalBonds(), 0, "no bond held");
        assertEq(address(incentives).balance, incentives.liabilities(), "solvent");
    }

    // ------------------------------------------------------------------ fuzz

    /// @dev For random content and a random seed, the honest answer passes and any one-bit
    ///      change to the leaf or its path fails and slashes.
    function testFuzz_storageProof(uint256 contentSeed, uint256 size, bytes32 blockSeed, uint256 tamper) public {
        size = bound(size, 1, 8 * 1024);
        bytes memory content = MerkleTree.content(contentSeed, size);
        bytes32[] memory hashes = MerkleTree.leaves(content);
        IIPFSIncentives.ContentSpec memory s = _spec(content, 1, 10, 1);
        vm.startPrank(admin);
        incentives.grantRole(incentives.REGISTRAR_ROLE(), admin);
        uint256 rid = incentives.openRecord("bafyfuzz", s, admin);
        vm.stopPrank();
        vm.prank(prov);
        incentives.commitPin(rid);
        vm.prank(carol);
        uint256 id = incentives.challenge{value: BOND}(rid, prov);
        uint256 seedBlock = block.number + 2;
        vm.roll(seedBlock + 1);
        vm.assume(blockSeed != bytes32(0));
        vm.setBlockhash(seedBlock, blockSeed);
        uint256 index = uint256(keccak256(abi.encode(blockSeed, id))) % hashes.length;
        bytes memory leaf = MerkleTree.chunk(content, index);
        bytes32[] memory path = MerkleTree.proof(hashes, index);

        bool honest = tamper % 3 == 0;
        if (!honest && (tamper % 3 == 1 || path.length == 0)) {
            uint256 bit = (tamper >> 8) % (leaf.length * 8);
            leaf[bit / 8] = leaf[bit / 8] ^ bytes1(uint8(1) << uint8(bit % 8));
        } else if (!honest) {
            uint256 at = (tamper >> 8) % path.length;
            path[at] = path[at] ^ bytes32(uint256(1) << ((tamper >> 16) % 256));
        }
        vm.prank(prov);
        bool ok = incentives.respond(id, leaf, path);
        assertEq(ok, honest, "only the honest answer passes");
        assertEq(incentives.getPin(rid, prov).active, honest, "pin stands iff honest");
        assertEq(incentives.bondedOf(prov), honest ? 1 ether : 1 ether - SLASH, "slashed iff dishonest");
        assertEq(address(incentives).balance, incentives.liabilities(), "solvent");
    }

    /// @dev An answer is accepted exactly up to the deadline; after it only the timeout path remains.
    function testFuzz_responseDeadline(uint256 wait) public {
        wait = bound(wait, 0, 3 * WINDOW);
        uint256 id = _challenge();
        uint256 deadline = block.timestamp + WINDOW;
        vm.roll(block.number + 3);
        vm.warp(block.timestamp + wait);
        if (block.timestamp <= deadline) {
            assertTrue(_answer(id), "in time");
            vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ChallengeNotOpen.selector, id));
            incentives.resolveTimeout(id);
        } else {
            (bytes memory leaf, bytes32[] memory path) = _proof(_expectedIndex(id));
            vm.prank(prov);
            vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ResponseWindowClosed.selector, id, deadline));
            incentives.respond(id, leaf, path);
            incentives.resolveTimeout(id);
            assertEq(incentives.bondedOf(prov), 1 ether - SLASH, "slashed");
        }
    }

    /// @dev The drawn index is always a valid leaf, for any seed and leaf count.
    function testFuzz_drawnIndexInRange(bytes32 blockSeed, uint64 size) public {
        size = uint64(bound(size, 1, 1 << 40));
        IIPFSIncentives.ContentSpec memory s = defaultSpec;
        s.sizeBytes = size;
        s.leafCount = uint64((uint256(size) + 1023) / 1024);
        vm.startPrank(admin);
        incentives.grantRole(incentives.REGISTRAR_ROLE(), admin);
        uint256 rid = incentives.openRecord("bafybig", s, admin);
        vm.stopPrank();
        vm.prank(prov);
        incentives.commitPin(rid);
        vm.prank(carol);
        uint256 id = incentives.challenge{value: BOND}(rid, prov);
        vm.roll(block.number + 3);
        vm.assume(blockSeed != bytes32(0));
        vm.setBlockhash(block.number - 1, blockSeed);
        assertLe(incentives.drawLeaf(id), s.leafCount - 1, "index < leafCount");
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StakeLedger} from "../src/common/StakeLedger.sol";
import {IPFSIncentives} from "../src/IPFSIncentives.sol";
import {IIPFSIncentives} from "../src/interfaces/IIPFSIncentives.sol";
import {DeployConfig} from "../script/DeployConfig.sol";
import {Challenges} from "./utils/Challenges.sol";
import {MerkleTree} from "./utils/MerkleTree.sol";

/// @notice Storage proofs: committed challenges, reveals over a buried seed block, answers of
///         sixteen leaves, timeouts, unrevealed and voided challenges, and slashing.
contract IPFSChallengesTest is Challenges {
    event ChallengeOpened(
        uint256 indexed challengeId,
        uint256 indexed recordId,
        address indexed provider,
        address challenger,
        uint64 seedBlock
    );
    event ChallengeRevealed(uint256 indexed challengeId, bytes32 seed, uint64 respondBy);
    event ChallengeAnswered(uint256 indexed challengeId, address indexed provider);
    event ChallengeFailed(uint256 indexed challengeId, address indexed provider, bytes32 reason, uint256 slashed);
    event ChallengeClosed(uint256 indexed challengeId, IPFSIncentives.ChallengeStatus status, address bondTo);
    event PinDropped(uint256 indexed recordId, address indexed provider, bytes32 reason);

    uint256 internal constant BOND = 0.1 ether;
    uint256 internal constant BACKING = (5 * 1024 + 100) * 10 gwei;
    // what a failed challenge of the default pin takes: the slash parameter plus the backing
    uint256 internal constant SLASH = 0.5 ether + BACKING;
    uint256 internal constant STAKE = 2 ether;
    uint64 internal constant WINDOW = 10 minutes;
    uint256 internal constant CONFIRMATIONS = 32;

    address internal prov;
    uint256 internal recordId;

    function setUp() public {
        _deployAll();
        prov = makeAddr("provider");
        vm.deal(prov, 100 ether);
        (, recordId) = _registerModel(alice, 0, 1 ether);
        vm.prank(prov);
        incentives.registerProvider{value: STAKE}("12D3KooWprov");
        vm.prank(prov);
        incentives.commitPin(recordId);
    }

    function _challenge() internal returns (uint256) {
        return _challengeBy(carol, recordId, prov, SECRET);
    }

    function _reveal(uint256 id) internal {
        _revealWith(id, SECRET);
    }

    function _answer(uint256 id) internal {
        _answerAs(prov, id);
    }

    function _timeOut(uint256 id) internal {
        _reveal(id);
        vm.warp(block.timestamp + WINDOW + 1);
        incentives.resolve(id);
    }

    // ------------------------------------------------------------------ challenge

    function test_challenge_opens() public {
        uint64 seed = uint64(block.number + 1);
        vm.expectEmit(true, true, true, true, address(incentives));
        emit ChallengeOpened(1, recordId, prov, carol, seed);
        uint256 id = _challenge();
        IPFSIncentives.Challenge memory c = incentives.getChallenge(id);
        assertEq(c.recordId, recordId, "record");
        assertEq(c.provider, prov, "provider");
        assertEq(c.challenger, carol, "challenger");
        assertTrue(c.status == IPFSIncentives.ChallengeStatus.Committed, "committed");
        assertEq(c.pinNonce, 1, "pin nonce");
        assertEq(c.seedBlock, seed, "seed block");
        assertEq(c.respondBy, 0, "no window before the reveal");
        assertEq(c.bond, BOND, "bond");
        assertEq(c.slash, SLASH, "slash: parameter plus the pin's backing");
        assertEq(c.challengerShareBps, 5_000, "share");
        assertEq(c.responseWindow, WINDOW, "window");
        assertEq(c.commitment, _commitment(SECRET, carol), "commitment");
        assertEq(c.seed, bytes32(0), "no seed yet");
        assertEq(incentives.totalBonds(), BOND, "bonds held");
        assertEq(incentives.getPin(recordId, prov).openChallenges, 1, "pin marked");
        assertEq(incentives.getProvider(prov).openChallenges, 1, "provider marked");
        assertEq(incentives.challengeCount(), 1, "count");
    }

    function test_challenge_reverts() public {
        bytes32 commitment = _commitment(SECRET, carol);
        vm.prank(prov);
        vm.expectRevert(IPFSIncentives.SelfChallenge.selector);
        incentives.challenge{value: BOND}(recordId, prov, commitment);
        vm.prank(carol);
        vm.expectRevert(IPFSIncentives.ZeroCommitment.selector);
        incentives.challenge{value: BOND}(recordId, prov, bytes32(0));
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.WrongBond.selector, BOND, BOND - 1));
        incentives.challenge{value: BOND - 1}(recordId, prov, commitment);
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.UnknownRecord.selector, 9));
        incentives.challenge{value: BOND}(9, prov, commitment);
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NotPinned.selector, recordId, bob));
        incentives.challenge{value: BOND}(recordId, bob, commitment);
        uint64 end = incentives.getRecord(recordId).endEpoch;
        vm.warp(block.timestamp + 10 * EPOCH);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.RecordExpired.selector, recordId, end));
        incentives.challenge{value: BOND}(recordId, prov, commitment);
    }

    /// @dev One challenge does not shield a pin from others: each is answered on its own.
    function test_challenge_manyAtOnce() public {
        uint256 a = _challenge();
        uint256 b = _challengeBy(bob, recordId, prov, keccak256("bob's secret"));
        assertEq(incentives.getPin(recordId, prov).openChallenges, 2, "two open");
        _reveal(a);
        _revealWith(b, keccak256("bob's secret"));
        _answer(a);
        _answer(b);
        assertEq(incentives.getPin(recordId, prov).openChallenges, 0, "none open");
        assertEq(incentives.creditOf(prov), 2 * BOND, "both bonds");
    }

    function test_challengedPin_isFrozen() public {
        (, uint256 other) = _registerModel(bob, 0, 1 ether);
        uint256 id = _challenge();
        vm.startPrank(prov);
        incentives.unpin(recordId); // notice may be given, but the pin cannot be dropped
        vm.roll(block.number + 64);
        vm.warp(block.timestamp + 10 minutes);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.PinUnderChallenge.selector, recordId, prov, 1));
        incentives.unpin(recordId);
        vm.warp(block.timestamp + 2 * EPOCH);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.PinUnderChallenge.selector, recordId, prov, 1));
        incentives.reportPin(recordId);
        // no new commitment while a challenge against the provider is open
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.HasOpenChallenges.selector, prov, 1));
        incentives.commitPin(other);
        incentives.addStake{value: 1 ether}();
        incentives.requestUnbond(1 ether);
        vm.warp(block.timestamp + UNBONDING);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.HasOpenChallenges.selector, prov, 1));
        incentives.withdrawStake();
        vm.stopPrank();
        _reveal(id);
        _answer(id);
        (, uint256 third) = _registerModel(bob, 0, 1 ether);
        vm.prank(prov);
        incentives.commitPin(third);
    }

    // ------------------------------------------------------------------ reveal

    function test_reveal() public {
        uint256 id = _challenge();
        uint256 seedBlock = block.number + 1;
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.SeedNotReady.selector, id, seedBlock + CONFIRMATIONS));
        incentives.reveal(id, SECRET);
        vm.roll(seedBlock + CONFIRMATIONS - 1);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.SeedNotReady.selector, id, seedBlock + CONFIRMATIONS));
        incentives.reveal(id, SECRET);
        vm.roll(seedBlock + CONFIRMATIONS);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.WrongSecret.selector, id));
        incentives.reveal(id, keccak256("a guess"));
        // anyone may send the reveal, but the commitment binds the challenger's address
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NotRevealed.selector, id));
        incentives.leafIndices(id);

        bytes32 seed = keccak256(abi.encode(SECRET, blockhash(seedBlock), id));
        uint64 respondBy = uint64(block.timestamp + WINDOW);
        vm.expectEmit(true, false, false, true, address(incentives));
        emit ChallengeRevealed(id, seed, respondBy);
        vm.prank(stranger);
        incentives.reveal(id, SECRET);
        IPFSIncentives.Challenge memory c = incentives.getChallenge(id);
        assertTrue(c.status == IPFSIncentives.ChallengeStatus.Revealed, "revealed");
        assertEq(c.seed, seed, "seed");
        assertEq(c.respondBy, respondBy, "window from the reveal");

        uint64[] memory got = incentives.leafIndices(id);
        uint256[] memory want = _drawn(id, SECRET, 6);
        assertEq(got.length, 16, "sixteen leaves");
        for (uint256 i; i < 16; ++i) {
            assertEq(got[i], want[i], "leaf drawn by the documented rule");
        }
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ChallengeNotOpen.selector, id));
        incentives.reveal(id, SECRET);
    }

    function test_reveal_aSecretOfAnotherChallengerFails() public {
        // bob copies carol's commitment: the reveal checks it against bob's address
        vm.prank(bob);
        uint256 id = incentives.challenge{value: BOND}(recordId, prov, _commitment(SECRET, carol));
        _rollToReveal(id);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.WrongSecret.selector, id));
        incentives.reveal(id, SECRET);
    }

    function test_reveal_seedExpired() public {
        uint256 id = _challenge();
        uint64 seedBlock = uint64(block.number + 1);
        vm.roll(seedBlock + 257);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.SeedExpired.selector, id, seedBlock));
        incentives.reveal(id, SECRET);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.UnknownChallenge.selector, 7));
        incentives.reveal(7, SECRET);
    }

    // ------------------------------------------------------------------ answers

    function test_respond_validProofPaysBond() public {
        uint256 id = _challenge();
        _reveal(id);
        vm.expectEmit(true, true, false, true, address(incentives));
        emit ChallengeAnswered(id, prov);
        _answer(id);
        assertTrue(_status(id) == IPFSIncentives.ChallengeStatus.Answered, "answered");
        assertEq(incentives.creditOf(prov), BOND, "bond to the provider");
        assertTrue(incentives.getPin(recordId, prov).active, "pin stands");
        assertEq(incentives.getPin(recordId, prov).openChallenges, 0, "pin free");
        assertEq(incentives.getProvider(prov).openChallenges, 0, "provider free");
        assertEq(incentives.totalBonds(), 0, "no bond held");
        assertEq(incentives.bondedOf(prov), STAKE, "not slashed");
        // closed challenges cannot be acted on again
        (bytes[] memory chunks, bytes32[][] memory proofs) = _answerFrom(id, data);
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ChallengeNotOpen.selector, id));
        incentives.respond(id, chunks, proofs);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ChallengeNotOpen.selector, id));
        incentives.resolve(id);
    }

    function test_respond_wrongAnswerRevertsAndCanBeCorrected() public {
        uint256 id = _challenge();
        _reveal(id);
        (bytes[] memory chunks, bytes32[][] memory proofs) = _answerFrom(id, data);
        uint64 index = incentives.leafIndices(id)[7];
        chunks[7][0] = chunks[7][0] ^ 0x01;
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.InvalidProof.selector, id, 7, index));
        incentives.respond(id, chunks, proofs);
        // a padded leaf is wrong too
        chunks[7][0] = chunks[7][0] ^ 0x01;
        chunks[7] = bytes.concat(chunks[7], hex"00");
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.InvalidProof.selector, id, 7, index));
        incentives.respond(id, chunks, proofs);
        assertEq(incentives.bondedOf(prov), STAKE, "a wrong answer never slashes");
        _answer(id);
        assertTrue(_status(id) == IPFSIncentives.ChallengeStatus.Answered, "corrected in time");
    }

    function test_respond_reverts() public {
        uint256 id = _challenge();
        bytes[] memory none = new bytes[](0);
        bytes32[][] memory noProofs = new bytes32[][](0);
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NotRevealed.selector, id));
        incentives.respond(id, none, noProofs);
        _reveal(id);
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.NotChallengedProvider.selector, id, carol));
        incentives.respond(id, none, noProofs);
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.WrongLeafCount.selector, 16, 0));
        incentives.respond(id, none, noProofs);
        (bytes[] memory chunks, bytes32[][] memory proofs) = _answerFrom(id, data);
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.WrongLeafCount.selector, 16, 0));
        incentives.respond(id, chunks, noProofs);
        vm.warp(block.timestamp + WINDOW + 1);
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ResponseWindowClosed.selector, id, block.timestamp - 1));
        incentives.respond(id, chunks, proofs);
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.UnknownChallenge.selector, 2));
        incentives.respond(2, chunks, proofs);
    }

    function test_respond_lastShortLeaf() public {
        // challenges until one draws the last (100-byte) leaf; each draw misses it with
        // probability (5/6)^16, about 5%
        for (uint256 i;; ++i) {
            uint256 id = _challengeBy(carol, recordId, prov, bytes32(i + 1));
            _revealWith(id, bytes32(i + 1));
            (bytes[] memory chunks,) = _answerFrom(id, data);
            bool short;
            for (uint256 j; j < chunks.length; ++j) {
                if (chunks[j].length == 100) short = true;
            }
            _answer(id);
            assertTrue(_status(id) == IPFSIncentives.ChallengeStatus.Answered, "answered");
            if (short) break;
            assertLe(i, 10, "a draw with the last leaf");
        }
    }

    // ------------------------------------------------------------------ resolve

    function test_resolve_timeoutSlashes() public {
        uint256 id = _challenge();
        _reveal(id);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ChallengePending.selector, id));
        incentives.resolve(id);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ChallengePending.selector, id));
        incentives.resolve(id);
        vm.warp(block.timestamp + 1);
        vm.expectEmit(true, true, false, true, address(incentives));
        emit PinDropped(recordId, prov, "no-answer");
        vm.expectEmit(true, true, false, true, address(incentives));
        emit ChallengeFailed(id, prov, "no-answer", SLASH);
        vm.prank(stranger);
        incentives.resolve(id);
        _assertSlashed(id);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ChallengeNotOpen.selector, id));
        incentives.resolve(id);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.UnknownChallenge.selector, 9));
        incentives.resolve(9);
    }

    function test_resolve_unrevealedPaysTheProvider() public {
        uint256 id = _challenge();
        uint256 seedBlock = block.number + 1;
        vm.roll(seedBlock + 256);
        vm.warp(block.timestamp + 1 days);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ChallengePending.selector, id));
        incentives.resolve(id);
        vm.roll(seedBlock + 257);
        vm.expectEmit(true, false, false, true, address(incentives));
        emit ChallengeClosed(id, IPFSIncentives.ChallengeStatus.Unrevealed, prov);
        incentives.resolve(id);
        assertEq(incentives.creditOf(prov), BOND, "bond to the provider");
        assertEq(incentives.bondedOf(prov), STAKE, "no slash without a reveal");
        assertTrue(incentives.getPin(recordId, prov).active, "pin stands");
        assertEq(incentives.getProvider(prov).openChallenges, 0, "closed");
        assertEq(address(incentives).balance, incentives.liabilities(), "solvent");
    }

    /// @dev A failure drops the pin once: the other challenges of that pin are void and give
    ///      their bonds back, and do not slash again.
    function test_resolve_failureVoidsTheOtherChallenges() public {
        uint256 a = _challenge();
        uint256 b = _challengeBy(bob, recordId, prov, keccak256("b"));
        _reveal(a);
        vm.warp(block.timestamp + WINDOW / 2);
        _revealWith(b, keccak256("b"));
        vm.warp(block.timestamp + WINDOW / 2 + 1);
        incentives.resolve(a); // a timed out; b's window is still open
        _assertSlashed(a);
        // bob's challenge can no longer be answered, and closes without a second slash
        (bytes[] memory chunks, bytes32[][] memory proofs) = _answerFrom(b, data);
        vm.prank(prov);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.PinGone.selector, b));
        incentives.respond(b, chunks, proofs);
        vm.expectEmit(true, false, false, true, address(incentives));
        emit ChallengeClosed(b, IPFSIncentives.ChallengeStatus.Void, bob);
        incentives.resolve(b);
        assertEq(incentives.creditOf(bob), BOND, "bond back");
        assertEq(incentives.bondedOf(prov), STAKE - SLASH, "slashed once");
        assertEq(incentives.getProvider(prov).openChallenges, 0, "closed");
        // a re-commit starts a new pin that the old challenges cannot touch
        vm.prank(prov);
        incentives.commitPin(recordId);
        assertEq(incentives.getPin(recordId, prov).nonce, 2, "new pin");
    }

    function test_resolve_voidBeforeReveal() public {
        uint256 a = _challenge();
        uint256 b = _challengeBy(bob, recordId, prov, keccak256("b"));
        _timeOut(a);
        _rollToReveal(b);
        vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.PinGone.selector, b));
        incentives.reveal(b, keccak256("b"));
        incentives.resolve(b);
        assertTrue(_status(b) == IPFSIncentives.ChallengeStatus.Void, "void");
        assertEq(incentives.creditOf(bob), BOND, "bond back");
    }

    // ------------------------------------------------------------------ slashing

    function test_slash_takesUnbondingToo() public {
        IPFSIncentives.Params memory p = DeployConfig.incentivesParams();
        p.challengeSlash = uint128(2.5 ether - BACKING); // slash 2.5 ether of the pin below
        _setIncentivesParams(p);
        vm.prank(prov);
        incentives.addStake{value: 1 ether}();
        vm.prank(prov);
        incentives.requestUnbond(1 ether); // bonded 2, unbonding 1
        uint256 id = _challenge();
        _timeOut(id);
        StakeLedger.Stake memory s = incentives.stakeOf(prov);
        assertEq(s.bonded, 0, "bonded taken");
        assertEq(s.unbonding, 0.5 ether, "rest from unbonding");
        assertEq(incentives.creditOf(carol), BOND + 1.25 ether, "half of 2.5 to the challenger");
        assertEq(address(incentives).balance, incentives.liabilities(), "solvent");
    }

    function test_slash_cappedByStake() public {
        IPFSIncentives.Params memory p = DeployConfig.incentivesParams();
        p.challengeSlash = 10 ether;
        _setIncentivesParams(p);
        uint256 id = _challenge();
        _timeOut(id);
        assertEq(incentives.stakeOf(prov).bonded, 0, "all taken");
        assertEq(incentives.creditOf(carol), BOND + 1 ether, "half of what there was");
        assertEq(incentives.creditOf(treasury), 1 ether, "treasury");
    }

    function _assertSlashed(uint256 id) internal view {
        assertTrue(_status(id) == IPFSIncentives.ChallengeStatus.Failed, "failed");
        assertEq(incentives.bondedOf(prov), STAKE - SLASH, "slashed");
        assertEq(incentives.creditOf(carol), BOND + SLASH / 2, "bond back + half the slash");
        assertEq(incentives.creditOf(treasury), SLASH / 2, "rest to treasury");
        assertFalse(incentives.getPin(recordId, prov).active, "pin dropped");
        assertEq(incentives.getRecord(recordId).activePins, 0, "record pins");
        assertEq(incentives.getProvider(prov).activePins, 0, "provider pins");
        assertEq(incentives.getProvider(prov).backing, 0, "backing released");
        assertEq(incentives.totalBonds() % BOND, 0, "whole bonds held");
        assertEq(address(incentives).balance, incentives.liabilities(), "solvent");
    }

    // ------------------------------------------------------------------ fuzz

    /// @dev For random content, secret and seed block hash, the honest answer passes and any
    ///      one-bit change to one leaf or one path node reverts without slashing.
    function testFuzz_storageProof(uint256 contentSeed, uint256 size, bytes32 secret, bytes32 blockSeed, uint256 tamper)
        public
    {
        size = bound(size, 1, 8 * 1024);
        bytes memory content = MerkleTree.content(contentSeed, size);
        IIPFSIncentives.ContentSpec memory s = _spec(content, 1, 10, 1);
        _grant(incentives, incentives.REGISTRAR_ROLE(), admin);
        vm.startPrank(admin);
        uint256 rid = incentives.openRecord("bafyfuzz", s, admin);
        vm.stopPrank();
        vm.prank(prov);
        incentives.commitPin(rid);
        uint256 id = _challengeBy(carol, rid, prov, secret);
        vm.assume(blockSeed != bytes32(0));
        uint256 seedBlock = block.number + 1;
        vm.roll(seedBlock + 1);
        vm.setBlockhash(seedBlock, blockSeed);
        _revealWith(id, secret);
        (bytes[] memory chunks, bytes32[][] memory proofs) = _answerFrom(id, content);

        bool honest = tamper % 3 == 0;
        uint256 which = (tamper >> 4) % 16;
        if (!honest && (tamper % 3 == 1 || proofs[which].length == 0)) {
            uint256 bit = (tamper >> 8) % (chunks[which].length * 8);
            chunks[which][bit / 8] = chunks[which][bit / 8] ^ bytes1(uint8(1) << uint8(bit % 8));
        } else if (!honest) {
            uint256 at = (tamper >> 8) % proofs[which].length;
            proofs[which][at] = proofs[which][at] ^ bytes32(uint256(1) << ((tamper >> 16) % 256));
        }
        if (!honest) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IPFSIncentives.InvalidProof.selector, id, which, incentives.leafIndices(id)[which]
                )
            );
        }
        vm.prank(prov);
        incentives.respond(id, chunks, proofs);
        assertEq(_status(id) == IPFSIncentives.ChallengeStatus.Answered, honest, "answered iff honest");
        assertEq(incentives.bondedOf(prov), STAKE, "never slashed for an answer");
        assertEq(address(incentives).balance, incentives.liabilities(), "solvent");
    }

    /// @dev An answer is accepted exactly up to the deadline; after it only the timeout remains.
    function testFuzz_responseDeadline(uint256 wait) public {
        wait = bound(wait, 0, 3 * WINDOW);
        uint256 id = _challenge();
        _reveal(id);
        uint256 deadline = block.timestamp + WINDOW;
        vm.warp(block.timestamp + wait);
        if (block.timestamp <= deadline) {
            _answer(id);
            vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ChallengeNotOpen.selector, id));
            incentives.resolve(id);
        } else {
            (bytes[] memory chunks, bytes32[][] memory proofs) = _answerFrom(id, data);
            vm.prank(prov);
            vm.expectRevert(abi.encodeWithSelector(IPFSIncentives.ResponseWindowClosed.selector, id, deadline));
            incentives.respond(id, chunks, proofs);
            incentives.resolve(id);
            assertEq(incentives.bondedOf(prov), STAKE - SLASH, "slashed");
        }
    }

    /// @dev For any secret, seed block hash and file size, the contract asks for exactly the
    ///      leaves the documented rule draws (which a provider's node computes on its own).
    function testFuzz_leafIndicesFollowTheRule(bytes32 secret, bytes32 blockSeed, uint64 size) public {
        size = uint64(bound(size, 1, 1 << 40));
        IIPFSIncentives.ContentSpec memory s = defaultSpec;
        s.sizeBytes = size;
        s.leafCount = uint64((uint256(size) + 1023) / 1024);
        _grant(incentives, incentives.REGISTRAR_ROLE(), admin);
        vm.startPrank(admin);
        uint256 rid = incentives.openRecord("bafybig", s, admin);
        vm.stopPrank();
        vm.deal(prov, uint256(size) * 10 gwei);
        vm.prank(prov);
        incentives.addStake{value: uint256(size) * 10 gwei}();
        vm.prank(prov);
        incentives.commitPin(rid);
        uint256 id = _challengeBy(carol, rid, prov, secret);
        vm.assume(blockSeed != bytes32(0));
        uint256 seedBlock = block.number + 1;
        vm.roll(seedBlock + 1);
        vm.setBlockhash(seedBlock, blockSeed);
        _revealWith(id, secret);
        uint64[] memory got = incentives.leafIndices(id);
        uint256[] memory want = _drawn(id, secret, s.leafCount);
        for (uint256 i; i < got.length; ++i) {
            assertEq(got[i], want[i], "leaf i");
        }
    }
}

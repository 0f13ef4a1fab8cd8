// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Administered} from "../../src/common/Administered.sol";
import {IPFSIncentives} from "../../src/IPFSIncentives.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {IIPFSIncentives} from "../../src/interfaces/IIPFSIncentives.sol";
import {MerkleTree} from "../utils/MerkleTree.sol";
import {Test} from "../utils/Test.sol";

/// @notice Drives ModelRegistry and IPFSIncentives through random but mostly valid sequences
///         of actions by a fixed cast, and records what the invariants need: the ETH that came
///         in and went out, any withdrawal or gated call that should not have succeeded, what
///         the rules grant each party, the epochs each pin was paid for, and whether the
///         diligent provider (providers[0], which answers every challenge it is asked, whatever
///         the reorgs) ever lost stake.
contract IPFSHandler is Test {
    IPFSIncentives public immutable incentives;
    ModelRegistry public immutable registry;
    address public immutable admin;
    address public immutable treasury;

    address[] public providers;
    address[] public users; // model owners, funders, challengers
    address[] internal _everyone;

    bytes internal _data;
    bytes32[] internal _leaves;
    IIPFSIncentives.ContentSpec internal _spec;
    uint256 internal immutable _bond;

    /// @notice A second withdrawal of the same funds, or a gated call by the wrong party, succeeded.
    bool public doubleWithdrawal;
    bool public unauthorizedSuccess;
    /// @notice A gated call by the wrong party failed for another reason than access.
    bool public wrongRejection;
    /// @notice A report paid an epoch the pin did not cover from start to end.
    bool public paidUncoveredEpoch;
    mapping(bytes32 action => uint256) public calls;

    /// @notice Upper bound of what the rules grant each account from IPFSIncentives: rewards
    ///         of reported epochs, bonds of answered or unrevealed challenges, bond plus slash
    ///         share of failed or void ones, the treasury's part, and funders' contributions.
    mapping(address account => uint256) public granted;
    /// @notice What each account withdrew from IPFSIncentives' credit ledger.
    mapping(address account => uint256) public withdrawnCredits;
    /// @notice Stake the diligent provider put in and took out.
    uint256 public diligentIn;
    uint256 public diligentOut;
    /// @dev The epoch each standing pin was committed in.
    mapping(uint256 recordId => mapping(address provider => uint64)) internal _commitEpoch;
    mapping(uint256 challengeId => bytes32) internal _secrets;

    constructor(
        IPFSIncentives incentives_,
        ModelRegistry registry_,
        address admin_,
        address treasury_,
        bytes memory data_,
        IIPFSIncentives.ContentSpec memory spec_
    ) {
        incentives = incentives_;
        registry = registry_;
        admin = admin_;
        treasury = treasury_;
        _data = data_;
        _leaves = MerkleTree.leaves(data_);
        _spec = spec_;
        _bond = incentives_.params().challengeBond;
        for (uint256 i; i < 3; ++i) {
            address p = address(uint160(0xA000 + i));
            providers.push(p);
            _everyone.push(p);
        }
        for (uint256 i; i < 3; ++i) {
            address u = address(uint160(0xB000 + i));
            users.push(u);
            _everyone.push(u);
        }
        _everyone.push(treasury_);
    }

    function everyone() external view returns (address[] memory) {
        return _everyone;
    }

    // ------------------------------------------------------------------ helpers

    function _provider(uint256 seed) internal view returns (address) {
        return providers[seed % providers.length];
    }

    function _user(uint256 seed) internal view returns (address) {
        return users[seed % users.length];
    }

    function _recordId(uint256 seed) internal view returns (uint256) {
        uint256 n = incentives.recordCount();
        return n == 0 ? 0 : 1 + seed % n;
    }

    /// @dev One of the three most recent challenges (older ones are mostly closed).
    function _challengeId(uint256 seed) internal view returns (uint256) {
        uint256 n = incentives.challengeCount();
        if (n == 0) return 0;
        uint256 back = seed % (n < 3 ? n : 3);
        return n - back;
    }

    // ------------------------------------------------------------------ time

    function warp(uint256 secs) external {
        _warpTo(block.timestamp + bound(secs, 1, 1 hours));
        calls["warp"]++;
    }

    function roll(uint256 blocks) external {
        vm.roll(block.number + bound(blocks, 1, 300));
        calls["roll"]++;
    }

    /// @dev Time passes; before it does, the diligent provider's node answers every revealed
    ///      challenge against it whose window is still open (as a node that is never offline).
    function _warpTo(uint256 t) internal {
        uint256 n = incentives.challengeCount();
        for (uint256 id = n > 20 ? n - 19 : 1; id <= n; ++id) {
            IPFSIncentives.Challenge memory c = incentives.getChallenge(id);
            if (
                c.provider == providers[0] && c.status == IPFSIncentives.ChallengeStatus.Revealed
                    && block.timestamp <= c.respondBy
            ) _answer(id, c, true);
        }
        vm.warp(t);
    }

    /// @dev The selected chain moves: the last blocks get other hashes. Reveals after this see
    ///      the new hashes, as they would when re-executed on the new chain.
    function reorg(uint256 depth, uint256 salt) external {
        depth = bound(depth, 1, 40);
        for (uint256 i = 1; i <= depth && i <= block.number; ++i) {
            vm.setBlockhash(block.number - i, keccak256(abi.encode(salt, i)));
        }
        calls["reorg"]++;
    }

    // ------------------------------------------------------------------ registry and records

    function registerModel(uint256 userSeed, uint256 pool) external {
        address owner = _user(userSeed);
        pool = bound(pool, 0, 5 ether);
        uint256 fee = registry.registrationFee();
        ModelRegistry.ModelInput memory input = ModelRegistry.ModelInput("m", "onnx", "", 0, false, fee);
        IIPFSIncentives.ContentSpec memory spec = _spec;
        vm.prank(owner);
        registry.registerModel{value: fee + pool}(input, "bafymodel", spec);
        calls["registerModel"]++;
    }

    function fund(uint256 userSeed, uint256 recordSeed, uint256 amount) external {
        uint256 id = _recordId(recordSeed);
        if (id == 0 || incentives.currentEpoch() >= incentives.getRecord(id).endEpoch) return;
        amount = bound(amount, 1, 5 ether);
        vm.prank(_user(userSeed));
        incentives.fund{value: amount}(id);
        calls["fund"]++;
    }

    function reclaim(uint256 userSeed, uint256 recordSeed) external {
        uint256 id = _recordId(recordSeed);
        address user = _user(userSeed);
        uint256 contribution = incentives.contributionOf(id, user);
        if (id == 0 || contribution == 0) return;
        if (incentives.currentEpoch() < incentives.getRecord(id).endEpoch + incentives.REPORT_GRACE_EPOCHS()) return;
        granted[user] += contribution;
        vm.prank(user);
        incentives.reclaim(id);
        calls["reclaim"]++;
        vm.prank(user);
        try incentives.reclaim(id) {
            doubleWithdrawal = true;
        } catch {}
    }

    // ------------------------------------------------------------------ providers and pins

    function registerProvider(uint256 providerSeed, uint256 stake) external {
        address p = _provider(providerSeed);
        if (incentives.getProvider(p).registered) return;
        stake = bound(stake, 1 ether, 3 ether);
        if (p == providers[0]) diligentIn += stake;
        vm.prank(p);
        incentives.registerProvider{value: stake}("peer");
        calls["registerProvider"]++;
    }

    function addStake(uint256 providerSeed, uint256 amount) external {
        address p = _provider(providerSeed);
        if (!incentives.getProvider(p).registered) return;
        amount = bound(amount, 1, 2 ether);
        if (p == providers[0]) diligentIn += amount;
        vm.prank(p);
        incentives.addStake{value: amount}();
        calls["addStake"]++;
    }

    function requestUnbond(uint256 providerSeed, uint256 amount) external {
        address p = _provider(providerSeed);
        uint256 bonded = incentives.bondedOf(p);
        if (bonded == 0) return;
        // mostly stay above the minimum (keep working); now and then leave altogether
        uint256 min = incentives.params().minStake;
        amount = amount % 4 == 0 || bonded <= min ? bound(amount, 1, bonded) : bound(amount, 1, bonded - min);
        vm.prank(p);
        try incentives.requestUnbond(amount) {
            calls["requestUnbond"]++;
        } catch {}
    }

    /// @dev The provider waits out its unbonding delay and takes its stake.
    function withdrawStake(uint256 providerSeed) external {
        address p = _provider(providerSeed);
        uint64 readyAt = incentives.stakeOf(p).unbondingReadyAt;
        if (readyAt > block.timestamp) _warpTo(readyAt);
        vm.prank(p);
        try incentives.withdrawStake() returns (uint256 amount) {
            if (p == providers[0]) diligentOut += amount;
            calls["withdrawStake"]++;
            vm.prank(p);
            try incentives.withdrawStake() {
                doubleWithdrawal = true;
            } catch {}
        } catch {}
    }

    function commitPin(uint256 providerSeed, uint256 recordSeed) external {
        uint256 id = _recordId(recordSeed);
        if (id == 0) return;
        address p = _provider(providerSeed);
        vm.prank(p);
        try incentives.commitPin(id) {
            _commitEpoch[id][p] = incentives.currentEpoch();
            calls["commitPin"]++;
        } catch {}
    }

    function unpin(uint256 providerSeed, uint256 recordSeed) external {
        uint256 id = _recordId(recordSeed);
        if (id == 0) return;
        vm.prank(_provider(providerSeed));
        try incentives.unpin(id) {
            calls["unpin"]++;
        } catch {}
    }

    function reportPin(uint256 providerSeed, uint256 recordSeed) external {
        uint256 id = _recordId(recordSeed);
        if (id == 0) return;
        address p = _provider(providerSeed);
        uint64 from = incentives.getPin(id, p).nextEpoch;
        vm.prank(p);
        try incentives.reportPin(id) {
            uint64 to = incentives.getPin(id, p).nextEpoch;
            IPFSIncentives.Record memory r = incentives.getRecord(id);
            // paid epochs [from, to) all began after the commit and have ended
            if (from <= _commitEpoch[id][p] || to > incentives.currentEpoch() || to > r.endEpoch) {
                paidUncoveredEpoch = true;
            }
            granted[p] += uint256(to - from) * r.sizeBytes * r.rewardPerByteEpoch;
            calls["reportPin"]++;
            vm.prank(p);
            try incentives.reportPin(id) returns (uint256 again) {
                if (again > 0) doubleWithdrawal = true;
            } catch {}
        } catch {}
    }

    // ------------------------------------------------------------------ challenges

    function challenge(uint256 userSeed, uint256 providerSeed, uint256 recordSeed) external {
        uint256 id = _recordId(recordSeed);
        if (id == 0) return;
        address challenger = _user(userSeed);
        bytes32 secret = keccak256(abi.encode("secret", incentives.challengeCount() + 1));
        vm.prank(challenger);
        try incentives.challenge{value: _bond}(
            id, _provider(providerSeed), keccak256(abi.encode(secret, challenger))
        ) returns (
            uint256 cid
        ) {
            _secrets[cid] = secret;
            calls["challenge"]++;
        } catch {}
    }

    /// @dev The challenger reveals once the seed block is deep enough (if it still can); the
    ///      diligent provider answers at once.
    function reveal(uint256 challengeSeed) external {
        uint256 id = _challengeId(challengeSeed);
        if (id == 0) return;
        IPFSIncentives.Challenge memory c = incentives.getChallenge(id);
        if (c.status != IPFSIncentives.ChallengeStatus.Committed) return;
        uint256 from = uint256(c.seedBlock) + incentives.SEED_CONFIRMATIONS();
        if (block.number < from) vm.roll(from);
        try incentives.reveal(id, _secrets[id]) {
            calls["reveal"]++;
        } catch {}
    }

    /// @dev The provider answers honestly, or (when `honest` is false and it is not the diligent
    ///      provider) with one corrupted leaf, which must revert.
    function respond(uint256 challengeSeed, bool honest) external {
        uint256 id = _challengeId(challengeSeed);
        if (id == 0) return;
        IPFSIncentives.Challenge memory c = incentives.getChallenge(id);
        if (c.status != IPFSIncentives.ChallengeStatus.Revealed || block.timestamp > c.respondBy) return;
        _answer(id, c, honest || c.provider == providers[0]);
    }

    function _answer(uint256 id, IPFSIncentives.Challenge memory c, bool honest) internal {
        uint64[] memory idx = incentives.leafIndices(id);
        bytes[] memory chunks = new bytes[](idx.length);
        bytes32[][] memory proofs = new bytes32[][](idx.length);
        for (uint256 i; i < idx.length; ++i) {
            chunks[i] = MerkleTree.chunk(_data, idx[i]);
            proofs[i] = MerkleTree.proof(_leaves, idx[i]);
        }
        if (!honest) chunks[id % idx.length][0] ^= 0xff;
        vm.prank(c.provider);
        try incentives.respond(id, chunks, proofs) {
            if (!honest) unauthorizedSuccess = true; // a corrupted proof must never pass
            granted[c.provider] += c.bond;
            calls["respondHonest"]++;
        } catch {
            if (!honest) calls["respondWrong"]++;
        }
    }

    /// @dev Time (or the blockhash window) runs out on a challenge and someone resolves it.
    function resolve(uint256 challengeSeed) external {
        uint256 id = _challengeId(challengeSeed);
        if (id == 0) return;
        IPFSIncentives.Challenge memory c = incentives.getChallenge(id);
        if (c.status == IPFSIncentives.ChallengeStatus.Committed) {
            uint256 after_ = uint256(c.seedBlock) + incentives.BLOCKHASH_WINDOW() + 1;
            if (block.number < after_) vm.roll(after_);
        } else if (c.status == IPFSIncentives.ChallengeStatus.Revealed) {
            // the diligent provider's node answers within the window, whatever came between
            if (c.provider == providers[0]) {
                this.respond(challengeSeed, true);
                if (incentives.getChallenge(id).status != IPFSIncentives.ChallengeStatus.Revealed) return;
            }
            if (block.timestamp <= c.respondBy) _warpTo(uint256(c.respondBy) + 1);
        } else {
            return;
        }
        uint256 bonded = incentives.stakeOf(c.provider).bonded + incentives.stakeOf(c.provider).unbonding;
        try incentives.resolve(id) {
            IPFSIncentives.ChallengeStatus status = incentives.getChallenge(id).status;
            if (status == IPFSIncentives.ChallengeStatus.Failed) {
                uint256 slashed =
                    bonded - incentives.stakeOf(c.provider).bonded - incentives.stakeOf(c.provider).unbonding;
                uint256 share = slashed * c.challengerShareBps / 10_000;
                granted[c.challenger] += c.bond + share;
                granted[treasury] += slashed - share;
            } else if (status == IPFSIncentives.ChallengeStatus.Unrevealed) {
                granted[c.provider] += c.bond;
            } else {
                granted[c.challenger] += c.bond;
            }
            calls["resolve"]++;
        } catch {}
    }

    /// @dev A whole storage proof in one step: challenge a pin, then answer honestly, answer
    ///      wrongly and let the window run out, never reveal, or reveal and get no answer.
    function challengeCycle(uint256 userSeed, uint256 providerSeed, uint256 recordSeed, uint8 outcome) external {
        uint256 before = incentives.challengeCount();
        this.challenge(userSeed, providerSeed, recordSeed);
        uint256 id = incentives.challengeCount();
        if (id == before) return;
        outcome %= 4;
        if (outcome == 2) {
            this.resolve(0); // never revealed
            calls["challengeCycle"]++;
            return;
        }
        this.reveal(0);
        if (outcome == 0) {
            this.respond(0, true);
        } else if (outcome == 1) {
            this.respond(0, false);
        }
        this.resolve(0);
        calls["challengeCycle"]++;
    }

    // ------------------------------------------------------------------ withdrawals

    function withdraw(uint256 who, bool fromRegistry) external {
        address account = _everyone[who % _everyone.length];
        if (fromRegistry) {
            if (registry.creditOf(account) == 0) return;
            vm.prank(account);
            registry.withdraw();
            vm.prank(account);
            try registry.withdraw() {
                doubleWithdrawal = true;
            } catch {}
        } else {
            if (incentives.creditOf(account) == 0) return;
            vm.prank(account);
            withdrawnCredits[account] += incentives.withdraw();
            vm.prank(account);
            try incentives.withdraw() {
                doubleWithdrawal = true;
            } catch {}
        }
        calls["withdraw"]++;
    }

    // ------------------------------------------------------------------ gated calls by the wrong party

    /// @dev A gated call by the wrong party, in a state where the right party would pass every
    ///      other check (the admin's changes are scheduled first, the model exists); it must
    ///      fail with the access error itself.
    function tryGated(uint256 who, uint8 which) external {
        address caller = _everyone[who % _everyone.length];
        if (caller == admin) return;
        IIPFSIncentives.ContentSpec memory spec = _spec;
        uint256 op = which % 7;
        Administered target = op < 4 ? Administered(address(incentives)) : Administered(address(registry));
        bytes memory call;
        bytes4 expected = IAccessControl.AccessControlUnauthorizedAccount.selector;
        if (op == 0) {
            call = abi.encodeCall(IPFSIncentives.openRecord, ("bafyrogue", spec, caller));
        } else if (op == 1) {
            IPFSIncentives.Params memory p = incentives.params();
            _schedule(target, IPFSIncentives.setParams.selector, abi.encode(p));
            call = abi.encodeCall(IPFSIncentives.setParams, (p));
        } else if (op == 2 || op == 5) {
            _schedule(target, Administered.setTreasury.selector, abi.encode(caller));
            call = abi.encodeCall(Administered.setTreasury, (caller));
        } else if (op == 3) {
            if (incentives.paused()) return;
            call = abi.encodeCall(Administered.pause, ());
        } else if (op == 4) {
            _schedule(target, ModelRegistry.setRegistrationFee.selector, abi.encode(uint256(0)));
            call = abi.encodeCall(ModelRegistry.setRegistrationFee, (0));
        } else if (registry.modelCount() > 0 && registry.ownerOf(1) != caller) {
            call = abi.encodeCall(ModelRegistry.setPrice, (1, 1));
            expected = ModelRegistry.NotModelOwner.selector;
        } else {
            return;
        }
        vm.prank(caller);
        (bool ok, bytes memory ret) = address(target).call(call);
        if (ok) unauthorizedSuccess = true;
        else if (ret.length < 4 || bytes4(ret) != expected) wrongRejection = true;
        calls["tryGated"]++;
    }

    /// @dev The admin schedules a change (the invariant deployment has no delay), so that only
    ///      the caller's role can stop the call.
    function _schedule(Administered target, bytes4 setter, bytes memory args) internal {
        vm.prank(admin);
        target.scheduleChange(setter, args);
    }
}

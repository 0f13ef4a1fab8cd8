// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {Administered} from "./common/Administered.sol";
import {CreditLedger} from "./common/CreditLedger.sol";
import {Sha256Merkle} from "./common/Sha256Merkle.sol";
import {StakeLedger} from "./common/StakeLedger.sol";
import {IIPFSIncentives} from "./interfaces/IIPFSIncentives.sol";

/// @title IPFSIncentives
/// @notice Pays storage providers for pinning content (model files) on IPFS.
///
///         A content record names a CID, its size, a replication target, a reward rate per
///         byte-epoch, a funded pool, a duration in epochs and a commitment to the bytes (the
///         SHA-256 Merkle root over its 1 KiB leaf chunks, and the leaf count). Records are
///         opened by the registrar (the ModelRegistry) and topped up by anyone.
///
///         Providers register with stake and commit to pin records, up to each record's
///         replication target. Once per epoch a provider reports each pin and is credited
///         `sizeBytes * rewardPerByteEpoch` from the pool (a second report in the same epoch
///         reverts, so it never pays twice). Anyone may challenge a pin with a bond: the leaf to
///         prove is drawn from a future block hash, and the provider must answer with the leaf
///         bytes and a Merkle path before the window closes. A wrong or missing answer slashes
///         the provider (part to the challenger, the rest to the treasury) and drops the pin;
///         a right answer pays the bond to the provider. After a record expires, its funders
///         reclaim the unspent pool pro rata. All payments are pull payments (`withdraw`).
///         Pausing stops new records, funding, pins, reports and challenges; withdrawals, refunds,
///         unbonding and answers to open challenges keep working.
contract IPFSIncentives is IIPFSIncentives, Administered, CreditLedger, StakeLedger {
    // ------------------------------------------------------------------ roles, constants

    /// @notice May open content records (granted to the ModelRegistry).
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @notice Blocks between a challenge and the block whose hash draws the leaf.
    uint256 public constant SEED_DELAY = 2;
    /// @notice Most pins a record may ask for.
    uint16 public constant MAX_REPLICATION = 64;
    /// @notice Longest record, in epochs.
    uint32 public constant MAX_DURATION_EPOCHS = 1_000_000;
    /// @notice Longest CID string accepted.
    uint256 public constant MAX_CID_LENGTH = 128;
    uint256 private constant BPS = 10_000;

    bytes32 private constant REASON_REWARD = "pin-reward";
    bytes32 private constant REASON_REFUND = "pool-refund";
    bytes32 private constant REASON_BOND = "challenge-bond";
    bytes32 private constant REASON_SLASH = "slash";
    bytes32 private constant REASON_WRONG_PROOF = "wrong-proof";
    bytes32 private constant REASON_NO_ANSWER = "no-answer";

    // ------------------------------------------------------------------ types

    /// @notice Parameters the admin may change.
    struct Params {
        uint128 minStake; // bonded stake a provider needs to commit and report
        uint128 challengeBond; // exact value a challenger deposits
        uint128 challengeSlash; // stake slashed for a failed challenge
        uint16 challengerShareBps; // share of the slashed stake credited to the challenger
        uint32 responseWindow; // seconds a provider has to answer a challenge
    }

    struct Record {
        address funder;
        uint16 replicationTarget;
        uint16 activePins;
        uint64 sizeBytes;
        uint64 leafCount;
        uint64 startEpoch;
        uint64 endEpoch; // exclusive
        bytes32 merkleRoot;
        uint128 rewardPerByteEpoch;
        uint128 pool; // unspent funds
        uint128 contributed; // outstanding contributions, the base of pro-rata refunds
        string cid;
    }

    struct Provider {
        bool registered;
        uint32 activePins;
        uint32 openChallenges;
        string peerId; // where to fetch: the provider's IPFS peer id or multiaddr
    }

    struct Pin {
        bool active;
        uint64 nextEpoch; // first epoch not yet reported
        uint256 openChallenge; // id of the open challenge on this pin, 0 if none
    }

    enum ChallengeStatus {
        None,
        Open,
        Answered,
        Failed
    }

    struct Challenge {
        uint256 recordId;
        address provider;
        address challenger;
        ChallengeStatus status;
        bool drawn;
        uint64 seedBlock;
        uint64 respondBy; // timestamp
        uint128 bond;
        uint64 leafIndex;
    }

    // ------------------------------------------------------------------ storage

    /// @notice Seconds per epoch; epoch n covers [n * epochLength, (n + 1) * epochLength).
    uint64 public immutable epochLength;

    Params private _params;

    uint256 public recordCount;
    uint256 public challengeCount;
    /// @notice Sum of the pools of all records.
    uint256 public totalPools;
    /// @notice Sum of the bonds of open challenges.
    uint256 public totalBonds;

    mapping(uint256 recordId => Record) private _records;
    mapping(uint256 recordId => mapping(address funder => uint256)) private _contributions;
    mapping(address provider => Provider) private _providers;
    mapping(uint256 recordId => mapping(address provider => Pin)) private _pins;
    mapping(uint256 challengeId => Challenge) private _challenges;

    // ------------------------------------------------------------------ events

    event ParamsUpdated(Params params);
    event RecordOpened(
        uint256 indexed recordId,
        address indexed funder,
        string cid,
        ContentSpec spec,
        uint64 startEpoch,
        uint64 endEpoch
    );
    event RecordFunded(uint256 indexed recordId, address indexed funder, uint256 amount, uint256 pool);
    event FundsReclaimed(uint256 indexed recordId, address indexed funder, uint256 amount);
    event ProviderRegistered(address indexed provider, string peerId, uint256 stake);
    event ProviderPeerIdUpdated(address indexed provider, string peerId);
    event PinCommitted(uint256 indexed recordId, address indexed provider, uint64 epoch);
    event PinDropped(uint256 indexed recordId, address indexed provider, bytes32 reason);
    event PinReported(uint256 indexed recordId, address indexed provider, uint64 indexed epoch, uint256 reward);
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

    // ------------------------------------------------------------------ errors

    error InvalidParams();
    error EmptyCid();
    error CidTooLong(uint256 length, uint256 max);
    error ZeroSize();
    error ZeroRoot();
    error LeafCountMismatch(uint64 expected, uint64 given);
    error InvalidReplication(uint16 given, uint16 max);
    error InvalidDuration(uint32 given, uint32 max);
    error UnknownRecord(uint256 recordId);
    error RecordExpired(uint256 recordId, uint64 endEpoch);
    error RecordNotExpired(uint256 recordId, uint64 endEpoch);
    error NothingToReclaim(uint256 recordId, address funder);
    error AlreadyRegistered(address provider);
    error NotRegistered(address provider);
    error StakeBelowMinimum(uint256 stake, uint256 minStake);
    error ReplicationFull(uint256 recordId, uint16 target);
    error AlreadyPinned(uint256 recordId, address provider);
    error NotPinned(uint256 recordId, address provider);
    error AlreadyReported(uint256 recordId, address provider, uint64 epoch);
    error PinUnderChallenge(uint256 recordId, address provider, uint256 challengeId);
    error HasActivePins(address provider, uint32 pins);
    error HasOpenChallenges(address provider, uint32 challenges);
    error WrongBond(uint256 expected, uint256 sent);
    error SelfChallenge();
    error UnknownChallenge(uint256 challengeId);
    error ChallengeNotOpen(uint256 challengeId);
    error NotChallengedProvider(uint256 challengeId, address caller);
    error SeedNotReady(uint256 challengeId, uint64 seedBlock);
    error SeedExpired(uint256 challengeId, uint64 seedBlock);
    error SeedStillAvailable(uint256 challengeId, uint64 seedBlock);
    error LeafAlreadyDrawn(uint256 challengeId);
    error ResponseWindowClosed(uint256 challengeId, uint64 respondBy);
    error ResponseWindowOpen(uint256 challengeId, uint64 respondBy);

    // ------------------------------------------------------------------ setup

    constructor(address admin, address treasury_, uint64 epochLength_, uint64 unbondingDelay_, Params memory params_)
        Administered(admin, treasury_)
        StakeLedger(unbondingDelay_)
    {
        if (epochLength_ == 0) revert InvalidParams();
        epochLength = epochLength_;
        _setParams(params_);
    }

    /// @notice Replaces the parameters (admin).
    function setParams(Params calldata params_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setParams(params_);
    }


    // ------------------------------------------------------------------ records

    /// @inheritdoc IIPFSIncentives
    function openRecord(string calldata cid, ContentSpec calldata spec, address funder)
        external
        payable
        onlyRole(REGISTRAR_ROLE)
        whenNotPaused
        returns (uint256 recordId)
    {
        if (funder == address(0)) revert ZeroAddress();
        _checkSpec(cid, spec);
        recordId = ++recordCount;
        Record storage r = _records[recordId];
        uint64 start = currentEpoch();
        r.funder = funder;
        r.replicationTarget = spec.replicationTarget;
        r.sizeBytes = spec.sizeBytes;
        r.leafCount = spec.leafCount;
        r.startEpoch = start;
        r.endEpoch = start + spec.durationEpochs;
        r.merkleRoot = spec.merkleRoot;
        r.rewardPerByteEpoch = spec.rewardPerByteEpoch;
        r.cid = cid;
        emit RecordOpened(recordId, funder, cid, spec, start, r.endEpoch);
        if (msg.value > 0) _fund(recordId, r, funder, msg.value);
    }

    /// @notice Adds `msg.value` to the pool of a record that has not expired.
    function fund(uint256 recordId) external payable whenNotPaused {
        Record storage r = _liveRecord(recordId);
        if (msg.value == 0) revert ZeroAmount();
        _fund(recordId, r, msg.sender, msg.value);
    }

    /// @notice After expiry, credits the caller its share of the unspent pool, in proportion to
    ///         its contribution among the contributions not yet reclaimed.
    function reclaim(uint256 recordId) external returns (uint256 amount) {
        Record storage r = _record(recordId);
        if (currentEpoch() < r.endEpoch) revert RecordNotExpired(recordId, r.endEpoch);
        uint256 contribution = _contributions[recordId][msg.sender];
        if (contribution == 0) revert NothingToReclaim(recordId, msg.sender);
        amount = uint256(r.pool) * contribution / r.contributed;
        _contributions[recordId][msg.sender] = 0;
        r.contributed -= SafeCast.toUint128(contribution);
        r.pool -= SafeCast.toUint128(amount);
        totalPools -= amount;
        emit FundsReclaimed(recordId, msg.sender, amount);
        _credit(msg.sender, amount, REASON_REFUND);
    }

    // ------------------------------------------------------------------ providers and pins

    /// @notice Registers the caller as a storage provider; `msg.value` is its stake.
    function registerProvider(string calldata peerId) external payable whenNotPaused {
        Provider storage p = _providers[msg.sender];
        if (p.registered) revert AlreadyRegistered(msg.sender);
        if (msg.value < _params.minStake) revert StakeBelowMinimum(msg.value, _params.minStake);
        p.registered = true;
        p.peerId = peerId;
        _addStake(msg.sender, msg.value);
        emit ProviderRegistered(msg.sender, peerId, msg.value);
    }

    /// @notice Updates where the caller's pinned content can be fetched.
    function setPeerId(string calldata peerId) external {
        _registered(msg.sender);
        _providers[msg.sender].peerId = peerId;
        emit ProviderPeerIdUpdated(msg.sender, peerId);
    }

    /// @notice Commits the caller to pin a live record with room for another replica.
    function commitPin(uint256 recordId) external whenNotPaused {
        Provider storage p = _registered(msg.sender);
        _requireMinStake(msg.sender);
        Record storage r = _liveRecord(recordId);
        Pin storage pin = _pins[recordId][msg.sender];
        if (pin.active) revert AlreadyPinned(recordId, msg.sender);
        if (r.activePins >= r.replicationTarget) revert ReplicationFull(recordId, r.replicationTarget);
        uint64 epoch = currentEpoch();
        pin.active = true;
        if (pin.nextEpoch < epoch) pin.nextEpoch = epoch; // a re-pin cannot report an epoch twice
        r.activePins += 1;
        p.activePins += 1;
        emit PinCommitted(recordId, msg.sender, epoch);
    }

    /// @notice Drops the caller's pin (not while it is challenged).
    function unpin(uint256 recordId) external {
        Pin storage pin = _activePin(recordId, msg.sender);
        if (pin.openChallenge != 0) revert PinUnderChallenge(recordId, msg.sender, pin.openChallenge);
        _dropPin(recordId, msg.sender, "voluntary");
    }

    /// @notice Reports that the caller still pins `recordId` this epoch and credits the reward
    ///         (`sizeBytes * rewardPerByteEpoch`, or what is left of the pool).
    function reportPin(uint256 recordId) external whenNotPaused returns (uint256 reward) {
        Pin storage pin = _activePin(recordId, msg.sender);
        if (pin.openChallenge != 0) revert PinUnderChallenge(recordId, msg.sender, pin.openChallenge);
        _requireMinStake(msg.sender);
        Record storage r = _liveRecord(recordId);
        uint64 epoch = currentEpoch();
        if (epoch < pin.nextEpoch) revert AlreadyReported(recordId, msg.sender, epoch);
        pin.nextEpoch = epoch + 1;
        reward = uint256(r.sizeBytes) * r.rewardPerByteEpoch;
        if (reward > r.pool) reward = r.pool;
        r.pool -= SafeCast.toUint128(reward);
        totalPools -= reward;
        emit PinReported(recordId, msg.sender, epoch, reward);
        _credit(msg.sender, reward, REASON_REWARD);
    }

    // ------------------------------------------------------------------ storage proofs

    /// @notice Challenges `provider` to prove it stores record `recordId`; `msg.value` must be
    ///         the challenge bond. The leaf is drawn from the hash of block
    ///         `block.number + SEED_DELAY`.
    function challenge(uint256 recordId, address provider) external payable whenNotPaused returns (uint256 id) {
        if (provider == msg.sender) revert SelfChallenge();
        if (msg.value != _params.challengeBond) revert WrongBond(_params.challengeBond, msg.value);
        _liveRecord(recordId);
        Pin storage pin = _activePin(recordId, provider);
        if (pin.openChallenge != 0) revert PinUnderChallenge(recordId, provider, pin.openChallenge);
        id = ++challengeCount;
        Challenge storage c = _challenges[id];
        c.recordId = recordId;
        c.provider = provider;
        c.challenger = msg.sender;
        c.status = ChallengeStatus.Open;
        c.seedBlock = SafeCast.toUint64(block.number + SEED_DELAY);
        c.respondBy = SafeCast.toUint64(block.timestamp) + _params.responseWindow;
        c.bond = SafeCast.toUint128(msg.value);
        pin.openChallenge = id;
        _providers[provider].openChallenges += 1;
        totalBonds += msg.value;
        emit ChallengeOpened(id, recordId, provider, msg.sender, c.seedBlock, c.respondBy);
    }

    /// @notice Fixes the challenged leaf once the seed block exists. Anyone may call it (the
    ///         challenger should, so that the provider cannot let the seed age out and hope for
    ///         a different leaf after `reseed`).
    function drawLeaf(uint256 challengeId) external returns (uint64 leafIndex) {
        Challenge storage c = _openChallenge(challengeId);
        if (c.drawn) revert LeafAlreadyDrawn(challengeId);
        return _draw(challengeId, c);
    }

    /// @notice Starts a fresh seed for a challenge whose seed block hash is no longer available
    ///         (older than 256 blocks) before its leaf was drawn; the window is extended to a
    ///         full response window from now.
    function reseed(uint256 challengeId) external {
        Challenge storage c = _openChallenge(challengeId);
        if (c.drawn) revert LeafAlreadyDrawn(challengeId);
        if (block.number <= uint256(c.seedBlock) + 256) revert SeedStillAvailable(challengeId, c.seedBlock);
        c.seedBlock = SafeCast.toUint64(block.number + SEED_DELAY);
        uint64 respondBy = SafeCast.toUint64(block.timestamp) + _params.responseWindow;
        if (respondBy > c.respondBy) c.respondBy = respondBy;
        emit ChallengeReseeded(challengeId, c.seedBlock, c.respondBy);
    }

    /// @notice The challenged provider answers with the drawn leaf's bytes and its Merkle path.
    ///         A right answer closes the challenge and pays the bond to the provider; a wrong
    ///         one slashes the provider and drops the pin.
    function respond(uint256 challengeId, bytes calldata chunk, bytes32[] calldata proof)
        external
        returns (bool valid)
    {
        Challenge storage c = _openChallenge(challengeId);
        if (msg.sender != c.provider) revert NotChallengedProvider(challengeId, msg.sender);
        if (block.timestamp > c.respondBy) revert ResponseWindowClosed(challengeId, c.respondBy);
        uint64 index = c.drawn ? c.leafIndex : _draw(challengeId, c);
        Record storage r = _records[c.recordId];
        valid = chunk.length == Sha256Merkle.leafLength(r.sizeBytes, index)
            && Sha256Merkle.verify(r.merkleRoot, r.leafCount, index, chunk, proof);
        if (!valid) {
            _fail(challengeId, c, REASON_WRONG_PROOF);
            return false;
        }
        c.status = ChallengeStatus.Answered;
        _closeChallenge(c);
        emit ChallengeAnswered(challengeId, c.provider, index);
        _credit(c.provider, c.bond, REASON_BOND);
    }

    /// @notice Fails a challenge whose window closed unanswered (anyone may call it).
    function resolveTimeout(uint256 challengeId) external {
        Challenge storage c = _openChallenge(challengeId);
        if (block.timestamp <= c.respondBy) revert ResponseWindowOpen(challengeId, c.respondBy);
        if (block.number <= c.seedBlock) revert SeedNotReady(challengeId, c.seedBlock);
        _fail(challengeId, c, REASON_NO_ANSWER);
    }

    // ------------------------------------------------------------------ views

    /// @notice The epoch of the current block.
    function currentEpoch() public view returns (uint64) {
        return SafeCast.toUint64(block.timestamp / epochLength);
    }

    function params() external view returns (Params memory) {
        return _params;
    }

    function getRecord(uint256 recordId) external view returns (Record memory) {
        return _record(recordId);
    }

    function contributionOf(uint256 recordId, address funder) external view returns (uint256) {
        return _contributions[recordId][funder];
    }

    function getProvider(address provider) external view returns (Provider memory) {
        return _providers[provider];
    }

    function getPin(uint256 recordId, address provider) external view returns (Pin memory) {
        return _pins[recordId][provider];
    }

    function getChallenge(uint256 challengeId) external view returns (Challenge memory) {
        return _challenges[challengeId];
    }

    /// @notice Everything the contract owes: stakes, credits, pools and open bonds. The
    ///         contract's balance is never below it.
    function liabilities() external view returns (uint256) {
        return totalStaked + totalCredits + totalPools + totalBonds;
    }

    // ------------------------------------------------------------------ internals

    function _setParams(Params memory p) private {
        if (p.challengerShareBps > BPS || p.responseWindow == 0 || p.minStake == 0) revert InvalidParams();
        _params = p;
        emit ParamsUpdated(p);
    }

    function _checkSpec(string calldata cid, ContentSpec calldata spec) private pure {
        uint256 len = bytes(cid).length;
        if (len == 0) revert EmptyCid();
        if (len > MAX_CID_LENGTH) revert CidTooLong(len, MAX_CID_LENGTH);
        if (spec.sizeBytes == 0) revert ZeroSize();
        if (spec.merkleRoot == bytes32(0)) revert ZeroRoot();
        uint64 expected = SafeCast.toUint64(Sha256Merkle.leafCountFor(spec.sizeBytes));
        if (spec.leafCount != expected) revert LeafCountMismatch(expected, spec.leafCount);
        if (spec.replicationTarget == 0 || spec.replicationTarget > MAX_REPLICATION) {
            revert InvalidReplication(spec.replicationTarget, MAX_REPLICATION);
        }
        if (spec.durationEpochs == 0 || spec.durationEpochs > MAX_DURATION_EPOCHS) {
            revert InvalidDuration(spec.durationEpochs, MAX_DURATION_EPOCHS);
        }
    }

    function _fund(uint256 recordId, Record storage r, address funder, uint256 amount) private {
        r.pool += SafeCast.toUint128(amount);
        r.contributed += SafeCast.toUint128(amount);
        _contributions[recordId][funder] += amount;
        totalPools += amount;
        emit RecordFunded(recordId, funder, amount, r.pool);
    }

    function _record(uint256 recordId) private view returns (Record storage r) {
        r = _records[recordId];
        if (r.funder == address(0)) revert UnknownRecord(recordId);
    }

    function _liveRecord(uint256 recordId) private view returns (Record storage r) {
        r = _record(recordId);
        if (currentEpoch() >= r.endEpoch) revert RecordExpired(recordId, r.endEpoch);
    }

    function _registered(address provider) private view returns (Provider storage p) {
        p = _providers[provider];
        if (!p.registered) revert NotRegistered(provider);
    }

    function _requireMinStake(address provider) private view {
        uint256 bonded = bondedOf(provider);
        if (bonded < _params.minStake) revert StakeBelowMinimum(bonded, _params.minStake);
    }

    function _activePin(uint256 recordId, address provider) private view returns (Pin storage pin) {
        pin = _pins[recordId][provider];
        if (!pin.active) revert NotPinned(recordId, provider);
    }

    function _openChallenge(uint256 challengeId) private view returns (Challenge storage c) {
        c = _challenges[challengeId];
        if (c.status == ChallengeStatus.None) revert UnknownChallenge(challengeId);
        if (c.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
    }

    function _draw(uint256 challengeId, Challenge storage c) private returns (uint64 index) {
        if (block.number <= c.seedBlock) revert SeedNotReady(challengeId, c.seedBlock);
        bytes32 seed = blockhash(c.seedBlock);
        if (seed == bytes32(0)) revert SeedExpired(challengeId, c.seedBlock);
        index = SafeCast.toUint64(uint256(keccak256(abi.encode(seed, challengeId))) % _records[c.recordId].leafCount);
        c.leafIndex = index;
        c.drawn = true;
        emit LeafDrawn(challengeId, index);
    }

    function _fail(uint256 challengeId, Challenge storage c, bytes32 reason) private {
        c.status = ChallengeStatus.Failed;
        _closeChallenge(c);
        _dropPin(c.recordId, c.provider, reason);
        uint256 slashed = _slash(c.provider, _params.challengeSlash, REASON_SLASH);
        uint256 toChallenger = slashed * _params.challengerShareBps / BPS;
        emit ChallengeFailed(challengeId, c.provider, reason, slashed);
        _credit(c.challenger, uint256(c.bond) + toChallenger, REASON_SLASH);
        _credit(treasury, slashed - toChallenger, REASON_SLASH);
    }

    function _closeChallenge(Challenge storage c) private {
        _pins[c.recordId][c.provider].openChallenge = 0;
        _providers[c.provider].openChallenges -= 1;
        totalBonds -= c.bond;
    }

    function _dropPin(uint256 recordId, address provider, bytes32 reason) private {
        _pins[recordId][provider].active = false;
        _records[recordId].activePins -= 1;
        _providers[provider].activePins -= 1;
        emit PinDropped(recordId, provider, reason);
    }

    // ------------------------------------------------------------------ staking hooks

    function _checkCanStake(address account) internal view override {
        _registered(account);
    }

    function _checkCanUnbond(address account, uint256 remainingBonded) internal view override {
        uint32 pins = _providers[account].activePins;
        if (remainingBonded < _params.minStake && pins != 0) revert HasActivePins(account, pins);
    }

    function _checkCanWithdrawStake(address account) internal view override {
        uint32 open = _providers[account].openChallenges;
        if (open != 0) revert HasOpenChallenges(account, open);
    }
}

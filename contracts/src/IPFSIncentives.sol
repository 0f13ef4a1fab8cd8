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
///         replication target; every pin is backed by `stakePerByte * sizeBytes` of bonded stake
///         on top of `minStake`. A pin earns for each whole epoch it covers: committing in epoch
///         e makes e + 1 the first payable epoch, `reportPin` pays the epochs that have ended
///         since the last report, and dropping a pin forfeits the epoch in progress. So an epoch
///         is paid only if the pin stood, and could be challenged, from its start to its end.
///
///         Anyone may challenge a pin with a bond and a commitment to a secret. Once the seed
///         block (the block after the challenge) is `SEED_CONFIRMATIONS` deep, the challenger
///         reveals the secret; the seed is the hash of the secret and the seed block's hash, so
///         neither the challenger (who commits before the block exists) nor the block's producer
///         (who does not know the secret) can choose it. The seed draws `LEAVES_PER_CHALLENGE`
///         leaves, and the provider must answer with each leaf's bytes and Merkle path before the
///         window closes. A wrong answer only reverts (after a reorg the provider may have answered
///         another draw); the provider is slashed only when the window closes unanswered.
///         A right answer pays the bond to the provider, and so does a challenge never revealed.
///         After a record expires (plus one epoch for the last reports), its funders reclaim the
///         unspent pool pro rata. All payments are pull payments (`withdraw`).
///         Pausing stops new records, funding, registrations, pins and reports (earned epochs
///         are kept and paid after the pause); challenges, answers, withdrawals, refunds and
///         unbonding keep working, so a pin stays challengeable through a pause.
contract IPFSIncentives is IIPFSIncentives, Administered, CreditLedger, StakeLedger {
    // ------------------------------------------------------------------ roles, constants

    /// @notice May open content records (granted to the ModelRegistry).
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @notice Blocks between a challenge and its seed block.
    uint256 public constant SEED_DELAY = 1;
    /// @notice Blocks the seed block must be buried under before the secret is revealed, so
    ///         that a reorg of the selected chain re-executes the reveal over the same seed hash.
    uint256 public constant SEED_CONFIRMATIONS = 32;
    /// @notice Blocks for which `blockhash` is available: a challenge not revealed within them
    ///         can never be, and ends in the provider's favour.
    uint256 public constant BLOCKHASH_WINDOW = 256;
    /// @notice Leaves each challenge draws (with replacement): a provider holding a fraction f
    ///         of the leaves answers with probability f^16.
    uint256 public constant LEAVES_PER_CHALLENGE = 16;
    /// @notice Epochs after a record's end (and after any pause) during which only providers
    ///         may take from its pool.
    uint64 public constant REPORT_GRACE_EPOCHS = 1;
    /// @notice Notice a provider gives before a pin can be dropped, in blocks and in time (both
    ///         must pass): during it the pin stays challengeable, so a challenge already on its
    ///         way cannot be dodged by unpinning first.
    uint64 public constant EXIT_NOTICE_BLOCKS = 64;
    uint64 public constant EXIT_NOTICE = 10 minutes;
    /// @notice Most pins a record may ask for.
    uint16 public constant MAX_REPLICATION = 64;
    /// @notice Longest record, in epochs.
    uint32 public constant MAX_DURATION_EPOCHS = 1_000_000;
    /// @notice Longest CID string accepted.
    uint256 public constant MAX_CID_LENGTH = 128;
    /// @notice Bounds of the admin's parameters.
    uint256 public constant MAX_STAKE_PARAM = 1_000_000 ether;
    uint256 public constant MAX_STAKE_PER_BYTE = 1 ether;
    uint32 public constant MIN_RESPONSE_WINDOW = 1 minutes;
    uint32 public constant MAX_RESPONSE_WINDOW = 1 days;
    uint256 private constant BPS = 10_000;

    bytes32 private constant REASON_REWARD = "pin-reward";
    bytes32 private constant REASON_REFUND = "pool-refund";
    bytes32 private constant REASON_BOND = "challenge-bond";
    bytes32 private constant REASON_SLASH = "slash";
    bytes32 private constant REASON_NO_ANSWER = "no-answer";
    bytes32 private constant REASON_NOT_REVEALED = "not-revealed";
    bytes32 private constant REASON_VOID = "pin-gone";

    // ------------------------------------------------------------------ types

    /// @notice Parameters the admin may change (within the bounds above). A challenge keeps the
    ///         slash, share and window of the moment it was opened; a pin keeps its backing.
    struct Params {
        uint128 minStake; // bonded stake a provider needs to commit and report
        uint128 stakePerByte; // bonded stake each pinned byte needs on top of minStake
        uint128 challengeBond; // exact value a challenger deposits
        uint128 challengeSlash; // slashed for a failed challenge, on top of the pin's backing
        uint16 challengerShareBps; // share of the slashed stake credited to the challenger
        uint32 responseWindow; // seconds a provider has to answer once the leaves are drawn
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
        uint128 backing; // sum of the backing of its active pins
        string peerId; // where to fetch: the provider's IPFS peer id or multiaddr
    }

    struct Pin {
        bool active;
        uint32 nonce; // bumped by every commit, so challenges of an earlier pin cannot touch it
        uint32 openChallenges;
        uint64 nextEpoch; // first epoch not yet paid
        uint64 exitEpoch; // leaving: the epoch of the notice, never paid (0: staying)
        uint64 exitBlock; // leaving: the pin may be dropped from this block ...
        uint64 exitAt; // ... and this time on
        uint128 backing; // stake this pin needs, fixed at commit
    }

    enum ChallengeStatus {
        None,
        Committed, // waiting for the challenger's reveal
        Revealed, // leaves drawn, waiting for the provider's answer
        Answered,
        Failed, // window closed unanswered: slashed
        Unrevealed, // the challenger never revealed: bond to the provider
        Void // the pin was dropped by another failure first: bond back to the challenger
    }

    struct Challenge {
        uint256 recordId;
        address provider;
        address challenger;
        ChallengeStatus status;
        uint32 pinNonce;
        uint16 challengerShareBps;
        uint32 responseWindow;
        uint64 seedBlock;
        uint64 respondBy; // timestamp, set by the reveal
        uint128 bond;
        uint128 slash; // challengeSlash + the pin's backing, at the challenge
        bytes32 commitment; // keccak256(abi.encode(secret, challenger))
        bytes32 seed; // set by the reveal
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
    event PinCommitted(uint256 indexed recordId, address indexed provider, uint64 firstEpoch, uint256 backing);
    event PinDropped(uint256 indexed recordId, address indexed provider, bytes32 reason);
    event PinLeaving(uint256 indexed recordId, address indexed provider, uint64 exitBlock, uint64 exitAt);
    /// @notice Epochs [fromEpoch, toEpoch) of a pin were paid `reward`.
    event PinReported(
        uint256 indexed recordId, address indexed provider, uint64 fromEpoch, uint64 toEpoch, uint256 reward
    );
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
    event ChallengeClosed(uint256 indexed challengeId, ChallengeStatus status, address bondTo);

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
    error ReclaimNotOpen(uint256 recordId, uint64 fromEpoch);
    error NothingToReclaim(uint256 recordId, address funder);
    error AlreadyRegistered(address provider);
    error NotRegistered(address provider);
    error StakeBelowRequired(uint256 bonded, uint256 required);
    error ReplicationFull(uint256 recordId, uint16 target);
    error AlreadyPinned(uint256 recordId, address provider);
    error NotPinned(uint256 recordId, address provider);
    error NothingToReport(uint256 recordId, address provider, uint64 nextEpoch);
    error PoolExhausted(uint256 recordId, uint256 pool);
    error ExitNoticeRunning(uint256 recordId, uint64 exitBlock, uint64 exitAt);
    error PinUnderChallenge(uint256 recordId, address provider, uint32 openChallenges);
    error HasActivePins(address provider, uint32 pins);
    error HasOpenChallenges(address provider, uint32 challenges);
    error WrongBond(uint256 expected, uint256 sent);
    error SelfChallenge();
    error ZeroCommitment();
    error UnknownChallenge(uint256 challengeId);
    error ChallengeNotOpen(uint256 challengeId);
    error NotRevealed(uint256 challengeId);
    error NotChallengedProvider(uint256 challengeId, address caller);
    error SeedNotReady(uint256 challengeId, uint256 revealFrom);
    error SeedExpired(uint256 challengeId, uint64 seedBlock);
    error WrongSecret(uint256 challengeId);
    error PinGone(uint256 challengeId);
    error WrongLeafCount(uint256 expected, uint256 given);
    error InvalidProof(uint256 challengeId, uint256 leaf, uint64 leafIndex);
    error ResponseWindowClosed(uint256 challengeId, uint64 respondBy);
    error ChallengePending(uint256 challengeId);

    // ------------------------------------------------------------------ setup

    /// @param registrar_ gets `REGISTRAR_ROLE` (the ModelRegistry, whose address the deploy
    ///        script computes before deploying it); zero for none
    constructor(
        address admin_,
        address treasury_,
        uint64 changeDelay_,
        address registrar_,
        uint64 epochLength_,
        uint64 unbondingDelay_,
        Params memory params_
    ) Administered(admin_, treasury_, changeDelay_) StakeLedger(unbondingDelay_) {
        if (epochLength_ == 0) revert InvalidParams();
        epochLength = epochLength_;
        if (registrar_ != address(0)) _grantRole(REGISTRAR_ROLE, registrar_);
        _setParams(params_);
    }

    /// @notice Replaces the parameters (admin), as scheduled with `scheduleChange(setParams,
    ///         abi.encode(params))` at least `changeDelay` before. Open challenges and standing
    ///         pins keep the values they were created with.
    function setParams(Params calldata params_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setParams(params_); // reverts InvalidParams first, then if not scheduled and due
        _applyChange(this.setParams.selector, abi.encode(params_));
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

    /// @notice Once a record has expired and its providers have had `REPORT_GRACE_EPOCHS` to
    ///         report its last epochs, credits the caller its share of the unspent pool, in
    ///         proportion to its contribution among the contributions not yet reclaimed.
    function reclaim(uint256 recordId) external whenNotPaused returns (uint256 amount) {
        Record storage r = _record(recordId);
        uint64 from = r.endEpoch + REPORT_GRACE_EPOCHS;
        uint64 sinceUnpause = SafeCast.toUint64((uint256(unpausedAt) + epochLength) / epochLength);
        if (from < sinceUnpause) from = sinceUnpause; // a pause does not eat the providers' grace
        if (currentEpoch() < from) revert ReclaimNotOpen(recordId, from);
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
        if (msg.value < _params.minStake) revert StakeBelowRequired(msg.value, _params.minStake);
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

    /// @notice Commits the caller to pin a live record with room for another replica. The pin
    ///         needs `stakePerByte * sizeBytes` more bonded stake, and earns from the next epoch
    ///         on. Not while a challenge against the caller is open.
    function commitPin(uint256 recordId) external whenNotPaused {
        Provider storage p = _registered(msg.sender);
        if (p.openChallenges != 0) revert HasOpenChallenges(msg.sender, p.openChallenges);
        Record storage r = _liveRecord(recordId);
        Pin storage pin = _pins[recordId][msg.sender];
        if (pin.active) revert AlreadyPinned(recordId, msg.sender);
        if (r.activePins >= r.replicationTarget) revert ReplicationFull(recordId, r.replicationTarget);
        uint128 backing = SafeCast.toUint128(uint256(r.sizeBytes) * _params.stakePerByte);
        p.backing += backing;
        _requireStake(msg.sender, p);
        uint64 first = currentEpoch() + 1;
        pin.active = true;
        pin.nonce += 1;
        pin.openChallenges = 0;
        pin.exitEpoch = 0;
        pin.backing = backing;
        if (pin.nextEpoch < first) pin.nextEpoch = first; // a re-pin cannot report an epoch twice
        r.activePins += 1;
        p.activePins += 1;
        emit PinCommitted(recordId, msg.sender, first, backing);
    }

    /// @notice Leaves a pin in two calls. The first gives notice: the epoch in progress and the
    ///         ones after it are no longer paid, but the pin stays challengeable (and slashable)
    ///         for `EXIT_NOTICE_BLOCKS` blocks and `EXIT_NOTICE` seconds. The second, after both,
    ///         drops it (not while it is challenged).
    function unpin(uint256 recordId) external {
        Pin storage pin = _activePin(recordId, msg.sender);
        if (pin.exitEpoch == 0) {
            pin.exitEpoch = currentEpoch();
            pin.exitBlock = SafeCast.toUint64(block.number) + EXIT_NOTICE_BLOCKS;
            pin.exitAt = SafeCast.toUint64(block.timestamp) + EXIT_NOTICE;
            emit PinLeaving(recordId, msg.sender, pin.exitBlock, pin.exitAt);
            return;
        }
        if (block.number < pin.exitBlock || block.timestamp < pin.exitAt) {
            revert ExitNoticeRunning(recordId, pin.exitBlock, pin.exitAt);
        }
        if (pin.openChallenges != 0) revert PinUnderChallenge(recordId, msg.sender, pin.openChallenges);
        _dropPin(recordId, msg.sender, "voluntary");
    }

    /// @notice Pays the caller's pin for the epochs of the record that have ended since the last
    ///         report: `sizeBytes * rewardPerByteEpoch` each, or what is left of the pool. Not
    ///         while the pin is challenged, nor while the provider's stake is below what its pins
    ///         need. Works after the record's end for the epochs it covered.
    function reportPin(uint256 recordId) external whenNotPaused returns (uint256 reward) {
        Pin storage pin = _activePin(recordId, msg.sender);
        if (pin.openChallenges != 0) revert PinUnderChallenge(recordId, msg.sender, pin.openChallenges);
        _requireStake(msg.sender, _providers[msg.sender]);
        Record storage r = _records[recordId];
        uint64 from = pin.nextEpoch;
        uint64 to = currentEpoch();
        if (to > r.endEpoch) to = r.endEpoch;
        if (pin.exitEpoch != 0 && to > pin.exitEpoch) to = pin.exitEpoch;
        if (to <= from) revert NothingToReport(recordId, msg.sender, from);
        // only whole epochs the pool still covers; the others wait for a top-up
        uint256 perEpoch = uint256(r.sizeBytes) * r.rewardPerByteEpoch;
        if (perEpoch != 0 && uint256(to - from) * perEpoch > r.pool) {
            to = from + SafeCast.toUint64(r.pool / perEpoch);
            if (to == from) revert PoolExhausted(recordId, r.pool);
        }
        pin.nextEpoch = to;
        reward = uint256(to - from) * perEpoch;
        r.pool -= SafeCast.toUint128(reward);
        totalPools -= reward;
        emit PinReported(recordId, msg.sender, from, to, reward);
        _credit(msg.sender, reward, REASON_REWARD);
    }

    // ------------------------------------------------------------------ storage proofs

    /// @notice Challenges `provider` to prove it stores record `recordId`; `msg.value` must be
    ///         the challenge bond and `commitment` must be `keccak256(abi.encode(secret,
    ///         msg.sender))` for a secret the caller keeps until `reveal`. Works while paused.
    function challenge(uint256 recordId, address provider, bytes32 commitment) external payable returns (uint256 id) {
        if (provider == msg.sender) revert SelfChallenge();
        if (commitment == bytes32(0)) revert ZeroCommitment();
        if (msg.value != _params.challengeBond) revert WrongBond(_params.challengeBond, msg.value);
        _liveRecord(recordId);
        Pin storage pin = _activePin(recordId, provider);
        id = ++challengeCount;
        Challenge storage c = _challenges[id];
        c.recordId = recordId;
        c.provider = provider;
        c.challenger = msg.sender;
        c.status = ChallengeStatus.Committed;
        c.pinNonce = pin.nonce;
        c.challengerShareBps = _params.challengerShareBps;
        c.responseWindow = _params.responseWindow;
        c.seedBlock = SafeCast.toUint64(block.number + SEED_DELAY);
        c.bond = SafeCast.toUint128(msg.value);
        c.slash = SafeCast.toUint128(uint256(_params.challengeSlash) + pin.backing);
        c.commitment = commitment;
        pin.openChallenges += 1;
        _providers[provider].openChallenges += 1;
        totalBonds += msg.value;
        emit ChallengeOpened(id, recordId, provider, msg.sender, c.seedBlock);
    }

    /// @notice Reveals the challenger's secret once the seed block is `SEED_CONFIRMATIONS` deep
    ///         (and its hash still available), fixing the seed and opening the response window.
    function reveal(uint256 challengeId, bytes32 secret) external {
        Challenge storage c = _challengeIn(challengeId, ChallengeStatus.Committed);
        uint256 from = uint256(c.seedBlock) + SEED_CONFIRMATIONS;
        if (block.number < from) revert SeedNotReady(challengeId, from);
        bytes32 seedHash = blockhash(c.seedBlock);
        if (seedHash == bytes32(0)) revert SeedExpired(challengeId, c.seedBlock);
        if (keccak256(abi.encode(secret, c.challenger)) != c.commitment) revert WrongSecret(challengeId);
        if (!_pinStands(c)) revert PinGone(challengeId);
        c.seed = keccak256(abi.encode(secret, seedHash, challengeId));
        c.respondBy = SafeCast.toUint64(block.timestamp) + c.responseWindow;
        c.status = ChallengeStatus.Revealed;
        emit ChallengeRevealed(challengeId, c.seed, c.respondBy);
    }

    /// @notice The challenged provider answers with the drawn leaves' bytes and Merkle paths, in
    ///         the order of `leafIndices`. A wrong answer reverts and may be corrected until the
    ///         window closes; a right one closes the challenge and pays the bond to the provider.
    function respond(uint256 challengeId, bytes[] calldata chunks, bytes32[][] calldata proofs) external {
        Challenge storage c = _challengeIn(challengeId, ChallengeStatus.Revealed);
        if (msg.sender != c.provider) revert NotChallengedProvider(challengeId, msg.sender);
        if (block.timestamp > c.respondBy) revert ResponseWindowClosed(challengeId, c.respondBy);
        if (!_pinStands(c)) revert PinGone(challengeId);
        if (chunks.length != LEAVES_PER_CHALLENGE) revert WrongLeafCount(LEAVES_PER_CHALLENGE, chunks.length);
        if (proofs.length != LEAVES_PER_CHALLENGE) revert WrongLeafCount(LEAVES_PER_CHALLENGE, proofs.length);
        Record storage r = _records[c.recordId];
        for (uint256 i; i < LEAVES_PER_CHALLENGE; ++i) {
            uint64 index = _leafIndex(c.seed, i, r.leafCount);
            bool valid = chunks[i].length == Sha256Merkle.leafLength(r.sizeBytes, index)
                && Sha256Merkle.verify(r.merkleRoot, r.leafCount, index, chunks[i], proofs[i]);
            if (!valid) revert InvalidProof(challengeId, i, index);
        }
        emit ChallengeAnswered(challengeId, c.provider);
        _close(challengeId, c, ChallengeStatus.Answered, c.provider, REASON_BOND);
    }

    /// @notice Settles a challenge that can no longer be answered (anyone may call it):
    ///         - the pin it names was dropped by another failure: void, bond back to the challenger;
    ///         - never revealed and the seed's hash is gone: bond to the provider;
    ///         - revealed and the window closed unanswered: the provider is slashed (the
    ///           challenge's slash, part to the challenger, the rest to the treasury) and the pin
    ///           dropped, which voids its other open challenges.
    function resolve(uint256 challengeId) external {
        Challenge storage c = _challenges[challengeId];
        if (c.status == ChallengeStatus.None) revert UnknownChallenge(challengeId);
        if (c.status != ChallengeStatus.Committed && c.status != ChallengeStatus.Revealed) {
            revert ChallengeNotOpen(challengeId);
        }
        if (!_pinStands(c)) {
            _close(challengeId, c, ChallengeStatus.Void, c.challenger, REASON_VOID);
        } else if (c.status == ChallengeStatus.Committed) {
            if (block.number <= uint256(c.seedBlock) + BLOCKHASH_WINDOW) revert ChallengePending(challengeId);
            _close(challengeId, c, ChallengeStatus.Unrevealed, c.provider, REASON_NOT_REVEALED);
        } else {
            if (block.timestamp <= c.respondBy) revert ChallengePending(challengeId);
            _fail(challengeId, c);
        }
    }

    // ------------------------------------------------------------------ views

    /// @notice The epoch of the current block.
    function currentEpoch() public view returns (uint64) {
        return SafeCast.toUint64(block.timestamp / epochLength);
    }

    /// @notice The leaves a revealed challenge asks for, in the order `respond` expects them.
    function leafIndices(uint256 challengeId) external view returns (uint64[] memory indices) {
        Challenge storage c = _challenges[challengeId];
        if (c.seed == bytes32(0)) revert NotRevealed(challengeId);
        uint64 leafCount = _records[c.recordId].leafCount;
        indices = new uint64[](LEAVES_PER_CHALLENGE);
        for (uint256 i; i < LEAVES_PER_CHALLENGE; ++i) {
            indices[i] = _leafIndex(c.seed, i, leafCount);
        }
    }

    /// @notice Bonded stake `provider` needs for its pins: `minStake` plus their backing.
    function requiredStake(address provider) public view returns (uint256) {
        return uint256(_params.minStake) + _providers[provider].backing;
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
        if (
            p.minStake == 0 || p.minStake > MAX_STAKE_PARAM || p.stakePerByte > MAX_STAKE_PER_BYTE
                || p.challengeBond == 0 || p.challengeBond > MAX_STAKE_PARAM || p.challengeSlash > MAX_STAKE_PARAM
                || p.challengerShareBps > BPS || p.responseWindow < MIN_RESPONSE_WINDOW
                || p.responseWindow > MAX_RESPONSE_WINDOW
        ) revert InvalidParams();
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

    function _requireStake(address provider, Provider storage p) private view {
        uint256 bonded = bondedOf(provider);
        uint256 required = uint256(_params.minStake) + p.backing;
        if (bonded < required) revert StakeBelowRequired(bonded, required);
    }

    function _activePin(uint256 recordId, address provider) private view returns (Pin storage pin) {
        pin = _pins[recordId][provider];
        if (!pin.active) revert NotPinned(recordId, provider);
    }

    function _challengeIn(uint256 challengeId, ChallengeStatus status) private view returns (Challenge storage c) {
        c = _challenges[challengeId];
        if (c.status == ChallengeStatus.None) revert UnknownChallenge(challengeId);
        if (c.status != status) {
            if (c.status == ChallengeStatus.Committed) revert NotRevealed(challengeId);
            revert ChallengeNotOpen(challengeId);
        }
    }

    /// @dev The pin a challenge was opened against still stands (not dropped, not re-committed).
    function _pinStands(Challenge storage c) private view returns (bool) {
        Pin storage pin = _pins[c.recordId][c.provider];
        return pin.active && pin.nonce == c.pinNonce;
    }

    function _leafIndex(bytes32 seed, uint256 i, uint64 leafCount) private pure returns (uint64) {
        return SafeCast.toUint64(uint256(keccak256(abi.encode(seed, i))) % leafCount);
    }

    function _fail(uint256 challengeId, Challenge storage c) private {
        address provider = c.provider;
        _dropPin(c.recordId, provider, REASON_NO_ANSWER);
        uint256 slashed = _slash(provider, c.slash, REASON_SLASH);
        uint256 toChallenger = slashed * c.challengerShareBps / BPS;
        emit ChallengeFailed(challengeId, provider, REASON_NO_ANSWER, slashed);
        _close(challengeId, c, ChallengeStatus.Failed, c.challenger, REASON_SLASH);
        _credit(c.challenger, toChallenger, REASON_SLASH);
        _credit(treasury, slashed - toChallenger, REASON_SLASH);
    }

    /// @dev Ends an open challenge with `status` and credits its bond to `bondTo`. The pin's
    ///      count is only touched while the pin still stands (a dropped pin's count was reset).
    function _close(uint256 challengeId, Challenge storage c, ChallengeStatus status, address bondTo, bytes32 reason)
        private
    {
        if (_pinStands(c)) _pins[c.recordId][c.provider].openChallenges -= 1;
        c.status = status;
        _providers[c.provider].openChallenges -= 1;
        totalBonds -= c.bond;
        emit ChallengeClosed(challengeId, status, bondTo);
        _credit(bondTo, c.bond, reason);
    }

    function _dropPin(uint256 recordId, address provider, bytes32 reason) private {
        Pin storage pin = _pins[recordId][provider];
        Provider storage p = _providers[provider];
        pin.active = false;
        pin.openChallenges = 0;
        p.backing -= pin.backing;
        pin.backing = 0;
        _records[recordId].activePins -= 1;
        p.activePins -= 1;
        emit PinDropped(recordId, provider, reason);
    }

    // ------------------------------------------------------------------ staking hooks

    function _checkCanStake(address account) internal view override {
        _registered(account);
    }

    function _checkCanUnbond(address account, uint256 remainingBonded) internal view override {
        Provider storage p = _providers[account];
        if (p.activePins != 0 && remainingBonded < requiredStake(account)) revert HasActivePins(account, p.activePins);
    }

    function _checkCanWithdrawStake(address account) internal view override {
        uint32 open = _providers[account].openChallenges;
        if (open != 0) revert HasOpenChallenges(account, open);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {Administered} from "./common/Administered.sol";
import {CreditLedger} from "./common/CreditLedger.sol";
import {StakeLedger} from "./common/StakeLedger.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";

/// @title ComputeMarketplace
/// @notice Buyers pay staked compute (GPU) providers to run registry models.
///
///         A buyer posts a job for a model it may use (input CID, max price per provider,
///         deadline, redundancy r) and escrows `r * maxPrice` plus the platform fee on it plus
///         the model's price. Providers whose asking price is at most `maxPrice` accept until r
///         are assigned. Before the deadline each commits to its result
///         (`keccak256(abi.encode(jobId, provider, resultCid, salt))`); once all have committed
///         (or the deadline passed) each reveals, so nobody can copy another's result.
///         - r >= 2: a result revealed by more than r/2 providers wins; its providers are paid
///           their price, providers that revealed something else are slashed as fraud and
///           providers that did not commit or reveal are slashed for the timeout. Without a
///           majority the job fails and the buyer is refunded.
///         - r = 1: the result is held for a challenge window in which the buyer may dispute
///           it; the arbiter then decides. No dispute: the provider is paid.
///         On success the platform fee goes to the treasury, the model's price to the model's
///         owner, and the unused escrow back to the buyer. Slashed stake goes partly to the
///         buyer (compensation) and the rest to the treasury. All payments are pull payments.
///         Pausing stops new providers, jobs and acceptances; running jobs, settlement, disputes,
///         withdrawals and unbonding keep working.
contract ComputeMarketplace is Administered, CreditLedger, StakeLedger {
    // ------------------------------------------------------------------ roles, constants

    /// @notice Decides disputes of single-provider jobs.
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");

    uint8 public constant MAX_REDUNDANCY = 9;
    uint16 public constant MAX_FEE_BPS = 2_000;
    uint64 public constant MAX_JOB_DURATION = 30 days;
    uint256 public constant MAX_CID_LENGTH = 128;
    uint256 private constant BPS = 10_000;

    bytes32 private constant REASON_PAYMENT = "job-payment";
    bytes32 private constant REASON_FEE = "platform-fee";
    bytes32 private constant REASON_MODEL = "model-fee";
    bytes32 private constant REASON_REFUND = "refund";
    bytes32 private constant REASON_COMPENSATION = "compensation";
    bytes32 private constant REASON_SLASH = "slash";
    bytes32 private constant REASON_TIMEOUT = "timeout";
    bytes32 private constant REASON_FRAUD = "fraud";

    // ------------------------------------------------------------------ types

    struct Params {
        uint128 minStake; // bonded stake a provider needs to accept jobs
        uint128 slashAmount; // stake slashed per fault
        uint16 platformFeeBps; // fee on what providers are paid, to the treasury
        uint16 buyerShareBps; // share of slashed stake credited to the job's buyer
        uint32 revealWindow; // seconds after the deadline for reveals
        uint32 challengeWindow; // seconds a buyer has to dispute a single-provider result
    }

    struct Provider {
        bool registered;
        uint32 activeJobs;
        uint32 memoryGB;
        uint128 pricePerJob; // the provider's asking price
        string hardware; // e.g. "1x A100 80GB"
    }

    enum JobStatus {
        None,
        Open, // accepting providers
        Running, // all r assigned: computing, committing, revealing
        Verifying, // r = 1: result revealed, challenge window open
        Disputed, // r = 1: buyer disputed, waiting for the arbiter
        Completed,
        Failed,
        Cancelled
    }

    struct Job {
        address buyer;
        JobStatus status;
        uint8 redundancy;
        uint8 assigned;
        uint8 committed;
        uint8 revealed;
        uint64 deadline; // commits by
        uint64 revealDeadline; // reveals by
        uint64 challengeEnd; // r = 1: disputes by
        uint256 modelId;
        uint128 maxPrice; // per provider
        uint128 modelFee; // snapshot of the model's price at posting
        uint256 escrow; // what is still held for this job
        string inputCid;
        string resultCid;
    }

    struct Assignment {
        address provider;
        bool revealed;
        uint128 price;
        bytes32 commitment;
        bytes32 resultHash; // keccak256 of the revealed CID
        string resultCid;
    }

    // ------------------------------------------------------------------ storage

    IModelRegistry public immutable registry;
    Params private _params;
    uint256 public jobCount;
    /// @notice Escrow held for all jobs.
    uint256 public totalEscrow;

    mapping(address provider => Provider) private _providers;
    mapping(uint256 jobId => Job) private _jobs;
    mapping(uint256 jobId => Assignment[]) private _assignments;
    mapping(uint256 jobId => mapping(address provider => uint256)) private _slot; // index + 1

    // ------------------------------------------------------------------ events

    event ParamsUpdated(Params params);
    event ProviderRegistered(
        address indexed provider, string hardware, uint32 memoryGB, uint128 pricePerJob, uint256 stake
    );
    event CapabilitiesUpdated(address indexed provider, string hardware, uint32 memoryGB, uint128 pricePerJob);
    event JobPosted(
        uint256 indexed jobId,
        address indexed buyer,
        uint256 indexed modelId,
        string inputCid,
        uint128 maxPrice,
        uint64 deadline,
        uint8 redundancy,
        uint256 escrow
    );
    event JobAccepted(uint256 indexed jobId, address indexed provider, uint128 price, uint8 assigned);
    event JobFullyAssigned(uint256 indexed jobId);
    event ResultCommitted(uint256 indexed jobId, address indexed provider, bytes32 commitment);
    event ResultRevealed(uint256 indexed jobId, address indexed provider, string resultCid);
    event JobVerifying(uint256 indexed jobId, string resultCid, uint64 challengeEnd);
    event JobDisputed(uint256 indexed jobId, address indexed buyer);
    event DisputeResolved(uint256 indexed jobId, address indexed arbiter, bool providerAtFault);
    event ProviderPenalized(uint256 indexed jobId, address indexed provider, bytes32 reason, uint256 slashed);
    event JobCompleted(
        uint256 indexed jobId, string resultCid, uint256 paidProviders, uint256 fee, uint256 modelFee, uint256 refund
    );
    event JobFailed(uint256 indexed jobId, bytes32 reason, uint256 refund);
    event JobCancelled(uint256 indexed jobId, uint256 refund);

    // ------------------------------------------------------------------ errors

    error InvalidParams();
    error AlreadyRegistered(address provider);
    error NotRegistered(address provider);
    error StakeBelowMinimum(uint256 stake, uint256 minStake);
    error HasActiveJobs(address provider, uint32 jobs);
    error InvalidRedundancy(uint8 given, uint8 max);
    error InvalidDeadline(uint64 deadline);
    error ZeroPrice();
    error EmptyCid();
    error CidTooLong(uint256 length, uint256 max);
    error ModelNotUsable(uint256 modelId, address buyer);
    error WrongEscrow(uint256 expected, uint256 sent);
    error UnknownJob(uint256 jobId);
    error WrongStatus(uint256 jobId, JobStatus status);
    error NotBuyer(uint256 jobId, address caller);
    error BuyerCannotServe(uint256 jobId);
    error PriceAboveMax(uint128 price, uint128 maxPrice);
    error AlreadyAssigned(uint256 jobId, address provider);
    error NotAssigned(uint256 jobId, address provider);
    error HasAssignments(uint256 jobId, uint8 assigned);
    error DeadlinePassed(uint256 jobId, uint64 deadline);
    error ZeroCommitment();
    error AlreadyCommitted(uint256 jobId, address provider);
    error NotCommitted(uint256 jobId, address provider);
    error AlreadyRevealed(uint256 jobId, address provider);
    error RevealNotOpen(uint256 jobId);
    error RevealClosed(uint256 jobId, uint64 revealDeadline);
    error CommitmentMismatch(uint256 jobId, address provider);
    error ChallengeWindowClosed(uint256 jobId, uint64 challengeEnd);
    error NotFinalizable(uint256 jobId);

    // ------------------------------------------------------------------ setup

    constructor(
        address admin,
        address treasury_,
        IModelRegistry registry_,
        uint64 unbondingDelay_,
        Params memory params_
    ) Administered(admin, treasury_) StakeLedger(unbondingDelay_) {
        if (address(registry_) == address(0)) revert ZeroAddress();
        registry = registry_;
        _grantRole(ARBITER_ROLE, admin);
        _setParams(params_);
    }

    function setParams(Params calldata params_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setParams(params_);
    }


    // ------------------------------------------------------------------ providers

    /// @notice Registers the caller as a compute provider; `msg.value` is its stake.
    function registerProvider(string calldata hardware, uint32 memoryGB, uint128 pricePerJob)
        external
        payable
        whenNotPaused
    {
        Provider storage p = _providers[msg.sender];
        if (p.registered) revert AlreadyRegistered(msg.sender);
        if (msg.value < _params.minStake) revert StakeBelowMinimum(msg.value, _params.minStake);
        p.registered = true;
        p.hardware = hardware;
        p.memoryGB = memoryGB;
        p.pricePerJob = pricePerJob;
        _addStake(msg.sender, msg.value);
        emit ProviderRegistered(msg.sender, hardware, memoryGB, pricePerJob, msg.value);
    }

    function updateCapabilities(string calldata hardware, uint32 memoryGB, uint128 pricePerJob) external {
        Provider storage p = _registered(msg.sender);
        p.hardware = hardware;
        p.memoryGB = memoryGB;
        p.pricePerJob = pricePerJob;
        emit CapabilitiesUpdated(msg.sender, hardware, memoryGB, pricePerJob);
    }

    // ------------------------------------------------------------------ jobs

    /// @notice The exact escrow `postJob` expects.
    function quote(uint256 modelId, uint128 maxPrice, uint8 redundancy) public view returns (uint256) {
        uint256 providers = uint256(maxPrice) * redundancy;
        return providers + providers * _params.platformFeeBps / BPS + registry.priceOf(modelId);
    }

    /// @notice Posts a job; `msg.value` must equal `quote(modelId, maxPrice, redundancy)`.
    function postJob(uint256 modelId, string calldata inputCid, uint128 maxPrice, uint64 deadline, uint8 redundancy)
        external
        payable
        whenNotPaused
        returns (uint256 jobId)
    {
        if (redundancy == 0 || redundancy > MAX_REDUNDANCY) revert InvalidRedundancy(redundancy, MAX_REDUNDANCY);
        if (deadline <= block.timestamp || deadline > block.timestamp + MAX_JOB_DURATION) {
            revert InvalidDeadline(deadline);
        }
        if (maxPrice == 0) revert ZeroPrice();
        _checkCid(inputCid);
        if (!registry.canUse(modelId, msg.sender)) revert ModelNotUsable(modelId, msg.sender);
        uint256 expected = quote(modelId, maxPrice, redundancy);
        if (msg.value != expected) revert WrongEscrow(expected, msg.value);

        jobId = ++jobCount;
        Job storage j = _jobs[jobId];
        j.buyer = msg.sender;
        j.status = JobStatus.Open;
        j.redundancy = redundancy;
        j.deadline = deadline;
        j.revealDeadline = deadline + _params.revealWindow;
        j.modelId = modelId;
        j.maxPrice = maxPrice;
        j.modelFee = SafeCast.toUint128(registry.priceOf(modelId));
        j.escrow = msg.value;
        j.inputCid = inputCid;
        totalEscrow += msg.value;
        emit JobPosted(jobId, msg.sender, modelId, inputCid, maxPrice, deadline, redundancy, msg.value);
    }

    /// @notice The buyer withdraws a job nobody has accepted yet; the escrow is refunded.
    function cancelJob(uint256 jobId) external {
        Job storage j = _jobIn(jobId, JobStatus.Open);
        if (msg.sender != j.buyer) revert NotBuyer(jobId, msg.sender);
        if (j.assigned != 0) revert HasAssignments(jobId, j.assigned);
        j.status = JobStatus.Cancelled;
        uint256 refund = _releaseEscrow(j);
        emit JobCancelled(jobId, refund);
        _credit(j.buyer, refund, REASON_REFUND);
    }

    /// @notice A registered, staked provider whose price is at most the job's max takes a slot.
    function acceptJob(uint256 jobId) external whenNotPaused {
        Provider storage p = _registered(msg.sender);
        uint256 bonded = bondedOf(msg.sender);
        if (bonded < _params.minStake) revert StakeBelowMinimum(bonded, _params.minStake);
        Job storage j = _jobIn(jobId, JobStatus.Open);
        if (block.timestamp >= j.deadline) revert DeadlinePassed(jobId, j.deadline);
        if (msg.sender == j.buyer) revert BuyerCannotServe(jobId);
        if (_slot[jobId][msg.sender] != 0) revert AlreadyAssigned(jobId, msg.sender);
        if (p.pricePerJob > j.maxPrice) revert PriceAboveMax(p.pricePerJob, j.maxPrice);

        Assignment storage a = _assignments[jobId].push();
        a.provider = msg.sender;
        a.price = p.pricePerJob;
        _slot[jobId][msg.sender] = _assignments[jobId].length;
        j.assigned += 1;
        p.activeJobs += 1;
        emit JobAccepted(jobId, msg.sender, p.pricePerJob, j.assigned);
        if (j.assigned == j.redundancy) {
            j.status = JobStatus.Running;
            emit JobFullyAssigned(jobId);
        }
    }

    /// @notice An assigned provider commits to its result before the deadline.
    function commitResult(uint256 jobId, bytes32 commitment) external {
        Job storage j = _job(jobId);
        if (j.status != JobStatus.Open && j.status != JobStatus.Running) revert WrongStatus(jobId, j.status);
        if (block.timestamp > j.deadline) revert DeadlinePassed(jobId, j.deadline);
        if (commitment == bytes32(0)) revert ZeroCommitment();
        Assignment storage a = _assignment(jobId, msg.sender);
        if (a.commitment != bytes32(0)) revert AlreadyCommitted(jobId, msg.sender);
        a.commitment = commitment;
        j.committed += 1;
        emit ResultCommitted(jobId, msg.sender, commitment);
    }

    /// @notice Reveals a committed result, once every provider has committed or the deadline
    ///         has passed, and before the reveal deadline. The last reveal settles the job.
    function revealResult(uint256 jobId, string calldata resultCid, bytes32 salt) external {
        Job storage j = _jobIn(jobId, JobStatus.Running);
        if (j.committed < j.redundancy && block.timestamp <= j.deadline) revert RevealNotOpen(jobId);
        if (block.timestamp > j.revealDeadline) revert RevealClosed(jobId, j.revealDeadline);
        _checkCid(resultCid);
        Assignment storage a = _assignment(jobId, msg.sender);
        if (a.commitment == bytes32(0)) revert NotCommitted(jobId, msg.sender);
        if (a.revealed) revert AlreadyRevealed(jobId, msg.sender);
        if (commitmentFor(jobId, msg.sender, resultCid, salt) != a.commitment) {
            revert CommitmentMismatch(jobId, msg.sender);
        }
        a.revealed = true;
        a.resultHash = keccak256(bytes(resultCid));
        a.resultCid = resultCid;
        j.revealed += 1;
        emit ResultRevealed(jobId, msg.sender, resultCid);
        if (j.revealed == j.redundancy) _settle(jobId, j);
    }

    /// @notice Moves a job on when its time has come (anyone may call it):
    ///         - Open past its deadline: not fully assigned, the buyer is refunded;
    ///         - Running past its reveal deadline: settle with what was revealed;
    ///         - Verifying past its challenge window: pay the provider.
    function finalize(uint256 jobId) external {
        Job storage j = _job(jobId);
        if (j.status == JobStatus.Open && block.timestamp > j.deadline) {
            _releaseAll(jobId);
            _fail(jobId, j, "unassigned");
        } else if (j.status == JobStatus.Running && block.timestamp > j.revealDeadline) {
            _settle(jobId, j);
        } else if (j.status == JobStatus.Verifying && block.timestamp > j.challengeEnd) {
            _complete(jobId, j, _assignments[jobId][0].resultHash);
        } else {
            revert NotFinalizable(jobId);
        }
    }

    /// @notice The buyer of a single-provider job disputes its result within the window.
    function dispute(uint256 jobId) external {
        Job storage j = _jobIn(jobId, JobStatus.Verifying);
        if (msg.sender != j.buyer) revert NotBuyer(jobId, msg.sender);
        if (block.timestamp > j.challengeEnd) revert ChallengeWindowClosed(jobId, j.challengeEnd);
        j.status = JobStatus.Disputed;
        emit JobDisputed(jobId, msg.sender);
    }

    /// @notice The arbiter decides a dispute: at fault, the provider is slashed and the buyer
    ///         refunded; otherwise the provider is paid as usual.
    function resolveDispute(uint256 jobId, bool providerAtFault) external onlyRole(ARBITER_ROLE) {
        Job storage j = _jobIn(jobId, JobStatus.Disputed);
        emit DisputeResolved(jobId, msg.sender, providerAtFault);
        if (providerAtFault) {
            _penalize(jobId, j, _assignments[jobId][0].provider, REASON_FRAUD);
            _releaseAll(jobId);
            _fail(jobId, j, "dispute-upheld");
        } else {
            _complete(jobId, j, _assignments[jobId][0].resultHash);
        }
    }

    // ------------------------------------------------------------------ views

    /// @notice The commitment a provider submits for `resultCid` with secret `salt`.
    function commitmentFor(uint256 jobId, address provider, string calldata resultCid, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(jobId, provider, resultCid, salt));
    }

    function params() external view returns (Params memory) {
        return _params;
    }

    function getProvider(address provider) external view returns (Provider memory) {
        return _providers[provider];
    }

    function getJob(uint256 jobId) external view returns (Job memory) {
        return _job(jobId);
    }

    function getAssignments(uint256 jobId) external view returns (Assignment[] memory) {
        return _assignments[jobId];
    }

    /// @notice Everything the contract owes: stakes, credits and escrow.
    function liabilities() external view returns (uint256) {
        return totalStaked + totalCredits + totalEscrow;
    }

    // ------------------------------------------------------------------ settlement

    /// @dev Settles a Running job from its reveals: penalizes missing reveals, then applies
    ///      the r = 1 challenge window or the r >= 2 majority rule.
    function _settle(uint256 jobId, Job storage j) private {
        Assignment[] storage as_ = _assignments[jobId];
        for (uint256 i; i < as_.length; ++i) {
            if (!as_[i].revealed) _penalize(jobId, j, as_[i].provider, REASON_TIMEOUT);
        }
        if (j.redundancy == 1) {
            if (!as_[0].revealed) {
                _releaseAll(jobId);
                _fail(jobId, j, "no-result");
                return;
            }
            j.status = JobStatus.Verifying;
            j.challengeEnd = SafeCast.toUint64(block.timestamp) + _params.challengeWindow;
            j.resultCid = as_[0].resultCid;
            emit JobVerifying(jobId, j.resultCid, j.challengeEnd);
            return;
        }
        bytes32 winner = _majority(as_, j.redundancy);
        if (winner == bytes32(0)) {
            _releaseAll(jobId);
            _fail(jobId, j, "no-majority");
            return;
        }
        for (uint256 i; i < as_.length; ++i) {
            if (as_[i].revealed && as_[i].resultHash != winner) _penalize(jobId, j, as_[i].provider, REASON_FRAUD);
        }
        _complete(jobId, j, winner);
    }

    /// @dev The result hash revealed by more than r/2 providers, or zero.
    function _majority(Assignment[] storage as_, uint8 redundancy) private view returns (bytes32) {
        uint256 n = as_.length;
        for (uint256 i; i < n; ++i) {
            if (!as_[i].revealed) continue;
            bytes32 h = as_[i].resultHash;
            uint256 votes;
            for (uint256 k; k < n; ++k) {
                if (as_[k].revealed && as_[k].resultHash == h) ++votes;
            }
            if (votes * 2 > redundancy) return h;
        }
        return bytes32(0);
    }

    /// @dev Pays the providers that revealed `winner`, the platform fee, the model owner, and
    ///      refunds the rest of the escrow to the buyer.
    function _complete(uint256 jobId, Job storage j, bytes32 winner) private {
        Assignment[] storage as_ = _assignments[jobId];
        uint256 paid;
        string memory resultCid;
        for (uint256 i; i < as_.length; ++i) {
            Assignment storage a = as_[i];
            if (a.revealed && a.resultHash == winner) {
                paid += a.price;
                resultCid = a.resultCid;
                _credit(a.provider, a.price, REASON_PAYMENT);
            }
        }
        _releaseAll(jobId);
        j.status = JobStatus.Completed;
        j.resultCid = resultCid;
        uint256 fee = paid * _params.platformFeeBps / BPS;
        uint256 modelFee = j.modelFee;
        uint256 refund = _releaseEscrow(j) - paid - fee - modelFee;
        _credit(treasury, fee, REASON_FEE);
        if (modelFee != 0) _credit(registry.ownerOf(j.modelId), modelFee, REASON_MODEL);
        _credit(j.buyer, refund, REASON_REFUND);
        emit JobCompleted(jobId, resultCid, paid, fee, modelFee, refund);
    }

    /// @dev Fails a job and refunds its whole escrow to the buyer.
    function _fail(uint256 jobId, Job storage j, bytes32 reason) private {
        j.status = JobStatus.Failed;
        uint256 refund = _releaseEscrow(j);
        emit JobFailed(jobId, reason, refund);
        _credit(j.buyer, refund, REASON_REFUND);
    }

    /// @dev Slashes `provider` for a fault in job `jobId`: the buyer's share to the buyer, the
    ///      rest to the treasury.
    function _penalize(uint256 jobId, Job storage j, address provider, bytes32 reason) private {
        uint256 slashed = _slash(provider, _params.slashAmount, reason);
        uint256 toBuyer = slashed * _params.buyerShareBps / BPS;
        emit ProviderPenalized(jobId, provider, reason, slashed);
        _credit(j.buyer, toBuyer, REASON_COMPENSATION);
        _credit(treasury, slashed - toBuyer, REASON_SLASH);
    }

    /// @dev Frees every provider assigned to `jobId` (their active-job count drops).
    function _releaseAll(uint256 jobId) private {
        Assignment[] storage as_ = _assignments[jobId];
        for (uint256 i; i < as_.length; ++i) {
            _providers[as_[i].provider].activeJobs -= 1;
        }
    }

    function _releaseEscrow(Job storage j) private returns (uint256 amount) {
        amount = j.escrow;
        j.escrow = 0;
        totalEscrow -= amount;
    }

    // ------------------------------------------------------------------ internals

    function _setParams(Params memory p) private {
        if (p.minStake == 0 || p.platformFeeBps > MAX_FEE_BPS || p.buyerShareBps > BPS) revert InvalidParams();
        if (p.revealWindow == 0 || p.challengeWindow == 0) revert InvalidParams();
        _params = p;
        emit ParamsUpdated(p);
    }

    function _checkCid(string calldata cid) private pure {
        uint256 len = bytes(cid).length;
        if (len == 0) revert EmptyCid();
        if (len > MAX_CID_LENGTH) revert CidTooLong(len, MAX_CID_LENGTH);
    }

    function _registered(address provider) private view returns (Provider storage p) {
        p = _providers[provider];
        if (!p.registered) revert NotRegistered(provider);
    }

    function _job(uint256 jobId) private view returns (Job storage j) {
        j = _jobs[jobId];
        if (j.status == JobStatus.None) revert UnknownJob(jobId);
    }

    function _jobIn(uint256 jobId, JobStatus status) private view returns (Job storage j) {
        j = _job(jobId);
        if (j.status != status) revert WrongStatus(jobId, j.status);
    }

    function _assignment(uint256 jobId, address provider) private view returns (Assignment storage) {
        uint256 slot = _slot[jobId][provider];
        if (slot == 0) revert NotAssigned(jobId, provider);
        return _assignments[jobId][slot - 1];
    }

    // ------------------------------------------------------------------ staking hooks

    function _checkCanStake(address account) internal view override {
        _registered(account);
    }

    function _checkCanUnbond(address account, uint256 remainingBonded) internal view override {
        uint32 jobs = _providers[account].activeJobs;
        if (remainingBonded < _params.minStake && jobs != 0) revert HasActiveJobs(account, jobs);
    }

    function _checkCanWithdrawStake(address account) internal view override {
        uint32 jobs = _providers[account].activeJobs;
        if (jobs != 0) revert HasActiveJobs(account, jobs);
    }
}

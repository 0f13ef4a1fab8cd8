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
///         the model's price. The job keeps the fee, slash and window terms of that moment.
///         For `applyBlocks` blocks, providers whose asking price is at most `maxPrice` apply
///         (at most `MAX_CANDIDATES`); then, once the last application block is
///         `DRAW_CONFIRMATIONS` deep, anyone calls `assign`, which draws r of the candidates at
///         random, weighted by bonded stake, from that block's hash. Whoever is fastest no longer
///         takes the slots. Before the deadline each assigned provider commits to its result
///         (`keccak256(abi.encode(jobId, provider, resultCid, salt))`); once all have committed
///         (or the deadline passed) each reveals, so nobody can copy another's result.
///         - r >= 2: if the revealed results agree and more than r/2 providers revealed, they are
///           paid. If revealed results differ, the job goes to arbitration: nobody is slashed
///           for disagreeing until the arbiter names the right result (or none). Providers that
///           did not commit or reveal are slashed for the timeout, which is provable on chain.
///         - r = 1: the result is held for a challenge window in which the buyer may dispute it
///           with a bond; the arbiter then decides.
///         An arbiter that does not decide within the arbitration window loses the case for the
///         buyer: every provider that revealed is paid (r = 1: with the buyer's dispute bond).
///         On success the platform fee goes to the treasury, the model's price to the model's
///         owner, and the unused escrow back to the buyer. Slashes the arbiter decides go to the
///         buyer (its share) and to the providers whose result was upheld (or the buyer if none
///         was), never to the treasury or the arbiter; timeout slashes go to the buyer's share
///         and the treasury. All payments are pull payments. Pausing stops new providers, jobs
///         and applications; running jobs, settlement, disputes, withdrawals and unbonding keep
///         working.
contract ComputeMarketplace is Administered, CreditLedger, StakeLedger {
    // ------------------------------------------------------------------ roles, constants

    /// @notice Decides disputes of single-provider jobs and disagreements of replicated ones.
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");

    uint8 public constant MAX_REDUNDANCY = 9;
    /// @notice Most providers that may apply for one job.
    uint8 public constant MAX_CANDIDATES = 32;
    /// @notice Blocks the last application block must be buried under before the draw.
    uint256 public constant DRAW_CONFIRMATIONS = 32;
    uint16 public constant MAX_FEE_BPS = 2_000;
    uint64 public constant MAX_JOB_DURATION = 30 days;
    uint256 public constant MAX_CID_LENGTH = 128;
    /// @notice Bounds of the admin's parameters.
    uint256 public constant MAX_AMOUNT_PARAM = 1_000_000 ether;
    uint32 public constant MIN_WINDOW = 1 minutes;
    uint32 public constant MAX_WINDOW = 30 days;
    uint16 public constant MAX_APPLY_BLOCKS = 1_000;
    uint256 private constant BPS = 10_000;

    bytes32 private constant REASON_PAYMENT = "job-payment";
    bytes32 private constant REASON_FEE = "platform-fee";
    bytes32 private constant REASON_MODEL = "model-fee";
    bytes32 private constant REASON_REFUND = "refund";
    bytes32 private constant REASON_COMPENSATION = "compensation";
    bytes32 private constant REASON_SLASH = "slash";
    bytes32 private constant REASON_BOND = "dispute-bond";
    bytes32 private constant REASON_TIMEOUT = "timeout";
    bytes32 private constant REASON_FRAUD = "fraud";

    // ------------------------------------------------------------------ types

    /// @notice Parameters the admin may change (within the bounds above); a job keeps the ones
    ///         of the moment it was posted.
    struct Params {
        uint128 minStake; // bonded stake a provider needs to apply
        uint128 stakePerJob; // bonded stake each job applied for or held needs on top of minStake
        uint128 slashAmount; // stake slashed per fault
        uint128 disputeBond; // what a buyer deposits to dispute a single-provider result
        uint16 platformFeeBps; // fee on what providers are paid, to the treasury
        uint16 buyerShareBps; // share of slashed stake credited to the job's buyer
        uint16 applyBlocks; // blocks after posting during which providers apply
        uint32 revealWindow; // seconds after the deadline for reveals
        uint32 challengeWindow; // seconds a buyer has to dispute a single-provider result
        uint32 arbitrationWindow; // seconds the arbiter has to decide
    }

    /// @notice The terms a job was posted under.
    struct Terms {
        uint128 slashAmount;
        uint128 disputeBond;
        uint128 stakePerJob;
        uint16 platformFeeBps;
        uint16 buyerShareBps;
        uint32 challengeWindow;
        uint32 arbitrationWindow;
    }

    struct Provider {
        bool registered;
        uint32 activeJobs; // jobs applied for or held
        uint32 memoryGB;
        uint128 pricePerJob; // the provider's asking price
        uint128 locked; // stake its active jobs need, on top of minStake
        string hardware; // e.g. "1x A100 80GB"
    }

    enum JobStatus {
        None,
        Open, // providers apply, then the draw
        Running, // r drawn: computing, committing, revealing
        Verifying, // r = 1: result revealed, challenge window open
        Disputed, // waiting for the arbiter
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
        uint64 drawBlock; // last block of applications; its hash draws the providers
        uint64 deadline; // commits by
        uint64 revealDeadline; // reveals by
        uint64 challengeEnd; // r = 1: disputes by; then, when disputed: decision by
        uint256 modelId;
        uint128 maxPrice; // per provider
        uint128 modelFee; // snapshot of the model's price at posting
        uint256 escrow; // what is still held for this job (with a dispute bond, if any)
        Terms terms;
        bytes32 resultHash; // keccak256 of the accepted result's CID (the CID is in ResultRevealed)
        string inputCid;
    }

    struct Candidate {
        address provider;
        uint128 price;
        uint128 weight; // bonded stake when applying
    }

    struct Assignment {
        address provider;
        bool revealed;
        uint128 price;
        bytes32 commitment;
        bytes32 resultHash; // keccak256 of the revealed CID (the CID itself is in ResultRevealed)
    }

    // ------------------------------------------------------------------ storage

    IModelRegistry public immutable registry;
    Params private _params;
    uint256 public jobCount;
    /// @notice Escrow (and dispute bonds) held for all jobs.
    uint256 public totalEscrow;

    mapping(address provider => Provider) private _providers;
    mapping(uint256 jobId => Job) private _jobs;
    mapping(uint256 jobId => Candidate[]) private _candidates;
    mapping(uint256 jobId => Assignment[]) private _assignments;
    mapping(uint256 jobId => mapping(address provider => uint256)) private _slot; // index + 1
    mapping(uint256 jobId => mapping(address provider => bool)) private _applied;

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
    event JobApplied(uint256 indexed jobId, address indexed provider, uint128 price, uint128 weight);
    event JobAccepted(uint256 indexed jobId, address indexed provider, uint128 price, uint8 assigned);
    event JobFullyAssigned(uint256 indexed jobId);
    event ResultCommitted(uint256 indexed jobId, address indexed provider, bytes32 commitment);
    event ResultRevealed(uint256 indexed jobId, address indexed provider, string resultCid);
    event JobVerifying(uint256 indexed jobId, bytes32 resultHash, uint64 challengeEnd);
    event JobDisputed(uint256 indexed jobId, address indexed buyer, uint64 decideBy);
    event DisputeResolved(uint256 indexed jobId, address indexed arbiter, bytes32 upheldResult);
    event DisputeTimedOut(uint256 indexed jobId);
    event ProviderPenalized(uint256 indexed jobId, address indexed provider, bytes32 reason, uint256 slashed);
    event JobCompleted(
        uint256 indexed jobId, bytes32 resultHash, uint256 paidProviders, uint256 fee, uint256 modelFee, uint256 refund
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
    error WrongBond(uint256 expected, uint256 sent);
    error UnknownJob(uint256 jobId);
    error WrongStatus(uint256 jobId, JobStatus status);
    error NotBuyer(uint256 jobId, address caller);
    error BuyerCannotServe(uint256 jobId);
    error PriceAboveMax(uint128 price, uint128 maxPrice);
    error AlreadyApplied(uint256 jobId, address provider);
    error ApplicationsClosed(uint256 jobId, uint64 drawBlock);
    error TooManyCandidates(uint256 jobId);
    error DrawNotReady(uint256 jobId, uint256 fromBlock);
    error NotAssigned(uint256 jobId, address provider);
    error HasCandidates(uint256 jobId, uint256 candidates);
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
        address admin_,
        address treasury_,
        uint64 changeDelay_,
        address arbiter_,
        IModelRegistry registry_,
        uint64 unbondingDelay_,
        Params memory params_
    ) Administered(admin_, treasury_, changeDelay_) StakeLedger(unbondingDelay_) {
        if (address(registry_) == address(0) || arbiter_ == address(0)) revert ZeroAddress();
        registry = registry_;
        _grantRole(ARBITER_ROLE, arbiter_);
        _setParams(params_);
    }

    /// @notice Replaces the parameters (admin), as scheduled with `scheduleChange(setParams,
    ///         abi.encode(params))` at least `changeDelay` before; posted jobs keep their terms.
    function setParams(Params calldata params_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setParams(params_); // reverts InvalidParams first, then if not scheduled and due
        _applyChange(this.setParams.selector, abi.encode(params_));
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

    /// @notice Bonded stake `provider` needs: `minStake` plus what its active jobs lock.
    function requiredStake(address provider) public view returns (uint256) {
        return uint256(_params.minStake) + _providers[provider].locked;
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
        Params memory p = _params;
        j.buyer = msg.sender;
        j.status = JobStatus.Open;
        j.redundancy = redundancy;
        j.drawBlock = SafeCast.toUint64(block.number + p.applyBlocks);
        j.deadline = deadline;
        j.revealDeadline = deadline + p.revealWindow;
        j.modelId = modelId;
        j.maxPrice = maxPrice;
        j.modelFee = SafeCast.toUint128(registry.priceOf(modelId));
        j.escrow = msg.value;
        j.terms = Terms({
            slashAmount: p.slashAmount,
            disputeBond: p.disputeBond,
            stakePerJob: p.stakePerJob,
            platformFeeBps: p.platformFeeBps,
            buyerShareBps: p.buyerShareBps,
            challengeWindow: p.challengeWindow,
            arbitrationWindow: p.arbitrationWindow
        });
        j.inputCid = inputCid;
        totalEscrow += msg.value;
        emit JobPosted(jobId, msg.sender, modelId, inputCid, maxPrice, deadline, redundancy, msg.value);
    }

    /// @notice The buyer withdraws a job nobody has applied for yet; the escrow is refunded.
    function cancelJob(uint256 jobId) external {
        Job storage j = _jobIn(jobId, JobStatus.Open);
        if (msg.sender != j.buyer) revert NotBuyer(jobId, msg.sender);
        uint256 n = _candidates[jobId].length;
        if (n != 0) revert HasCandidates(jobId, n);
        j.status = JobStatus.Cancelled;
        uint256 refund = _releaseEscrow(j);
        emit JobCancelled(jobId, refund);
        _credit(j.buyer, refund, REASON_REFUND);
    }

    /// @notice A registered provider whose price is at most the job's max applies, up to the
    ///         job's draw block. Applying locks the job's `stakePerJob` until the draw releases
    ///         the provider or the job ends; the draw weighs candidates by their bonded stake.
    function acceptJob(uint256 jobId) external whenNotPaused {
        Provider storage p = _registered(msg.sender);
        Job storage j = _jobIn(jobId, JobStatus.Open);
        if (block.number > j.drawBlock) revert ApplicationsClosed(jobId, j.drawBlock);
        if (block.timestamp >= j.deadline) revert DeadlinePassed(jobId, j.deadline);
        if (msg.sender == j.buyer) revert BuyerCannotServe(jobId);
        if (_applied[jobId][msg.sender]) revert AlreadyApplied(jobId, msg.sender);
        if (p.pricePerJob > j.maxPrice) revert PriceAboveMax(p.pricePerJob, j.maxPrice);
        p.locked += j.terms.stakePerJob;
        uint256 bonded = bondedOf(msg.sender);
        uint256 required = requiredStake(msg.sender);
        if (bonded < required) revert StakeBelowMinimum(bonded, required);
        _applied[jobId][msg.sender] = true;
        p.activeJobs += 1;
        uint128 weight = SafeCast.toUint128(bonded);
        Candidate memory c = Candidate({provider: msg.sender, price: p.pricePerJob, weight: weight});
        Candidate[] storage cs = _candidates[jobId];
        if (cs.length < MAX_CANDIDATES) {
            cs.push(c);
        } else {
            // full: the lightest candidate gives way to a heavier one, so that filling the list
            // first with many small stakes does not keep the rest of the market out
            uint256 lightest;
            for (uint256 i = 1; i < cs.length; ++i) {
                if (cs[i].weight < cs[lightest].weight) lightest = i;
            }
            if (cs[lightest].weight >= weight) revert TooManyCandidates(jobId);
            address out = cs[lightest].provider;
            _applied[jobId][out] = false;
            _release(out, j);
            cs[lightest] = c;
        }
        emit JobApplied(jobId, msg.sender, p.pricePerJob, weight);
    }

    /// @notice Draws the job's r providers among its candidates (anyone may call it) once the
    ///         draw block is `DRAW_CONFIRMATIONS` deep: without replacement, each pick weighted by
    ///         bonded stake, from `keccak256(abi.encode(blockhash(drawBlock), jobId, k))`. The
    ///         others are released. Too few candidates: the job fails and the buyer is refunded.
    ///         If the draw block's hash has aged out (nobody called within 256 blocks), the
    ///         current block becomes the draw block and the draw waits for its confirmations.
    function assign(uint256 jobId) external {
        Job storage j = _jobIn(jobId, JobStatus.Open);
        uint256 from = uint256(j.drawBlock) + DRAW_CONFIRMATIONS;
        if (block.number < from) revert DrawNotReady(jobId, from);
        Candidate[] storage cs = _candidates[jobId];
        // too few candidates, or too late for the drawn to commit: nobody is at fault
        if (cs.length < j.redundancy || block.timestamp >= j.deadline) {
            _releaseCandidates(jobId, j);
            _fail(jobId, j, "unassigned");
            return;
        }
        bytes32 seed = blockhash(j.drawBlock);
        if (seed == bytes32(0)) {
            j.drawBlock = SafeCast.toUint64(block.number);
            return;
        }
        uint256 n = cs.length;
        bool[] memory chosen = new bool[](n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            total += cs[i].weight;
        }
        for (uint256 k; k < j.redundancy; ++k) {
            uint256 x = uint256(keccak256(abi.encode(seed, jobId, k))) % total;
            uint256 i;
            for (;; ++i) {
                if (chosen[i]) continue;
                if (x < cs[i].weight) break;
                x -= cs[i].weight;
            }
            chosen[i] = true;
            total -= cs[i].weight;
            Assignment storage a = _assignments[jobId].push();
            a.provider = cs[i].provider;
            a.price = cs[i].price;
            _slot[jobId][a.provider] = _assignments[jobId].length;
            j.assigned += 1;
            emit JobAccepted(jobId, a.provider, a.price, j.assigned);
        }
        for (uint256 i; i < n; ++i) {
            if (!chosen[i]) _release(cs[i].provider, j);
        }
        j.status = JobStatus.Running;
        emit JobFullyAssigned(jobId);
    }

    /// @notice An assigned provider commits to its result before the deadline.
    function commitResult(uint256 jobId, bytes32 commitment) external {
        Job storage j = _jobIn(jobId, JobStatus.Running);
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
        j.revealed += 1;
        emit ResultRevealed(jobId, msg.sender, resultCid);
        if (j.revealed == j.redundancy) _settle(jobId, j);
    }

    /// @notice Moves a job on when its time has come (anyone may call it):
    ///         - Open past its deadline: never drawn, the buyer is refunded;
    ///         - Running past its reveal deadline: settle with what was revealed;
    ///         - Verifying past its challenge window: pay the provider;
    ///         - Disputed past its decision time: the arbiter did not decide, so every provider
    ///           that revealed is paid and a dispute bond goes to the provider.
    function finalize(uint256 jobId) external {
        Job storage j = _job(jobId);
        if (j.status == JobStatus.Open && block.timestamp > j.deadline) {
            _releaseCandidates(jobId, j);
            _fail(jobId, j, "unassigned");
        } else if (j.status == JobStatus.Running && block.timestamp > j.revealDeadline) {
            _settle(jobId, j);
        } else if (j.status == JobStatus.Verifying && block.timestamp > j.challengeEnd) {
            _complete(jobId, j, _assignments[jobId][0].resultHash, false);
        } else if (j.status == JobStatus.Disputed && block.timestamp > j.challengeEnd) {
            emit DisputeTimedOut(jobId);
            _returnBond(j, _assignments[jobId][0].provider, false);
            _complete(jobId, j, bytes32(0), true);
        } else {
            revert NotFinalizable(jobId);
        }
    }

    /// @notice The buyer of a single-provider job disputes its result within the window;
    ///         `msg.value` must be the job's dispute bond. The arbiter has the job's arbitration
    ///         window to decide.
    function dispute(uint256 jobId) external payable {
        Job storage j = _jobIn(jobId, JobStatus.Verifying);
        if (msg.sender != j.buyer) revert NotBuyer(jobId, msg.sender);
        if (block.timestamp > j.challengeEnd) revert ChallengeWindowClosed(jobId, j.challengeEnd);
        if (msg.value != j.terms.disputeBond) revert WrongBond(j.terms.disputeBond, msg.value);
        j.escrow += msg.value;
        totalEscrow += msg.value;
        _toArbitration(jobId, j);
    }

    /// @notice The arbiter decides a disputed job by naming the keccak256 of the right result
    ///         CID, or zero if no revealed result is right. Providers that revealed another
    ///         result are slashed for fraud; the slashes go to the buyer's share and to the
    ///         providers upheld (the buyer if none). With an upheld result the job completes;
    ///         with none it fails and the buyer is refunded. A single-provider dispute bond goes
    ///         back to the buyer if its dispute was right, else to the provider.
    function resolveDispute(uint256 jobId, bytes32 upheldResult) external onlyRole(ARBITER_ROLE) {
        Job storage j = _jobIn(jobId, JobStatus.Disputed);
        if (block.timestamp > j.challengeEnd) revert ChallengeWindowClosed(jobId, j.challengeEnd);
        emit DisputeResolved(jobId, msg.sender, upheldResult);
        Assignment[] storage as_ = _assignments[jobId];
        bool upheld;
        for (uint256 i; i < as_.length; ++i) {
            if (!as_[i].revealed) continue;
            if (upheldResult != bytes32(0) && as_[i].resultHash == upheldResult) {
                upheld = true;
            } else {
                // a rejected result: the whole slash compensates the buyer
                uint256 slashed = _slash(as_[i].provider, j.terms.slashAmount, REASON_FRAUD);
                emit ProviderPenalized(jobId, as_[i].provider, REASON_FRAUD, slashed);
                _credit(j.buyer, slashed, REASON_COMPENSATION);
            }
        }
        _returnBond(j, as_[0].provider, !upheld);
        if (upheld) {
            _complete(jobId, j, upheldResult, false);
        } else {
            _releaseAll(jobId, j);
            _fail(jobId, j, "dispute-upheld");
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

    /// @notice How many providers applied for a job (each one's price and weight are in
    ///         `JobApplied`).
    function candidateCount(uint256 jobId) external view returns (uint256) {
        return _candidates[jobId].length;
    }

    function getAssignments(uint256 jobId) external view returns (Assignment[] memory) {
        return _assignments[jobId];
    }

    /// @notice Everything the contract owes: stakes, credits and escrow.
    function liabilities() external view returns (uint256) {
        return totalStaked + totalCredits + totalEscrow;
    }

    // ------------------------------------------------------------------ settlement

    /// @dev Settles a Running job from its reveals: penalizes missing reveals, then applies the
    ///      r = 1 challenge window, or for r >= 2 pays an agreeing majority and sends any
    ///      disagreement to arbitration.
    function _settle(uint256 jobId, Job storage j) private {
        Assignment[] storage as_ = _assignments[jobId];
        bytes32 first;
        bool differ;
        for (uint256 i; i < as_.length; ++i) {
            if (!as_[i].revealed) {
                _penalize(jobId, j, as_[i].provider, REASON_TIMEOUT);
            } else if (first == bytes32(0)) {
                first = as_[i].resultHash;
            } else if (as_[i].resultHash != first) {
                differ = true;
            }
        }
        if (j.redundancy == 1) {
            if (!as_[0].revealed) {
                _releaseAll(jobId, j);
                _fail(jobId, j, "no-result");
                return;
            }
            j.status = JobStatus.Verifying;
            j.challengeEnd = SafeCast.toUint64(block.timestamp) + j.terms.challengeWindow;
            j.resultHash = as_[0].resultHash;
            emit JobVerifying(jobId, j.resultHash, j.challengeEnd);
            return;
        }
        if (!differ && uint256(j.revealed) * 2 > j.redundancy) {
            _complete(jobId, j, first, false);
        } else if (j.revealed != 0) {
            // disagreement, or too few reveals to trust: the arbiter decides, and if it stays
            // silent the revealers are paid (their results are public once revealed)
            _toArbitration(jobId, j);
        } else {
            _releaseAll(jobId, j);
            _fail(jobId, j, "no-result");
        }
    }

    function _toArbitration(uint256 jobId, Job storage j) private {
        j.status = JobStatus.Disputed;
        j.challengeEnd = SafeCast.toUint64(block.timestamp) + j.terms.arbitrationWindow;
        emit JobDisputed(jobId, j.buyer, j.challengeEnd);
    }

    /// @dev Pays the providers that revealed `winner` (or, with `allRevealed`, every provider
    ///      that revealed), the platform fee, the model owner, and refunds the rest of the
    ///      escrow to the buyer.
    function _complete(uint256 jobId, Job storage j, bytes32 winner, bool allRevealed) private {
        Assignment[] storage as_ = _assignments[jobId];
        uint256 paid;
        bytes32 result;
        for (uint256 i; i < as_.length; ++i) {
            Assignment storage a = as_[i];
            if (a.revealed && (allRevealed || a.resultHash == winner)) {
                paid += a.price;
                result = a.resultHash;
                _credit(a.provider, a.price, REASON_PAYMENT);
            }
        }
        _releaseAll(jobId, j);
        j.status = JobStatus.Completed;
        j.resultHash = result;
        uint256 fee = paid * j.terms.platformFeeBps / BPS;
        uint256 modelFee = j.modelFee;
        uint256 refund = _releaseEscrow(j) - paid - fee - modelFee;
        _credit(treasury, fee, REASON_FEE);
        if (modelFee != 0) _credit(registry.ownerOf(j.modelId), modelFee, REASON_MODEL);
        _credit(j.buyer, refund, REASON_REFUND);
        emit JobCompleted(jobId, result, paid, fee, modelFee, refund);
    }

    /// @dev Fails a job and refunds its whole escrow to the buyer.
    function _fail(uint256 jobId, Job storage j, bytes32 reason) private {
        j.status = JobStatus.Failed;
        uint256 refund = _releaseEscrow(j);
        emit JobFailed(jobId, reason, refund);
        _credit(j.buyer, refund, REASON_REFUND);
    }

    /// @dev Moves a dispute bond out of the job's escrow, to the buyer if `toBuyer`, else to
    ///      `provider`. No-op without a bond (r >= 2 disagreements have none).
    function _returnBond(Job storage j, address provider, bool toBuyer) private {
        if (j.redundancy != 1) return;
        uint256 bond = j.terms.disputeBond;
        if (bond == 0) return;
        j.escrow -= bond;
        totalEscrow -= bond;
        _credit(toBuyer ? j.buyer : provider, bond, REASON_BOND);
    }

    /// @dev Slashes `provider` for a provable timeout: the buyer's share to the buyer, the rest
    ///      to the treasury.
    function _penalize(uint256 jobId, Job storage j, address provider, bytes32 reason) private {
        uint256 slashed = _slash(provider, j.terms.slashAmount, reason);
        uint256 toBuyer = slashed * j.terms.buyerShareBps / BPS;
        emit ProviderPenalized(jobId, provider, reason, slashed);
        _credit(j.buyer, toBuyer, REASON_COMPENSATION);
        _credit(treasury, slashed - toBuyer, REASON_SLASH);
    }

    /// @dev Frees one provider of a job: its active-job count and the stake the job locked.
    function _release(address provider, Job storage j) private {
        Provider storage p = _providers[provider];
        p.activeJobs -= 1;
        p.locked -= j.terms.stakePerJob;
    }

    /// @dev Frees every provider assigned to `jobId`.
    function _releaseAll(uint256 jobId, Job storage j) private {
        Assignment[] storage as_ = _assignments[jobId];
        for (uint256 i; i < as_.length; ++i) {
            _release(as_[i].provider, j);
        }
    }

    /// @dev Frees every candidate of a job that was never drawn.
    function _releaseCandidates(uint256 jobId, Job storage j) private {
        Candidate[] storage cs = _candidates[jobId];
        for (uint256 i; i < cs.length; ++i) {
            _release(cs[i].provider, j);
        }
    }

    function _releaseEscrow(Job storage j) private returns (uint256 amount) {
        amount = j.escrow;
        j.escrow = 0;
        totalEscrow -= amount;
    }

    // ------------------------------------------------------------------ internals

    function _setParams(Params memory p) private {
        if (
            p.minStake == 0 || p.minStake > MAX_AMOUNT_PARAM || p.stakePerJob > MAX_AMOUNT_PARAM
                || p.slashAmount > MAX_AMOUNT_PARAM || p.disputeBond > MAX_AMOUNT_PARAM
                || p.platformFeeBps > MAX_FEE_BPS || p.buyerShareBps > BPS || p.applyBlocks == 0
                || p.applyBlocks > MAX_APPLY_BLOCKS
        ) revert InvalidParams();
        if (
            p.revealWindow < MIN_WINDOW || p.revealWindow > MAX_WINDOW || p.challengeWindow < MIN_WINDOW
                || p.challengeWindow > MAX_WINDOW || p.arbitrationWindow < MIN_WINDOW
                || p.arbitrationWindow > MAX_WINDOW
        ) revert InvalidParams();
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
        if (jobs != 0 && remainingBonded < requiredStake(account)) revert HasActiveJobs(account, jobs);
    }

    function _checkCanWithdrawStake(address account) internal view override {
        uint32 jobs = _providers[account].activeJobs;
        if (jobs != 0) revert HasActiveJobs(account, jobs);
    }
}

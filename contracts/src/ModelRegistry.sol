// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {Administered} from "./common/Administered.sol";
import {CreditLedger} from "./common/CreditLedger.sol";
import {IIPFSIncentives} from "./interfaces/IIPFSIncentives.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";

/// @title ModelRegistry
/// @notice The catalogue of AI models: each model has an owner, a name, a framework, a metadata
///         URI, a price per use, an access mode (public, or permissioned with an access list),
///         an active flag and a history of versions, each version being the IPFS CID of the
///         model's files. Registering a model or a version costs the registration fee (credited
///         to the treasury) and opens a pinning record for the CID in IPFSIncentives, funded
///         with whatever the caller sent above the fee.
///         Pausing stops registrations and new versions; everything else keeps working.
contract ModelRegistry is IModelRegistry, Administered, CreditLedger {
    using EnumerableSet for EnumerableSet.UintSet;

    uint256 public constant MAX_NAME_LENGTH = 128;
    uint256 public constant MAX_FRAMEWORK_LENGTH = 64;
    uint256 public constant MAX_URI_LENGTH = 512;
    uint256 public constant MAX_CID_LENGTH = 128;
    /// @notice Largest page the list views return.
    uint256 public constant MAX_PAGE = 100;
    /// @notice Highest registration fee the admin may set.
    uint256 public constant MAX_REGISTRATION_FEE = 100 ether;

    bytes32 private constant REASON_FEE = "registration-fee";

    /// @notice What a model owner supplies at registration.
    struct ModelInput {
        string name;
        string framework; // e.g. "pytorch", "onnx", "gguf"
        string metadataURI; // model card, license, input/output schema
        uint128 pricePerUse; // wei per job, paid to the owner by the compute marketplace
        bool permissioned; // true: only the owner and the access list may use it
        uint256 maxFee; // the most registration fee the caller agrees to pay
    }

    struct Model {
        address owner;
        bool active;
        bool permissioned;
        uint32 versionCount;
        uint64 createdAt;
        uint128 pricePerUse;
        string name;
        string framework;
        string metadataURI;
    }

    struct Version {
        string cid;
        uint256 pinRecordId; // the record in IPFSIncentives
        uint64 createdAt;
    }

    /// @notice The pinning incentives contract that gets a record per version.
    IIPFSIncentives public immutable incentives;
    /// @notice Wei per registration (model or version).
    uint256 public registrationFee;
    uint256 public modelCount;

    mapping(uint256 modelId => Model) private _models;
    mapping(uint256 modelId => mapping(uint256 version => Version)) private _versions;
    mapping(uint256 modelId => mapping(address user => bool)) private _access;
    mapping(address owner => EnumerableSet.UintSet) private _byOwner;
    /// @notice Whom each model's owner has offered the model to (`acceptModelOwnership`).
    mapping(uint256 modelId => address) public pendingOwner;

    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        string name,
        string framework,
        string metadataURI,
        uint128 pricePerUse,
        bool permissioned
    );
    event ModelVersionAdded(uint256 indexed modelId, uint32 indexed version, string cid, uint256 pinRecordId);
    event ModelActiveChanged(uint256 indexed modelId, bool active);
    event ModelPriceChanged(uint256 indexed modelId, uint128 pricePerUse);
    event ModelMetadataChanged(uint256 indexed modelId, string metadataURI);
    event ModelAccessModeChanged(uint256 indexed modelId, bool permissioned);
    event AccessGranted(uint256 indexed modelId, address indexed user);
    event AccessRevoked(uint256 indexed modelId, address indexed user);
    event ModelOwnershipOffered(uint256 indexed modelId, address indexed owner, address indexed offeredTo);
    event ModelOwnershipTransferred(uint256 indexed modelId, address indexed previousOwner, address indexed newOwner);
    event RegistrationFeeUpdated(uint256 previous, uint256 current);

    error UnknownModel(uint256 modelId);
    error NotModelOwner(uint256 modelId, address caller);
    error UnknownVersion(uint256 modelId, uint256 version);
    error InsufficientFee(uint256 required, uint256 sent);
    error EmptyField(bytes32 field);
    error FieldTooLong(bytes32 field, uint256 length, uint256 max);
    error AlreadyInState(uint256 modelId);
    error FeeTooHigh(uint256 fee, uint256 max);
    error FeeAboveMax(uint256 fee, uint256 maxFee);
    error PageTooLarge(uint256 limit, uint256 max);

    constructor(
        address admin_,
        address treasury_,
        uint64 changeDelay_,
        IIPFSIncentives incentives_,
        uint256 registrationFee_
    ) Administered(admin_, treasury_, changeDelay_) {
        if (address(incentives_) == address(0)) revert ZeroAddress();
        if (registrationFee_ > MAX_REGISTRATION_FEE) revert FeeTooHigh(registrationFee_, MAX_REGISTRATION_FEE);
        incentives = incentives_;
        registrationFee = registrationFee_;
        emit RegistrationFeeUpdated(0, registrationFee_);
    }

    // ------------------------------------------------------------------ admin

    /// @notice Changes the registration fee (admin), as scheduled with `scheduleChange` at least
    ///         `changeDelay` before; at most `MAX_REGISTRATION_FEE`.
    function setRegistrationFee(uint256 fee) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (fee > MAX_REGISTRATION_FEE) revert FeeTooHigh(fee, MAX_REGISTRATION_FEE);
        _applyChange(this.setRegistrationFee.selector, abi.encode(fee));
        emit RegistrationFeeUpdated(registrationFee, fee);
        registrationFee = fee;
    }

    // ------------------------------------------------------------------ owners

    /// @notice Registers a model owned by the caller with its first version `cid`. `msg.value`
    ///         pays the registration fee; the rest funds the version's pinning record.
    function registerModel(ModelInput calldata input, string calldata cid, IIPFSIncentives.ContentSpec calldata content)
        external
        payable
        whenNotPaused
        returns (uint256 modelId)
    {
        _checkText("name", input.name, MAX_NAME_LENGTH, true);
        _checkText("framework", input.framework, MAX_FRAMEWORK_LENGTH, true);
        _checkText("metadataURI", input.metadataURI, MAX_URI_LENGTH, false);
        modelId = ++modelCount;
        Model storage m = _models[modelId];
        m.owner = msg.sender;
        m.active = true;
        m.permissioned = input.permissioned;
        m.createdAt = uint64(block.timestamp);
        m.pricePerUse = input.pricePerUse;
        m.name = input.name;
        m.framework = input.framework;
        m.metadataURI = input.metadataURI;
        _byOwner[msg.sender].add(modelId);
        emit ModelRegistered(
            modelId, msg.sender, input.name, input.framework, input.metadataURI, input.pricePerUse, input.permissioned
        );
        _addVersion(modelId, m, cid, content, input.maxFee);
    }

    /// @notice Adds a version (new CID) to a model; the history is kept. Same fee and pinning
    ///         record as a registration.
    function addVersion(
        uint256 modelId,
        string calldata cid,
        IIPFSIncentives.ContentSpec calldata content,
        uint256 maxFee
    ) external payable whenNotPaused returns (uint32 version) {
        Model storage m = _ownedModel(modelId);
        return _addVersion(modelId, m, cid, content, maxFee);
    }

    function setActive(uint256 modelId, bool active) external {
        Model storage m = _ownedModel(modelId);
        if (m.active == active) revert AlreadyInState(modelId);
        m.active = active;
        emit ModelActiveChanged(modelId, active);
    }

    function setPrice(uint256 modelId, uint128 pricePerUse) external {
        _ownedModel(modelId).pricePerUse = pricePerUse;
        emit ModelPriceChanged(modelId, pricePerUse);
    }

    function setMetadataURI(uint256 modelId, string calldata metadataURI) external {
        Model storage m = _ownedModel(modelId);
        _checkText("metadataURI", metadataURI, MAX_URI_LENGTH, false);
        m.metadataURI = metadataURI;
        emit ModelMetadataChanged(modelId, metadataURI);
    }

    function setPermissioned(uint256 modelId, bool permissioned) external {
        Model storage m = _ownedModel(modelId);
        if (m.permissioned == permissioned) revert AlreadyInState(modelId);
        m.permissioned = permissioned;
        emit ModelAccessModeChanged(modelId, permissioned);
    }

    function grantAccess(uint256 modelId, address user) external {
        _ownedModel(modelId);
        if (user == address(0)) revert ZeroAddress();
        if (_access[modelId][user]) revert AlreadyInState(modelId);
        _access[modelId][user] = true;
        emit AccessGranted(modelId, user);
    }

    function revokeAccess(uint256 modelId, address user) external {
        _ownedModel(modelId);
        if (!_access[modelId][user]) revert AlreadyInState(modelId);
        _access[modelId][user] = false;
        emit AccessRevoked(modelId, user);
    }

    /// @notice Offers the model to `newOwner` (first step; a later offer replaces it). The
    ///         model changes hands when `newOwner` calls `acceptModelOwnership`, so a typo cannot
    ///         send it to an address nobody controls. Pinning records keep their funders: what
    ///         the old owner paid into a record is refunded to the old owner.
    function transferModelOwnership(uint256 modelId, address newOwner) external {
        _ownedModel(modelId);
        if (newOwner == address(0)) revert ZeroAddress();
        if (newOwner == msg.sender) revert AlreadyInState(modelId);
        pendingOwner[modelId] = newOwner;
        emit ModelOwnershipOffered(modelId, msg.sender, newOwner);
    }

    /// @notice Second step: the offered owner takes the model (and its future per-use fees).
    function acceptModelOwnership(uint256 modelId) external {
        Model storage m = _model(modelId);
        if (pendingOwner[modelId] != msg.sender) revert NotModelOwner(modelId, msg.sender);
        address previous = m.owner;
        delete pendingOwner[modelId];
        m.owner = msg.sender;
        _byOwner[previous].remove(modelId);
        _byOwner[msg.sender].add(modelId);
        emit ModelOwnershipTransferred(modelId, previous, msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IModelRegistry
    function canUse(uint256 modelId, address user) external view returns (bool) {
        Model storage m = _models[modelId];
        if (m.owner == address(0) || !m.active) return false;
        return !m.permissioned || user == m.owner || _access[modelId][user];
    }

    /// @inheritdoc IModelRegistry
    function ownerOf(uint256 modelId) external view returns (address) {
        return _model(modelId).owner;
    }

    /// @inheritdoc IModelRegistry
    function priceOf(uint256 modelId) external view returns (uint256) {
        return _model(modelId).pricePerUse;
    }

    function hasAccess(uint256 modelId, address user) external view returns (bool) {
        return _access[modelId][user];
    }

    function getModel(uint256 modelId) external view returns (Model memory) {
        return _model(modelId);
    }

    /// @notice Version `version` (1-based) of a model.
    function getVersion(uint256 modelId, uint256 version) public view returns (Version memory) {
        Model storage m = _model(modelId);
        if (version == 0 || version > m.versionCount) revert UnknownVersion(modelId, version);
        return _versions[modelId][version];
    }

    function latestVersion(uint256 modelId) external view returns (Version memory) {
        return getVersion(modelId, _model(modelId).versionCount);
    }

    /// @notice Number of models `owner` holds.
    function modelCountOf(address owner) external view returns (uint256) {
        return _byOwner[owner].length();
    }

    /// @notice Up to `limit` ids of `owner`'s models, from position `offset` (order not stable
    ///         across ownership transfers).
    function modelsOf(address owner, uint256 offset, uint256 limit) external view returns (uint256[] memory ids) {
        EnumerableSet.UintSet storage set = _byOwner[owner];
        uint256 n = _pageSize(set.length(), offset, limit);
        ids = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            ids[i] = set.at(offset + i);
        }
    }

    /// @notice Models `offset + 1` to `offset + limit` (ids are 1-based and never reused).
    function listModels(uint256 offset, uint256 limit) external view returns (Model[] memory page) {
        uint256 n = _pageSize(modelCount, offset, limit);
        page = new Model[](n);
        for (uint256 i; i < n; ++i) {
            page[i] = _models[offset + i + 1];
        }
    }

    /// @notice Everything the registry owes: the fees not yet withdrawn.
    function liabilities() external view returns (uint256) {
        return totalCredits;
    }

    // ------------------------------------------------------------------ internals

    function _addVersion(
        uint256 modelId,
        Model storage m,
        string calldata cid,
        IIPFSIncentives.ContentSpec calldata content,
        uint256 maxFee
    ) private returns (uint32 version) {
        _checkText("cid", cid, MAX_CID_LENGTH, true);
        uint256 fee = registrationFee;
        if (fee > maxFee) revert FeeAboveMax(fee, maxFee);
        if (msg.value < fee) revert InsufficientFee(fee, msg.value);
        version = ++m.versionCount;
        uint256 recordId = incentives.openRecord{value: msg.value - fee}(cid, content, m.owner);
        Version storage v = _versions[modelId][version];
        v.cid = cid;
        v.pinRecordId = recordId;
        v.createdAt = uint64(block.timestamp);
        emit ModelVersionAdded(modelId, version, cid, recordId);
        _credit(treasury, fee, REASON_FEE);
    }

    function _model(uint256 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
    }

    function _ownedModel(uint256 modelId) private view returns (Model storage m) {
        m = _model(modelId);
        if (m.owner != msg.sender) revert NotModelOwner(modelId, msg.sender);
    }

    function _checkText(bytes32 field, string calldata value, uint256 max, bool required) private pure {
        uint256 len = bytes(value).length;
        if (required && len == 0) revert EmptyField(field);
        if (len > max) revert FieldTooLong(field, len, max);
    }

    function _pageSize(uint256 total, uint256 offset, uint256 limit) private pure returns (uint256) {
        if (limit > MAX_PAGE) revert PageTooLarge(limit, MAX_PAGE);
        if (offset >= total) return 0;
        uint256 rest = total - offset;
        return rest < limit ? rest : limit;
    }
}

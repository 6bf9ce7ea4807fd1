// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IErrors} from "./Errors.sol";
import {Job, JobCost, JobDefinition, JobStatus, JobTime} from "./Types.sol";

/// Job storage. Writes come only from MetaScheduler; every status change goes
/// through the transition rules here, so no caller can bypass them.
contract JobRepository is AccessControl, IErrors {
  bytes32 public constant METASCHEDULER_ROLE = keccak256("METASCHEDULER_ROLE");

  // Bit `to` of ALLOWED[from] is set when from -> to is a legal transition
  // (METASCHEDULER.md table). Cold statuses (>= CANCELLED) allow nothing.
  uint16 private constant FROM_PENDING = (1 << 1) | (1 << 4) | (1 << 8);
  uint16 private constant FROM_META_SCHEDULED = (1 << 0) | (1 << 2) | (1 << 4) | (1 << 8);
  uint16 private constant FROM_SCHEDULED = (1 << 0) | (1 << 3) | (1 << 4) | (1 << 6) | (1 << 8);
  uint16 private constant FROM_RUNNING = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8);

  mapping(bytes32 => Job) private jobs;
  mapping(address => bytes32[]) private jobsByCustomer;
  uint256 private nonce;

  event JobCreated(bytes32 _jobId);
  event JobTransitionEvent(bytes32 _jobId, JobStatus _from, JobStatus _to);

  constructor() {
    _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
  }

  /// Stores a new job under a fresh id (the id in `_job` is ignored) and returns it.
  function create(Job calldata _job) external onlyRole(METASCHEDULER_ROLE) returns (bytes32 jobId) {
    jobId = keccak256(abi.encode(block.chainid, address(this), ++nonce));
    Job storage s = jobs[jobId];
    s.jobId = jobId;
    _write(s, _job);
    jobsByCustomer[_job.customerAddr].push(jobId);
    emit JobCreated(jobId);
  }

  /// Replaces a job; a status change in it obeys the transition rules.
  function update(Job calldata _job) external onlyRole(METASCHEDULER_ROLE) {
    Job storage s = _existing(_job.jobId);
    if (s.status != _job.status) _transition(s, _job.status);
    if (s.customerAddr != _job.customerAddr) _moveCustomer(s, _job.customerAddr);
    _write(s, _job);
  }

  function setJobStatus(bytes32 _jobId, JobStatus _newStatus) external onlyRole(METASCHEDULER_ROLE) {
    _transition(_existing(_jobId), _newStatus);
  }

  function setCost(bytes32 _jobId, JobCost calldata _cost) external onlyRole(METASCHEDULER_ROLE) {
    _existing(_jobId).cost = _cost;
  }

  function setTime(bytes32 _jobId, JobTime calldata _time) external onlyRole(METASCHEDULER_ROLE) {
    _existing(_jobId).time = _time;
  }

  function setProviderAddr(bytes32 _jobId, address _providerAddr) external onlyRole(METASCHEDULER_ROLE) {
    _existing(_jobId).providerAddr = _providerAddr;
  }

  function setCustomerAddr(bytes32 _jobId, address _customerAddr) external onlyRole(METASCHEDULER_ROLE) {
    _moveCustomer(_existing(_jobId), _customerAddr);
  }

  function setDefinition(bytes32 _jobId, JobDefinition calldata _definition) external onlyRole(METASCHEDULER_ROLE) {
    _writeDefinition(_existing(_jobId).definition, _definition);
  }

  function setJobName(bytes32 _jobId, bytes32 _jobName) external onlyRole(METASCHEDULER_ROLE) {
    _existing(_jobId).jobName = _jobName;
  }

  function setHasCancelRequest(bytes32 _jobId, bool _hasCancelRequest) external onlyRole(METASCHEDULER_ROLE) {
    _existing(_jobId).hasCancelRequest = _hasCancelRequest;
  }

  function setLastError(bytes32 _jobId, string calldata _error) external onlyRole(METASCHEDULER_ROLE) {
    _existing(_jobId).lastError = _error;
  }

  function setExitCode(bytes32 _jobId, int64 _exitCode) external onlyRole(METASCHEDULER_ROLE) {
    _existing(_jobId).exitCode = _exitCode;
  }

  /// Reverts InvalidJob() for an unknown id rather than returning a zeroed job,
  /// which would read as a PENDING job owned by address(0).
  function get(bytes32 _jobId) external view returns (Job memory) {
    return _existing(_jobId);
  }

  function getByCustomer(address customerAddr) external view returns (bytes32[] memory) {
    return jobsByCustomer[customerAddr];
  }

  function _existing(bytes32 _jobId) private view returns (Job storage s) {
    s = jobs[_jobId];
    if (_jobId == bytes32(0) || s.jobId != _jobId) revert InvalidJob();
  }

  /// Check order is part of the protocol: same status, then cold origin, then the table.
  function _transition(Job storage s, JobStatus _to) private {
    JobStatus from = s.status;
    if (from == _to) revert SameStatusError();
    if (from >= JobStatus.CANCELLED) revert JobHotStatusOnly(from);
    uint16 allowed = from == JobStatus.PENDING
      ? FROM_PENDING
      : from == JobStatus.META_SCHEDULED
        ? FROM_META_SCHEDULED
        : from == JobStatus.SCHEDULED
          ? FROM_SCHEDULED
          : FROM_RUNNING;
    if (allowed & (uint16(1) << uint8(_to)) == 0) revert InvalidTransition(from, _to);
    s.status = _to;
    s.time.blockNumberStateChange = block.number;
    emit JobTransitionEvent(s.jobId, from, _to);
  }

  function _moveCustomer(Job storage s, address _customerAddr) private {
    bytes32[] storage old = jobsByCustomer[s.customerAddr];
    for (uint256 i = 0; i < old.length; i++) {
      if (old[i] == s.jobId) {
        old[i] = old[old.length - 1];
        old.pop();
        break;
      }
    }
    jobsByCustomer[_customerAddr].push(s.jobId);
    s.customerAddr = _customerAddr;
  }

  /// Copies everything but jobId. Status goes in as given: callers that change
  /// an existing job's status run _transition first.
  function _write(Job storage s, Job calldata j) private {
    s.status = j.status;
    s.customerAddr = j.customerAddr;
    s.providerAddr = j.providerAddr;
    _writeDefinition(s.definition, j.definition);
    s.cost = j.cost;
    s.time = j.time;
    s.jobName = j.jobName;
    s.hasCancelRequest = j.hasCancelRequest;
    s.lastError = j.lastError;
    s.exitCode = j.exitCode;
  }

  // Field by field: the legacy code generator cannot copy arrays of structs
  // from calldata to storage in one assignment.
  function _writeDefinition(JobDefinition storage s, JobDefinition calldata d) private {
    s.gpus = d.gpus;
    s.memPerCpu = d.memPerCpu;
    s.cpusPerTask = d.cpusPerTask;
    s.ntasks = d.ntasks;
    s.batchLocationHash = d.batchLocationHash;
    s.storageType = d.storageType;
    delete s.uses;
    for (uint256 i = 0; i < d.uses.length; i++) {
      s.uses.push(d.uses[i]);
    }
    delete s.affinity;
    for (uint256 i = 0; i < d.affinity.length; i++) {
      s.affinity.push(d.affinity[i]);
    }
  }
}

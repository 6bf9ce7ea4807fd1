// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Constants} from "./Constants.sol";
import {IErrors} from "./Errors.sol";
import {JobRepository} from "./JobRepository.sol";
import {ProviderJobQueues} from "./ProviderJobQueues.sol";
import {ProviderManager} from "./ProviderManager.sol";
import {Job, JobDefinition, JobStatus, ProviderPrices} from "./Types.sol";

/// The contract customers, providers and the oracle talk to. It holds every
/// locked credit; JobRepository, ProviderJobQueues and ProviderManager grant it
/// METASCHEDULER_ROLE so only it can change jobs and queues.
contract MetaScheduler is AccessControl, IErrors {
  using SafeERC20 for IERC20;

  bytes32 public constant METASCHEDULER_ROLE = keccak256("METASCHEDULER_ROLE");

  IERC20 public immutable credit;
  Constants public immutable constants;
  ProviderManager public immutable providerManager;
  ProviderJobQueues public immutable providerJobQueues;
  JobRepository public immutable jobs;

  bool public enableRequestNewJob = true;
  /// Credits held for the grid (deepsquareCut of each final cost), the only
  /// part of this contract's balance withdrawAdmin may take.
  uint256 public collectedCut;

  event NewJobRequestEvent(bytes32 _jobId, address _customerAddr);
  event JobRefusedEvent(bytes32 _jobId, address _providerAddr, address _customerAddr);
  event ClaimJobEvent(
    address customerAddr,
    address providerAddr,
    bytes32 jobId,
    uint64 maxDurationMinute,
    JobDefinition jobDefinition
  );
  event ClaimNextTopUpJobEvent(bytes32 _jobId, address _providerAddr, uint64 maxDurationMinute);
  event ClaimNextCancellingJobEvent(address customerAddr, address providerAddr, bytes32 jobId);
  event BilledTooMuchEvent(bytes32 _jobId, address _providerAddr, uint256 _billingAmount);

  constructor(
    IERC20 _credit,
    Constants _constants,
    ProviderManager _providerManager,
    ProviderJobQueues _providerJobQueues,
    JobRepository _jobs
  ) {
    credit = _credit;
    constants = _constants;
    providerManager = _providerManager;
    providerJobQueues = _providerJobQueues;
    jobs = _jobs;
    _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
  }

  // ---------------------------------------------------------------- customer

  function requestNewJob(
    JobDefinition calldata _definition,
    uint256 _lockedCredits,
    bytes32 _jobName,
    bool _delegateSpendingAuthority
  ) external returns (bytes32 jobId) {
    if (!enableRequestNewJob) revert NewJobRequestDisabled();
    if (
      _definition.ntasks == 0 ||
      _definition.cpusPerTask == 0 ||
      _definition.memPerCpu == 0 ||
      bytes(_definition.batchLocationHash).length == 0
    ) revert InvalidJobDefinition();
    uint256 minimum = constants.minimumAmount();
    if (_lockedCredits < minimum) revert InsufficientFunds(_lockedCredits, minimum);
    uint256 balance = credit.balanceOf(msg.sender);
    if (balance < _lockedCredits) revert InsufficientFunds(balance, _lockedCredits);

    credit.safeTransferFrom(msg.sender, address(this), _lockedCredits);
    Job memory job;
    job.status = JobStatus.PENDING;
    job.customerAddr = msg.sender;
    job.definition = _definition;
    job.cost.maxCost = _lockedCredits;
    job.cost.delegateSpendingAuthority = _delegateSpendingAuthority;
    job.time.submit = block.timestamp;
    job.jobName = _jobName;
    jobId = jobs.create(job);
    emit NewJobRequestEvent(jobId, msg.sender);
  }

  /// Before the job runs: cancelled at once with a full refund. While it runs:
  /// a cancel request queued for the provider, who stops the job and reports a
  /// cold status (billed as usual).
  function cancelJob(bytes32 _jobId) external {
    Job memory job = jobs.get(_jobId);
    if (msg.sender != job.customerAddr) revert CustomerOnly(msg.sender, job.customerAddr);
    if (job.status == JobStatus.RUNNING) {
      if (job.hasCancelRequest) revert AlreadyDone();
      jobs.setHasCancelRequest(_jobId, true);
      job.time.cancelRequestTimestamp = block.timestamp;
      jobs.setTime(_jobId, job.time);
      providerJobQueues.pushCancellingJob(job.providerAddr, _jobId);
      return;
    }
    jobs.setJobStatus(_jobId, JobStatus.CANCELLED);
    _stopAtProvider(job);
    _close(job, 0);
  }

  function topUpJob(bytes32 _jobId, uint256 _amount) external {
    Job memory job = jobs.get(_jobId);
    if (msg.sender != job.customerAddr) revert CustomerOnly(msg.sender, job.customerAddr);
    _topUp(job, _amount);
  }

  function setDelegateSpendingAuthority(bytes32 _jobId, bool _delegateSpendingAuthority) external {
    Job memory job = jobs.get(_jobId);
    if (msg.sender != job.customerAddr) revert CustomerOnly(msg.sender, job.customerAddr);
    job.cost.delegateSpendingAuthority = _delegateSpendingAuthority;
    jobs.setCost(_jobId, job.cost);
  }

  // ------------------------------------------------------------------ oracle

  function metaSchedule(bytes32 _jobId, address _providerAddr) external onlyRole(METASCHEDULER_ROLE) {
    if (!providerManager.isValidForScheduling(_providerAddr)) revert ProviderNotJoined();
    Job memory job = jobs.get(_jobId);
    jobs.setJobStatus(_jobId, JobStatus.META_SCHEDULED);
    uint256 perMin = _pricePerMin(job.definition, _providerAddr);
    // A zero price would give maxDurationMinute = unbounded, and SLURM reads
    // --time=0 as "no limit": free jobs are not schedulable.
    if (perMin == 0) revert InvalidJobDefinition();
    // Less than one minute of credit would be claimed with --time=0 too.
    if (job.cost.maxCost < perMin) revert InsufficientFunds(job.cost.maxCost, perMin);
    jobs.setProviderAddr(_jobId, _providerAddr);
    providerJobQueues.pushClaimableJob(_providerAddr, _jobId);
  }

  /// Back to PENDING when the provider did not claim (or start) in time. The
  /// claimable entry stays queued; claimNextJob skips it.
  function timeoutJob(bytes32 _jobId) external onlyRole(METASCHEDULER_ROLE) {
    _backToPending(jobs.get(_jobId));
  }

  /// Delegated top-up: buys topUpSliceDurationMin minutes from the customer's
  /// allowance once the remaining time is down to one slice or less.
  function topUpJobDelegate(bytes32 _jobId) external onlyRole(METASCHEDULER_ROLE) {
    Job memory job = jobs.get(_jobId);
    if (!job.cost.delegateSpendingAuthority) revert NoSpendingAuthority();
    if (job.status != JobStatus.RUNNING && job.status != JobStatus.SCHEDULED) {
      revert RunningScheduledStatusOnly(job.status);
    }
    uint256 perMin = _pricePerMin(job.definition, job.providerAddr);
    uint256 limit = _minutes(job.cost.maxCost, perMin);
    uint256 used = job.status == JobStatus.RUNNING ? (block.timestamp - job.time.start) / 60 : 0;
    uint256 remaining = limit > used ? limit - used : 0;
    uint256 slice = constants.topUpSliceDurationMin();
    if (remaining > slice) revert RemainingTimeAboveLimit(remaining, slice);
    _topUp(job, slice * perMin);
  }

  /// Ends a hot job the grid cannot recover, refunding the customer in full.
  function panicJob(bytes32 _jobId, string calldata _lastError) external onlyRole(METASCHEDULER_ROLE) {
    Job memory job = jobs.get(_jobId);
    jobs.setJobStatus(_jobId, JobStatus.PANICKED);
    jobs.setLastError(_jobId, _lastError);
    job.time.panicTimestamp = block.timestamp;
    _stopAtProvider(job);
    _close(job, 0);
  }

  // ---------------------------------------------------------------- provider

  /// Claims the oldest job meta-scheduled to the caller. Entries of jobs that
  /// left META_SCHEDULED (cancelled, timed out, refused) or were re-assigned
  /// since they were queued are dropped on the way. If only such stale entries
  /// were queued the call succeeds without a ClaimJobEvent, so the drained
  /// entries stay drained (a revert would put them back and block the queue).
  /// Reverts NoJob() only when the queue was empty to begin with.
  function claimNextJob() external {
    if (!providerManager.isValidForScheduling(msg.sender)) {
      if (providerManager.isApproved(msg.sender)) revert Banned();
      revert ProviderNotJoined();
    }
    bytes32 jobId = providerJobQueues.popNextClaimableJob(msg.sender);
    while (true) {
      Job memory job = jobs.get(jobId);
      if (job.status == JobStatus.META_SCHEDULED && job.providerAddr == msg.sender) {
        jobs.setJobStatus(jobId, JobStatus.SCHEDULED);
        providerManager.incJobCount(msg.sender);
        uint64 maxDurationMinute = _minutes(job.cost.maxCost, _pricePerMin(job.definition, msg.sender));
        emit ClaimJobEvent(job.customerAddr, msg.sender, jobId, maxDurationMinute, job.definition);
        return;
      }
      if (!providerJobQueues.hasNextClaimableJob(msg.sender)) return;
      jobId = providerJobQueues.popNextClaimableJob(msg.sender);
    }
  }

  function claimNextCancellingJob() external {
    _onlyApprovedProvider();
    bytes32 jobId = providerJobQueues.popNextCancellingJob(msg.sender);
    emit ClaimNextCancellingJobEvent(jobs.get(jobId).customerAddr, msg.sender, jobId);
  }

  /// Emits the minutes to add to the job's time limit. An entry whose job has
  /// since ended or gone back to PENDING is dropped without an event: its
  /// credits are refunded at close, or counted in the next claim's limit.
  function claimNextTopUpJob() external {
    _onlyApprovedProvider();
    bytes32 jobId = providerJobQueues.popNextTopUpJob(msg.sender);
    Job memory job = jobs.get(jobId);
    if (
      (job.status != JobStatus.SCHEDULED && job.status != JobStatus.RUNNING) ||
      job.providerAddr != msg.sender ||
      job.cost.pendingTopUp == 0
    ) return;
    uint256 perMin = _pricePerMin(job.definition, msg.sender);
    // Difference of floors, not floor of the top-up: fractions of a minute left
    // over by earlier payments add up instead of being lost.
    uint64 added = _minutes(job.cost.maxCost, perMin) - _minutes(job.cost.maxCost - job.cost.pendingTopUp, perMin);
    job.cost.pendingTopUp = 0;
    jobs.setCost(jobId, job.cost);
    emit ClaimNextTopUpJobEvent(jobId, msg.sender, added);
  }

  /// `_nextJobStatus` must be RUNNING or cold; RunningColdStatusOnly carries
  /// the rejected status. Transition errors come from JobRepository.
  function providerSetJobStatus(
    bytes32 _jobId,
    JobStatus _nextJobStatus,
    uint64 _jobDurationMinute,
    string calldata _lastError,
    int64 _exitCode
  ) external {
    _onlyApprovedProvider();
    Job memory job = jobs.get(_jobId);
    if (job.providerAddr != msg.sender) revert JobProviderOnly(msg.sender, job.providerAddr);
    if (_nextJobStatus != JobStatus.RUNNING && _nextJobStatus < JobStatus.CANCELLED) {
      revert RunningColdStatusOnly(_nextJobStatus);
    }
    jobs.setJobStatus(_jobId, _nextJobStatus);
    if (_nextJobStatus == JobStatus.RUNNING) {
      job.time.start = block.timestamp;
      jobs.setTime(_jobId, job.time);
      return;
    }
    jobs.setLastError(_jobId, _lastError);
    jobs.setExitCode(_jobId, _exitCode);
    // Never started (e.g. failed while SCHEDULED): nothing to bill.
    _close(job, job.time.start == 0 ? 0 : _billedCost(job, _jobDurationMinute));
  }

  /// The provider gives a job back (e.g. the cluster could not submit it).
  function refuseJob(bytes32 _jobId) external {
    _onlyApprovedProvider();
    Job memory job = jobs.get(_jobId);
    if (job.providerAddr != msg.sender) revert JobProviderOnly(msg.sender, job.providerAddr);
    _backToPending(job);
    emit JobRefusedEvent(_jobId, msg.sender, job.customerAddr);
  }

  // ------------------------------------------------------------------- admin

  function setEnableRequestNewJob(bool _enable) external onlyRole(DEFAULT_ADMIN_ROLE) {
    enableRequestNewJob = _enable;
  }

  function withdrawAdmin(uint256 _amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
    if (_amount > collectedCut) revert InsufficientFunds(collectedCut, _amount);
    collectedCut -= _amount;
    credit.safeTransfer(msg.sender, _amount);
  }

  // ---------------------------------------------------------------- internal

  function _onlyApprovedProvider() private view {
    if (!providerManager.isApproved(msg.sender)) revert ProviderNotJoined();
  }

  function _backToPending(Job memory job) private {
    if (job.status != JobStatus.META_SCHEDULED && job.status != JobStatus.SCHEDULED) {
      revert MetaScheduledScheduledStatusOnly(job.status);
    }
    jobs.setJobStatus(job.jobId, JobStatus.PENDING);
    // Unassigned: the sbatch service and the old provider must no longer see it
    // as theirs. Top-ups paid meanwhile are already in maxCost, which the next
    // claim's limit is computed from.
    jobs.setProviderAddr(job.jobId, address(0));
    if (job.cost.pendingTopUp != 0) {
      job.cost.pendingTopUp = 0;
      jobs.setCost(job.jobId, job.cost);
    }
  }

  /// A job the provider may already have submitted to SLURM is told to stop.
  function _stopAtProvider(Job memory job) private {
    if (job.status == JobStatus.SCHEDULED || job.status == JobStatus.RUNNING) {
      providerJobQueues.pushCancellingJob(job.providerAddr, job.jobId);
    }
  }

  function _topUp(Job memory job, uint256 _amount) private {
    if (job.status >= JobStatus.CANCELLED) revert JobHotStatusOnly(job.status);
    if (_amount == 0) return;
    credit.safeTransferFrom(job.customerAddr, address(this), _amount);
    job.cost.maxCost += _amount;
    // Before the claim the new maxCost is simply part of the claim's limit; after
    // it the provider must be told to extend the job, once per batch of top-ups.
    if (job.status == JobStatus.SCHEDULED || job.status == JobStatus.RUNNING) {
      if (job.cost.pendingTopUp == 0) providerJobQueues.pushTopUpJob(job.providerAddr, job.jobId);
      job.cost.pendingTopUp += _amount;
    }
    jobs.setCost(job.jobId, job.cost);
  }

  /// METASCHEDULER.md billing: a reported duration beyond elapsed + delta is
  /// not believed (elapsed is billed); otherwise at least one minute is billed.
  function _billedCost(Job memory job, uint64 _reportedMinutes) private returns (uint256) {
    uint256 elapsed = (block.timestamp - job.time.start) / 60;
    uint256 billed;
    if (_reportedMinutes > elapsed + constants.billDurationDeltaMinute()) {
      emit BilledTooMuchEvent(job.jobId, job.providerAddr, _reportedMinutes);
      billed = elapsed;
    } else {
      billed = _reportedMinutes == 0 ? 1 : _reportedMinutes;
    }
    uint256 perMin = _pricePerMin(job.definition, job.providerAddr);
    // Compared by division so an absurd reported duration cannot overflow and
    // make the report unsendable.
    if (perMin != 0 && billed > job.cost.maxCost / perMin) return job.cost.maxCost;
    return perMin * billed;
  }

  /// Settles a job that just went cold: provider share, grid cut, refund.
  function _close(Job memory job, uint256 _finalCost) private {
    uint256 cut = (_finalCost * constants.deepsquareCut()) / 100;
    uint256 refund = job.cost.maxCost - _finalCost;
    job.cost.finalCost = _finalCost;
    job.cost.pendingTopUp = 0;
    job.time.end = block.timestamp;
    jobs.setCost(job.jobId, job.cost);
    jobs.setTime(job.jobId, job.time);
    collectedCut += cut;
    if (_finalCost > cut) credit.safeTransfer(job.providerAddr, _finalCost - cut);
    if (refund != 0) credit.safeTransfer(job.customerAddr, refund);
  }

  function _pricePerMin(JobDefinition memory d, address _providerAddr) private view returns (uint256) {
    ProviderPrices memory p = providerManager.getProviderPrices(_providerAddr);
    return
      uint256(d.ntasks) *
      (uint256(d.cpusPerTask) * p.cpuPricePerMin + uint256(d.cpusPerTask) * d.memPerCpu * p.memPricePerMin) +
      uint256(d.gpus) * p.gpuPricePerMin;
  }

  /// floor(credits / perMin), saturated to uint64 (the event's width).
  function _minutes(uint256 _credits, uint256 _perMin) private pure returns (uint64) {
    if (_perMin == 0) return type(uint64).max;
    uint256 m = _credits / _perMin;
    return m > type(uint64).max ? type(uint64).max : uint64(m);
  }
}

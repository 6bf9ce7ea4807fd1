// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IErrors} from "./Errors.sol";

/// Three FIFO queues per provider. Only MetaScheduler pushes and pops; the
/// queues hold job ids and know nothing of job state, so an entry can be stale
/// by the time it is popped (MetaScheduler checks).
contract ProviderJobQueues is AccessControl, IErrors {
  bytes32 public constant METASCHEDULER_ROLE = keccak256("METASCHEDULER_ROLE");

  // head/tail counters over a mapping: pop is O(1) and never shifts storage.
  struct Queue {
    uint128 head;
    uint128 tail;
    mapping(uint256 => bytes32) items;
  }

  mapping(address => Queue) private claimable;
  mapping(address => Queue) private cancelling;
  mapping(address => Queue) private topUp;

  constructor() {
    _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
  }

  function pushClaimableJob(address _providerAddr, bytes32 _jobId) external onlyRole(METASCHEDULER_ROLE) {
    _push(claimable[_providerAddr], _jobId);
  }

  function pushCancellingJob(address _providerAddr, bytes32 _jobId) external onlyRole(METASCHEDULER_ROLE) {
    _push(cancelling[_providerAddr], _jobId);
  }

  function pushTopUpJob(address _providerAddr, bytes32 _jobId) external onlyRole(METASCHEDULER_ROLE) {
    _push(topUp[_providerAddr], _jobId);
  }

  function popNextClaimableJob(address _providerAddr) external onlyRole(METASCHEDULER_ROLE) returns (bytes32 jobId) {
    return _pop(claimable[_providerAddr]);
  }

  function popNextCancellingJob(address _providerAddr) external onlyRole(METASCHEDULER_ROLE) returns (bytes32 jobId) {
    return _pop(cancelling[_providerAddr]);
  }

  function popNextTopUpJob(address _providerAddr) external onlyRole(METASCHEDULER_ROLE) returns (bytes32 jobId) {
    return _pop(topUp[_providerAddr]);
  }

  function hasNextClaimableJob(address _providerAddr) external view returns (bool) {
    return _size(claimable[_providerAddr]) > 0;
  }

  function hasCancellingJob(address _providerAddr) external view returns (bool) {
    return _size(cancelling[_providerAddr]) > 0;
  }

  function hasTopUpJob(address _providerAddr) external view returns (bool) {
    return _size(topUp[_providerAddr]) > 0;
  }

  function getClaimableJobQueueSize(address _providerAddr) external view returns (uint256 length) {
    return _size(claimable[_providerAddr]);
  }

  function getCancellingJobQueueSize(address _providerAddr) external view returns (uint256 length) {
    return _size(cancelling[_providerAddr]);
  }

  function getTopUpJobQueueSize(address _providerAddr) external view returns (uint256 length) {
    return _size(topUp[_providerAddr]);
  }

  function _push(Queue storage q, bytes32 _jobId) private {
    q.items[q.tail] = _jobId;
    q.tail++;
  }

  function _pop(Queue storage q) private returns (bytes32 jobId) {
    if (q.head == q.tail) revert NoJob();
    jobId = q.items[q.head];
    delete q.items[q.head];
    q.head++;
  }

  function _size(Queue storage q) private view returns (uint256) {
    return q.tail - q.head;
  }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IErrors} from "./Errors.sol";
import {Label, Provider, ProviderHardware, ProviderPrices} from "./Types.sol";

/// Provider registry. A provider registers itself, then waits for an admin to
/// approve it; only approved providers may claim or report jobs.
contract ProviderManager is AccessControl, IErrors {
  bytes32 public constant METASCHEDULER_ROLE = keccak256("METASCHEDULER_ROLE");

  enum Membership {
    NONE,
    WAITING_FOR_APPROVAL,
    JOINED
  }

  struct Record {
    Provider provider;
    Membership membership;
    uint64 jobCount;
  }

  mapping(address => Record) private records;

  event ProviderWaitingForApproval(address addr);
  event ProviderApproved(address addr);
  event ProviderBanChanged(address addr, bool status);
  event ProviderRemoved(address addr);

  constructor() {
    _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
  }

  /// Registering again while waiting replaces the pending data. A joined
  /// provider cannot re-register: its prices are what its running jobs are
  /// billed at, so a change must go through remove + register + approve.
  function register(
    ProviderHardware calldata _hardware,
    ProviderPrices calldata _prices,
    Label[] calldata _labels
  ) external {
    Record storage r = records[msg.sender];
    if (r.provider.isBanned) revert Banned();
    if (r.membership == Membership.JOINED) revert AlreadyDone();
    _checkHardware(_hardware);

    Provider storage p = r.provider;
    p.addr = msg.sender;
    p.providerHardware.nodes = _hardware.nodes;
    p.providerHardware.gpusPerNode = _hardware.gpusPerNode;
    p.providerHardware.cpusPerNode = _hardware.cpusPerNode;
    p.providerHardware.memPerNode = _hardware.memPerNode;
    p.providerPrices = _prices;
    delete p.labels;
    for (uint256 i = 0; i < _labels.length; i++) {
      p.labels.push(_labels[i]);
    }
    r.membership = Membership.WAITING_FOR_APPROVAL;
    emit ProviderWaitingForApproval(msg.sender);
  }

  function approve(address _providerAddr) external onlyRole(DEFAULT_ADMIN_ROLE) {
    Record storage r = records[_providerAddr];
    if (r.membership != Membership.WAITING_FOR_APPROVAL) revert WaitingApprovalOnly();
    r.membership = Membership.JOINED;
    emit ProviderApproved(_providerAddr);
  }

  function ban(address _providerAddr) external onlyRole(DEFAULT_ADMIN_ROLE) {
    _setBan(_providerAddr, true);
  }

  function unban(address _providerAddr) external onlyRole(DEFAULT_ADMIN_ROLE) {
    _setBan(_providerAddr, false);
  }

  function remove(address _providerAddr) external onlyRole(DEFAULT_ADMIN_ROLE) {
    if (records[_providerAddr].membership == Membership.NONE) revert NoProvider();
    delete records[_providerAddr];
    emit ProviderRemoved(_providerAddr);
  }

  function incJobCount(address _providerAddr) external onlyRole(METASCHEDULER_ROLE) {
    records[_providerAddr].jobCount++;
  }

  /// The approved provider, or a zeroed struct (addr == 0) if it has not joined.
  function getProvider(address _providerAddr) external view returns (Provider memory) {
    return _providerIf(_providerAddr, Membership.JOINED);
  }

  /// The pending registration, or a zeroed struct if none is waiting.
  function getWaitingForApprovalProvider(address _providerAddr) external view returns (Provider memory) {
    return _providerIf(_providerAddr, Membership.WAITING_FOR_APPROVAL);
  }

  function getProviderHardware(address _providerAddr) external view returns (ProviderHardware memory) {
    return records[_providerAddr].provider.providerHardware;
  }

  function getProviderPrices(address _providerAddr) external view returns (ProviderPrices memory) {
    return records[_providerAddr].provider.providerPrices;
  }

  function getLabels(address _providerAddr) external view returns (Label[] memory) {
    return records[_providerAddr].provider.labels;
  }

  function getJobCount(address _providerAddr) external view returns (uint64) {
    return records[_providerAddr].jobCount;
  }

  function isBanned(address _providerAddr) external view returns (bool) {
    return records[_providerAddr].provider.isBanned;
  }

  function isWaitingForApproval(address _providerAddr) external view returns (bool) {
    return records[_providerAddr].membership == Membership.WAITING_FOR_APPROVAL;
  }

  /// Approved, banned or not. A banned provider may still report and serve
  /// cancellations for jobs it already runs, so customers are not left with
  /// credits locked in jobs nobody can close.
  function isApproved(address _providerAddr) external view returns (bool) {
    return records[_providerAddr].membership == Membership.JOINED;
  }

  /// Approved and not banned: may receive new jobs.
  function isValidForScheduling(address _providerAddr) external view returns (bool) {
    Record storage r = records[_providerAddr];
    return r.membership == Membership.JOINED && !r.provider.isBanned;
  }

  function _setBan(address _providerAddr, bool _status) private {
    Record storage r = records[_providerAddr];
    if (r.membership == Membership.NONE) revert NoProvider();
    r.provider.isBanned = _status;
    emit ProviderBanChanged(_providerAddr, _status);
  }

  function _providerIf(address _providerAddr, Membership _membership) private view returns (Provider memory p) {
    Record storage r = records[_providerAddr];
    if (r.membership == _membership) p = r.provider;
  }

  function _checkHardware(ProviderHardware calldata _hardware) private pure {
    if (_hardware.nodes == 0) revert InvalidNodesCount();
    if (
      _hardware.gpusPerNode.length != _hardware.nodes ||
      _hardware.cpusPerNode.length != _hardware.nodes ||
      _hardware.memPerNode.length != _hardware.nodes
    ) revert ArrayLengthMismatch();
    uint256 cpus;
    uint256 mem;
    for (uint256 i = 0; i < _hardware.nodes; i++) {
      cpus += _hardware.cpusPerNode[i];
      mem += _hardware.memPerNode[i];
    }
    if (cpus == 0) revert InvalidTotalCpus();
    if (mem == 0) revert InvalidTotalMem();
  }
}

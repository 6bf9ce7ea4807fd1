// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IErrors} from "./Errors.sol";

/// Tunables read by MetaScheduler at the moment they are needed, so a change
/// applies to every later call without redeploying.
contract Constants is Ownable, IErrors {
  uint256 public minimumAmount = 100 ether; // credit-wei locked at least per job
  uint256 public billDurationDeltaMinute = 15; // tolerance on a reported duration
  uint256 public deepsquareCut = 20; // percent of the final cost kept by the grid
  uint64 public topUpSliceDurationMin = 30; // minutes bought by a delegated top-up
  // Stored for interface compatibility; the billing rules of METASCHEDULER.md
  // charge no cancellation fee, so MetaScheduler does not read it.
  uint256 public cancellationFeeMinute = 0;
  // Seconds the oracle waits for a claim before timeoutJob; enforced off-chain
  // by the oracle (the contract trusts METASCHEDULER_ROLE for timeouts).
  uint64 public claimJobTimeout = 1 hours;

  constructor() Ownable(msg.sender) {}

  function setMinimumAmount(uint256 _minimumAmount) external onlyOwner {
    minimumAmount = _minimumAmount;
  }

  function setBillDurationDeltaMinute(uint256 _billDurationDeltaMinute) external onlyOwner {
    billDurationDeltaMinute = _billDurationDeltaMinute;
  }

  function setDeepsquareCut(uint256 _deepsquareCut) external onlyOwner {
    // Above 100 % the provider share would underflow and block every report.
    if (_deepsquareCut > 100) revert OutOfBounds();
    deepsquareCut = _deepsquareCut;
  }

  function setTopUpSliceDurationMin(uint64 _topUpSliceDurationMin) external onlyOwner {
    topUpSliceDurationMin = _topUpSliceDurationMin;
  }

  function setCancellationFeeMinute(uint256 _cancellationFeeMinute) external onlyOwner {
    cancellationFeeMinute = _cancellationFeeMinute;
  }

  function setClaimJobTimeout(uint64 _claimJobTimeout) external onlyOwner {
    claimJobTimeout = _claimJobTimeout;
  }
}

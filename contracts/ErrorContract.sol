// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IErrors} from "./Errors.sol";
import {JobStatus} from "./Types.sol";

/// Never deployed by the project: it exists so the compiled ABI matches the
/// deployed ErrorContract (clients build their error decoders from it).
contract ErrorContract is IErrors {
  function ThrowAlreadyDone() external pure { revert AlreadyDone(); }
  function ThrowArrayLengthMismatch() external pure { revert ArrayLengthMismatch(); }
  function ThrowBanned() external pure { revert Banned(); }
  function ThrowCustomerMetaSchedulerProviderOnly() external pure { revert CustomerMetaSchedulerProviderOnly(); }
  function ThrowCustomerOnly(address current, address expected) external pure { revert CustomerOnly(current, expected); }
  function ThrowEmpty() external pure { revert Empty(); }
  function ThrowInsufficientFunds(uint256 available, uint256 required) external pure { revert InsufficientFunds(available, required); }
  function ThrowInvalidJob() external pure { revert InvalidJob(); }
  function ThrowInvalidJobDefinition() external pure { revert InvalidJobDefinition(); }
  function ThrowInvalidNodesCount() external pure { revert InvalidNodesCount(); }
  function ThrowInvalidTotalCpus() external pure { revert InvalidTotalCpus(); }
  function ThrowInvalidTotalMem() external pure { revert InvalidTotalMem(); }
  function ThrowInvalidTransition(JobStatus from, JobStatus to) external pure { revert InvalidTransition(from, to); }
  function ThrowJobHotStatusOnly(JobStatus current) external pure { revert JobHotStatusOnly(current); }
  function ThrowJobProviderOnly(address current, address expected) external pure { revert JobProviderOnly(current, expected); }
  function ThrowMetaScheduledScheduledStatusOnly(JobStatus current) external pure { revert MetaScheduledScheduledStatusOnly(current); }
  function ThrowNewJobRequestDisabled() external pure { revert NewJobRequestDisabled(); }
  function ThrowNoJob() external pure { revert NoJob(); }
  function ThrowNoProvider() external pure { revert NoProvider(); }
  function ThrowNoSpendingAuthority() external pure { revert NoSpendingAuthority(); }
  function ThrowOutOfBounds() external pure { revert OutOfBounds(); }
  function ThrowProviderNotJoined() external pure { revert ProviderNotJoined(); }
  function ThrowRemainingTimeAboveLimit(uint256 remaining, uint256 limit) external pure { revert RemainingTimeAboveLimit(remaining, limit); }
  function ThrowRunningColdStatusOnly(JobStatus current) external pure { revert RunningColdStatusOnly(current); }
  function ThrowRunningScheduledStatusOnly(JobStatus current) external pure { revert RunningScheduledStatusOnly(current); }
  function ThrowSameStatusError() external pure { revert SameStatusError(); }
  function ThrowWaitingApprovalOnly() external pure { revert WaitingApprovalOnly(); }
}

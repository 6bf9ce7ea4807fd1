// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Field order of every struct is part of the deployed ABI (tuple shapes feed the
// selectors and event topics): never reorder.

enum JobStatus {
  PENDING,
  META_SCHEDULED,
  SCHEDULED,
  RUNNING,
  CANCELLED,
  FINISHED,
  FAILED,
  OUT_OF_CREDITS,
  PANICKED
}

struct Label {
  string key;
  string value;
}

struct Affinity {
  Label label;
  bytes2 op;
}

struct JobDefinition {
  uint64 gpus;
  uint64 memPerCpu; // MB
  uint64 cpusPerTask;
  uint64 ntasks;
  string batchLocationHash;
  uint8 storageType;
  Label[] uses;
  Affinity[] affinity;
}

struct JobCost {
  uint256 maxCost;
  uint256 finalCost;
  uint256 pendingTopUp;
  bool delegateSpendingAuthority;
}

struct JobTime {
  uint256 submit;
  uint256 start;
  uint256 end;
  uint256 cancelRequestTimestamp;
  uint256 blockNumberStateChange; // a block number, not a timestamp
  uint256 panicTimestamp;
}

struct Job {
  bytes32 jobId;
  JobStatus status;
  address customerAddr;
  address providerAddr;
  JobDefinition definition;
  JobCost cost;
  JobTime time;
  bytes32 jobName;
  bool hasCancelRequest;
  string lastError;
  int64 exitCode;
}

struct ProviderHardware {
  uint64 nodes;
  uint64[] gpusPerNode;
  uint64[] cpusPerNode;
  uint64[] memPerNode; // MB
}

struct ProviderPrices {
  uint256 gpuPricePerMin;
  uint256 cpuPricePerMin;
  uint256 memPricePerMin;
}

struct Provider {
  address addr;
  ProviderHardware providerHardware;
  ProviderPrices providerPrices;
  Label[] labels;
  bool isBanned;
}

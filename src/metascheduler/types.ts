// types.ts - the Meta-Scheduler's protocol structures in ABI order and with the
// ABI's field names, and the shapes the actions return.
import type { Address, Hex } from 'viem';
import type { JobStatus } from './status.js';

/**
 * Protocol structures in ABI order and with the ABI's field names, so values
 * decoded by viem from the generated ABI are assignable to them. Arrays are
 * readonly because viem returns readonly arrays.
 */

export interface Label {
  key: string;
  value: string;
}

export interface Affinity {
  label: Label;
  /** bytes2 operator, e.g. '0x3d3d' ("=="). */
  op: Hex;
}

export interface JobDefinition {
  gpus: bigint;
  /** MB per CPU. */
  memPerCpu: bigint;
  cpusPerTask: bigint;
  ntasks: bigint;
  batchLocationHash: string;
  storageType: number;
  uses: readonly Label[];
  affinity: readonly Affinity[];
}

export interface JobCost {
  maxCost: bigint;
  finalCost: bigint;
  pendingTopUp: bigint;
  delegateSpendingAuthority: boolean;
}

export interface JobTime {
  submit: bigint;
  start: bigint;
  end: bigint;
  cancelRequestTimestamp: bigint;
  blockNumberStateChange: bigint;
  panicTimestamp: bigint;
}

export interface Job {
  jobId: Hex;
  status: JobStatus;
  customerAddr: Address;
  providerAddr: Address;
  definition: JobDefinition;
  cost: JobCost;
  time: JobTime;
  jobName: Hex;
  hasCancelRequest: boolean;
  lastError: string;
  exitCode: bigint;
}

export interface ProviderHardware {
  nodes: bigint;
  gpusPerNode: readonly bigint[];
  cpusPerNode: readonly bigint[];
  /** MB per node. */
  memPerNode: readonly bigint[];
}

export interface ProviderPrices {
  gpuPricePerMin: bigint;
  cpuPricePerMin: bigint;
  memPricePerMin: bigint;
}

export interface Provider {
  addr: Address;
  providerHardware: ProviderHardware;
  providerPrices: ProviderPrices;
  labels: readonly Label[];
  isBanned: boolean;
}

// Events (all parameters non-indexed in the deployed ABI).

export interface ClaimJobEvent {
  customerAddr: Address;
  providerAddr: Address;
  jobId: Hex;
  maxDurationMinute: bigint;
  jobDefinition: JobDefinition;
}

export interface ClaimNextCancellingJobEvent {
  customerAddr: Address;
  providerAddr: Address;
  jobId: Hex;
}

export interface ClaimNextTopUpJobEvent {
  jobId: Hex;
  providerAddr: Address;
  /** Minutes to ADD to the running job's time limit. */
  maxDurationMinute: bigint;
}

export interface JobTransition {
  jobId: Hex;
  from: JobStatus;
  to: JobStatus;
}

export interface BilledTooMuch {
  jobId: Hex;
  providerAddr: Address;
  /** Minutes the provider reported (not those billed). */
  reportedMinutes: bigint;
}

/** Result of every write action: the mined transaction. */
export interface TxResult {
  hash: Hex;
  blockNumber: bigint;
  gasUsed: bigint;
}

/**
 * A write action's transaction as plain data, made by its pure encoder
 * (`encodeProviderSetJobStatus`, ...): what a transaction pipeline simulates,
 * signs and sends in place of the action.
 */
export interface EncodedCall {
  /** The contract called. */
  to: Address;
  /** The ABI-encoded call. */
  data: Hex;
  /** The called function, for logs and revert errors. */
  functionName: string;
}

// providerSetJobStatus.ts - the Meta-Scheduler action
// providerSetJobStatus(ctx, params). Provider: reports a job's status
// (SCHEDULED -> RUNNING, or -> a cold status which settles billing). Its pure
// encoder, encodeProviderSetJobStatus(addresses, params), gives the same
// transaction as calldata for a transaction pipeline.
import type { Hex } from 'viem';
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { encodeCall } from '../internal/encode.js';
import { txResult } from '../internal/events.js';
import { billedTooMuchOf, transitionsOf } from '../internal/decode.js';
import { writeAndWait } from '../internal/write.js';
import type { JobStatus } from '../status.js';
import type { BilledTooMuch, EncodedCall, JobTransition, TxResult } from '../types.js';

export interface ProviderSetJobStatusParameters {
  jobId: Hex;
  /** RUNNING or a cold status; anything else reverts RunningColdStatusOnly. */
  status: JobStatus;
  /** Whole minutes the job ran (billed as max(minutes, 1) within the allowed delta). */
  durationMinutes: bigint;
  lastError?: string;
  exitCode?: bigint;
}

export interface ProviderSetJobStatusResult extends TxResult {
  transitions: JobTransition[];
  /** Set when the report exceeded elapsed + billDurationDeltaMinute and was billed at elapsed. */
  billedTooMuch: BilledTooMuch | undefined;
}

const call = (a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: ProviderSetJobStatusParameters) =>
  ({
    address: a.metaScheduler,
    abi: metaSchedulerAbi,
    functionName: 'providerSetJobStatus',
    args: [p.jobId, p.status, p.durationMinutes, p.lastError ?? '', p.exitCode ?? 0n],
  }) as const;

/** Pure: the providerSetJobStatus transaction, for a transaction pipeline (the reporter's status reports). */
export function encodeProviderSetJobStatus(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: ProviderSetJobStatusParameters): EncodedCall {
  return encodeCall(call(a, p));
}

/** Provider: reports a job's status (SCHEDULED -> RUNNING, or -> a cold status which settles billing). */
export async function providerSetJobStatus(
  ctx: MetaSchedulerContext,
  p: ProviderSetJobStatusParameters,
): Promise<ProviderSetJobStatusResult> {
  const receipt = await writeAndWait(ctx, call(ctx.addresses, p));
  return { ...txResult(receipt), transitions: transitionsOf(ctx, receipt), billedTooMuch: billedTooMuchOf(ctx, receipt) };
}

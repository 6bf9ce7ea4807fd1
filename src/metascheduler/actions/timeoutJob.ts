// timeoutJob.ts - the Meta-Scheduler action timeoutJob(ctx, params). Oracle:
// sends a job its provider did not claim/start in time back to PENDING. Its
// pure encoder, encodeTimeoutJob(addresses, params), gives the same
// transaction as calldata for a transaction pipeline.
import type { Hex } from 'viem';
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { encodeCall } from '../internal/encode.js';
import { txResult } from '../internal/events.js';
import { transitionsOf } from '../internal/decode.js';
import { writeAndWait } from '../internal/write.js';
import type { EncodedCall, JobTransition, TxResult } from '../types.js';

export interface TimeoutJobParameters {
  jobId: Hex;
}

export interface TimeoutJobResult extends TxResult {
  transitions: JobTransition[];
}

const call = (a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: TimeoutJobParameters) =>
  ({ address: a.metaScheduler, abi: metaSchedulerAbi, functionName: 'timeoutJob', args: [p.jobId] }) as const;

/** Pure: the timeoutJob transaction, for a transaction pipeline. */
export function encodeTimeoutJob(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: TimeoutJobParameters): EncodedCall {
  return encodeCall(call(a, p));
}

/** Oracle: sends a job its provider did not claim/start in time back to PENDING. */
export async function timeoutJob(ctx: MetaSchedulerContext, p: TimeoutJobParameters): Promise<TimeoutJobResult> {
  const receipt = await writeAndWait(ctx, call(ctx.addresses, p));
  return { ...txResult(receipt), transitions: transitionsOf(ctx, receipt) };
}

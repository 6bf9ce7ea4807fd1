// cancelJob.ts - the Meta-Scheduler action cancelJob(ctx, params). Customer:
// cancels a job (PENDING/META_SCHEDULED/SCHEDULED -> CANCELLED with full
// refund; RUNNING -> cancel request). Its pure encoder,
// encodeCancelJob(addresses, params), gives the same transaction as calldata
// for a transaction pipeline.
import type { Hex } from 'viem';
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { encodeCall } from '../internal/encode.js';
import { txResult } from '../internal/events.js';
import { transitionsOf } from '../internal/decode.js';
import { writeAndWait } from '../internal/write.js';
import type { EncodedCall, JobTransition, TxResult } from '../types.js';

export interface CancelJobParameters {
  jobId: Hex;
}

export interface CancelJobResult extends TxResult {
  transitions: JobTransition[];
  /**
   * True when the job was RUNNING: the cancel is only a request queued for the
   * provider, who stops the job and reports the final status (and billing).
   */
  requested: boolean;
}

const call = (a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: CancelJobParameters) =>
  ({ address: a.metaScheduler, abi: metaSchedulerAbi, functionName: 'cancelJob', args: [p.jobId] }) as const;

/** Pure: the cancelJob transaction, for a transaction pipeline. */
export function encodeCancelJob(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: CancelJobParameters): EncodedCall {
  return encodeCall(call(a, p));
}

/** Customer: cancels a job (PENDING/META_SCHEDULED/SCHEDULED -> CANCELLED with full refund; RUNNING -> cancel request). */
export async function cancelJob(ctx: MetaSchedulerContext, p: CancelJobParameters): Promise<CancelJobResult> {
  const receipt = await writeAndWait(ctx, call(ctx.addresses, p));
  const transitions = transitionsOf(ctx, receipt);
  return { ...txResult(receipt), transitions, requested: transitions.length === 0 };
}

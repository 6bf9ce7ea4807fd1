// panicJob.ts - the Meta-Scheduler action panicJob(ctx, params). Oracle:
// forces a hot job to PANICKED with a full refund (last resort for a stuck
// job). Its pure encoder, encodePanicJob(addresses, params), gives the same
// transaction as calldata for a transaction pipeline.
import type { Hex } from 'viem';
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { encodeCall } from '../internal/encode.js';
import { txResult } from '../internal/events.js';
import { transitionsOf } from '../internal/decode.js';
import { writeAndWait } from '../internal/write.js';
import type { EncodedCall, JobTransition, TxResult } from '../types.js';

export interface PanicJobParameters {
  jobId: Hex;
  lastError: string;
}

export interface PanicJobResult extends TxResult {
  transitions: JobTransition[];
}

const call = (a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: PanicJobParameters) =>
  ({ address: a.metaScheduler, abi: metaSchedulerAbi, functionName: 'panicJob', args: [p.jobId, p.lastError] }) as const;

/** Pure: the panicJob transaction, for a transaction pipeline. */
export function encodePanicJob(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: PanicJobParameters): EncodedCall {
  return encodeCall(call(a, p));
}

/** Oracle: forces a hot job to PANICKED with a full refund (last resort for a stuck job). */
export async function panicJob(ctx: MetaSchedulerContext, p: PanicJobParameters): Promise<PanicJobResult> {
  const receipt = await writeAndWait(ctx, call(ctx.addresses, p));
  return { ...txResult(receipt), transitions: transitionsOf(ctx, receipt) };
}

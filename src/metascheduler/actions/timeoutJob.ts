import type { Hex } from 'viem';
import type { MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { txResult } from '../internal/events.js';
import { transitionsOf } from '../internal/decode.js';
import { writeAndWait } from '../internal/write.js';
import type { JobTransition, TxResult } from '../types.js';

export interface TimeoutJobResult extends TxResult {
  transitions: JobTransition[];
}

/** Oracle: sends a job its provider did not claim/start in time back to PENDING. */
export async function timeoutJob(ctx: MetaSchedulerContext, jobId: Hex): Promise<TimeoutJobResult> {
  const receipt = await writeAndWait(ctx, {
    address: ctx.addresses.metaScheduler,
    abi: metaSchedulerAbi,
    functionName: 'timeoutJob',
    args: [jobId],
  });
  return { ...txResult(receipt), transitions: transitionsOf(ctx, receipt) };
}

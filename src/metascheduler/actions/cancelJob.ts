import type { Hex } from 'viem';
import type { MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { txResult } from '../internal/events.js';
import { transitionsOf } from '../internal/decode.js';
import { writeAndWait } from '../internal/write.js';
import type { JobTransition, TxResult } from '../types.js';

export interface CancelJobResult extends TxResult {
  transitions: JobTransition[];
  /**
   * True when the job was RUNNING: the cancel is only a request queued for the
   * provider, who stops the job and reports the final status (and billing).
   */
  requested: boolean;
}

/** Customer: cancels a job (PENDING/META_SCHEDULED/SCHEDULED -> CANCELLED with full refund; RUNNING -> cancel request). */
export async function cancelJob(ctx: MetaSchedulerContext, jobId: Hex): Promise<CancelJobResult> {
  const receipt = await writeAndWait(ctx, {
    address: ctx.addresses.metaScheduler,
    abi: metaSchedulerAbi,
    functionName: 'cancelJob',
    args: [jobId],
  });
  const transitions = transitionsOf(ctx, receipt);
  return { ...txResult(receipt), transitions, requested: transitions.length === 0 };
}

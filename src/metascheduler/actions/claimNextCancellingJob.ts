import type { MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { eventsOf, txResult } from '../internal/events.js';
import { writeAndWait } from '../internal/write.js';
import type { ClaimNextCancellingJobEvent, TxResult } from '../types.js';
import { isEmptyQueueError } from './claimNextJob.js';

export type ClaimNextCancellingJobResult = ClaimNextCancellingJobEvent & { tx: TxResult };

/**
 * Provider: pops a cancel request for a RUNNING job, or null when there is
 * none. The provider must then stop the job and report a cold status itself.
 */
export async function claimNextCancellingJob(ctx: MetaSchedulerContext): Promise<ClaimNextCancellingJobResult | null> {
  const address = ctx.addresses.metaScheduler;
  let receipt;
  try {
    receipt = await writeAndWait(ctx, {
      address,
      abi: metaSchedulerAbi,
      functionName: 'claimNextCancellingJob',
      args: [],
    });
  } catch (e) {
    if (isEmptyQueueError(e)) return null;
    throw e;
  }
  const ev = eventsOf(receipt.logs, metaSchedulerAbi, address, 'ClaimNextCancellingJobEvent')[0];
  // The contract may pop an entry for a job that is no longer running and emit nothing.
  if (!ev) return null;
  return { ...ev.args, tx: txResult(receipt) };
}

// claimNextCancellingJob.ts - the Meta-Scheduler action
// claimNextCancellingJob(ctx). Provider: pops a cancel request for a
// RUNNING job, or null when there is none. Its pure encoder,
// encodeClaimNextCancellingJob(addresses), gives the same transaction
// as calldata for a transaction pipeline.
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { encodeCall } from '../internal/encode.js';
import { txResult } from '../internal/events.js';
import { popQueue, queuePopCall } from '../internal/pop-queue.js';
import type { ClaimNextCancellingJobEvent, EncodedCall, TxResult } from '../types.js';

export type ClaimNextCancellingJobResult = ClaimNextCancellingJobEvent & { tx: TxResult };

/** Pure: the claimNextCancellingJob transaction, for a transaction pipeline. */
export function encodeClaimNextCancellingJob(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>): EncodedCall {
  return encodeCall(queuePopCall(a.metaScheduler, 'claimNextCancellingJob'));
}

/**
 * Provider: pops a cancel request for a RUNNING job, or null when there is
 * none. The provider must then stop the job and report a cold status itself.
 */
export async function claimNextCancellingJob(ctx: MetaSchedulerContext): Promise<ClaimNextCancellingJobResult | null> {
  // The contract may pop an entry for a job that is no longer running and emit nothing: null.
  const popped = await popQueue(ctx, 'claimNextCancellingJob', 'ClaimNextCancellingJobEvent');
  return popped && { ...popped.event.args, tx: txResult(popped.receipt) };
}

// claimNextJob.ts - the Meta-Scheduler action claimNextJob(ctx).
// Provider: pops the claimable queue (META_SCHEDULED -> SCHEDULED). Its pure
// encoder, encodeClaimNextJob(addresses), gives the same transaction
// as calldata for a transaction pipeline.
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { isMetaSchedulerError } from '../errors.js';
import { encodeCall } from '../internal/encode.js';
import { txResult } from '../internal/events.js';
import { popQueue, queuePopCall } from '../internal/pop-queue.js';
import type { ClaimJobEvent, EncodedCall, TxResult } from '../types.js';

export type ClaimNextJobResult = ClaimJobEvent & { tx: TxResult };

export { isEmptyQueueError } from '../internal/pop-queue.js';

/**
 * True for the reverts the deployed contracts give when the head of the
 * claimable queue is a job that left META_SCHEDULED before it was claimed:
 * the revert undoes the pop, so every later claim fails the same way. Log it
 * loudly and keep serving cancellations and top-ups; do not retry in a loop.
 */
export function isStaleClaimableHeadError(e: unknown): boolean {
  return (
    (isMetaSchedulerError(e, 'JobHotStatusOnly') || isMetaSchedulerError(e, 'InvalidTransition')) &&
    e.functionName === 'claimNextJob'
  );
}

/** Pure: the claimNextJob transaction, for a transaction pipeline. */
export function encodeClaimNextJob(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>): EncodedCall {
  return encodeCall(queuePopCall(a.metaScheduler, 'claimNextJob'));
}

/**
 * Provider: pops the claimable queue (META_SCHEDULED -> SCHEDULED). Returns
 * null when the queue is empty (or held only stale entries). Any other revert is thrown as a typed error:
 * JobHotStatusOnly / InvalidTransition here mean a stale head entry on the
 * deployed contracts, which blocks every later claim (see METASCHEDULER.md);
 * the caller must report it and move on, not retry in a loop.
 */
export async function claimNextJob(ctx: MetaSchedulerContext): Promise<ClaimNextJobResult | null> {
  // The project's contracts drop stale entries (jobs cancelled or timed out
  // while queued) and succeed without an event when nothing else was queued: null.
  const popped = await popQueue(ctx, 'claimNextJob', 'ClaimJobEvent');
  return popped && { ...popped.event.args, tx: txResult(popped.receipt) };
}

// claimNextJob.ts - the Meta-Scheduler action claimNextJob(ctx).
// Provider: pops the claimable queue (META_SCHEDULED -> SCHEDULED). Its pure
// encoder, encodeClaimNextJob(addresses), gives the same transaction
// as calldata for a transaction pipeline.
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { isMetaSchedulerError } from '../errors.js';
import { encodeCall } from '../internal/encode.js';
import { eventsOf, txResult } from '../internal/events.js';
import { writeAndWait } from '../internal/write.js';
import type { ClaimJobEvent, EncodedCall, TxResult } from '../types.js';

export type ClaimNextJobResult = ClaimJobEvent & { tx: TxResult };

/** True for the reverts that only mean "the queue is empty". */
export function isEmptyQueueError(e: unknown): boolean {
  return isMetaSchedulerError(e, 'NoJob') || isMetaSchedulerError(e, 'Empty');
}

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

const call = (a: Pick<MetaSchedulerAddresses, 'metaScheduler'>) =>
  ({ address: a.metaScheduler, abi: metaSchedulerAbi, functionName: 'claimNextJob', args: [] }) as const;

/** Pure: the claimNextJob transaction, for a transaction pipeline. */
export function encodeClaimNextJob(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>): EncodedCall {
  return encodeCall(call(a));
}

/**
 * Provider: pops the claimable queue (META_SCHEDULED -> SCHEDULED). Returns
 * null when the queue is empty (or held only stale entries). Any other revert is thrown as a typed error:
 * JobHotStatusOnly / InvalidTransition here mean a stale head entry on the
 * deployed contracts, which blocks every later claim (see METASCHEDULER.md);
 * the caller must report it and move on, not retry in a loop.
 */
export async function claimNextJob(ctx: MetaSchedulerContext): Promise<ClaimNextJobResult | null> {
  const address = ctx.addresses.metaScheduler;
  let receipt;
  try {
    receipt = await writeAndWait(ctx, call(ctx.addresses));
  } catch (e) {
    if (isEmptyQueueError(e)) return null;
    throw e;
  }
  const ev = eventsOf(receipt.logs, metaSchedulerAbi, address, 'ClaimJobEvent')[0];
  // The project's contracts drop stale entries (jobs cancelled or timed out
  // while queued) and succeed without an event when nothing else was queued.
  if (!ev) return null;
  return { ...ev.args, tx: txResult(receipt) };
}

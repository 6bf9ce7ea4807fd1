// claimNextCancellingJob.ts - the Meta-Scheduler action
// claimNextCancellingJob(ctx). Provider: pops a cancel request for a
// RUNNING job, or null when there is none. Its pure encoder,
// encodeClaimNextCancellingJob(addresses), gives the same transaction
// as calldata for a transaction pipeline.
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { encodeCall } from '../internal/encode.js';
import { eventsOf, txResult } from '../internal/events.js';
import { writeAndWait } from '../internal/write.js';
import type { ClaimNextCancellingJobEvent, EncodedCall, TxResult } from '../types.js';
import { isEmptyQueueError } from './claimNextJob.js';

export type ClaimNextCancellingJobResult = ClaimNextCancellingJobEvent & { tx: TxResult };

const call = (a: Pick<MetaSchedulerAddresses, 'metaScheduler'>) =>
  ({ address: a.metaScheduler, abi: metaSchedulerAbi, functionName: 'claimNextCancellingJob', args: [] }) as const;

/** Pure: the claimNextCancellingJob transaction, for a transaction pipeline. */
export function encodeClaimNextCancellingJob(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>): EncodedCall {
  return encodeCall(call(a));
}

/**
 * Provider: pops a cancel request for a RUNNING job, or null when there is
 * none. The provider must then stop the job and report a cold status itself.
 */
export async function claimNextCancellingJob(ctx: MetaSchedulerContext): Promise<ClaimNextCancellingJobResult | null> {
  const address = ctx.addresses.metaScheduler;
  let receipt;
  try {
    receipt = await writeAndWait(ctx, call(ctx.addresses));
  } catch (e) {
    if (isEmptyQueueError(e)) return null;
    throw e;
  }
  const ev = eventsOf(receipt.logs, metaSchedulerAbi, address, 'ClaimNextCancellingJobEvent')[0];
  // The contract may pop an entry for a job that is no longer running and emit nothing.
  if (!ev) return null;
  return { ...ev.args, tx: txResult(receipt) };
}

// claimNextTopUpJob.ts - the Meta-Scheduler action claimNextTopUpJob(ctx). Provider: pops a top-up, or null when there is none. Its pure
// encoder, encodeClaimNextTopUpJob(addresses), gives the same
// transaction as calldata for a transaction pipeline.
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { encodeCall } from '../internal/encode.js';
import { txResult } from '../internal/events.js';
import { popQueue, queuePopCall } from '../internal/pop-queue.js';
import type { ClaimNextTopUpJobEvent, EncodedCall, TxResult } from '../types.js';

export type ClaimNextTopUpJobResult = ClaimNextTopUpJobEvent & { tx: TxResult };

/** Pure: the claimNextTopUpJob transaction, for a transaction pipeline. */
export function encodeClaimNextTopUpJob(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>): EncodedCall {
  return encodeCall(queuePopCall(a.metaScheduler, 'claimNextTopUpJob'));
}

/**
 * Provider: pops a top-up, or null when there is none. `maxDurationMinute`
 * is the number of minutes to ADD to the running job's time limit.
 */
export async function claimNextTopUpJob(ctx: MetaSchedulerContext): Promise<ClaimNextTopUpJobResult | null> {
  const popped = await popQueue(ctx, 'claimNextTopUpJob', 'ClaimNextTopUpJobEvent');
  if (!popped) return null;
  const { args } = popped.event;
  return { jobId: args._jobId, providerAddr: args._providerAddr, maxDurationMinute: args.maxDurationMinute, tx: txResult(popped.receipt) };
}

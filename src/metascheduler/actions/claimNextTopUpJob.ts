// claimNextTopUpJob.ts - the Meta-Scheduler action claimNextTopUpJob(ctx). Provider: pops a top-up, or null when there is none. Its pure
// encoder, encodeClaimNextTopUpJob(addresses), gives the same
// transaction as calldata for a transaction pipeline.
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { encodeCall } from '../internal/encode.js';
import { eventsOf, txResult } from '../internal/events.js';
import { writeAndWait } from '../internal/write.js';
import type { ClaimNextTopUpJobEvent, EncodedCall, TxResult } from '../types.js';
import { isEmptyQueueError } from './claimNextJob.js';

export type ClaimNextTopUpJobResult = ClaimNextTopUpJobEvent & { tx: TxResult };

const call = (a: Pick<MetaSchedulerAddresses, 'metaScheduler'>) =>
  ({ address: a.metaScheduler, abi: metaSchedulerAbi, functionName: 'claimNextTopUpJob', args: [] }) as const;

/** Pure: the claimNextTopUpJob transaction, for a transaction pipeline. */
export function encodeClaimNextTopUpJob(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>): EncodedCall {
  return encodeCall(call(a));
}

/**
 * Provider: pops a top-up, or null when there is none. `maxDurationMinute`
 * is the number of minutes to ADD to the running job's time limit.
 */
export async function claimNextTopUpJob(ctx: MetaSchedulerContext): Promise<ClaimNextTopUpJobResult | null> {
  const address = ctx.addresses.metaScheduler;
  let receipt;
  try {
    receipt = await writeAndWait(ctx, call(ctx.addresses));
  } catch (e) {
    if (isEmptyQueueError(e)) return null;
    throw e;
  }
  const ev = eventsOf(receipt.logs, metaSchedulerAbi, address, 'ClaimNextTopUpJobEvent')[0];
  if (!ev) return null;
  return {
    jobId: ev.args._jobId,
    providerAddr: ev.args._providerAddr,
    maxDurationMinute: ev.args.maxDurationMinute,
    tx: txResult(receipt),
  };
}

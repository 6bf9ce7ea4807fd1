// pop-queue.ts - a provider's pop of one of the Meta-Scheduler's queues
// (claimNextJob, claimNextCancellingJob, claimNextTopUpJob), shared by those
// three actions: the write, null when the queue is empty, and the one event
// the pop emitted (null when the contract popped an entry and emitted none:
// a stale entry, a job no longer running).
import type { ContractEventName, ParseEventLogsReturnType, TransactionReceipt } from 'viem';

import { metaSchedulerAbi } from '../abi.generated.js';
import type { MetaSchedulerContext } from '../context.js';
import { isMetaSchedulerError } from '../errors.js';
import { eventsOf } from './events.js';
import { writeAndWait } from './write.js';

type MetaSchedulerAbi = typeof metaSchedulerAbi;
export type QueuePop = 'claimNextJob' | 'claimNextCancellingJob' | 'claimNextTopUpJob';

/** True for the reverts that only mean "the queue is empty". */
export function isEmptyQueueError(e: unknown): boolean {
  return isMetaSchedulerError(e, 'NoJob') || isMetaSchedulerError(e, 'Empty');
}

/** The queue-pop transaction (no arguments), for writeAndWait or an encoder. */
export const queuePopCall = <fn extends QueuePop>(metaScheduler: MetaSchedulerContext['addresses']['metaScheduler'], functionName: fn) =>
  ({ address: metaScheduler, abi: metaSchedulerAbi, functionName, args: [] }) as const;

/** Pops `functionName`'s queue; the event `eventName` it emitted with the receipt, or null (empty, or nothing emitted). */
export async function popQueue<name extends ContractEventName<MetaSchedulerAbi>>(
  ctx: MetaSchedulerContext,
  functionName: QueuePop,
  eventName: name,
): Promise<{ event: ParseEventLogsReturnType<MetaSchedulerAbi, name, true, name>[number]; receipt: TransactionReceipt } | null> {
  let receipt: TransactionReceipt;
  try {
    receipt = await writeAndWait(ctx, queuePopCall(ctx.addresses.metaScheduler, functionName));
  } catch (e) {
    if (isEmptyQueueError(e)) return null;
    throw e;
  }
  const event = eventsOf(receipt.logs, metaSchedulerAbi, ctx.addresses.metaScheduler, eventName)[0];
  return event ? { event, receipt } : null;
}

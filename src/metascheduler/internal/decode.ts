// decode.ts - events of a receipt the actions report: job transitions and a
// BilledTooMuch.
import type { TransactionReceipt } from 'viem';
import { jobRepositoryAbi, metaSchedulerAbi } from '../abi.generated.js';
import type { MetaSchedulerContext } from '../context.js';
import { toJobStatus } from '../status.js';
import type { BilledTooMuch, JobTransition } from '../types.js';
import { eventsOf } from './events.js';

/** Every JobTransitionEvent of a receipt, in log order. */
export function transitionsOf(ctx: MetaSchedulerContext, receipt: TransactionReceipt): JobTransition[] {
  return eventsOf(receipt.logs, jobRepositoryAbi, ctx.addresses.jobs, 'JobTransitionEvent').map((l) => ({
    jobId: l.args._jobId,
    from: toJobStatus(l.args._from),
    to: toJobStatus(l.args._to),
  }));
}

export function billedTooMuchOf(ctx: MetaSchedulerContext, receipt: TransactionReceipt): BilledTooMuch | undefined {
  const ev = eventsOf(receipt.logs, metaSchedulerAbi, ctx.addresses.metaScheduler, 'BilledTooMuchEvent')[0];
  return ev
    ? { jobId: ev.args._jobId, providerAddr: ev.args._providerAddr, reportedMinutes: ev.args._billingAmount }
    : undefined;
}

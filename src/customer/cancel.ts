// cancel.ts - the customer cancels a job: before it runs it is CANCELLED at
// once with a full refund; while it runs the cancel is a request its
// provider answers by stopping the job (billed for the minutes it ran).
import type { Hex } from 'viem';

import type { CustomerContext } from './context.js';
import { JobStatus } from '../metascheduler/status.js';
import { CustomerError, explain } from './errors.js';
import { withTxRetry } from './tx-retry.js';

export interface CancelResult {
  jobId: Hex;
  /** True when the job was running: its provider stops it and reports its end. */
  requested: boolean;
  transactionHash: Hex;
}

export async function cancel(ctx: CustomerContext, p: { jobId: Hex }): Promise<CancelResult> {
  const scene = { action: 'cancel' as const, jobId: p.jobId, customer: ctx.customer, rpcUrl: ctx.rpcUrl };
  try {
    // Read first: the contract's reverts for a job that ended (SameStatusError, JobHotStatusOnly) do not say how it ended.
    const job = await ctx.client.getJob(p.jobId);
    if (job.status >= JobStatus.CANCELLED) {
      throw new CustomerError(`job ${p.jobId} has already ended (${JobStatus[job.status]}): nothing to cancel; its credits were settled when it ended (gridlink job status ${p.jobId})`);
    }
    if (job.hasCancelRequest) throw new CustomerError(`a cancel of job ${p.jobId} was already requested: its provider stops it and reports its end (follow it with gridlink job status ${p.jobId})`);
    const r = await withTxRetry(() => ctx.client.cancelJob(p.jobId));
    return { jobId: p.jobId, requested: r.requested, transactionHash: r.hash };
  } catch (e) {
    throw explain(e, scene);
  }
}

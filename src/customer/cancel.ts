// cancel.ts - the customer cancels a job: before it runs it is CANCELLED at
// once with a full refund; while it runs the cancel is a request its
// provider answers by stopping the job (billed for the minutes it ran).
import type { Hex } from 'viem';

import type { CustomerContext } from './context.js';
import { explain } from './errors.js';

export interface CancelResult {
  jobId: Hex;
  /** True when the job was running: its provider stops it and reports its end. */
  requested: boolean;
  transactionHash: Hex;
}

export async function cancel(ctx: CustomerContext, p: { jobId: Hex }): Promise<CancelResult> {
  try {
    const r = await ctx.client.cancelJob(p.jobId);
    return { jobId: p.jobId, requested: r.requested, transactionHash: r.hash };
  } catch (e) {
    throw explain(e, { action: 'cancel', jobId: p.jobId, customer: ctx.customer, rpcUrl: ctx.rpcUrl });
  }
}

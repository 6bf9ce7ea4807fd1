// getJob.ts - the Meta-Scheduler action getJob(ctx, params). View: a job as
// stored on chain, with its status as a JobStatus.
import type { Hex } from 'viem';
import type { MetaSchedulerContext } from '../context.js';
import { jobRepositoryAbi } from '../abi.generated.js';
import { toJobStatus } from '../status.js';
import type { Job } from '../types.js';

/** View: a job as stored on chain, with its status as a JobStatus. */
export async function getJob(ctx: MetaSchedulerContext, { jobId, ...opts }: { jobId: Hex; blockNumber?: bigint }): Promise<Job> {
  const raw = await ctx.publicClient.readContract({
    address: ctx.addresses.jobs,
    abi: jobRepositoryAbi,
    functionName: 'get',
    args: [jobId],
    ...(opts.blockNumber !== undefined ? { blockNumber: opts.blockNumber } : {}),
  });
  return { ...raw, status: toJobStatus(raw.status) };
}

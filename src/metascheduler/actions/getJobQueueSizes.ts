// getJobQueueSizes.ts - the Meta-Scheduler action getJobQueueSizes(ctx,
// params). View: the lengths of the provider's three queues (default: the
// signer), read together at one block.
import type { Address } from 'viem';
import { addressOrSelf, type MetaSchedulerContext } from '../context.js';
import { providerJobQueuesAbi } from '../abi.generated.js';

export interface JobQueueSizes {
  claimable: number;
  cancelling: number;
  topUp: number;
}

/**
 * View: the lengths of the provider's three queues (default: the signer), read
 * together at one block. The claimable length counts stale entries too (jobs
 * that left META_SCHEDULED while queued).
 */
export async function getJobQueueSizes(
  ctx: MetaSchedulerContext,
  { provider, blockNumber }: { provider?: Address; blockNumber?: bigint } = {},
): Promise<JobQueueSizes> {
  const addr = addressOrSelf(ctx, provider, 'getJobQueueSizes');
  const block = blockNumber ?? (await ctx.publicClient.getBlockNumber());
  const read = (functionName: 'getClaimableJobQueueSize' | 'getCancellingJobQueueSize' | 'getTopUpJobQueueSize') =>
    ctx.publicClient.readContract({ address: ctx.addresses.providerJobQueues, abi: providerJobQueuesAbi, functionName, args: [addr], blockNumber: block });
  const [claimable, cancelling, topUp] = await Promise.all([read('getClaimableJobQueueSize'), read('getCancellingJobQueueSize'), read('getTopUpJobQueueSize')]);
  return { claimable: Number(claimable), cancelling: Number(cancelling), topUp: Number(topUp) };
}

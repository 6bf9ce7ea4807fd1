// hasNextClaimableJob.ts - the Meta-Scheduler action hasNextClaimableJob(ctx,
// params). View: whether a META_SCHEDULED job waits to be claimed for the
// provider (default: the signer).
import type { Address } from 'viem';
import { addressOrSelf, type MetaSchedulerContext } from '../context.js';
import { providerJobQueuesAbi } from '../abi.generated.js';

/** View: whether a META_SCHEDULED job waits to be claimed for the provider (default: the signer). */
export function hasNextClaimableJob(ctx: MetaSchedulerContext, { provider }: { provider?: Address } = {}): Promise<boolean> {
  return ctx.publicClient.readContract({
    address: ctx.addresses.providerJobQueues,
    abi: providerJobQueuesAbi,
    functionName: 'hasNextClaimableJob',
    args: [addressOrSelf(ctx, provider, 'hasNextClaimableJob')],
  });
}

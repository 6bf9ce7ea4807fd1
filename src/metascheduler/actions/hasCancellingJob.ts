// hasCancellingJob.ts - the Meta-Scheduler action hasCancellingJob(ctx,
// params). View: whether a cancel request waits to be claimed for the
// provider (default: the signer).
import type { Address } from 'viem';
import { addressOrSelf, type MetaSchedulerContext } from '../context.js';
import { providerJobQueuesAbi } from '../abi.generated.js';

/** View: whether a cancel request waits to be claimed for the provider (default: the signer). */
export function hasCancellingJob(ctx: MetaSchedulerContext, { provider }: { provider?: Address } = {}): Promise<boolean> {
  return ctx.publicClient.readContract({
    address: ctx.addresses.providerJobQueues,
    abi: providerJobQueuesAbi,
    functionName: 'hasCancellingJob',
    args: [addressOrSelf(ctx, provider, 'hasCancellingJob')],
  });
}

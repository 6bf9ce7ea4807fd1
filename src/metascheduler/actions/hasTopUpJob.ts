// hasTopUpJob.ts - the Meta-Scheduler action hasTopUpJob(ctx, params). View:
// whether a top-up waits to be claimed for the provider (default: the
// signer).
import type { Address } from 'viem';
import { addressOrSelf, type MetaSchedulerContext } from '../context.js';
import { providerJobQueuesAbi } from '../abi.generated.js';

/** View: whether a top-up waits to be claimed for the provider (default: the signer). */
export function hasTopUpJob(ctx: MetaSchedulerContext, { provider }: { provider?: Address } = {}): Promise<boolean> {
  return ctx.publicClient.readContract({
    address: ctx.addresses.providerJobQueues,
    abi: providerJobQueuesAbi,
    functionName: 'hasTopUpJob',
    args: [addressOrSelf(ctx, provider, 'hasTopUpJob')],
  });
}

// isValidForScheduling.ts - the Meta-Scheduler action
// isValidForScheduling(ctx, params). View: approved and not banned, i.e.
import type { Address } from 'viem';
import type { MetaSchedulerContext } from '../context.js';
import { providerManagerAbi } from '../abi.generated.js';

/** View: approved and not banned, i.e. the oracle may assign jobs to it. */
export function isValidForScheduling(ctx: MetaSchedulerContext, { provider }: { provider: Address }): Promise<boolean> {
  return ctx.publicClient.readContract({
    address: ctx.addresses.providerManager,
    abi: providerManagerAbi,
    functionName: 'isValidForScheduling',
    args: [provider],
  });
}

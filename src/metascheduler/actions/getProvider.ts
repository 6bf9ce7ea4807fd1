// getProvider.ts - the Meta-Scheduler action getProvider(ctx, params). View:
// an approved provider's registration (hardware, prices, labels, ban flag).
import type { Address } from 'viem';
import { addressOrSelf, type MetaSchedulerContext } from '../context.js';
import { providerManagerAbi } from '../abi.generated.js';
import type { Provider } from '../types.js';

/** View: an approved provider's registration (hardware, prices, labels, ban flag). */
export async function getProvider(ctx: MetaSchedulerContext, { provider }: { provider?: Address } = {}): Promise<Provider> {
  return ctx.publicClient.readContract({
    address: ctx.addresses.providerManager,
    abi: providerManagerAbi,
    functionName: 'getProvider',
    args: [addressOrSelf(ctx, provider, 'getProvider')],
  });
}

// getRegistration.ts - the Meta-Scheduler action getRegistration(ctx,
// params). View: where the provider (default: the signer) stands with the
// ProviderManager, through the deployed ABI's views only: `getProvider`
// (zeroed unless joined) and `getWaitingForApprovalProvider` (zeroed unless
// waiting).
import { zeroAddress, type Address } from 'viem';
import { addressOrSelf, type MetaSchedulerContext } from '../context.js';
import { providerManagerAbi } from '../abi.generated.js';
import type { Provider } from '../types.js';

export type RegistrationState = 'none' | 'waiting' | 'joined';

export interface Registration {
  state: RegistrationState;
  /** The joined or pending registration; undefined for 'none'. */
  provider?: Provider;
  banned: boolean;
}

/**
 * View: where the provider (default: the signer) stands with the
 * ProviderManager, through the deployed ABI's views only: `getProvider`
 * (zeroed unless joined) and `getWaitingForApprovalProvider` (zeroed unless
 * waiting).
 */
export async function getRegistration(ctx: MetaSchedulerContext, { provider }: { provider?: Address } = {}): Promise<Registration> {
  const addr = addressOrSelf(ctx, provider, 'getRegistration');
  const read = (functionName: 'getProvider' | 'getWaitingForApprovalProvider') =>
    ctx.publicClient.readContract({ address: ctx.addresses.providerManager, abi: providerManagerAbi, functionName, args: [addr] }) as Promise<Provider>;
  const [joined, waiting] = await Promise.all([read('getProvider'), read('getWaitingForApprovalProvider')]);
  if (joined.addr !== zeroAddress) return { state: 'joined', provider: joined, banned: joined.isBanned };
  if (waiting.addr !== zeroAddress) return { state: 'waiting', provider: waiting, banned: waiting.isBanned };
  return { state: 'none', banned: false };
}

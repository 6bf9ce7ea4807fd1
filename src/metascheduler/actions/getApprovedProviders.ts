// getApprovedProviders.ts - the Meta-Scheduler action
// getApprovedProviders(ctx, params). Events + views: providers ever approved
// in the range that are still valid for scheduling.
import type { Address } from 'viem';
import type { MetaSchedulerContext } from '../context.js';
import { providerManagerAbi } from '../abi.generated.js';

/**
 * Events + views: providers ever approved in the range that are still valid for
 * scheduling. The registry has no enumeration view, so approvals are found
 * through ProviderApproved and re-checked (bans, removals) on chain.
 */
export async function getApprovedProviders(
  ctx: MetaSchedulerContext,
  range: { fromBlock: bigint; toBlock: bigint },
): Promise<Address[]> {
  const logs = await ctx.publicClient.getContractEvents({
    address: ctx.addresses.providerManager,
    abi: providerManagerAbi,
    eventName: 'ProviderApproved',
    fromBlock: range.fromBlock,
    toBlock: range.toBlock,
    strict: true,
  });
  const unique = [...new Set(logs.map((l) => l.args.addr))];
  const valid = await Promise.all(
    unique.map((addr) =>
      ctx.publicClient.readContract({
        address: ctx.addresses.providerManager,
        abi: providerManagerAbi,
        functionName: 'isValidForScheduling',
        args: [addr],
      }),
    ),
  );
  return unique.filter((_, i) => valid[i]);
}

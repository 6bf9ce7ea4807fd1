// getCreditBalance.ts - the Meta-Scheduler action getCreditBalance(ctx,
// params). View: credit-wei held by an account (default: the signer).
import type { Address } from 'viem';
import { addressOrSelf, type MetaSchedulerContext } from '../context.js';
import { creditAbi } from '../abi.generated.js';

/** View: credit-wei held by an account (default: the signer). */
export function getCreditBalance(ctx: MetaSchedulerContext, { account }: { account?: Address } = {}): Promise<bigint> {
  return ctx.publicClient.readContract({
    address: ctx.addresses.credit,
    abi: creditAbi,
    functionName: 'balanceOf',
    args: [addressOrSelf(ctx, account, 'getCreditBalance')],
  });
}

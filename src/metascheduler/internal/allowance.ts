// allowance.ts - the customer's credit allowance to the Meta-Scheduler, raised
// only when it is below what an action locks.
import type { MetaSchedulerContext } from '../context.js';
import { signerOf } from '../context.js';
import { creditAbi } from '../abi.generated.js';
import { writeAndWait } from './write.js';

/**
 * Makes sure the Meta-Scheduler may pull `amount` credits from the signer.
 * ERC-20 approve sets (does not add), so an allowance already large enough is
 * left alone instead of being overwritten.
 */
export async function ensureAllowance(ctx: MetaSchedulerContext, amount: bigint): Promise<void> {
  const { account } = signerOf(ctx, 'approve');
  const current = await ctx.publicClient.readContract({
    address: ctx.addresses.credit,
    abi: creditAbi,
    functionName: 'allowance',
    args: [account.address, ctx.addresses.metaScheduler],
  });
  if (current >= amount) return;
  await writeAndWait(ctx, {
    address: ctx.addresses.credit,
    abi: creditAbi,
    functionName: 'approve',
    args: [ctx.addresses.metaScheduler, amount],
  });
}

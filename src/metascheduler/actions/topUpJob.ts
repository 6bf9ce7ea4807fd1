import type { Hex } from 'viem';
import type { MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { ensureAllowance } from '../internal/allowance.js';
import { txResult } from '../internal/events.js';
import { writeAndWait } from '../internal/write.js';
import type { TxResult } from '../types.js';

/** Customer: approves and adds `amount` credit-wei to a job; a RUNNING job's provider then claims the extra minutes. */
export async function topUpJob(ctx: MetaSchedulerContext, jobId: Hex, amount: bigint): Promise<TxResult> {
  await ensureAllowance(ctx, amount);
  const receipt = await writeAndWait(ctx, {
    address: ctx.addresses.metaScheduler,
    abi: metaSchedulerAbi,
    functionName: 'topUpJob',
    args: [jobId, amount],
  });
  return txResult(receipt);
}

// topUpJob.ts - the Meta-Scheduler action topUpJob(ctx, params). Customer:
// approves and adds `amount` credit-wei to a job; a RUNNING job's provider
// then claims the extra minutes. Its pure encoder, encodeTopUpJob(addresses,
// params), gives the same transaction as calldata for a transaction pipeline.
import type { Hex } from 'viem';
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { ensureAllowance } from '../internal/allowance.js';
import { encodeCall } from '../internal/encode.js';
import { txResult } from '../internal/events.js';
import { writeAndWait } from '../internal/write.js';
import type { EncodedCall, TxResult } from '../types.js';

export interface TopUpJobParameters {
  jobId: Hex;
  /** Credit-wei added to the job. */
  amount: bigint;
}

const call = (a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: TopUpJobParameters) =>
  ({ address: a.metaScheduler, abi: metaSchedulerAbi, functionName: 'topUpJob', args: [p.jobId, p.amount] }) as const;

/** Pure: the topUpJob transaction, for a transaction pipeline (the allowance is the sender's to ensure). */
export function encodeTopUpJob(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: TopUpJobParameters): EncodedCall {
  return encodeCall(call(a, p));
}

/** Customer: approves and adds `amount` credit-wei to a job; a RUNNING job's provider then claims the extra minutes. */
export async function topUpJob(ctx: MetaSchedulerContext, p: TopUpJobParameters): Promise<TxResult> {
  await ensureAllowance(ctx, p.amount);
  const receipt = await writeAndWait(ctx, call(ctx.addresses, p));
  return txResult(receipt);
}

import type { Address, Hex } from 'viem';
import type { MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { txResult } from '../internal/events.js';
import { transitionsOf } from '../internal/decode.js';
import { writeAndWait } from '../internal/write.js';
import type { JobTransition, TxResult } from '../types.js';

export interface MetaScheduleResult extends TxResult {
  transitions: JobTransition[];
}

/** Oracle (METASCHEDULER_ROLE): assigns a PENDING job to a provider and queues it there as claimable. */
export async function metaSchedule(ctx: MetaSchedulerContext, jobId: Hex, provider: Address): Promise<MetaScheduleResult> {
  const receipt = await writeAndWait(ctx, {
    address: ctx.addresses.metaScheduler,
    abi: metaSchedulerAbi,
    functionName: 'metaSchedule',
    args: [jobId, provider],
  });
  return { ...txResult(receipt), transitions: transitionsOf(ctx, receipt) };
}

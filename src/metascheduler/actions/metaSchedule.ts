// metaSchedule.ts - the Meta-Scheduler action metaSchedule(ctx, params).
// Oracle (METASCHEDULER_ROLE): assigns a PENDING job to a provider and queues
// it there as claimable. Its pure encoder, encodeMetaSchedule(addresses,
// params), gives the same transaction as calldata for a transaction pipeline.
import type { Address, Hex } from 'viem';
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { encodeCall } from '../internal/encode.js';
import { txResult } from '../internal/events.js';
import { transitionsOf } from '../internal/decode.js';
import { writeAndWait } from '../internal/write.js';
import type { EncodedCall, JobTransition, TxResult } from '../types.js';

export interface MetaScheduleParameters {
  jobId: Hex;
  provider: Address;
}

export interface MetaScheduleResult extends TxResult {
  transitions: JobTransition[];
}

const call = (a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: MetaScheduleParameters) =>
  ({ address: a.metaScheduler, abi: metaSchedulerAbi, functionName: 'metaSchedule', args: [p.jobId, p.provider] }) as const;

/** Pure: the metaSchedule transaction, for a transaction pipeline. */
export function encodeMetaSchedule(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: MetaScheduleParameters): EncodedCall {
  return encodeCall(call(a, p));
}

/** Oracle (METASCHEDULER_ROLE): assigns a PENDING job to a provider and queues it there as claimable. */
export async function metaSchedule(ctx: MetaSchedulerContext, p: MetaScheduleParameters): Promise<MetaScheduleResult> {
  const receipt = await writeAndWait(ctx, call(ctx.addresses, p));
  return { ...txResult(receipt), transitions: transitionsOf(ctx, receipt) };
}

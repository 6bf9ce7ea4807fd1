// refuseJob.ts - the Meta-Scheduler action refuseJob(ctx, params). Provider:
// hands a META_SCHEDULED/SCHEDULED job back to PENDING (e.g. Its pure
// encoder, encodeRefuseJob(addresses, params), gives the same transaction as
// calldata for a transaction pipeline.
import type { Address, Hex } from 'viem';
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { encodeCall } from '../internal/encode.js';
import { eventsOf, txResult } from '../internal/events.js';
import { transitionsOf } from '../internal/decode.js';
import { writeAndWait } from '../internal/write.js';
import type { EncodedCall, JobTransition, TxResult } from '../types.js';

export interface RefuseJobParameters {
  jobId: Hex;
}

export interface RefuseJobResult extends TxResult {
  refused: { jobId: Hex; providerAddr: Address; customerAddr: Address } | undefined;
  transitions: JobTransition[];
}

const call = (a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: RefuseJobParameters) =>
  ({ address: a.metaScheduler, abi: metaSchedulerAbi, functionName: 'refuseJob', args: [p.jobId] }) as const;

/** Pure: the refuseJob transaction, for a transaction pipeline. */
export function encodeRefuseJob(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: RefuseJobParameters): EncodedCall {
  return encodeCall(call(a, p));
}

/** Provider: hands a META_SCHEDULED/SCHEDULED job back to PENDING (e.g. sbatch failed) so the oracle can reassign it. */
export async function refuseJob(ctx: MetaSchedulerContext, p: RefuseJobParameters): Promise<RefuseJobResult> {
  const receipt = await writeAndWait(ctx, call(ctx.addresses, p));
  const ev = eventsOf(receipt.logs, metaSchedulerAbi, ctx.addresses.metaScheduler, 'JobRefusedEvent')[0];
  return {
    ...txResult(receipt),
    refused: ev
      ? { jobId: ev.args._jobId, providerAddr: ev.args._providerAddr, customerAddr: ev.args._customerAddr }
      : undefined,
    transitions: transitionsOf(ctx, receipt),
  };
}

import type { Address, Hex } from 'viem';
import type { MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { eventsOf, txResult } from '../internal/events.js';
import { transitionsOf } from '../internal/decode.js';
import { writeAndWait } from '../internal/write.js';
import type { JobTransition, TxResult } from '../types.js';

export interface RefuseJobResult extends TxResult {
  refused: { jobId: Hex; providerAddr: Address; customerAddr: Address } | undefined;
  transitions: JobTransition[];
}

/** Provider: hands a META_SCHEDULED/SCHEDULED job back to PENDING (e.g. sbatch failed) so the oracle can reassign it. */
export async function refuseJob(ctx: MetaSchedulerContext, jobId: Hex): Promise<RefuseJobResult> {
  const address = ctx.addresses.metaScheduler;
  const receipt = await writeAndWait(ctx, { address, abi: metaSchedulerAbi, functionName: 'refuseJob', args: [jobId] });
  const ev = eventsOf(receipt.logs, metaSchedulerAbi, address, 'JobRefusedEvent')[0];
  return {
    ...txResult(receipt),
    refused: ev
      ? { jobId: ev.args._jobId, providerAddr: ev.args._providerAddr, customerAddr: ev.args._customerAddr }
      : undefined,
    transitions: transitionsOf(ctx, receipt),
  };
}

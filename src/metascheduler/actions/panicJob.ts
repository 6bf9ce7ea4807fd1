import type { Hex } from 'viem';
import type { MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { txResult } from '../internal/events.js';
import { transitionsOf } from '../internal/decode.js';
import { writeAndWait } from '../internal/write.js';
import type { JobTransition, TxResult } from '../types.js';

export interface PanicJobResult extends TxResult {
  transitions: JobTransition[];
}

/** Oracle: forces a hot job to PANICKED with a full refund (last resort for a stuck job). */
export async function panicJob(ctx: MetaSchedulerContext, jobId: Hex, lastError: string): Promise<PanicJobResult> {
  const receipt = await writeAndWait(ctx, {
    address: ctx.addresses.metaScheduler,
    abi: metaSchedulerAbi,
    functionName: 'panicJob',
    args: [jobId, lastError],
  });
  return { ...txResult(receipt), transitions: transitionsOf(ctx, receipt) };
}

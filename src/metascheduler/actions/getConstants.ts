// getConstants.ts - the Meta-Scheduler action getConstants(ctx).
// View: the billing constants, read together so one settlement uses one
// consistent set.
import type { MetaSchedulerContext } from '../context.js';
import { constantsAbi } from '../abi.generated.js';

export interface MetaSchedulerConstants {
  minimumAmount: bigint;
  billDurationDeltaMinute: bigint;
  deepsquareCut: bigint;
  topUpSliceDurationMin: bigint;
}

/** View: the billing constants, read together so one settlement uses one consistent set. */
export async function getConstants(ctx: MetaSchedulerContext): Promise<MetaSchedulerConstants> {
  const c = { address: ctx.addresses.constants, abi: constantsAbi } as const;
  const [minimumAmount, billDurationDeltaMinute, deepsquareCut, topUpSliceDurationMin] = await Promise.all([
    ctx.publicClient.readContract({ ...c, functionName: 'minimumAmount' }),
    ctx.publicClient.readContract({ ...c, functionName: 'billDurationDeltaMinute' }),
    ctx.publicClient.readContract({ ...c, functionName: 'deepsquareCut' }),
    ctx.publicClient.readContract({ ...c, functionName: 'topUpSliceDurationMin' }),
  ]);
  return { minimumAmount, billDurationDeltaMinute, deepsquareCut, topUpSliceDurationMin };
}

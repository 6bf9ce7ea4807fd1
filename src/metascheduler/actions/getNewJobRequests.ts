// getNewJobRequests.ts - the Meta-Scheduler action getNewJobRequests(ctx,
// params). Events: jobs requested in a block range (inclusive); lets the
// oracle catch up after a restart.
import type { Address, Hex } from 'viem';
import type { MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';

export interface NewJobRequest {
  jobId: Hex;
  customerAddr: Address;
  blockNumber: bigint;
}

/** Events: jobs requested in a block range (inclusive); lets the oracle catch up after a restart. */
export async function getNewJobRequests(
  ctx: MetaSchedulerContext,
  range: { fromBlock: bigint; toBlock: bigint },
): Promise<NewJobRequest[]> {
  const logs = await ctx.publicClient.getContractEvents({
    address: ctx.addresses.metaScheduler,
    abi: metaSchedulerAbi,
    eventName: 'NewJobRequestEvent',
    fromBlock: range.fromBlock,
    toBlock: range.toBlock,
    strict: true,
  });
  return logs.map((l) => ({ jobId: l.args._jobId, customerAddr: l.args._customerAddr, blockNumber: l.blockNumber }));
}

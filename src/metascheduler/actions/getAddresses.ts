// getAddresses.ts - the Meta-Scheduler action getAddresses(publicClient,
// params). View: the part addresses the Meta-Scheduler was deployed with, so
// a client needs only its address.
import type { Address, Chain, PublicClient, Transport } from 'viem';
import { metaSchedulerAbi } from '../abi.generated.js';
import type { MetaSchedulerAddresses } from '../context.js';

/** View: the part addresses the Meta-Scheduler was deployed with, so a client needs only its address. */
export async function getAddresses(
  publicClient: PublicClient<Transport, Chain | undefined>,
  { metaScheduler }: { metaScheduler: Address },
): Promise<MetaSchedulerAddresses> {
  const c = { address: metaScheduler, abi: metaSchedulerAbi } as const;
  const [credit, constants, providerManager, providerJobQueues, jobs] = await Promise.all([
    publicClient.readContract({ ...c, functionName: 'credit' }),
    publicClient.readContract({ ...c, functionName: 'constants' }),
    publicClient.readContract({ ...c, functionName: 'providerManager' }),
    publicClient.readContract({ ...c, functionName: 'providerJobQueues' }),
    publicClient.readContract({ ...c, functionName: 'jobs' }),
  ]);
  return { metaScheduler, credit, constants, providerManager, providerJobQueues, jobs };
}

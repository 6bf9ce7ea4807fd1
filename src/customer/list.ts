// list.ts - every job of the customer's account, oldest first, as JobViews
// (JobRepository.getByCustomer, then each job).
import type { Address, Hex } from 'viem';

import { jobRepositoryAbi } from '../metascheduler/abi.generated.js';
import type { CustomerContext } from './context.js';
import { explain } from './errors.js';
import { jobView, type JobView } from './view.js';

export async function list(ctx: CustomerContext, p: { customer?: Address | undefined } = {}): Promise<JobView[]> {
  const customer = p.customer ?? ctx.customer;
  try {
    const ids = (await ctx.client.publicClient.readContract({
      address: ctx.client.addresses.jobs,
      abi: jobRepositoryAbi,
      functionName: 'getByCustomer',
      args: [customer],
    })) as readonly Hex[];
    const out: JobView[] = [];
    for (const id of ids) out.push(await jobView(ctx, id));
    return out;
  } catch (e) {
    throw explain(e, { action: 'list', customer, rpcUrl: ctx.rpcUrl });
  }
}

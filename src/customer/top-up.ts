// top-up.ts - the customer adds credits to a job that has not ended: N
// minutes at its provider's price (or, before one is chosen, at the dearest
// approved provider's that fits), or an amount of credits. A scheduled or
// running job's provider then extends its time limit.
import { formatUnits, type Hex } from 'viem';

import { perMinute } from '../metascheduler/billing.js';
import { JobStatus } from '../metascheduler/status.js';
import type { CustomerContext } from './context.js';
import { CustomerError, explain } from './errors.js';
import { withTxRetry } from './tx-retry.js';
import { quote } from './quote.js';

export interface TopUpParameters {
  jobId: Hex;
  minutes?: number | undefined;
  /** Credit-wei. */
  credits?: bigint | undefined;
}

export interface TopUpResult {
  jobId: Hex;
  addedCredits: bigint;
  /** Minutes the credits add at the job's provider's price (null before a provider is chosen). */
  addedMinutes: bigint | null;
  transactionHash: Hex;
}

export async function topUp(ctx: CustomerContext, p: TopUpParameters): Promise<TopUpResult> {
  const scene = { action: 'top-up' as const, jobId: p.jobId, customer: ctx.customer, rpcUrl: ctx.rpcUrl };
  if ((p.minutes === undefined) === (p.credits === undefined)) throw new CustomerError('give --minutes N or --credits N (one of them)');
  try {
    const job = await ctx.client.getJob(p.jobId);
    if (job.status >= JobStatus.CANCELLED) throw new CustomerError(`job ${p.jobId} has already ended (${JobStatus[job.status]}): nothing to top up; start a new one`);
    const hasProvider = !/^0x0{40}$/i.test(job.providerAddr);
    let perMin: bigint | null = null;
    if (hasProvider) perMin = perMinute(job.definition, (await ctx.client.getProvider(job.providerAddr)).providerPrices);
    let amount: bigint;
    if (p.credits !== undefined) amount = p.credits;
    else if (perMin !== null) amount = BigInt(p.minutes!) * perMin;
    else {
      const d = job.definition;
      const q = await quote(ctx, { resources: { tasks: Number(d.ntasks), cpusPerTask: Number(d.cpusPerTask), memPerCpuMB: Number(d.memPerCpu), gpus: Number(d.gpus) } });
      if (q.providers.length === 0) throw new CustomerError(`job ${p.jobId} has no provider yet and the grid's providers could not be listed to price minutes: give --credits instead`);
      amount = BigInt(p.minutes!) * q.providers.reduce((m, x) => (x.perMinute > m ? x.perMinute : m), 0n);
    }
    if (amount <= 0n) throw new CustomerError('a top-up of 0 credits changes nothing: give a positive --minutes or --credits');
    const balance = await ctx.client.getCreditBalance(ctx.customer);
    if (balance < amount) throw new CustomerError(`not enough credits: account ${ctx.customer} holds ${formatUnits(balance, 18)} credits, the top-up needs ${formatUnits(amount, 18)}`);
    const r = await withTxRetry(() => ctx.client.topUpJob(p.jobId, amount));
    return { jobId: p.jobId, addedCredits: amount, addedMinutes: perMin ? amount / perMin : null, transactionHash: r.hash };
  } catch (e) {
    throw explain(e, scene);
  }
}

// quote.ts - how many credits a job locks: for N minutes, N times the price
// per minute of the dearest approved provider that can hold the job (so any
// of them can run it that long), never below the grid's minimum; or the
// credits given. Refuses, before anything is locked, resources no approved
// provider can hold and amounts below the minimum or above the balance.
import { formatUnits, type Address } from 'viem';

import { getApprovedProviders } from '../metascheduler/actions/getApprovedProviders.js';
import { perMinute } from '../metascheduler/billing.js';
import { fitsHardware } from '../metascheduler/fit.js';
import type { JobDefinition } from '../metascheduler/types.js';
import type { CustomerContext } from './context.js';
import { CustomerError } from './errors.js';
import { describeResources, type JobResources } from './resources.js';

export interface QuoteParameters {
  resources: JobResources;
  /** Minutes to pay for; or: */
  minutes?: number | undefined;
  /** Credit-wei to lock (default: the grid's minimum). */
  credits?: bigint | undefined;
}

export interface Quote {
  lockedCredits: bigint;
  minimum: bigint;
  balance: bigint;
  /** Approved providers that can hold the job, with their price per minute (credit-wei). */
  providers: { addr: Address; perMinute: bigint }[];
  /** Minutes the locked credits buy at the dearest and the cheapest of them (0 when the providers could not be listed). */
  minutes: { atLeast: bigint; atMost: bigint };
}

const cr = (wei: bigint) => `${formatUnits(wei, 18)} credits`;

export async function quote(ctx: CustomerContext, p: QuoteParameters): Promise<Quote> {
  if (p.minutes !== undefined && p.credits !== undefined) throw new CustomerError('give --minutes or --credits, not both');
  const c = ctx.client;
  const def = { gpus: BigInt(p.resources.gpus), memPerCpu: BigInt(p.resources.memPerCpuMB), cpusPerTask: BigInt(p.resources.cpusPerTask), ntasks: BigInt(p.resources.tasks) } satisfies Partial<JobDefinition>;
  const [constants, balance, head] = await Promise.all([c.getConstants(), c.getCreditBalance(ctx.customer), c.publicClient.getBlockNumber()]);
  let approved: Address[];
  try {
    approved = await getApprovedProviders(c, { fromBlock: 0n, toBlock: head });
  } catch (e) {
    // A public node may refuse logs from block 0: then no fit check and no price, and --minutes cannot be priced.
    if (p.minutes !== undefined) throw new CustomerError(`cannot list the grid's providers to price ${p.minutes} minutes (${(e as Error).message.split('\n')[0]}): give --credits instead`);
    const locked = p.credits ?? constants.minimumAmount;
    if (locked < constants.minimumAmount) throw new CustomerError(`${cr(locked)} is below the grid's minimum of ${cr(constants.minimumAmount)} per job: lock at least that`);
    if (balance < locked) throw new CustomerError(`not enough credits: account ${ctx.customer} holds ${cr(balance)}, the job would lock ${cr(locked)}: lock fewer or get credits from the grid's operator`);
    return { lockedCredits: locked, minimum: constants.minimumAmount, balance, providers: [], minutes: { atLeast: 0n, atMost: 0n } };
  }
  const all = await Promise.all(approved.map((a) => c.getProvider(a)));
  const why: string[] = [];
  const providers: Quote['providers'] = [];
  for (const pr of all) {
    const fit = fitsHardware(def, pr.providerHardware);
    const perMin = perMinute(def, pr.providerPrices);
    if (!fit.fits) why.push(`${pr.addr}: ${fit.reason}`);
    else if (perMin === 0n) why.push(`${pr.addr}: a price of zero for these resources`);
    else providers.push({ addr: pr.addr, perMinute: perMin });
  }
  if (providers.length === 0) {
    throw new CustomerError(
      approved.length === 0
        ? 'no provider is approved on this grid yet: nothing can run the job (on a devnet, wait for "provider approved"; elsewhere ask the grid\'s operator)'
        : `no provider matches these resources (${describeResources(p.resources)}): ${why.join('; ')}. Ask for fewer tasks, CPUs, memory or GPUs`,
    );
  }
  const dearest = providers.reduce((m, x) => (x.perMinute > m ? x.perMinute : m), 0n);
  const cheapest = providers.reduce((m, x) => (x.perMinute < m ? x.perMinute : m), dearest);
  let locked: bigint;
  if (p.minutes !== undefined) {
    locked = BigInt(p.minutes) * dearest;
    if (locked < constants.minimumAmount) locked = constants.minimumAmount;
  } else {
    locked = p.credits ?? constants.minimumAmount;
    if (locked < constants.minimumAmount) throw new CustomerError(`${cr(locked)} is below the grid's minimum of ${cr(constants.minimumAmount)} per job: lock at least that (--credits ${formatUnits(constants.minimumAmount, 18)})`);
    if (locked < dearest) throw new CustomerError(`${cr(locked)} does not pay one minute of these resources (${cr(dearest)} a minute): lock more`);
  }
  if (balance < locked) {
    throw new CustomerError(`not enough credits: account ${ctx.customer} holds ${cr(balance)}, the job would lock ${cr(locked)}: lock fewer (--minutes/--credits) or get credits from the grid's operator`);
  }
  return { lockedCredits: locked, minimum: constants.minimumAmount, balance, providers, minutes: { atLeast: locked / dearest, atMost: locked / cheapest } };
}

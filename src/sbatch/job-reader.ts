// job-reader.ts - the sbatch service's one chain read: a job's customer,
// provider and batchLocationHash from the MetaScheduler's JobRepository
// (MetaScheduler.jobs(), resolved on first use and kept). A revert means
// there is no such job; anything else means the chain is unreachable.
import { createPublicClient, http, type Address, type Hex } from 'viem';

import type { MetaSchedulerAddresses } from '../metascheduler/context.js';
import { getAddresses } from '../metascheduler/actions/getAddresses.js';
import { getJob } from '../metascheduler/actions/getJob.js';
import { MetaSchedulerError, toMetaSchedulerError } from '../metascheduler/errors.js';

export interface JobParties {
  customer: Address;
  provider: Address;
  batchLocationHash: string;
}

export type JobLookup = { found: true; job: JobParties } | { found: false; reason: string };

export class ChainUnavailableError extends Error {
  override readonly name = 'ChainUnavailableError';
}

export type JobReader = (jobId: Hex) => Promise<JobLookup>;

export function createJobReader(o: { rpcUrl: string; metaScheduler: Address; timeoutMs?: number }): JobReader {
  // Concurrent reads (a provider fetching a burst of claimed jobs) go as one JSON-RPC batch.
  const publicClient = createPublicClient({ transport: http(o.rpcUrl, { timeout: o.timeoutMs ?? 5_000, retryCount: 1, batch: { wait: 0 } }) });
  let addresses: Promise<MetaSchedulerAddresses> | undefined;
  const unavailable = (e: unknown) =>
    new ChainUnavailableError(`cannot read the chain at ${o.rpcUrl}: ${((e as Error)?.message ?? String(e)).split('\n')[0]}`, { cause: e });

  return async (jobId) => {
    if (!addresses) {
      const p = getAddresses(publicClient, { metaScheduler: o.metaScheduler });
      addresses = p;
      p.catch(() => {
        if (addresses === p) addresses = undefined; // retried on the next request
      });
    }
    let ctxAddresses: MetaSchedulerAddresses;
    try {
      ctxAddresses = await addresses;
    } catch (e) {
      const m = toMetaSchedulerError(e, 'jobs');
      // A revert here means the address is not a MetaScheduler: a configuration error, but not the caller's fault.
      throw m instanceof MetaSchedulerError ? new ChainUnavailableError(`${o.metaScheduler} does not answer as a MetaScheduler on ${o.rpcUrl}: ${m.message}`, { cause: e }) : unavailable(e);
    }
    try {
      const job = await getJob({ publicClient, addresses: ctxAddresses }, { jobId });
      return { found: true, job: { customer: job.customerAddr, provider: job.providerAddr, batchLocationHash: job.definition.batchLocationHash } };
    } catch (e) {
      const m = toMetaSchedulerError(e, 'get');
      if (m instanceof MetaSchedulerError) return { found: false, reason: m.message };
      throw unavailable(e);
    }
  };
}

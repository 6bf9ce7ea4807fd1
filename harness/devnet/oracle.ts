// oracle.ts - the devnet's stand-in for the grid's oracle: each PENDING job is
// meta-scheduled to an approved provider whose hardware fits.
import { pino, type Logger } from 'pino';
import { isAddressEqual, keccak256, toHex, type Address, type Hex } from 'viem';
import { jobRepositoryAbi, metaSchedulerAbi, providerManagerAbi } from '../../src/metascheduler/abi.generated.js';
import type { MetaSchedulerClient } from '../../src/metascheduler/client.js';
import { fitsHardware } from '../../src/metascheduler/fit.js';
import { perMinute } from '../../src/metascheduler/billing.js';
import { MetaSchedulerError } from '../../src/metascheduler/errors.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import type { Provider } from '../../src/metascheduler/types.js';

export interface StartOracleOptions {
  /** A client whose walletClient holds METASCHEDULER_ROLE. */
  client: MetaSchedulerClient;
  pollIntervalMs?: number;
  /** First block to scan for job requests and provider approvals (default 0: the whole devnet). */
  fromBlock?: bigint;
  logger?: Logger;
}

export interface Oracle {
  /** Stops polling and waits for the tick in progress to finish. */
  stop(): Promise<void>;
  /** Runs one scan/assign pass now (tests use it to avoid sleeping). */
  tick(): Promise<void>;
}

const METASCHEDULER_ROLE = keccak256(toHex('METASCHEDULER_ROLE'));

/**
 * Devnet stand-in for the grid's oracle: every PENDING job goes to the first
 * approved provider (round-robin) whose hardware can hold it. Jobs that fit
 * nowhere stay PENDING and are retried each tick, since a bigger provider may
 * join later. All state is in this closure; the chain is the source of truth.
 */
export function startOracle(opts: StartOracleOptions): Oracle {
  const { client } = opts;
  const log = opts.logger ?? pino({ name: 'devnet-oracle' });
  const pollIntervalMs = opts.pollIntervalMs ?? 1000;

  let scannedTo = (opts.fromBlock ?? 0n) - 1n;
  const candidates = new Set<Hex>(); // jobs that may be PENDING
  const providers = new Set<Address>(); // ever approved
  // Do not hand a job back to a provider that refused it or whose metaSchedule reverted.
  const excluded = new Map<Hex, Set<Address>>();
  const unfitLogged = new Set<Hex>();
  let rr = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  async function scan(): Promise<void> {
    const pc = client.publicClient;
    const latest = await pc.getBlockNumber();
    if (latest <= scannedTo) return;
    const range = { fromBlock: scannedTo + 1n, toBlock: latest };
    const [requests, approved, transitions, refusals] = await Promise.all([
      client.getNewJobRequests(range),
      pc.getContractEvents({
        address: client.addresses.providerManager,
        abi: providerManagerAbi,
        eventName: 'ProviderApproved',
        ...range,
        strict: true,
      }),
      // Refused or timed-out jobs come back to PENDING without a new request event.
      pc.getContractEvents({
        address: client.addresses.jobs,
        abi: jobRepositoryAbi,
        eventName: 'JobTransitionEvent',
        ...range,
        strict: true,
      }),
      pc.getContractEvents({
        address: client.addresses.metaScheduler,
        abi: metaSchedulerAbi,
        eventName: 'JobRefusedEvent',
        ...range,
        strict: true,
      }),
    ]);
    for (const r of requests) candidates.add(r.jobId);
    for (const a of approved) providers.add(a.args.addr);
    for (const t of transitions) if (t.args._to === JobStatus.PENDING) candidates.add(t.args._jobId);
    for (const r of refusals) exclude(r.args._jobId, r.args._providerAddr);
    scannedTo = latest;
  }

  function exclude(jobId: Hex, provider: Address): void {
    const set = excluded.get(jobId) ?? new Set<Address>();
    set.add(provider);
    excluded.set(jobId, set);
  }

  async function liveProviders(): Promise<Provider[]> {
    const list = [...providers];
    const valid = await Promise.all(list.map((p) => client.isValidForScheduling(p)));
    const ok = list.filter((_, i) => valid[i]);
    return Promise.all(ok.map((p) => client.getProvider(p)));
  }

  async function assign(): Promise<void> {
    if (candidates.size === 0) return;
    const live = await liveProviders();
    for (const jobId of [...candidates]) {
      if (stopped) return;
      const job = await client.getJob(jobId);
      if (job.status !== JobStatus.PENDING) {
        candidates.delete(jobId);
        continue;
      }
      const skip = excluded.get(jobId);
      const why = (p: Provider): string | undefined => {
        if (skip && [...skip].some((x) => isAddressEqual(x, p.addr))) return 'excluded (refused or reverted)';
        const fit = fitsHardware(job.definition, p.providerHardware);
        if (!fit.fits) return fit.reason;
        // metaSchedule reverts when the locked credits do not buy one minute (or the price is zero).
        const perMin = perMinute(job.definition, p.providerPrices);
        if (perMin === 0n) return 'zero price';
        if (job.cost.maxCost < perMin) return `locked ${job.cost.maxCost} < one minute ${perMin}`;
        return undefined;
      };
      const fitting = live.filter((p) => why(p) === undefined);
      if (fitting.length === 0) {
        if (!unfitLogged.has(jobId)) {
          unfitLogged.add(jobId);
          log.warn(
            {
              jobId,
              gpus: job.definition.gpus,
              ntasks: job.definition.ntasks,
              cpusPerTask: job.definition.cpusPerTask,
              memPerCpu: job.definition.memPerCpu,
              providers: live.map((p) => ({ addr: p.addr, why: why(p) })),
            },
            'no approved provider can take this job (hardware, price or refusal); it stays PENDING until one can',
          );
        }
        continue;
      }
      const provider = fitting[rr++ % fitting.length]!;
      try {
        await client.metaSchedule(jobId, provider.addr);
        candidates.delete(jobId);
        unfitLogged.delete(jobId);
        log.info({ jobId, provider: provider.addr }, 'job meta-scheduled');
      } catch (err) {
        if (err instanceof MetaSchedulerError) {
          // A revert is about this job on this provider (or the job moved meanwhile,
          // which the next tick sees): do not send the same doomed transaction again.
          exclude(jobId, provider.addr);
          log.error({ jobId, provider: provider.addr, error: err.name, detail: err.message }, 'metaSchedule reverted; trying other providers next tick');
        } else {
          log.error({ jobId, provider: provider.addr, err }, 'metaSchedule failed; will retry next tick');
        }
      }
    }
  }

  async function tickOnce(): Promise<void> {
    try {
      await scan();
      await assign();
    } catch (err) {
      log.error({ err }, 'oracle tick failed; retrying next interval');
    }
  }

  function tick(): Promise<void> {
    // Ticks never overlap: two passes could metaSchedule the same job twice.
    running = running.then(tickOnce);
    return running;
  }

  function loop(): void {
    if (stopped) return;
    void tick().finally(() => {
      if (!stopped) timer = setTimeout(loop, pollIntervalMs);
    });
  }

  void (async () => {
    const me = client.walletClient?.account?.address;
    if (!me) {
      log.error('the oracle client has no walletClient account: it cannot metaSchedule');
      return;
    }
    try {
      const ok = await client.publicClient.readContract({
        address: client.addresses.metaScheduler,
        abi: metaSchedulerAbi,
        functionName: 'hasRole',
        args: [METASCHEDULER_ROLE, me],
      });
      if (!ok) log.error({ account: me }, 'account lacks METASCHEDULER_ROLE: every metaSchedule will revert; grant it');
      else log.info({ account: me, pollIntervalMs }, 'oracle started');
    } catch (err) {
      log.warn({ err }, 'could not check METASCHEDULER_ROLE');
    }
  })();
  loop();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    tick,
  };
}


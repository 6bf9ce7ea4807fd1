// service.ts - the reporter as one running thing: the ingest endpoint, the
// planner (events -> reports), the sender (reports -> the shared transaction
// pipeline), reconciliation, and /metrics + /healthz. One SQLite database
// holds all of it; the supervisor runs this in its own process and adds its
// jobs to `jobs` (the job map) and its claims to the same pipeline.
import { createPublicClient, http, type Address, type Hex } from 'viem';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';

import { HeadSubscription, type NewHeads } from '../chain/heads.js';
import { lockStoreDir, type DirLock } from './ingest/lock.js';
import { EventStore } from './ingest/store.js';
import { startIngestServer, type IngestServer } from './ingest/server.js';
import type { IngestConfig } from './ingest/config.js';
import { getAddresses } from '../metascheduler/actions/getAddresses.js';
import { getConstants } from '../metascheduler/actions/getConstants.js';
import { getJob } from '../metascheduler/actions/getJob.js';
import type { MetaSchedulerContext } from '../metascheduler/context.js';
import { jobStatusName } from '../metascheduler/status.js';
import { ScontrolJobSource, type SlurmJobSource } from '../slurm/jobs.js';
import { openDb, stateDbPath, type Db } from '../state/db.js';
import { ChainIdMismatchError, TxPipeline, classifyRpcError, type RpcErrorClass } from '../txpipeline/index.js';
import { shortError } from '../txpipeline/errors.js';
import { serveOps, type Health, type OpsServer } from '../util/ops-server.js';
import type { ChainReporterConfig } from './config.js';
import { JobMap, type AddJobInput, type MappedJob } from './jobmap.js';
import { createReporterMetrics } from './metrics.js';
import { Planner } from './planner.js';
import { loadProviderAccount, type ProviderAccount } from './provider-account.js';
import { waitForSigner } from '../signer/remote.js';
import type { MetaSchedulerError } from '../metascheduler/errors.js';
import { metaSchedulerReverts } from '../metascheduler/revert-decoder.js';
import { Reconciler } from './reconcile.js';
import { Reports } from './reports.js';
import { ReportSender } from './sender.js';

export interface Reporter {
  db: Db;
  jobs: JobMap;
  reports: Reports;
  pipeline: TxPipeline<MetaSchedulerError>;
  ingest: IngestServer;
  ops: OpsServer | undefined;
  registry: Registry;
  provider: Address;
  /** Adds a job to the job map (the supervisor, when it submits); events already stored for its SLURM id are derived. */
  addJob(input: AddJobInput): MappedJob;
  reconcile(): ReturnType<Reconciler['pass']>;
  health(): Promise<Health>;
  stop(): Promise<void>;
}

export interface StartReporterDeps {
  logger?: Logger;
  registry?: Registry;
  env?: NodeJS.ProcessEnv;
  /** The provider's account (the supervisor passes the one it loaded, and closes it); default: loaded from `config`. */
  account?: ProviderAccount;
  /** Where reconciliation reads slurmctld's jobs (default: scontrol on this host); the supervisor passes its SLURM backend. */
  slurmJobs?: SlurmJobSource;
  /** The process's new-head subscription (the supervisor passes its own); default: one on `wsUrl` when set, closed by stop(). */
  heads?: NewHeads;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RPC failures at start that mean "not reachable yet": waited for. Anything else stops start-up. */
const STARTUP_RETRY: ReadonlySet<RpcErrorClass> = new Set(['network', 'timeout', 'rate_limited', 'server']);

/**
 * Starts the ingest and the chain reporter on the store in `ingest.storeDir`.
 * Stops with a message saying what to fix on a bad key file, an RPC that
 * serves another chain id, or a MetaScheduler address without the contract.
 */
export async function startReporter(ingestConfig: IngestConfig, config: ChainReporterConfig, deps: StartReporterDeps = {}): Promise<Reporter> {
  const log = deps.logger ?? pino({ name: 'gridlink-reporter' });
  const registry = deps.registry ?? new Registry();
  const key = deps.account ?? loadProviderAccount(config, deps.env ?? process.env);
  log.info({ provider: key.address, keySource: key.source }, 'reporter: provider key loaded');

  const lock: DirLock = lockStoreDir(ingestConfig.storeDir, 'reporter store');
  let db: Db | undefined;
  const cleanup: Array<() => Promise<void> | void> = [() => lock.release()];
  if (!deps.account) cleanup.push(() => key.close());
  const unwind = async () => {
    for (const f of cleanup.reverse()) await f();
  };
  try {
    db = openDb(stateDbPath(ingestConfig.storeDir));
    const theDb = db;
    cleanup.push(() => {
      theDb.close();
    });
    const store = new EventStore(db, { logger: log });
    const jobs = new JobMap(db);
    let metrics: ReturnType<typeof createReporterMetrics> | undefined;
    const reports = new Reports(db, (s) => metrics?.planned.inc({ status: jobStatusName(s) }));
    metrics = createReporterMetrics(registry, reports, jobs);

    // The ingest and /healthz come up first: relays deliver into the store
    // while the chain is still being reached.
    const ingest = await startIngestServer(ingestConfig, { logger: log, store, registry });
    cleanup.push(() => ingest.stop());
    let pipeline: TxPipeline<MetaSchedulerError> | undefined;
    let chainWait = 'connecting';
    const health = async (): Promise<Health> => {
      try {
        theDb.prepare('SELECT 1').get();
      } catch (err) {
        return { ok: false, error: `state database: ${(err as Error).message}` };
      }
      const counts = reports.counts();
      if (!pipeline) return { ok: false, error: `chain: ${chainWait}`, reports: counts };
      const p = pipeline.health();
      const signer = key.remote ? await key.remote.health() : undefined;
      if (signer && !signer.ok) return { ok: false, error: `signer: ${signer.error}`, head: p.head, lagBlocks: p.lagBlocks, inFlight: pipeline.inFlight(), reports: counts };
      return { ok: p.ok, ...(p.error ? { error: `chain: ${p.error}` } : {}), head: p.head, lagBlocks: p.lagBlocks, inFlight: pipeline.inFlight(), reports: counts };
    };
    const ops = config.metricsListen ? await serveOps({ registry, host: config.metricsListen.host, port: config.metricsListen.port, health }) : undefined;
    if (ops) cleanup.push(() => ops.close());

    // One new-head subscription per process: the supervisor's, or this reporter's own.
    let heads = deps.heads;
    if (!heads && config.wsUrl) {
      const own = new HeadSubscription(config.wsUrl, log);
      own.start();
      cleanup.push(() => own.close());
      heads = own;
    }
    const publicClient = createPublicClient({ transport: http(config.rpcUrl, { retryCount: 0, timeout: 10_000 }) });
    const connect = async () => {
      const p = await TxPipeline.open({
        db: theDb,
        revertDecoder: metaSchedulerReverts,
        rpcUrl: config.rpcUrl,
        ...(heads ? { heads } : {}),
        chainId: config.chainId,
        ...key.signing,
        confirmations: config.confirmations,
        replaceAfterBlocks: config.replaceAfterBlocks,
        maxFeePerGasWei: config.maxFeePerGasGwei,
        ...(config.priorityFeeGwei !== undefined ? { priorityFeeWei: config.priorityFeeGwei } : {}),
        gasMargin: config.gasMargin,
        pollMs: config.pollMs,
        maxInFlight: config.maxInFlight,
        // A cold report is sent only once its job's RUNNING is mined, so 'latest' is the state it
        // must pass against; 'pending' would make anvil replay its whole pool for every estimate
        // (bench: 200 estimates 0.2 s at latest, 1.6-1.9 s at pending with 200-400 queued).
        simulateBlockTag: 'latest',
        logger: log,
        registry,
      });
      try {
        let addresses;
        try {
          addresses = await getAddresses(publicClient as never, { metaScheduler: config.metaScheduler });
        } catch (err) {
          if (STARTUP_RETRY.has(classifyRpcError(err))) throw err;
          throw new Error(`reporter: cannot read the MetaScheduler at ${config.metaScheduler} on ${config.rpcUrl}: ${(err as Error).message.split('\n')[0]} (check --meta-scheduler and --chain-id)`);
        }
        const ctx: MetaSchedulerContext = { publicClient: publicClient as never, addresses };
        return { pipeline: p, ctx, constants: await getConstants(ctx) };
      } catch (err) {
        await p.stop();
        throw err;
      }
    };
    // An unreachable chain at start is waited for (the ingest keeps storing);
    // a wrong chain id or MetaScheduler address stops start-up.
    // A remote signer must hold the provider's address: waited for while unreachable, else start-up stops.
    if (key.remote) {
      await waitForSigner(key.remote, {
        onWait: (err, retryInMs) => {
          chainWait = `signer: ${err.message}`;
          log.warn({ signer: key.remote?.url, err: err.message, retryInMs }, 'reporter: remote signer unreachable at start; the ingest keeps storing events; retrying');
        },
      });
      log.info({ signer: key.remote.url, provider: key.address }, 'reporter: remote signer holds the provider address');
    }
    let chain: Awaited<ReturnType<typeof connect>>;
    for (let delay = 1000; ; delay = Math.min(delay * 2, 30_000)) {
      try {
        chain = await connect();
        break;
      } catch (err) {
        if (err instanceof ChainIdMismatchError || !STARTUP_RETRY.has(classifyRpcError(err))) throw err;
        chainWait = `unreachable at start (${shortError(err)}); retrying`;
        log.warn({ rpcUrl: config.rpcUrl, err: shortError(err), retryInMs: delay }, 'reporter: chain RPC unreachable at start; the ingest keeps storing events; retrying');
        await sleep(delay);
      }
    }
    pipeline = chain.pipeline;
    const { ctx, constants } = chain;
    const thePipeline = pipeline;
    cleanup.push(() => thePipeline.stop());

    const planner = new Planner(db, store, jobs, reports, log, { onEvent: (o) => metrics.events.inc({ outcome: o }) });
    const sender = new ReportSender({
      db,
      reports,
      jobs,
      pipeline: thePipeline,
      chain: {
        jobStart: async (id: Hex) => {
          const j = await getJob(ctx, { jobId: id });
          return { status: j.status, start: j.time.start };
        },
        latestTimestamp: async () => (await publicClient.getBlock()).timestamp,
      },
      metaScheduler: config.metaScheduler,
      billDurationDeltaMinute: constants.billDurationDeltaMinute,
      log,
      metrics,
      batchSize: config.batchSize,
      maxInFlight: config.maxInFlight,
    });
    const reconciler = new Reconciler({
      db,
      jobs,
      reports,
      planner,
      chainStatus: async (id) => (await getJob(ctx, { jobId: id })).status,
      slurm: config.reconcile.slurm ? (deps.slurmJobs ?? new ScontrolJobSource({ slurmConf: config.reconcile.slurmConf })) : undefined,
      log,
      metrics,
      batch: config.reconcile.batch,
      lostGraceMs: config.reconcile.lostGraceMs,
    });

    /** Derived events past the retention, in slices so the ingest is never held up long. */
    const pruneEvents = (): void => {
      const before = Date.now() - config.eventRetentionDays * 86_400_000;
      let n = 0;
      for (let k = store.prune(planner.cursor(), before, 5000); k > 0; k = store.prune(planner.cursor(), before, 5000)) n += k;
      if (n > 0) log.info({ deleted: n, retentionDays: config.eventRetentionDays }, 'reporter: derived events past the retention deleted');
    };

    // The work loop: derive, send; one iteration at a time.
    let stopping = false;
    const work = async (): Promise<number> => {
      planner.drain();
      let n = 0;
      for (let k = await sender.round(); k > 0 && !stopping; k = await sender.round()) n += k;
      return n;
    };
    const loop = (async () => {
      while (!stopping) {
        try {
          await work();
        } catch (err) {
          log.error({ err }, 'reporter: work loop error; retrying');
        }
        await sleep(config.tickMs);
      }
    })();
    const reconcileLoop = (async () => {
      while (!stopping) {
        try {
          const s = await reconciler.pass();
          if (s.closedOnChain + s.recovered + s.lost > 0) log.info(s, 'reconcile: pass done');
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'reconcile: pass failed; next one at the next interval');
        }
        pruneEvents();
        for (let t = 0; t < config.reconcile.intervalMs && !stopping; t += 200) await sleep(200);
      }
    })();
    thePipeline.start();
    cleanup.push(async () => {
      stopping = true;
      await loop;
      await reconcileLoop;
    });
    log.info({ ingest: ingest.url, ops: ops?.url, provider: key.account.address, metaScheduler: config.metaScheduler, chainId: config.chainId, confirmations: config.confirmations }, 'reporter: running');

    let stopped: Promise<void> | undefined;
    return {
      db,
      jobs,
      reports,
      pipeline: thePipeline,
      ingest,
      ops,
      registry,
      provider: key.account.address,
      addJob: (input) => planner.addJob(input),
      reconcile: () => reconciler.pass(),
      health,
      stop: () => (stopped ??= unwind().then(() => log.info('reporter: stopped'))),
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

// service.ts - the reporter's parts as one running thing: the ingest
// endpoint, the planner (events -> reports), the sender (reports -> the
// transaction pipeline), reconciliation, and /metrics + /healthz. It opens
// nothing of its own: the process's composition root (src/compose:
// reporter-root.ts for `gridlink reporter run`, supervisor-root.ts for
// `gridlink supervisor`) opens the state database and the provider's transaction
// pipeline and hands them here, and the supervisor adds its jobs to `jobs`
// (the job map).
import type { Address, Hex } from 'viem';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';

import { EventStore } from './ingest/store.js';
import { startIngestServer, type IngestServer } from './ingest/server.js';
import type { IngestConfig } from './ingest/config.js';
import { getJob } from '../metascheduler/actions/getJob.js';
import type { MetaSchedulerContext } from '../metascheduler/context.js';
import type { MetaSchedulerError } from '../metascheduler/errors.js';
import { jobStatusName } from '../metascheduler/status.js';
import { ScontrolJobSource, type SlurmJobSource } from '../slurm/jobs.js';
import type { Db } from '../state/db.js';
import type { TxPipeline } from '../txpipeline/index.js';
import { serveOps, type Health, type OpsServer } from '../util/ops-server.js';
import type { ChainReporterConfig } from './config.js';
import { JobMap, type AddJobInput, type MappedJob } from './jobmap.js';
import { createReporterMetrics } from './metrics.js';
import { Planner } from './planner.js';
import { Reconciler } from './reconcile.js';
import { Reports } from './reports.js';
import { ReportSender } from './sender.js';

/** The provider's chain as the composition root opened it (src/compose/provider-chain.ts). */
export interface ReporterChain {
  /** Resolves once the pipeline is open (the signer and the RPC reached); the same one on every call. */
  open(): Promise<{
    pipeline: TxPipeline<MetaSchedulerError>;
    ctx: MetaSchedulerContext;
    constants: { billDurationDeltaMinute: bigint };
    publicClient: { getBlock(): Promise<{ timestamp: bigint }> };
  }>;
  /** What start-up waits for, until open() resolved (for /healthz). */
  readonly waiting: string;
  /** The remote signer's health, when the key is a remote signer's. */
  signerHealth(): Promise<{ ok: boolean; error?: string } | undefined>;
}

/** What the composition root hands the reporter. */
export interface ReporterParts {
  /** The state database (migrated); the root closes it. */
  db: Db;
  /** The provider's chain; the root stops its pipeline. */
  chain: ReporterChain;
  /** The provider's address. */
  provider: Address;
  logger?: Logger;
  registry?: Registry;
  /** Where reconciliation reads slurmctld's jobs (default: scontrol on this host); the supervisor passes its SLURM backend. */
  slurmJobs?: SlurmJobSource;
}

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the ingest (at once: relays deliver while the chain is reached),
 * then, once the root's chain is open, the planner, the sender and
 * reconciliation. stop() stops what it started, not the database nor the
 * pipeline (the root's).
 */
export async function startReporterService(ingestConfig: IngestConfig, config: ChainReporterConfig, parts: ReporterParts): Promise<Reporter> {
  const log = parts.logger ?? pino({ name: 'gridlink-reporter' });
  const registry = parts.registry ?? new Registry();
  const { db, chain: connection } = parts;
  const cleanup: Array<() => Promise<void> | void> = [];
  const unwind = async () => {
    for (const f of cleanup.reverse()) await f();
  };
  try {
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
    const health = async (): Promise<Health> => {
      try {
        db.prepare('SELECT 1').get();
      } catch (err) {
        return { ok: false, error: `state database: ${(err as Error).message}` };
      }
      const counts = reports.counts();
      if (!pipeline) return { ok: false, error: `chain: ${connection.waiting}`, reports: counts };
      const p = pipeline.health();
      const signer = await connection.signerHealth();
      if (signer && !signer.ok) return { ok: false, error: `signer: ${signer.error}`, head: p.head, lagBlocks: p.lagBlocks, inFlight: pipeline.inFlight(), reports: counts };
      return { ok: p.ok, ...(p.error ? { error: `chain: ${p.error}` } : {}), head: p.head, lagBlocks: p.lagBlocks, inFlight: pipeline.inFlight(), reports: counts };
    };
    const ops = config.metricsListen ? await serveOps({ registry, host: config.metricsListen.host, port: config.metricsListen.port, health }) : undefined;
    if (ops) cleanup.push(() => ops.close());

    const chain = await connection.open();
    pipeline = chain.pipeline;
    const { ctx, constants, publicClient } = chain;
    const thePipeline = pipeline;

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
      slurm: config.reconcile.slurm ? (parts.slurmJobs ?? new ScontrolJobSource({ slurmConf: config.reconcile.slurmConf })) : undefined,
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
    log.info({ ingest: ingest.url, ops: ops?.url, provider: parts.provider, metaScheduler: config.metaScheduler, chainId: config.chainId, confirmations: config.confirmations }, 'reporter: running');

    let stopped: Promise<void> | undefined;
    return {
      db,
      jobs,
      reports,
      pipeline: thePipeline,
      ingest,
      ops,
      registry,
      provider: parts.provider,
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

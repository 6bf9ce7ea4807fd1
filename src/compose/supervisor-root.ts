// supervisor-root.ts - `gridlink supervisor` as one running thing: its
// composition root. It loads the provider key, opens the state database
// (state-store.ts) and the transaction pipeline (provider-chain.ts) and hands
// them to the reporter's parts (the ingest, statuses and billed minutes,
// src/reporter/service.ts) and to the supervisor's (src/supervisor:
// registration, claims, submissions, cancellations and top-ups). The only
// process holding the provider key.
//
// Loops (each one step at a time):
//   chain: read claim logs (cursor persisted) -> queue lengths -> claim txs
//   runner: claims -> user, script, submission as the customer
//   actions: cancellations, top-ups, jobs the chain closed
import { createPublicClient, http, type Address } from 'viem';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';

import { HeadSubscription } from '../chain/heads.js';
import { createLdapConnector } from '../ldap/index.js';
import { getAddresses } from '../metascheduler/actions/getAddresses.js';
import { getCreditBalance } from '../metascheduler/actions/getCreditBalance.js';
import { getJob } from '../metascheduler/actions/getJob.js';
import type { MetaSchedulerContext } from '../metascheduler/context.js';
import { resolveIngestConfig } from '../reporter/ingest/config.js';
import { startReporterService, type Reporter } from '../reporter/service.js';
import { ProviderChainConnection } from './provider-chain.js';
import { openStateStore } from './state-store.js';
import type { SlurmBackend } from '../slurm/backend.js';
import type { Db } from '../state/db.js';
import { createSbatchClient } from '../sbatch/client.js';
import { shortError } from '../txpipeline/errors.js';
import { serveOps, type Health, type OpsServer } from '../util/ops-server.js';
import { Wakeup } from '../util/wakeup.js';
import { loadProviderAccount } from '../reporter/provider-account.js';
import { createSlurmBackend } from '../supervisor/backend-factory.js';
import { benchmarkLabels } from '../supervisor/benchmark-labels.js';
import { CANCEL_ESCALATE_AFTER } from '../supervisor/cancel-escalation.js';
import { ChainLogFollower } from '../supervisor/chain-logs.js';
import { Claimer } from '../supervisor/claimer.js';
import { Claims } from '../supervisor/claim-store.js';
import type { SupervisorConfig } from '../supervisor/config.js';
import { JobActions } from '../supervisor/job-actions.js';
import { createSupervisorMetrics, registerProviderCredits } from '../supervisor/metrics.js';
import { ensureRegistered } from '../supervisor/registration.js';
import { Runner, type RunnerOptions, type ScriptSource } from '../supervisor/runner.js';
import { followOwnTransactions } from '../supervisor/tx-outcomes.js';
import { startGridlinkResolver } from '../supervisor/users-gridlink.js';
import { createLdapResolver } from '../supervisor/users-ldap.js';
import { createNssResolver } from '../supervisor/users-nss.js';
import type { UserResolver } from '../supervisor/users.js';

export interface Supervisor {
  reporter: Reporter;
  claims: Claims;
  backend: SlurmBackend;
  provider: Address;
  ops: OpsServer | undefined;
  /** Resolves once the provider is approved and claiming has started. */
  joined: Promise<void>;
  health(): Promise<Health>;
  /** Stop claiming, finish what is in flight, stop the reporter, close the store. */
  stop(): Promise<void>;
}

export interface SupervisorDeps {
  logger?: Logger;
  registry?: Registry;
  env?: NodeJS.ProcessEnv;
  /** Injected parts (tests); default from the configuration. */
  backend?: SlurmBackend;
  users?: UserResolver;
  scripts?: ScriptSource & { close?: () => void };
  checkpoint?: RunnerOptions['checkpoint'];
}

async function createUserResolver(config: SupervisorConfig, log: Logger, cleanup: Array<() => Promise<void> | void>, db: Db, registry: Registry): Promise<UserResolver> {
  const u = config.users;
  if (u.resolver === 'gridlink') {
    // the relays that may pull the users database: the ingest's (munge by uid 0 and SlurmUser, its HMAC keys)
    const ingest = resolveIngestConfig(config.ingest);
    const r = await startGridlinkResolver(u, db, { auth: { allowedUids: ingest.allowedUids, munge: ingest.munge, hmacKeys: ingest.hmacKeys }, log, registry });
    cleanup.push(() => r.close());
    return r;
  }
  if (u.resolver === 'ldap' && u.ldap) {
    const connector = createLdapConnector({ config: u.ldap, log });
    cleanup.push(() => connector.close());
    return createLdapResolver({ connector, minUid: u.minUid, nssWaitMs: u.nssWaitMs });
  }
  return createNssResolver({ minUid: u.minUid, cacheMs: u.cacheMs, ...(u.gid !== undefined ? { gid: u.gid } : {}) });
}

export async function startSupervisor(config: SupervisorConfig, deps: SupervisorDeps = {}): Promise<Supervisor> {
  const log = deps.logger ?? pino({ name: 'gridlink-supervisor' });
  const registry = deps.registry ?? new Registry();
  const env = deps.env ?? process.env;
  const cleanup: Array<() => Promise<void> | void> = [];
  const unwind = async () => {
    for (const f of cleanup.reverse()) {
      try {
        await f();
      } catch (err) {
        log.warn({ err: shortError(err) }, 'supervisor: error while stopping');
      }
    }
  };
  try {
    const key = loadProviderAccount(config.chain, env);
    log.info({ provider: key.address, keySource: key.source }, 'reporter: provider key loaded');
    cleanup.push(() => key.close());
    const backend = deps.backend ?? (await createSlurmBackend(config, log));
    if (!deps.backend) cleanup.push(() => backend.close());
    if (config.sbatch.tls?.insecure) log.warn({ endpoint: config.sbatch.endpoint }, 'supervisor: TLS certificate of the sbatch service NOT verified (sbatch.tls.insecure): anyone on the path can serve job scripts');
    const scripts = deps.scripts ?? createSbatchClient({ endpoint: config.sbatch.endpoint, tls: config.sbatch.tls, account: key.account, timeoutMs: config.sbatch.timeoutMs });
    cleanup.push(() => scripts.close?.());

    // The process's one new-head subscription, shared by the transaction pipeline and the chain loop; closed last.
    const heads = config.chain.wsUrl ? new HeadSubscription(config.chain.wsUrl, log) : undefined;
    if (heads) {
      heads.start();
      cleanup.push(() => heads.close());
    }
    const ingestConfig = resolveIngestConfig(config.ingest);
    const state = openStateStore(ingestConfig.storeDir, 'reporter store');
    cleanup.push(() => state.close());
    const { db } = state;
    const chain = new ProviderChainConnection({ db, config: config.chain, key, heads, log, registry });
    cleanup.push(() => chain.close());
    const reporter = await startReporterService(ingestConfig, config.chain, { db, chain, provider: key.account.address, logger: log, registry, slurmJobs: backend });
    cleanup.push(() => reporter.stop());
    const { pipeline } = await chain.open();
    const users = deps.users ?? (await createUserResolver(config, log, cleanup, db, registry));
    const claims = new Claims(db);
    const metrics = createSupervisorMetrics(registry, claims);
    followOwnTransactions({ pipeline, claims, log, retryInMs: config.claims.backoffMs });

    // cacheTime 0: viem otherwise serves getBlockNumber from a 4-second cache (its default polling interval), which delayed every claim log by seconds.
    const publicClient = createPublicClient({ transport: http(config.chain.rpcUrl, { retryCount: 2, timeout: 10_000 }), cacheTime: 0 });
    const ctx: MetaSchedulerContext = { publicClient: publicClient as never, addresses: await getAddresses(publicClient as never, { metaScheduler: config.chain.metaScheduler }) };
    const provider = key.account.address;
    registerProviderCredits(registry, () => getCreditBalance(ctx, { account: provider }), (err) => log.debug({ err: shortError(err) }, 'supervisor: the provider\'s credit balance could not be read for /metrics'));

    const benchAbort = new AbortController();
    const extraLabels = benchmarkLabels({ config, backend, db, log, signal: benchAbort.signal });
    const chainWake = new Wakeup();
    /** Woken by stop(): the sleeps of the action loop and of registration must not hold up a SIGTERM. */
    const stopWake = new Wakeup();
    const regWake = new Wakeup();
    const runWake = new Wakeup();
    const actions = new JobActions({ claims, reporter, backend, backoffMs: config.claims.backoffMs, maxBackoffMs: config.claims.maxBackoffMs, log, metrics });
    const follower = new ChainLogFollower({
      db,
      publicClient: publicClient as never,
      metaScheduler: config.chain.metaScheduler,
      provider,
      confirmations: config.claims.logConfirmations,
      maxRange: BigInt(config.claims.logRange),
      log,
      handlers: {
        claim: (ev, at) => {
          const before = claims.latestFor(ev.jobId);
          if (!claims.add({ gridJobId: ev.jobId, customer: ev.customerAddr, maxMinutes: ev.maxDurationMinute, definition: ev.jobDefinition, ...at })) return;
          metrics.claimsSeen.inc({ queue: 'claimable' });
          if (!before) return;
          // Claimed again: the chain took the job back (oracle timeout) and gave it here again. Its new
          // run is reported afresh; an earlier SLURM job of it is cancelled.
          const old = reporter.jobs.reclaim(ev.jobId);
          reporter.reports.dropUnsent(ev.jobId);
          if (old !== null) claims.addAction({ kind: 'cancel', gridJobId: ev.jobId, slurmJobId: old, ...at });
          log.warn({ gridJobId: ev.jobId, earlierClaim: before.id, earlierState: before.state, earlierSlurmJobId: old }, 'supervisor: job claimed again; the earlier claim is closed and its SLURM job cancelled');
        },
        cancel: (ev, at) => {
          if (claims.addAction({ kind: 'cancel', gridJobId: ev.jobId, ...at })) metrics.claimsSeen.inc({ queue: 'cancelling' });
        },
        topUp: (ev, at) => {
          if (claims.addAction({ kind: 'topup', gridJobId: ev.jobId, minutes: ev.maxDurationMinute, ...at })) {
            actions.recordTopUp(ev.jobId);
            metrics.claimsSeen.inc({ queue: 'topup' });
          }
        },
        recordedAbove: (block) => claims.recordedAbove(block),
        moved: (r, at) => claims.moveLog(r, at),
        orphaned: (r) => {
          const why = 'its log was orphaned by a reorg deeper than claims.logConfirmations (no longer on chain)';
          if (claims.orphanLog(r, why)) log.warn({ kind: r.kind, gridJobId: r.gridJobId, txHash: r.txHash }, `supervisor: ${r.kind} closed: ${why}`);
          else if (r.kind === 'claim' && r.state !== 'cancelled' && r.state !== 'refused' && r.state !== 'failed')
            log.error({ gridJobId: r.gridJobId, txHash: r.txHash, state: r.state }, `supervisor: a claim already ${r.state} was orphaned by a reorg; reconciliation closes its job if the chain no longer has it for this provider`);
        },
      },
    });
    await follower.init(config.claims.fromBlock !== undefined ? BigInt(config.claims.fromBlock) : undefined);
    const claimer = new Claimer({ ctx, provider, pipeline, maxPerRound: config.claims.maxPerRound, staleRecheckMs: config.claims.staleRecheckMs, log, metrics });
    const runner = new Runner({
      claims,
      reporter,
      pipeline,
      metaScheduler: config.chain.metaScheduler,
      provider,
      chainJob: async (id) => {
        const j = await getJob(ctx, { jobId: id });
        return { status: j.status, provider: j.providerAddr };
      },
      backend,
      users,
      scripts,
      settings: { partition: config.slurm.partition, path: config.slurm.path, output: config.slurm.output, maxScriptBytes: config.slurm.maxScriptBytes },
      concurrency: config.claims.concurrency,
      uncertainGraceMs: config.claims.uncertainGraceMs,
      backoffMs: config.claims.backoffMs,
      maxBackoffMs: config.claims.maxBackoffMs,
      log,
      metrics,
      ...(deps.checkpoint ? { checkpoint: deps.checkpoint } : {}),
    });

    let stopping = false;
    let joinedAt: number | undefined;
    let lastChainOk = 0;
    let chainError: string | undefined;

    // Each new head wakes the chain loop (polling continues regardless).
    const unsubscribeHeads = heads?.onHead(() => chainWake.wake());
    if (unsubscribeHeads) cleanup.push(unsubscribeHeads);

    let resolveJoined!: () => void;
    const joined = new Promise<void>((r) => (resolveJoined = r));

    const chainLoop = (async () => {
      // Registration first (claims revert until the provider is joined); the logs are followed meanwhile.
      const registered = (async () => {
        for (let delay = 1000; !stopping; delay = Math.min(delay * 2, 60_000)) {
          try {
            const reg = await ensureRegistered({
              ctx,
              provider,
              pipeline,
              backend,
              partition: config.slurm.partition,
              prices: { cpuPricePerMin: config.provider.prices.cpuPerMin, memPricePerMin: config.provider.prices.memPerMin, gpuPricePerMin: config.provider.prices.gpuPerMin },
              labels: async () => [...Object.entries(config.provider.labels).map(([k, v]) => ({ key: k, value: v })), ...(await extraLabels())],
              approvalPollMs: config.provider.approvalPollMs,
              log,
              metrics,
              stopped: () => stopping,
              sleep: (ms) => regWake.wait(ms),
            });
            if (reg) {
              joinedAt = Date.now();
              log.info({ provider, partition: config.slurm.partition }, 'supervisor: provider approved; claiming jobs');
              resolveJoined();
            }
            return;
          } catch (err) {
            log.error({ err: shortError(err), retryInMs: delay }, 'supervisor: registration failed; retrying');
            await regWake.wait(delay);
          }
        }
      })();
      while (!stopping) {
        try {
          const before = follower.cursor();
          const n = await follower.catchUp();
          if (n > 0) runWake.wake();
          heads?.check(follower.cursor() !== before);
          if (joinedAt !== undefined) await claimer.round();
          lastChainOk = Date.now();
          chainError = undefined;
        } catch (err) {
          chainError = shortError(err);
          log.warn({ err: chainError }, 'supervisor: chain round failed; retrying');
        }
        await chainWake.wait(config.claims.pollMs);
      }
      await registered;
    })();

    const runLoop = (async () => {
      while (!stopping) {
        try {
          runner.start(() => runWake.wake());
        } catch (err) {
          log.error({ err: shortError(err) }, 'supervisor: runner error');
        }
        await runWake.wait(config.claims.pollMs);
      }
      await runner.settled();
    })();

    const actionLoop = (async () => {
      let lastFlagged = 0;
      while (!stopping) {
        try {
          await actions.round(Date.now(), () => stopping);
          if (Date.now() - lastFlagged > 5000) {
            lastFlagged = Date.now();
            await actions.cancelFlagged(() => stopping);
          }
        } catch (err) {
          log.error({ err: shortError(err) }, 'supervisor: action round error');
        }
        await stopWake.wait(Math.min(config.claims.pollMs, 500));
      }
    })();

    cleanup.push(async () => {
      stopping = true;
      stopWake.wake();
      regWake.wake();
      benchAbort.abort();
      runner.stop();
      chainWake.wake();
      runWake.wake();
      await Promise.all([chainLoop, runLoop, actionLoop]);
    });

    const health = async (): Promise<Health> => {
      const r = await reporter.health();
      const stale = claimer.staleHead();
      const stuck = claims.stuckCancellations(CANCEL_ESCALATE_AFTER);
      const problems = [
        ...(r.ok ? [] : [String(r.error)]),
        ...(joinedAt === undefined ? ['provider not approved yet'] : []),
        ...(chainError ? [`claims: ${chainError}`] : []),
        ...(stale ? [`stale claimable queue head since ${new Date(stale.since).toISOString()}`] : []),
        ...(stuck ? [`${stuck} customer cancellation(s) not applied after ${CANCEL_ESCALATE_AFTER}+ attempts: their SLURM jobs keep running (see the log; scancel by hand if needed)`] : []),
      ];
      return {
        ...r,
        ok: problems.length === 0,
        ...(problems.length ? { error: problems.join('; ') } : {}),
        claims: claims.counts(),
        actions: claims.actionCounts(),
        lastChainRoundMsAgo: lastChainOk ? Date.now() - lastChainOk : null,
      };
    };
    const ops = config.metricsListen ? await serveOps({ registry, host: config.metricsListen.host, port: config.metricsListen.port, health }) : undefined;
    if (ops) cleanup.push(() => ops.close());

    log.info({ provider, backend: backend.kind, partition: config.slurm.partition, sbatch: config.sbatch.endpoint, users: users.kind, ingest: reporter.ingest.url, ops: ops?.url }, 'supervisor: running');
    let stopped: Promise<void> | undefined;
    return {
      reporter,
      claims,
      backend,
      provider,
      ops,
      joined,
      health,
      stop: () => (stopped ??= unwind().then(() => log.info('supervisor: stopped'))),
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

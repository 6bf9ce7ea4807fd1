// reporter-root.ts - `gridlink reporter run` (the reporter alone, without a
// supervisor) as a process: its composition root. It loads the provider key,
// takes the store directory and opens the state database, subscribes to new
// heads, opens the transaction pipeline, and hands them to the reporter's
// parts (src/reporter/service.ts); stop() stops the parts, then closes what
// it opened, in reverse order. The supervisor's root is
// supervisor-root.ts.
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';

import { HeadSubscription, type NewHeads } from '../chain/heads.js';
import type { ChainReporterConfig } from '../reporter/config.js';
import type { IngestConfig } from '../reporter/ingest/config.js';
import { loadProviderAccount, type ProviderAccount } from '../reporter/provider-account.js';
import { startReporterService, type Reporter } from '../reporter/service.js';
import type { SlurmJobSource } from '../slurm/jobs.js';
import { ProviderChainConnection } from './provider-chain.js';
import { openStateStore } from './state-store.js';

export interface StartReporterDeps {
  logger?: Logger;
  registry?: Registry;
  env?: NodeJS.ProcessEnv;
  /** The provider's account (closed by the caller); default: loaded from `config`, closed by stop(). */
  account?: ProviderAccount;
  /** Where reconciliation reads slurmctld's jobs (default: scontrol on this host). */
  slurmJobs?: SlurmJobSource;
  /** A new-head subscription to use (not closed by stop()); default: one on `wsUrl` when set, closed by stop(). */
  heads?: NewHeads;
}

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
  const cleanup: Array<() => Promise<void> | void> = [];
  const unwind = async () => {
    for (const f of cleanup.reverse()) await f();
  };
  try {
    const state = openStateStore(ingestConfig.storeDir, 'reporter store');
    cleanup.push(() => state.close());
    if (!deps.account) cleanup.push(() => key.close());
    // One new-head subscription per process: the caller's, or this reporter's own.
    let heads = deps.heads;
    if (!heads && config.wsUrl) {
      const own = new HeadSubscription(config.wsUrl, log);
      own.start();
      cleanup.push(() => own.close());
      heads = own;
    }
    const chain = new ProviderChainConnection({ db: state.db, config, key, heads, log, registry });
    cleanup.push(() => chain.close());
    const reporter = await startReporterService(ingestConfig, config, {
      db: state.db,
      chain,
      provider: key.account.address,
      logger: log,
      registry,
      ...(deps.slurmJobs ? { slurmJobs: deps.slurmJobs } : {}),
    });
    cleanup.push(() => reporter.stop());
    let stopped: Promise<void> | undefined;
    return { ...reporter, stop: () => (stopped ??= unwind()) };
  } catch (err) {
    await unwind();
    throw err;
  }
}

// reporter-run.ts - `gridlink reporter run`: the ingest endpoint and the chain
// reporter in one process (the only one holding the provider key): events in,
// statuses and billed minutes on chain, exactly once.
import { readFileSync } from 'node:fs';

import { Command, Option } from 'commander';
import { pino } from 'pino';

import { parseChainReporterConfig, type ChainReporterConfigInput } from '../reporter/config.js';
import { resolveIngestConfig } from '../reporter/ingest/config.js';
import { PROVIDER_KEY_ENV } from '../reporter/provider-key.js';
import { startReporter } from '../compose/reporter-root.js';
import { nonNegative } from './parse.js';
import { addIngestOptions, ingestInput, parseListen, untilSignal, type IngestOpts } from './ingest-options.js';


interface RunOpts extends IngestOpts {
  config?: string;
  rpcUrl?: string;
  wsUrl?: string;
  chainId?: number;
  metaScheduler?: string;
  keyFile?: string;
  confirmations?: number;
  replaceAfterBlocks?: number;
  maxFeeGwei?: string;
  priorityFeeGwei?: string;
  gasMargin?: number;
  pollMs?: number;
  maxInFlight?: number;
  reconcileIntervalMs?: number;
  lostGraceMs?: number;
  reconcileSlurm: boolean;
  slurmConf?: string;
  metricsListen?: { host: string; port: number };
  eventRetentionDays?: number;
}

/** The config file (JSON, the chain reporter's schema) with the flags given on the command line on top. */
export function chainConfigInput(o: RunOpts): ChainReporterConfigInput {
  let file: Record<string, unknown> = {};
  if (o.config) {
    try {
      file = JSON.parse(readFileSync(o.config, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`cannot read the reporter configuration ${o.config}: ${(err as Error).message}`);
    }
  }
  const pick = <T>(v: T | undefined, key: string) => (v === undefined ? {} : { [key]: v });
  const reconcile = {
    ...((file.reconcile as object | undefined) ?? {}),
    ...pick(o.reconcileIntervalMs, 'intervalMs'),
    ...pick(o.lostGraceMs, 'lostGraceMs'),
    ...(o.reconcileSlurm ? {} : { slurm: false }),
    ...pick(o.slurmConf, 'slurmConf'),
  };
  return {
    ...file,
    ...pick(o.rpcUrl, 'rpcUrl'),
    ...pick(o.wsUrl, 'wsUrl'),
    ...pick(o.chainId, 'chainId'),
    ...pick(o.metaScheduler, 'metaScheduler'),
    ...pick(o.keyFile, 'keyFile'),
    ...pick(o.confirmations, 'confirmations'),
    ...pick(o.replaceAfterBlocks, 'replaceAfterBlocks'),
    ...pick(o.maxFeeGwei, 'maxFeePerGasGwei'),
    ...pick(o.priorityFeeGwei, 'priorityFeeGwei'),
    ...pick(o.gasMargin, 'gasMargin'),
    ...pick(o.pollMs, 'pollMs'),
    ...pick(o.maxInFlight, 'maxInFlight'),
    ...pick(o.metricsListen, 'metricsListen'),
    ...pick(o.eventRetentionDays, 'eventRetentionDays'),
    reconcile,
  } as ChainReporterConfigInput;
}

export function reporterRunCommand(): Command {
  const cmd = new Command('run').description(
    'run the ingest endpoint and the chain reporter together until SIGTERM or SIGINT: stored job events become Meta-Scheduler ' +
      'statuses and billed minutes for the jobs in the job map, signed with the provider key and sent exactly once through one ' +
      `pipelined transaction manager (nonces, fee bumps, re-sends, confirmations, reorgs). The key comes from --key-file or $${PROVIDER_KEY_ENV}. ` +
      'Logs are JSON lines on stdout.',
  );
  addIngestOptions(cmd);
  cmd
    .option('--config <file>', 'JSON file with the chain options below (camelCase keys, e.g. {"rpcUrl":..,"reconcile":{"intervalMs":..}}); flags override it')
    .option('--rpc-url <url>', 'chain JSON-RPC over HTTP(S)')
    .option('--ws-url <url>', 'chain JSON-RPC over WebSocket (new-head subscriptions)')
    .option('--chain-id <id>', 'expected chain id; start-up stops when the RPC serves another', nonNegative('--chain-id'))
    .option('--meta-scheduler <address>', 'MetaScheduler contract address')
    .option('--key-file <file>', `provider private key file: 64 hex digits, mode 0600, owned by the running user (else $${PROVIDER_KEY_ENV})`)
    .option('--confirmations <n>', 'a report counts as done at this depth (default 3; 1 = mined)', nonNegative('--confirmations'))
    .option('--replace-after-blocks <n>', 'a transaction unmined after this many blocks is re-sent with bumped fees (default 3)', nonNegative('--replace-after-blocks'))
    .option('--max-fee-gwei <gwei>', 'cap on maxFeePerGas; never paid above (default 500)')
    .option('--priority-fee-gwei <gwei>', "maxPriorityFeePerGas (default: the node's eth_maxPriorityFeePerGas)")
    .option('--gas-margin <x>', 'gas limit = estimate x (1 + this) (default 0.2)', nonNegative('--gas-margin', false))
    .option('--poll-ms <ms>', 'new-block polling interval (default 500)', nonNegative('--poll-ms'))
    .option('--max-in-flight <n>', 'no new report is signed while this many transactions are unconfirmed (default 2000)', nonNegative('--max-in-flight'))
    .option('--reconcile-interval-ms <ms>', 'period of reconciliation against the chain and slurmctld (default 60000)', nonNegative('--reconcile-interval-ms'))
    .option('--lost-grace-ms <ms>', 'a submitted job unknown to slurmctld for this long, with no completion, is reported FAILED as lost (default 600000)', nonNegative('--lost-grace-ms'))
    .option('--no-reconcile-slurm', 'reconcile against the chain only (no scontrol on this host)')
    .option('--slurm-conf <file>', 'slurm.conf for scontrol (default: $SLURM_CONF or SLURM\'s default)')
    .option('--event-retention-days <days>', 'derived events are deleted after this many days (default 14)', nonNegative('--event-retention-days', false))
    .addOption(new Option('--metrics-listen <host:port>', 'serve /metrics and /healthz (fails when the chain or the store is unreachable) here').argParser(parseListen))
    .action(async (o: RunOpts) => {
      const logger = pino({ name: 'gridlink-reporter', level: o.logLevel });
      const ingest = resolveIngestConfig(ingestInput(o));
      const chain = parseChainReporterConfig(chainConfigInput(o));
      const reporter = await startReporter(ingest, chain, { logger });
      await untilSignal(logger, 'reporter', () => reporter.stop());
    });
  return cmd;
}

// ingest-options.ts - the ingest endpoint's command-line options, shared by
// `gridlink reporter ingest` and `gridlink reporter run`, and the wait for
// SIGTERM/SIGINT both end with.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';

import { MAX_BATCH_BYTES } from '../relay/protocol.js';
import { DEFAULT_INGEST_HOST, DEFAULT_INGEST_PORT, DEFAULT_SLURM_USER, type IngestConfigInput } from '../reporter/ingest/config.js';

export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, [IPv6]:PORT or PORT');
  return { host: m[1] || m[2] || DEFAULT_INGEST_HOST, port };
}

function parseUid(v: string, prev: number[] = []): number[] {
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff) throw new InvalidArgumentError('expected a numeric uid');
  return [...prev, Number(v)];
}

function parseHmacKey(v: string, prev: Array<{ keyId: string; keyFile: string }> = []): Array<{ keyId: string; keyFile: string }> {
  const i = v.indexOf('=');
  if (i <= 0 || i === v.length - 1) throw new InvalidArgumentError('expected KEYID=FILE');
  return [...prev, { keyId: v.slice(0, i), keyFile: v.slice(i + 1) }];
}

function positiveInt(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a positive integer');
  return Number(v);
}

export interface IngestOpts {
  listen: { host: string; port: number };
  store: string;
  allowUid?: number[];
  slurmUser?: string;
  hmacKey?: Array<{ keyId: string; keyFile: string }>;
  munge: boolean;
  mungeSocket?: string;
  maxBodyBytes?: number;
  logLevel: string;
}

export function addIngestOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--store <dir>', 'state directory: DIR/gridlink.db holds the events, HMAC nonces and (for `run`) the job map, reports and transactions (created if missing; one reporter per directory)')
    .addOption(
      new Option('--listen <host:port>', 'ingest address (HOST:PORT, [IPv6]:PORT or PORT; port 0 picks a free one)')
        .argParser(parseListen)
        .default({ host: DEFAULT_INGEST_HOST, port: DEFAULT_INGEST_PORT }, `${DEFAULT_INGEST_HOST}:${DEFAULT_INGEST_PORT}`),
    )
    .option('--allow-uid <uid>', 'also accept munge credentials of this uid (repeatable; 0 and SlurmUser are always accepted)', parseUid)
    .option('--slurm-user <name>', `SlurmUser of slurm.conf, name or uid (default "${DEFAULT_SLURM_USER}" if that user exists)`)
    .option(
      '--hmac-key <id=file>',
      'accept hmac-sha256 requests signed with the key in FILE under key id ID (repeatable); FILE: regular, mode 0600/0400, owned by root or you; at least 32 bytes, trailing whitespace ignored',
      parseHmacKey,
    )
    .option('--no-munge', "do not accept munge credentials (the reporter is outside the cluster's munge realm; needs --hmac-key)")
    .option('--munge-socket <path>', "munged socket (default: libmunge's, /run/munge/munge.socket.2)")
    .option('--max-body-bytes <n>', `largest batch body accepted; larger gets 413 (default and maximum ${MAX_BATCH_BYTES})`, positiveInt)
    .option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug', 'info');
}

export function ingestInput(opts: IngestOpts): IngestConfigInput {
  return {
    listen: opts.listen,
    storeDir: opts.store,
    ...(opts.slurmUser !== undefined ? { slurmUser: opts.slurmUser } : {}),
    allowedUids: opts.allowUid ?? [],
    munge: opts.munge ? { ...(opts.mungeSocket ? { socket: opts.mungeSocket } : {}) } : false,
    hmacKeys: opts.hmacKey ?? [],
    ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
  };
}

/** Resolves once SIGTERM or SIGINT arrived and `stop` finished (exit code 1 if it failed). */
export function untilSignal(logger: Logger, what: string, stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      logger.info({ signal: sig }, `${what}: shutting down`);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      stop().then(resolve, (err: unknown) => {
        logger.error({ err }, `${what}: unclean shutdown`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

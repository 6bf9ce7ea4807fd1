// reporter.ts - `gridlink reporter ingest`: run the reporter's ingest endpoint
// until SIGTERM/SIGINT.
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';

import { HMAC_MAX_SKEW_S, INGEST_PATH, MAX_BATCH_BYTES } from '../relay/protocol.js';
import { DEFAULT_INGEST_HOST, DEFAULT_INGEST_PORT, DEFAULT_SLURM_USER, resolveIngestConfig } from '../reporter/ingest/config.js';
import { startIngestServer } from '../reporter/ingest/server.js';

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

interface IngestOpts {
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

export function reporterCommand(): Command {
  const reporter = new Command('reporter').description('the reporter: receives job events from relays, verifies, deduplicates and stores them');

  reporter
    .command('ingest')
    .description(
      `run the ingest endpoint (POST ${INGEST_PATH}, GET /healthz) until SIGTERM or SIGINT.\n` +
        'Each batch must carry X-Gridlink-Auth: a munge credential of the body digest made by uid 0 or SlurmUser, ' +
        `or an HMAC signed with a configured key (timestamp within ${HMAC_MAX_SKEW_S} s, nonce used once). ` +
        'Accepted records are committed to the SQLite state database DIR/gridlink.db (one transaction per batch, synchronous=FULL) before the answer; ' +
        '(spool id, seq) duplicates are stored once; HMAC nonces of the replay window are kept in the same database. ' +
        'Logs are JSON lines on stdout.',
    )
    .requiredOption('--store <dir>', 'state directory: DIR/gridlink.db holds the events and HMAC nonces (created if missing; one reporter per directory)')
    .addOption(
      new Option('--listen <host:port>', 'address to listen on (HOST:PORT, [IPv6]:PORT or PORT; port 0 picks a free one)')
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
    .option('--no-munge', 'do not accept munge credentials (the reporter is outside the cluster\'s munge realm; needs --hmac-key)')
    .option('--munge-socket <path>', 'munged socket (default: libmunge\'s, /run/munge/munge.socket.2)')
    .option('--max-body-bytes <n>', `largest batch body accepted; larger gets 413 (default and maximum ${MAX_BATCH_BYTES})`, positiveInt)
    .option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug', 'info')
    .action(async (opts: IngestOpts) => {
      const logger = pino({ name: 'gridlink-ingest', level: opts.logLevel });
      const config = resolveIngestConfig({
        listen: opts.listen,
        storeDir: opts.store,
        ...(opts.slurmUser !== undefined ? { slurmUser: opts.slurmUser } : {}),
        allowedUids: opts.allowUid ?? [],
        munge: opts.munge ? { ...(opts.mungeSocket ? { socket: opts.mungeSocket } : {}) } : false,
        hmacKeys: opts.hmacKey ?? [],
        ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
      });
      const server = await startIngestServer(config, { logger });
      await new Promise<void>((resolve) => {
        const onSignal = (sig: NodeJS.Signals): void => {
          logger.info({ signal: sig }, 'ingest: shutting down');
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          server.stop().then(resolve, (err: unknown) => {
            logger.error({ err }, 'ingest: unclean shutdown');
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
    });

  return reporter;
}

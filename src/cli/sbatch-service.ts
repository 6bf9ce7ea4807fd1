// sbatch-service.ts - `gridlink sbatch-service`: gridlink's sbatch service
// (job scripts for the devnet and tests; the grid runs its own). Each option
// falls back to an environment variable, then to a default; the merged
// settings are validated with zod before anything starts. Runs until
// SIGTERM/SIGINT. Scripts live in memory only: a restart forgets them.
import { Command } from 'commander';
import { pino } from 'pino';
import { isAddress, type Address } from 'viem';
import { z } from 'zod';

import { DEFAULT_CHALLENGE_TTL_MS, DEFAULT_KEY_TTL_MS, DEFAULT_MAX_SCRIPT_BYTES, startSbatchService, type SbatchServiceOptions } from '../sbatch/server.js';
import { formatZodIssues } from '../util/zod-issues.js';
import { untilSignal } from './ingest-options.js';

export const DEFAULT_SBATCH_LISTEN = '127.0.0.1:7392';

/** Flag -> environment variable used when the flag is absent. */
export const SBATCH_SERVICE_ENV = {
  listen: 'GRIDLINK_SBATCH_LISTEN',
  rpcUrl: 'GRIDLINK_RPC_URL',
  metaScheduler: 'GRIDLINK_META_SCHEDULER',
  tlsCert: 'GRIDLINK_SBATCH_TLS_CERT',
  tlsKey: 'GRIDLINK_SBATCH_TLS_KEY',
  challengeTtl: 'GRIDLINK_SBATCH_CHALLENGE_TTL',
  keyTtl: 'GRIDLINK_SBATCH_KEY_TTL',
  maxScriptBytes: 'GRIDLINK_SBATCH_MAX_SCRIPT_BYTES',
} as const;

export type SbatchServiceFlags = Partial<Record<keyof typeof SBATCH_SERVICE_ENV, string>> & { logLevel?: string };

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "1500ms", "90s", "10m", "24h", "1d"; a bare number is seconds. */
export function parseDurationMs(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
  return ms > 0 && Number.isFinite(ms) ? Math.round(ms) : undefined;
}

const duration = (what: string) =>
  z.string().transform((v, ctx) => {
    const ms = parseDurationMs(v);
    if (ms === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${what} must be a positive duration such as 90s, 10m, 24h or 1500ms (a bare number is seconds), got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return ms;
  });

const schema = z
  .object({
    listen: z.string().transform((v, ctx) => {
      const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(v);
      const port = m ? Number(m[3]) : NaN;
      if (!m || port > 65535) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected HOST:PORT or [IPv6]:PORT (port 0 = any free port), got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return { host: (m[1] ?? m[2])!, port };
    }),
    rpcUrl: z.string({ required_error: `required: pass --rpc-url or set ${SBATCH_SERVICE_ENV.rpcUrl}` }).url('must be an http(s) URL').refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL'),
    metaScheduler: z
      .string({ required_error: `required: pass --meta-scheduler or set ${SBATCH_SERVICE_ENV.metaScheduler}` })
      .refine((a) => isAddress(a, { strict: false }), 'must be a 0x-prefixed 20-byte address')
      .transform((a) => a as Address),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    challengeTtl: duration('the challenge TTL').optional(),
    keyTtl: duration('the key TTL').optional(),
    maxScriptBytes: z.coerce.number().int().positive().optional(),
  })
  .refine((c) => (c.tlsCert === undefined) === (c.tlsKey === undefined), { message: 'give both --tls-cert and --tls-key, or neither (plaintext)', path: ['tlsCert'] });

/** Flags, then environment, then defaults; throws one line naming every problem. */
export function resolveSbatchServiceConfig(flags: SbatchServiceFlags, env: NodeJS.ProcessEnv = process.env): Omit<SbatchServiceOptions, 'logger'> {
  const raw: Record<string, string | undefined> = {};
  for (const [k, name] of Object.entries(SBATCH_SERVICE_ENV)) raw[k] = flags[k as keyof typeof SBATCH_SERVICE_ENV] ?? (env[name] || undefined);
  raw.listen ??= DEFAULT_SBATCH_LISTEN;
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(`sbatch-service: ${formatZodIssues(r.error.issues)}`);
  const c = r.data;
  return {
    host: c.listen.host,
    port: c.listen.port,
    rpcUrl: c.rpcUrl,
    metaScheduler: c.metaScheduler,
    tls: c.tlsCert && c.tlsKey ? { certFile: c.tlsCert, keyFile: c.tlsKey } : undefined,
    challengeTtlMs: c.challengeTtl ?? DEFAULT_CHALLENGE_TTL_MS,
    keyTtlMs: c.keyTtl ?? DEFAULT_KEY_TTL_MS,
    maxScriptBytes: c.maxScriptBytes ?? DEFAULT_MAX_SCRIPT_BYTES,
  };
}

const isLoopback = (h: string) => h === 'localhost' || h === '::1' || h.startsWith('127.');

export function sbatchServiceCommand(): Command {
  const e = SBATCH_SERVICE_ENV;
  return new Command('sbatch-service')
    .description(
      "serve job scripts over gRPC (sbatchapi.v1alpha1 AuthAPI/Challenge, SBatchAPI/GetSBatch, and gridlink's SubmitSBatch upload) for a devnet or tests; " +
        "GetSBatch answers only a job's provider (signed single-use challenge, job read from the chain). Scripts are kept in memory until they expire. Runs until SIGTERM/SIGINT; logs are JSON lines on stdout",
    )
    .option('--listen <host:port>', `address to serve on, port 0 = any free port (default ${DEFAULT_SBATCH_LISTEN}; env ${e.listen})`)
    .option('--rpc-url <url>', `chain JSON-RPC over HTTP(S), to read jobs (env ${e.rpcUrl})`)
    .option('--meta-scheduler <address>', `MetaScheduler contract address (env ${e.metaScheduler})`)
    .option('--tls-cert <file>', `PEM certificate chain; serve TLS with --tls-key (env ${e.tlsCert})`)
    .option('--tls-key <file>', `PEM private key of --tls-cert (env ${e.tlsKey})`)
    .option('--challenge-ttl <duration>', `how long a login challenge can be used once, e.g. 10m (default 10m; env ${e.challengeTtl})`)
    .option('--key-ttl <duration>', `how long an uploaded script is kept, e.g. 24h (default 24h; env ${e.keyTtl})`)
    .option('--max-script-bytes <n>', `largest script accepted at upload (default ${DEFAULT_MAX_SCRIPT_BYTES}; env ${e.maxScriptBytes})`)
    .option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug', 'info')
    .action(async (flags: SbatchServiceFlags) => {
      const config = resolveSbatchServiceConfig(flags);
      const logger = pino({ name: 'gridlink-sbatch-service', level: flags.logLevel ?? 'info' });
      if (!config.tls && !isLoopback(config.host ?? '')) {
        logger.warn({ host: config.host }, 'serving plaintext on a non-loopback address: scripts and signatures travel unencrypted; give --tls-cert and --tls-key');
      }
      const service = await startSbatchService({ ...config, logger });
      await untilSignal(logger, 'sbatch-service', () => service.stop());
    });
}

// config.ts - the relay's configuration: one zod schema, three sources
// (CLI flags, a JSON file, the key=value list the SLURM plugins pass).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';

import { z } from 'zod';

import { HMAC_KEY_ID_RE, MAX_BATCH_BYTES, hmacKeyFromFile } from './protocol.js';
import { DEFAULT_USERS_DB_PATH } from '../userdb/format.js';
import { readSecretFile } from '../util/secret-file.js';

const positiveInt = z.number().int().positive();

export const authConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('munge'), socket: z.string().min(1).optional() }).strict(),
  z
    .object({
      kind: z.literal('hmac'),
      keyFile: z.string().min(1),
      keyId: z.string().regex(HMAC_KEY_ID_RE, 'keyId: 1-64 characters of A-Z a-z 0-9 . _ -'),
    })
    .strict(),
]);
export type AuthConfig = z.infer<typeof authConfigSchema>;

export const relayConfigSchema = z
  .object({
    spoolDir: z.string().min(1),
    daemon: z.enum(['slurmctld', 'slurmd']).default('slurmd'),
    host: z.string().min(1).max(255).default(() => hostname()),
    reporterUrl: z
      .string()
      .url()
      .refine((u) => /^https?:$/.test(new URL(u).protocol), 'reporterUrl must be an http:// or https:// URL'),
    auth: authConfigSchema.default({ kind: 'munge' }),
    // 2000 (was 500): a quarter of the commits, acks and credentials per record; measured with pipelining,
    // 1.1-1.6x the drain rate of 500 (100,000 records, bench/relay.ts's drain, this 2-core machine under load).
    batchMaxRecords: positiveInt.max(10_000).default(2000),
    batchMaxBytes: positiveInt.min(64 * 1024).max(MAX_BATCH_BYTES).default(1024 * 1024),
    /** Batches sent before the first one's answer (HTTP/1.1 pipelining); 1 waits for each answer before sending the next. */
    batchesInFlight: positiveInt.max(16).default(4),
    pollIntervalMs: positiveInt.default(1000),
    backoff: z
      .object({
        initialMs: positiveInt.default(200),
        maxMs: positiveInt.default(30_000),
        factor: z.number().min(1).default(2),
      })
      .strict()
      .default({}),
    quarantineFile: z.string().min(1).optional(),
    hooks: z
      .object({
        module: z.string().refine(isAbsolute, 'hooks.module must be an absolute path'),
        timeoutMs: positiveInt.default(2000),
        queueMax: positiveInt.default(10_000),
      })
      .strict()
      .optional(),
    requestTimeoutMs: positiveInt.default(30_000),
    /** users.resolver "gridlink": pull the users database from the supervisor (src/userdb/sync-pull.ts), authenticated as the events are (auth: munge or HMAC). */
    users: z
      .object({
        url: z
          .string()
          .url()
          .refine((u) => /^https?:$/.test(new URL(u).protocol), 'users url must be an http:// or https:// URL'),
        path: z.string().refine(isAbsolute, 'the users database path must be absolute').default(DEFAULT_USERS_DB_PATH),
        intervalMs: positiveInt.default(2000),
      })
      .strict()
      .optional(),
    /** undici (default), or Node's http/https: ~11 MB less RSS, the embedded runtime's default. */
    httpClient: z.enum(['undici', 'node']).default('undici'),
  })
  .strict()
  .transform((c) => ({ ...c, quarantineFile: c.quarantineFile ?? join(c.spoolDir, 'quarantine.jsonl') }));

export type RelayConfig = z.output<typeof relayConfigSchema>;
export type RelayConfigInput = z.input<typeof relayConfigSchema>;

/** Validates raw input; throws one Error listing every problem by field. */
export function parseRelayConfig(input: unknown): RelayConfig {
  const r = relayConfigSchema.safeParse(input);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new Error(`invalid relay configuration:\n${lines.join('\n')}`);
  }
  if (r.data.backoff.maxMs < r.data.backoff.initialMs)
    throw new Error('invalid relay configuration:\n  backoff.maxMs: must be >= backoff.initialMs');
  if (r.data.auth.kind === 'hmac') loadHmacKey(r.data.auth.keyFile); // refuse a readable key now, not at the first POST
  return r.data;
}

/**
 * Reads the HMAC key file, refusing one that is not a regular file, that
 * group or others may read or write, or that someone else owns.
 */
export function loadHmacKey(file: string): Buffer {
  const me = process.getuid?.() ?? 0;
  return hmacKeyFromFile(readSecretFile(file, { what: 'HMAC key file', owners: me === 0 ? [0] : [0, me], modes: [0o600, 0o400] }));
}

/** JSON config file (same field names as RelayConfigInput). */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read relay config ${file}: ${(err as Error).message}`);
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('top level is not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new Error(`relay config ${file} is not a JSON object: ${(err as Error).message}`);
  }
}

/** Deep merge for plain objects: later sources win, undefined never overrides. */
export function mergeConfig(...sources: Array<Record<string, unknown> | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const src of sources) {
    if (!src) continue;
    for (const [k, v] of Object.entries(src)) {
      if (v === undefined) continue;
      const cur = out[k];
      if (isPlain(v) && isPlain(cur)) out[k] = mergeConfig(cur, v);
      else out[k] = v;
    }
  }
  return out;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keys of the key=value form, with the config field each one sets. */
const KV_KEYS: Record<string, (out: KvOut, v: string) => void> = {
  spool: (o, v) => (o.spoolDir = v),
  daemon: (o, v) => (o.daemon = v),
  host: (o, v) => (o.host = v),
  reporter: (o, v) => (o.reporterUrl = v),
  auth: (o, v) => (o.authKind = v),
  munge_socket: (o, v) => (o.mungeSocket = v),
  hmac_key_file: (o, v) => (o.hmacKeyFile = v),
  hmac_key_id: (o, v) => (o.hmacKeyId = v),
  batch_max_records: (o, v) => (o.batchMaxRecords = num('batch_max_records', v)),
  batch_max_bytes: (o, v) => (o.batchMaxBytes = num('batch_max_bytes', v)),
  batches_in_flight: (o, v) => (o.batchesInFlight = num('batches_in_flight', v)),
  poll_ms: (o, v) => (o.pollIntervalMs = num('poll_ms', v)),
  backoff_initial_ms: (o, v) => ((o.backoff ??= {}).initialMs = num('backoff_initial_ms', v)),
  backoff_max_ms: (o, v) => ((o.backoff ??= {}).maxMs = num('backoff_max_ms', v)),
  backoff_factor: (o, v) => ((o.backoff ??= {}).factor = num('backoff_factor', v)),
  quarantine: (o, v) => (o.quarantineFile = v),
  hooks: (o, v) => (o.hooksModule = v),
  hook_timeout_ms: (o, v) => (o.hookTimeoutMs = num('hook_timeout_ms', v)),
  request_timeout_ms: (o, v) => (o.requestTimeoutMs = num('request_timeout_ms', v)),
  http_client: (o, v) => (o.httpClient = v),
  users_url: (o, v) => (o.usersUrl = v),
  users_db: (o, v) => (o.usersDb = v),
  users_poll_ms: (o, v) => (o.usersPollMs = num('users_poll_ms', v)),
  config: (o, v) => (o.configFile = v),
  log: (o, v) => (o.logFile = v),
  log_level: (o, v) => (o.logLevel = v),
};
export const RELAY_OPTION_KEYS = Object.keys(KV_KEYS);

type KvOut = FlatRelayOptions & RelayRuntimeOptions;

function num(key: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`relay option ${key}=${v}: not a number`);
  return n;
}

/** Options outside the relay config proper (where the embedded runtime logs). */
export interface RelayRuntimeOptions {
  logFile?: string;
  logLevel?: string;
}

/** The flat fields a CLI or the key=value list give, turned into config input. */
export interface FlatRelayOptions {
  spoolDir?: string;
  daemon?: string;
  host?: string;
  reporterUrl?: string;
  authKind?: string;
  mungeSocket?: string;
  hmacKeyFile?: string;
  hmacKeyId?: string;
  batchMaxRecords?: number;
  batchMaxBytes?: number;
  batchesInFlight?: number;
  pollIntervalMs?: number;
  backoff?: { initialMs?: number; maxMs?: number; factor?: number };
  quarantineFile?: string;
  hooksModule?: string;
  hookTimeoutMs?: number;
  requestTimeoutMs?: number;
  httpClient?: string;
  usersUrl?: string;
  usersDb?: string;
  usersPollMs?: number;
  configFile?: string;
}

/** Flat options over an optional JSON config file: flags win field by field. */
export function configFromFlat(flat: FlatRelayOptions): RelayConfig {
  const file = flat.configFile ? readConfigFile(flat.configFile) : undefined;
  const fileAuth = isPlain(file?.auth) ? file.auth : undefined;
  const authKind = flat.authKind ?? (fileAuth?.kind as string | undefined) ?? (flat.hmacKeyFile ? 'hmac' : 'munge');
  let auth: Record<string, unknown> | undefined;
  if (authKind === 'munge')
    auth = { kind: 'munge', socket: flat.mungeSocket ?? (fileAuth?.kind === 'munge' ? fileAuth.socket : undefined) };
  else if (authKind === 'hmac') {
    const f = fileAuth?.kind === 'hmac' ? fileAuth : {};
    auth = { kind: 'hmac', keyFile: flat.hmacKeyFile ?? f.keyFile, keyId: flat.hmacKeyId ?? f.keyId };
    if (auth.keyFile === undefined || auth.keyId === undefined)
      throw new Error('auth=hmac needs a key file and a key id (--hmac-key-file F --hmac-key-id ID, or hmac_key_file= hmac_key_id=)');
  } else throw new Error(`unknown auth kind "${authKind}": use munge or hmac`);
  if (auth.kind === 'munge' && auth.socket === undefined) delete auth.socket;
  const hooks =
    flat.hooksModule !== undefined || flat.hookTimeoutMs !== undefined ? { module: flat.hooksModule, timeoutMs: flat.hookTimeoutMs } : undefined;
  const merged = mergeConfig(file, {
    spoolDir: flat.spoolDir,
    daemon: flat.daemon,
    host: flat.host,
    reporterUrl: flat.reporterUrl,
    batchMaxRecords: flat.batchMaxRecords,
    batchMaxBytes: flat.batchMaxBytes,
    batchesInFlight: flat.batchesInFlight,
    pollIntervalMs: flat.pollIntervalMs,
    backoff: flat.backoff,
    quarantineFile: flat.quarantineFile,
    hooks,
    requestTimeoutMs: flat.requestTimeoutMs,
    httpClient: flat.httpClient,
    users:
      flat.usersUrl !== undefined || flat.usersDb !== undefined || flat.usersPollMs !== undefined
        ? { url: flat.usersUrl, path: flat.usersDb, intervalMs: flat.usersPollMs }
        : undefined,
  });
  merged.auth = auth;
  return parseRelayConfig(merged);
}

/**
 * The form the SLURM plugins pass, one `key=value` per item, e.g.
 * `spool=/var/spool/gridlink/slurmd reporter=http://sup:8440 auth=munge hooks=/etc/gridlink/hooks.mjs`.
 * Keys: see RELAY_OPTION_KEYS (`-` and `_` are interchangeable). An unknown
 * key is an error, so a misspelt one never goes unnoticed.
 */
export function parseRelayOptions(list: readonly string[]): { config: RelayConfig; runtime: RelayRuntimeOptions } {
  const out: KvOut = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`relay option "${item}" is not key=value (known keys: ${RELAY_OPTION_KEYS.join(', ')})`);
    const key = item.slice(0, eq).trim().toLowerCase().replace(/-/g, '_');
    const set = KV_KEYS[key];
    if (!set) throw new Error(`unknown relay option "${key}" (known keys: ${RELAY_OPTION_KEYS.join(', ')})`);
    set(out, item.slice(eq + 1));
  }
  const { logFile, logLevel, ...flat } = out;
  return { config: configFromFlat(flat), runtime: { logFile, logLevel } };
}

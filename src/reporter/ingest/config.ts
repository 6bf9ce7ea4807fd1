// config.ts - ingest endpoint configuration: the schema operators write, and
// the resolved form the server runs with (uids looked up, keys read).
import { z } from 'zod';

import { MAX_BATCH_BYTES } from '../../relay/protocol.js';
import { formatZodIssues } from '../../util/zod-issues.js';
import { readHmacKeyFile } from './keyfile.js';
import { resolveUid } from './users.js';

export const DEFAULT_INGEST_HOST = '127.0.0.1';
export const DEFAULT_INGEST_PORT = 7390;
export const DEFAULT_SLURM_USER = 'slurm';

/** A key id goes into the auth header between ':' separators. */
export const KEY_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

export const ingestConfigSchema = z
  .object({
    listen: z
      .object({
        host: z
          .string()
          .min(1)
          .default(DEFAULT_INGEST_HOST)
          .describe('Address the ingest binds to; the default loopback is reachable only from this host (0.0.0.0 or :: for all interfaces)'),
        port: z.number().int().min(0).max(65535).default(DEFAULT_INGEST_PORT).describe('TCP port of the ingest (0 picks a free one)'),
      })
      .default({})
      .describe('Where the ingest HTTP endpoint the relays POST job events to (/v1/events) listens'),
    storeDir: z
      .string()
      .min(1)
      .describe('Directory of the state database (gridlink.db: events, HMAC nonces, and for the reporter the job map, reports and transactions) and its lock; created if missing, one process per directory'),
    slurmUser: z
      .union([z.string().min(1), z.number().int().min(0)])
      .optional()
      .describe('SlurmUser of slurm.conf (name or uid) whose munge credentials are accepted besides root\'s; start-up stops if it is unknown; omitted: "slurm" when that user exists, else only root and allowedUids'),
    allowedUids: z
      .array(z.number().int().min(0).max(0xffffffff))
      .default([])
      .describe('More uids whose munge credentials are accepted, in addition to 0 and SlurmUser'),
    munge: z
      .union([
        z.literal(false),
        z.object({ socket: z.string().min(1).optional().describe('Path of munged\'s socket; omitted: libmunge\'s default (usually /run/munge/munge.socket.2)') }),
      ])
      .default({})
      .describe('munge authentication of relays, on by default; false disables it (e.g. outside the cluster\'s munge realm), which needs at least one HMAC key'),
    hmacKeys: z
      .array(
        z
          .object({
            keyId: z
              .string()
              .regex(KEY_ID_RE, 'key id: 1-64 of A-Z a-z 0-9 . _ -')
              .describe('Key id the relay names in its hmac-sha256 auth header: 1-64 of A-Z a-z 0-9 . _ -, unique among the keys'),
            keyFile: z
              .string()
              .min(1)
              .describe('File holding the key, read at start: a regular file, mode 0600 or 0400, owned by root or the running user, at least 32 bytes once trailing whitespace is removed'),
          })
          .describe('One shared key relays may sign requests with'),
      )
      .default([])
      .describe('Shared keys accepted for hmac-sha256 signed requests (the relay holds the same key file); empty: HMAC requests are refused'),
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(MAX_BATCH_BYTES)
      .default(MAX_BATCH_BYTES)
      .describe('Largest request body accepted, in bytes (at most and by default the protocol\'s 4 MiB batch limit); a larger one gets 413, on which the relay halves its batch size'),
    requestTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(60_000)
      .describe('Deadline in ms for a whole request, headers and body (the headers alone get at most 20 s); a slower request is cut off'),
  })
  .strict();

export type IngestConfigInput = z.input<typeof ingestConfigSchema>;

export interface IngestConfig {
  host: string;
  port: number;
  storeDir: string;
  /** Always holds 0. */
  allowedUids: ReadonlySet<number>;
  munge: { socket?: string } | null;
  /** keyId -> key bytes. */
  hmacKeys: ReadonlyMap<string, Buffer>;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** Things the operator should know about (e.g. SlurmUser not found). */
  warnings: string[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Validates, resolves SlurmUser to a uid and reads the HMAC key files. Throws ConfigError with what to fix. */
export function resolveIngestConfig(input: IngestConfigInput): IngestConfig {
  const parsed = ingestConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(`invalid ingest configuration: ${formatZodIssues(parsed.error.issues)}`);
  }
  const c = parsed.data;
  const warnings: string[] = [];
  const uids = new Set<number>([0, ...c.allowedUids]);
  const slurmUser = c.slurmUser ?? DEFAULT_SLURM_USER;
  const uid = resolveUid(slurmUser);
  if (uid === undefined) {
    if (c.slurmUser !== undefined) {
      throw new ConfigError(
        `SlurmUser ${JSON.stringify(c.slurmUser)} is not a known user (getent passwd); give the SlurmUser of slurm.conf, or its uid`,
      );
    }
    warnings.push(`no user "${DEFAULT_SLURM_USER}" on this host: only uid 0${c.allowedUids.length ? ` and ${c.allowedUids.join(', ')}` : ''} may send events (set slurmUser if SlurmUser is another user)`);
  } else uids.add(uid);

  const hmacKeys = new Map<string, Buffer>();
  for (const k of c.hmacKeys) {
    if (hmacKeys.has(k.keyId)) throw new ConfigError(`HMAC key id ${k.keyId} is given twice`);
    try {
      hmacKeys.set(k.keyId, readHmacKeyFile(k.keyFile, k.keyId));
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  const munge = c.munge === false ? null : { ...(c.munge.socket ? { socket: c.munge.socket } : {}) };
  if (!munge && hmacKeys.size === 0) {
    throw new ConfigError('no authentication left: munge is disabled and no HMAC key is configured (add an HMAC key or enable munge)');
  }
  return {
    host: c.listen.host,
    port: c.listen.port,
    storeDir: c.storeDir,
    allowedUids: uids,
    munge,
    hmacKeys,
    maxBodyBytes: c.maxBodyBytes,
    requestTimeoutMs: c.requestTimeoutMs,
    warnings,
  };
}

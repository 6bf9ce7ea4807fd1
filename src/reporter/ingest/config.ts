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
        host: z.string().min(1).default(DEFAULT_INGEST_HOST),
        port: z.number().int().min(0).max(65535).default(DEFAULT_INGEST_PORT),
      })
      .default({}),
    /** Directory of the state database (gridlink.db: events, HMAC nonces) and its lock. */
    storeDir: z.string().min(1),
    /** SlurmUser (name or uid) whose munge credentials are accepted besides root's; default "slurm" when that user exists. */
    slurmUser: z.union([z.string().min(1), z.number().int().min(0)]).optional(),
    /** More uids to accept, in addition to 0 and SlurmUser. */
    allowedUids: z.array(z.number().int().min(0).max(0xffffffff)).default([]),
    /** munge authentication (default on); `false` disables it, e.g. outside the cluster's munge realm. */
    munge: z.union([z.literal(false), z.object({ socket: z.string().min(1).optional() })]).default({}),
    hmacKeys: z
      .array(
        z.object({
          keyId: z.string().regex(KEY_ID_RE, 'key id: 1-64 of A-Z a-z 0-9 . _ -'),
          keyFile: z.string().min(1),
        }),
      )
      .default([]),
    maxBodyBytes: z.number().int().min(1024).max(MAX_BATCH_BYTES).default(MAX_BATCH_BYTES),
    /** Whole-request deadline (headers and body). */
    requestTimeoutMs: z.number().int().min(100).default(60_000),
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

// helpers.ts - batches, auth headers, a server with captured logs, store reads.
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import Database from 'better-sqlite3';
import { pino, type Logger } from 'pino';
import { request } from 'undici';

import { mungeEncode } from '../../src/native/munge.js';
import { STATE_MIGRATIONS } from '../../src/compose/state-schema.js';
import { AUTH_HEADER, INGEST_PATH } from '../../src/relay/protocol.js';
import { wireEvent } from '../helpers/wire-event.js';
import { resolveIngestConfig, type IngestConfigInput } from '../../src/reporter/ingest/config.js';
import { startIngestServer, type IngestServer, type IngestServerDeps } from '../../src/reporter/ingest/server.js';

export function tempDir(prefix = 'gl-ingest-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sha256hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export const newSpoolId = (): string => randomBytes(16).toString('hex');

export { wireEvent };

export function batchBody(spoolId: string, records: unknown[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ version: 1, spoolId, host: 'node1', daemon: 'slurmd', sentAt: Date.now(), records, ...extra }));
}

export async function mungeHeader(body: Buffer): Promise<string> {
  return `munge ${await mungeEncode(sha256hex(body))}`;
}

/** A credential made by another user through the munge CLI (as that user would). */
export function mungeHeaderAs(user: string, body: Buffer): string {
  const cred = execFileSync('runuser', ['-u', user, '--', 'munge', '-s', sha256hex(body)], { encoding: 'utf8' }).trim();
  return `munge ${cred}`;
}

export function hmacHeader(keyId: string, key: Buffer | string, body: Buffer, o: { ts?: number; nonce?: string } = {}): string {
  const ts = o.ts ?? Math.floor(Date.now() / 1000);
  const nonce = o.nonce ?? randomBytes(16).toString('hex');
  const sig = createHmac('sha256', key).update(`${keyId}:${ts}:${nonce}:${sha256hex(body)}`).digest('hex');
  return `hmac-sha256 ${keyId}:${ts}:${nonce}:${sig}`;
}

export interface Posted {
  status: number;
  json: unknown;
}

export async function post(url: string, body: Buffer, auth: string | undefined, headers: Record<string, string> = {}): Promise<Posted> {
  const res = await request(`${url}${INGEST_PATH}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...(auth !== undefined ? { [AUTH_HEADER]: auth } : {}), ...headers },
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.statusCode, json };
}

/** A pino logger whose JSON lines are kept in `lines`. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>>; text: () => string } {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) {
        if (!l) continue;
        raw.push(l);
        lines.push(JSON.parse(l) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, text: () => raw.join('\n') };
}

/**
 * What is in the store directory's database, in store order, read with plain
 * SQL on a connection of its own (not through EventStore): what a reader, or
 * the reporter after a restart, would find.
 */
export function storedRecords(dir: string): Array<Record<string, unknown> & { seq: string; event: Record<string, unknown> }> {
  const db = new Database(join(dir, 'gridlink.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare('SELECT spool_id, CAST(seq AS TEXT) AS seq, host, host_json, daemon, received_at, event FROM events ORDER BY id')
      .all() as Array<{ spool_id: string; seq: string; host: string; host_json: string | null; daemon: string; received_at: number; event: string }>;
    return rows.map((r) => ({
      spoolId: r.spool_id,
      seq: r.seq,
      host: r.host_json === null ? r.host : (JSON.parse(r.host_json) as string),
      daemon: r.daemon,
      receivedAt: r.received_at,
      event: JSON.parse(r.event) as Record<string, unknown>,
    }));
  } finally {
    db.close();
  }
}

/** Number of records in the store directory's database (a connection of its own). */
export function storedCount(dir: string): number {
  const db = new Database(join(dir, 'gridlink.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) FROM events').pluck().get() as number;
  } finally {
    db.close();
  }
}

export interface TestServer {
  server: IngestServer;
  url: string;
  storeDir: string;
  logs: ReturnType<typeof captureLogger>;
  stop: () => Promise<void>;
}

export async function startTestServer(
  storeDir: string,
  input: Partial<IngestConfigInput> = {},
  deps: Omit<IngestServerDeps, 'logger'> = {},
): Promise<TestServer> {
  const logs = captureLogger();
  const config = resolveIngestConfig({ listen: { host: '127.0.0.1', port: 0 }, storeDir, ...input });
  const server = await startIngestServer(config, { logger: logs.logger, migrations: STATE_MIGRATIONS, ...deps });
  return { server, url: server.url, storeDir, logs, stop: () => server.stop(2000) };
}

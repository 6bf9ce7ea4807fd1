// bridge.ts - the whole bridge on a real cluster: plugins -> spools -> relay
// (embedded in slurmctld/slurmd, or standalone `gridlink relay` processes)
// -> the reporter's ingest endpoint (real munge authentication, fsync'd store).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';

import { EventKind, packageRoot } from '../../src/native/index.js';
import { STATE_MIGRATIONS } from '../../src/compose/state-schema.js';
import { resolveIngestConfig, startIngestServer } from '../../src/reporter/ingest/index.js';
import type { StoredRecord } from '../../src/reporter/ingest/store.js';
import { startPluginCluster, type PluginCluster } from '../plugins/with-plugins.js';

export type Ingest = Awaited<ReturnType<typeof startIngestServer>>;
export const entry = join(packageRoot, 'dist', 'relay', 'embedded.cjs');
const cli = join(packageRoot, 'dist', 'cli', 'main.js');

/** The embedded runtime runs compiled JavaScript: make sure dist/ is not older than src/. */
export function ensureBuilt(): void {
  const newest = spawnSync('find', [join(packageRoot, 'src'), '-name', '*.ts', '-newer', entry], { encoding: 'utf8' });
  if (existsSync(entry) && existsSync(cli) && newest.stdout.trim() === '') return;
  const r = spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: packageRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build:ts failed:\n${r.stdout}${r.stderr}`);
}

export async function startIngest(
  storeDir = mkdtempSync(join(tmpdir(), 'gl-ingest-')),
  port = 0,
  hmac?: { keyId: string; keyFile: string },
): Promise<Ingest> {
  const config = resolveIngestConfig({
    listen: { host: '127.0.0.1', port },
    storeDir,
    allowedUids: [0],
    ...(hmac ? { munge: false as const, hmacKeys: [hmac] } : {}),
  });
  return startIngestServer(config, { logger: pino({ level: 'warn' }), migrations: STATE_MIGRATIONS });
}

export interface Bridge {
  pc: PluginCluster;
  relays: ChildProcess[];
  logDir: string;
  stop(): Promise<void>;
}

/**
 * What a test started, stopped after each test: call at the top of a test file
 * with vitest's afterEach (passed in, so that this module stays importable from
 * the benchmarks, which run outside vitest), then assign running.bridge and
 * running.ingest in the tests.
 */
export function useBridgeLifecycle(afterEach: (fn: () => Promise<void>) => void): { bridge?: Bridge; ingest?: Ingest } {
  const running: { bridge?: Bridge; ingest?: Ingest } = {};
  afterEach(async () => {
    await running.bridge?.stop();
    await running.ingest?.stop();
    running.bridge = undefined;
    running.ingest = undefined;
  });
  return running;
}

/**
 * A cluster whose plugins relay to reporterUrl, with the runtime embedded or
 * as standalone processes; `nodes` > 1 runs one slurmd per node on this host,
 * all appending to the one node spool.
 */
export async function startBridge(reporterUrl: string, mode: 'embedded' | 'off', extra: string[] = [], nodes = 1): Promise<Bridge> {
  ensureBuilt();
  const logDir = mkdtempSync(join(tmpdir(), 'gl-relay-logs-'));
  const relayOpts = (name: string) => [`reporter=${reporterUrl}`, `log=${join(logDir, `${name}.log`)}`, 'poll_ms=200', 'backoff_max_ms=2000', ...extra];
  const pc =
    mode === 'embedded'
      ? await startPluginCluster({ jobCompOptions: relayOpts('slurmctld'), spankOptions: relayOpts('slurmd'), nodes })
      : await startPluginCluster({ jobCompOptions: ['runtime=off'], spankOptions: ['runtime=off'], nodes });
  const relays: ChildProcess[] = [];
  if (mode === 'off') {
    // The spools exist once a plugin wrote to them; the relay waits for them.
    for (const [daemon, spool] of [['slurmctld', pc.ctldSpool], ['slurmd', pc.nodeSpool]] as const) {
      const p = spawn(process.execPath, [cli, 'relay', '--spool', spool, '--daemon', daemon, '--reporter', reporterUrl, '--poll-ms', '200', '--log-level', 'warn'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LOG_LEVEL: 'warn' },
      });
      p.stderr?.resume();
      relays.push(p);
    }
  }
  return {
    pc,
    relays,
    logDir,
    async stop() {
      for (const r of relays) r.kill('SIGTERM');
      await pc.cluster.stop();
    },
  };
}

export async function stored(ingest: Ingest): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for await (const { record } of ingest.store.events()) out.push(record);
  return out;
}

export const isKind = (r: StoredRecord, kind: number) => r.event.kind === kind;

/** Waits until every job has its prolog and completion record in the store. */
export async function waitAllDelivered(ingest: Ingest, jobIds: number[], timeoutMs = 120_000): Promise<StoredRecord[]> {
  let last: StoredRecord[] = [];
  const end = Date.now() + timeoutMs;
  for (;;) {
    last = await stored(ingest);
    const started = new Set(last.filter((r) => isKind(r, EventKind.JobStarted)).map((r) => r.event.jobId));
    const done = new Set(last.filter((r) => isKind(r, EventKind.JobCompleted)).map((r) => r.event.jobId));
    if (jobIds.every((id) => started.has(id) && done.has(id))) return last;
    if (Date.now() > end) {
      const missing = jobIds.filter((id) => !started.has(id) || !done.has(id));
      throw new Error(`${missing.length} jobs not fully delivered after ${timeoutMs} ms, e.g. ${missing.slice(0, 5).join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Exactly once and in order per spool: seqs of one spool strictly increase in store order, no repeats. */
export function checkOncePerSpoolInOrder(records: StoredRecord[]): void {
  const last = new Map<string, bigint>();
  for (const r of records) {
    const seq = BigInt(r.seq);
    const prev = last.get(r.spoolId);
    if (prev !== undefined && seq <= prev) throw new Error(`spool ${r.spoolId}: seq ${seq} after ${prev} (duplicate or out of order)`);
    last.set(r.spoolId, seq);
  }
}

export async function metricValue(ingest: Ingest, name: string, label: string): Promise<number> {
  const m = (await ingest.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values as { value: number; labels: Record<string, string> }[] | undefined)?.find((x) => Object.values(x.labels).includes(label));
  return v?.value ?? 0;
}

/** A root-only HMAC key file, as an operator would make one. */
export function makeHmacKey(): { keyId: string; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gl-hmac-'));
  const keyFile = join(dir, 'relay.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  return { keyId: 'cluster-a', keyFile };
}

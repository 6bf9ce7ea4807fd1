// chain-harness.ts - the reporter as operators run it (`gridlink reporter run`
// in a process of its own, killable with -9), a market on anvil, events sent
// to its ingest like a relay would (munge-authenticated batches, retried
// until stored), and the checks: every report final, chain statuses and
// bills, and the provider's status transactions counted from the blocks.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Hex } from 'viem';

import { isAlive } from '../../src/util/proc.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';
import type { WireEvent } from '../../src/relay/protocol.js';
import { JobMap } from '../../src/reporter/jobmap.js';
import { Reports, type ReportState } from '../../src/reporter/reports.js';
import { freePort } from '../../harness/cluster/ports.js';
import { stateDbPath } from '../../src/state/db.js';
import { openStateDb } from '../../src/compose/state-store.js';

export { freePort };
import { batchBody, mungeHeader, post } from './helpers.js';
import type { Market } from './market.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ReporterProcess {
  url: string;
  storeDir: string;
  logFile: string;
  child(): ChildProcess;
  /** How many times the process was started (restarts included). */
  starts(): number;
  /** kill -9, then start again on the same store and port. */
  crashAndRestart(): Promise<void>;
  stop(): Promise<void>;
  /** Report counts by state, read from the database on a connection of its own. */
  counts(): Record<ReportState, number>;
}

export interface ReporterProcessOptions {
  market: Market;
  rpcUrl?: string;
  confirmations?: number;
  extraArgs?: string[];
  storeDir?: string;
}

/** node's arguments that run the CLI in one process (kill -9 reaches it): `node ...cliEntry() ARGS`. */
export { cliEntry };

/** Writes the provider key file (mode 0600) and returns its path. */
export function providerKeyFile(dir: string, key: Hex): string {
  const f = join(dir, 'provider.key');
  writeFileSync(f, `${key}\n`, { mode: 0o600 });
  return f;
}

export async function startReporterProcess(o: ReporterProcessOptions): Promise<ReporterProcess> {
  const storeDir = o.storeDir ?? mkdtempSync(join(tmpdir(), 'gl-reporter-'));
  const port = await freePort();
  const keyFile = providerKeyFile(storeDir, o.market.provider.privateKey);
  const logFile = join(storeDir, 'reporter.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  // node itself: one process, so kill -9 kills the reporter (the tsx wrapper
  // binary would run it in a child that outlives the wrapper's SIGKILL).
  const args = [
    ...cliEntry(), 'reporter', 'run',
    '--store', storeDir,
    '--listen', `127.0.0.1:${port}`,
    '--allow-uid', '0',
    '--rpc-url', o.rpcUrl ?? o.market.anvil.rpcUrl,
    '--chain-id', String(o.market.chainId),
    '--meta-scheduler', o.market.metaScheduler,
    '--key-file', keyFile,
    '--confirmations', String(o.confirmations ?? 3),
    '--poll-ms', '200',
    '--no-reconcile-slurm',
    '--log-level', 'info',
    ...(o.extraArgs ?? []),
  ];
  const url = `http://127.0.0.1:${port}`;
  let child!: ChildProcess;
  let starts = 0;
  const start = async () => {
    starts++;
    child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GRIDLINK_PROVIDER_KEY: '' } });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gridlink reporter run exited with ${child.exitCode}; see ${logFile}`);
      try {
        const r = await fetch(`${url}/healthz`);
        if (r.status === 200 || r.status === 503) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`gridlink reporter run did not listen on ${url} within 60 s; see ${logFile}`);
      await sleep(100);
    }
  };
  const waitExit = (c: ChildProcess) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r())));
  await start();
  return {
    url,
    storeDir,
    logFile,
    child: () => child,
    starts: () => starts,
    async crashAndRestart() {
      const pid = child.pid!;
      child.kill('SIGKILL');
      await waitExit(child);
      if (isAlive(pid)) throw new Error(`reporter ${pid} survived SIGKILL`);
      await start();
      if (child.pid === pid) throw new Error('the restarted reporter has the old pid');
    },
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await waitExit(child);
      clearTimeout(t);
      log.end();
    },
    counts() {
      const db = openStateDb(stateDbPath(storeDir), { readonly: true });
      try {
        return new Reports(db).counts();
      } finally {
        db.close();
      }
    },
  };
}

/** Fills the job map before the reporter starts (what the supervisor does when it submits). */
export function fillJobMap(storeDir: string, jobs: Array<{ gridJobId: Hex; slurmJobId: number; maxMinutes: number; claimBlock: bigint; customer: Hex }>): void {
  const db = openStateDb(stateDbPath(storeDir));
  try {
    const map = new JobMap(db);
    db.transaction(() => {
      for (const j of jobs) map.add(j);
    })();
  } finally {
    db.close();
  }
}

/** A relay's view of one spool: batches with increasing seqs, re-sent until the reporter stores them. */
export class FakeSpool {
  readonly spoolId = randomBytes(16).toString('hex');
  private seq = 0;
  constructor(
    readonly host: string,
    readonly daemon: 'slurmctld' | 'slurmd',
  ) {}

  async send(url: () => string, events: WireEvent[], timeoutMs = 120_000): Promise<void> {
    const records = events.map((e) => ({ ...e, seq: String(++this.seq) }));
    const body = batchBody(this.spoolId, records, { host: this.host, daemon: this.daemon });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await post(url(), body, await mungeHeader(body));
        if (r.status === 200) return;
      } catch {
        // reporter down (killed): retry like a relay
      }
      if (Date.now() > deadline) throw new Error(`events not stored within ${timeoutMs} ms`);
      await sleep(200);
    }
  }
}

/** Waits until no report is planned, signed or mined. */
export async function waitAllFinal(r: ReporterProcess, expected: number, timeoutMs: number): Promise<Record<ReportState, number>> {
  const deadline = Date.now() + timeoutMs;
  let c = r.counts();
  while (Date.now() < deadline) {
    c = r.counts();
    const final = c.confirmed + c.done + c.parked;
    if (final >= expected && c.planned + c.signed + c.mined === 0) return c;
    await sleep(500);
  }
  throw new Error(`reports not final within ${timeoutMs} ms: ${JSON.stringify(c)}; see ${r.logFile}`);
}

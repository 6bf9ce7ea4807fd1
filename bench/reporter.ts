// reporter.ts - the reporter suite: how many job statuses the chain reporter
// puts on chain per second (its pipeline beside one receipt at a time, the
// grid supervisor's way), how many blocks a completion takes from the
// controller's spool to a confirmed report, and the reporter's RSS with
// 100,000 stored events. One anvil with 1-second blocks for all of it; the
// reporter is `gridlink reporter run` (the built dist/cli/main.js) in a
// process of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import { createWalletClient, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

import { JobStatus } from '../src/metascheduler/status.js';
import { EventKind, SpoolWriter, packageRoot } from '../src/native/index.js';
import { parseRelayConfig, startRelay, type Relay } from '../src/relay/index.js';
import type { WireEvent } from '../src/relay/protocol.js';
import { SLURM_STATE_NAMES } from '../src/slurm/states.js';
import { EVENTS_CURSOR_KEY } from '../src/reporter/planner.js';
import { getMeta, stateDbPath, type Db } from '../src/state/db.js';
import { openStateDb } from '../src/compose/state-store.js';
import { ensureBuilt } from '../test/bridge/bridge.js';
import { FakeSpool, fillJobMap, freePort, providerKeyFile } from '../test/reporter/chain-harness.js';
import { slurmEvent } from '../test/reporter/fixtures.js';
import { startMarket, statusTransactions, type ClaimedJob, type Market } from '../test/reporter/market.js';
import { mergeResults, printTable, type Row } from './results.js';

/** Jobs whose 2 x N reports are sent by the pipeline at once. */
const N_PIPE = 1000;
/** Jobs reported one receipt at a time (RUNNING then FINISHED each). */
const N_SEQ = 12;
/** Jobs whose completions are appended to the spool one at a time. */
const N_LAT = 30;
/** Events stored for the RSS figure, and per batch. */
const N_EVENTS = 100_000;
const EVENTS_PER_BATCH = 500;

const PIPE_SLURM = 10_000;
const LAT_SLURM = 20_000;
/** SLURM ids of the RSS events: not in the job map. */
const UNMAPPED_SLURM = 1_000_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

function memMb(pid: number): { rss: number; hwm: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon') };
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`reporter bench: ${what} not within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

interface ReporterChild {
  url: string;
  storeDir: string;
  logFile: string;
  pid: number;
  stop(): Promise<void>;
}

/** `gridlink reporter run` from dist (what operators run), confirmations 1, every other option at its default. */
async function startReporterChild(market: Market, storeDir: string): Promise<ReporterChild> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(storeDir, 'reporter.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  // The bin itself, as operators run it: its shebang carries the node flags (--max-semi-space-size).
  const bin = join(packageRoot, 'dist', 'cli', 'main.js');
  const args = [
    'reporter', 'run',
    '--store', storeDir,
    '--listen', `127.0.0.1:${port}`,
    '--allow-uid', '0',
    '--rpc-url', market.anvil.rpcUrl,
    '--chain-id', String(market.chainId),
    '--meta-scheduler', market.metaScheduler,
    '--key-file', providerKeyFile(storeDir, market.provider.privateKey),
    '--confirmations', '1',
    '--no-reconcile-slurm',
    '--log-level', 'info',
  ];
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GRIDLINK_PROVIDER_KEY: '' } });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    log.end();
  };
  try {
    await until('gridlink reporter run listening', 60_000, async () => {
      if (child.exitCode !== null) throw new Error(`gridlink reporter run exited with ${child.exitCode}; see ${logFile}`);
      try {
        const r = await fetch(`${url}/healthz`);
        return r.status === 200 || r.status === 503 ? true : undefined;
      } catch {
        return undefined;
      }
    }, 100);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, storeDir, logFile, pid: child.pid!, stop };
}

interface ReportRow {
  id: number;
  grid_job_id: string;
  status: number;
  state: string;
  mined_block: number | null;
  updated_at: number;
  event_id: number | null;
  tx_id: number | null;
}

/** Reads the reporter's database on a read-only connection of its own. */
class Peek {
  constructor(readonly db: Db) {}
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.db.prepare('SELECT state, count(*) AS n FROM reports GROUP BY state').all() as Array<{ state: string; n: number }>) out[r.state] = r.n;
    return out;
  }
  report(gridJobId: Hex, status: JobStatus): ReportRow | undefined {
    return this.db.prepare('SELECT * FROM reports WHERE grid_job_id = ? AND status = ?').get(gridJobId.toLowerCase(), status) as ReportRow | undefined;
  }
  reportsOf(ids: Hex[]): ReportRow[] {
    const want = new Set(ids.map((i) => i.toLowerCase()));
    return (this.db.prepare('SELECT * FROM reports').all() as ReportRow[]).filter((r) => want.has(r.grid_job_id));
  }
  txCreatedAt(txId: number): number | undefined {
    return (this.db.prepare('SELECT created_at FROM txs WHERE id = ?').get(txId) as { created_at: number } | undefined)?.created_at;
  }
  receivedAt(eventId: number): number | undefined {
    return (this.db.prepare('SELECT received_at FROM events WHERE id = ?').get(eventId) as { received_at: number } | undefined)?.received_at;
  }
  events(): { n: number; maxId: number } {
    const r = this.db.prepare('SELECT count(*) AS n, COALESCE(max(id), 0) AS maxId FROM events').get() as { n: number; maxId: number };
    return r;
  }
  cursor(): number {
    return Number(getMeta(this.db, EVENTS_CURSOR_KEY) ?? 0);
  }
}

type Part = { rows: Row[]; figures: Record<string, number> };

/** The grid supervisor's way: providerSetJobStatus RUNNING then FINISHED, each waiting for its receipt. */
async function sequential(market: Market, jobs: ClaimedJob[]): Promise<Part & { rate: number }> {
  const wallet = createWalletClient({ account: privateKeyToAccount(market.provider.privateKey), chain: foundry, transport: http(market.anvil.rpcUrl) });
  const provider = market.client.withWalletClient(wallet);
  const from = await market.publicClient.getBlockNumber();
  const t0 = performance.now();
  let n = 0;
  for (const j of jobs) {
    await provider.providerSetJobStatus(j.jobId, JobStatus.RUNNING, 0n);
    await provider.providerSetJobStatus(j.jobId, JobStatus.FINISHED, 1n);
    n += 2;
  }
  const secs = (performance.now() - t0) / 1000;
  const blocks = Number((await market.publicClient.getBlockNumber()) - from);
  const rate = n / secs;
  return {
    rate,
    rows: [{ measure: `one receipt at a time: ${n} reports (RUNNING, FINISHED of ${jobs.length} jobs), ${blocks} blocks`, value: rate, unit: 'reports/s', target: '' }],
    figures: { reports_per_s_sequential: rate },
  };
}

/** All events of N_PIPE mapped jobs posted at once (two spools, like the nodes' and the controller's relays); until every report is confirmed. */
async function pipelined(market: Market, r: ReporterChild, peek: Peek, jobs: ClaimedJob[], seqRate: number): Promise<Part> {
  const T0 = Math.floor(Date.now() / 1000) - 300;
  const ids = jobs.map((_, i) => PIPE_SLURM + i);
  const starts = ids.map((id) => slurmEvent(1, id, { startTime: T0, submitTime: T0 - 5 }));
  const ends = ids.map((id) => slurmEvent(3, id, { startTime: T0, endTime: T0 + 150, submitTime: T0 - 5 }));
  const nodes = new FakeSpool('n1', 'slurmd');
  const ctld = new FakeSpool('ctl', 'slurmctld');
  const firstBlock = (await market.publicClient.getBlockNumber()) + 1n;
  // When each block appears (wall clock from the first post): is anvil keeping its 1-second interval?
  const seenAt = new Map<bigint, number>();
  let watching = true;
  const t0 = Date.now();
  const watcher = (async () => {
    while (watching) {
      const b = await market.publicClient.getBlockNumber({ cacheTime: 0 });
      if (!seenAt.has(b)) seenAt.set(b, Date.now() - t0);
      await sleep(50);
    }
  })();
  await Promise.all([nodes.send(() => r.url, starts), ctld.send(() => r.url, ends)]);
  const postedMs = Date.now() - t0;
  const expected = 2 * jobs.length;
  const gridIds = jobs.map((j) => j.jobId);
  const rows = await until('every pipelined report confirmed', 180_000, () => {
    const c = peek.counts();
    if ((c.confirmed ?? 0) < expected || (c.planned ?? 0) + (c.signed ?? 0) + (c.mined ?? 0) > 0) return undefined;
    return peek.reportsOf(gridIds);
  }, 100);
  watching = false;
  await watcher;
  const bad = rows.filter((x) => x.state !== 'confirmed');
  if (rows.length !== expected || bad.length) throw new Error(`pipelined: ${rows.length} reports, ${bad.length} not confirmed: ${JSON.stringify(bad.slice(0, 3))}`);
  const endMs = Math.max(...rows.map((x) => x.updated_at));
  const secs = (endMs - t0) / 1000;
  const rate = expected / secs;
  // From the blocks: one successful providerSetJobStatus per report, and how they spread.
  const lastBlock = BigInt(Math.max(...rows.map((x) => x.mined_block!)));
  const txs = await statusTransactions(market.publicClient, market.provider.address, market.metaScheduler, firstBlock, lastBlock);
  if (txs.length !== expected || txs.some((t) => !t.success)) throw new Error(`pipelined: ${txs.length} status transactions in the blocks (${txs.filter((t) => !t.success).length} failed), expected ${expected}`);
  const perBlock = new Map<bigint, number>();
  for (const t of txs) perBlock.set(t.block, (perBlock.get(t.block) ?? 0) + 1);
  // Per block: our reports, and how full the block is (gas used / gas limit).
  const spreadParts: string[] = [];
  for (let b = firstBlock; b <= lastBlock; b++) {
    const blk = await market.publicClient.getBlock({ blockNumber: b });
    const at = seenAt.get(b);
    spreadParts.push(`${b - firstBlock + 1n}${at === undefined ? '' : `@${(at / 1000).toFixed(1)}s`}:${perBlock.get(b) ?? 0}(${Math.round((Number(blk.gasUsed) / Number(blk.gasLimit)) * 100)}%)`);
  }
  const spread = spreadParts.join(' ');
  const running = rows.filter((x) => x.status === JobStatus.RUNNING);
  const cold = rows.filter((x) => x.status !== JobStatus.RUNNING);
  const lastMs = (xs: ReportRow[]) => (Math.max(...xs.map((x) => x.updated_at)) - t0) / 1000;
  const sendSpan = (xs: ReportRow[]) => {
    const ts = xs.map((x) => peek.txCreatedAt(x.tx_id!)!);
    return `${((Math.min(...ts) - t0) / 1000).toFixed(1)}-${((Math.max(...ts) - t0) / 1000).toFixed(1)} s`;
  };
  process.stdout.write(
    `pipelined: posted in ${postedMs} ms; RUNNING signed at ${sendSpan(running)}, last confirmed at ${lastMs(running).toFixed(1)} s; ` +
      `cold signed at ${sendSpan(cold)}, last confirmed at ${lastMs(cold).toFixed(1)} s; per block after the post: number@seen at:reports(gas used): ${spread}\n`,
  );
  const ratio = rate / seqRate;
  return {
    rows: [
      { measure: `pipelined: ${expected} reports of ${jobs.length} jobs, first post -> all confirmed (confirmations 1), ${secs.toFixed(1)} s, ${perBlock.size} blocks`, value: rate, unit: 'reports/s', target: '>= 150' },
      { measure: 'pipelined / one receipt at a time', value: ratio, unit: 'x', target: '>= 50' },
      { measure: '  most reports in one block', value: Math.max(...perBlock.values()), unit: 'reports', target: '' },
    ],
    figures: { reports_per_s_pipelined: rate, reports_pipelined_vs_sequential_x: ratio },
  };
}

/** Completions appended to a real controller spool one at a time, a real relay posting them: blocks from the append to the confirmed report. */
async function latency(market: Market, r: ReporterChild, peek: Peek, jobs: ClaimedJob[], spoolDir: string, holder: { relay?: Relay; writer?: SpoolWriter }): Promise<Part> {
  const T0 = Math.floor(Date.now() / 1000) - 120;
  const ids = jobs.map((_, i) => LAT_SLURM + i);
  // RUNNING first, through the ingest (a node's relay), until on chain.
  await new FakeSpool('n2', 'slurmd').send(() => r.url, ids.map((id) => slurmEvent(1, id, { startTime: T0, submitTime: T0 - 5 })));
  await until('RUNNING of the latency jobs confirmed', 60_000, () => (jobs.every((j) => peek.report(j.jobId, JobStatus.RUNNING)?.state === 'confirmed') ? true : undefined), 100);

  const writer = new SpoolWriter(spoolDir);
  holder.writer = writer;
  holder.relay = startRelay(parseRelayConfig({ spoolDir, daemon: 'slurmctld', host: 'ctl', reporterUrl: r.url, auth: { kind: 'munge' } }), { logger: pino({ level: 'warn' }) });
  await holder.relay.drained();

  const blocks: number[] = [];
  const total: number[] = [];
  const legs = { relay: [] as number[], reporter: [] as number[], chain: [] as number[] };
  const completed = SLURM_STATE_NAMES.indexOf('COMPLETED');
  for (let i = 0; i < jobs.length; i++) {
    await sleep(Math.random() * 1000); // a random instant within the block interval
    const head = Number(await market.publicClient.getBlockNumber());
    const at = Date.now();
    writer.append({
      kind: EventKind.JobCompleted, jobId: ids[i]!, userId: 1000, jobState: completed, stateName: 'COMPLETED', exitCode: 0, signal: 0,
      submitTime: T0 - 5, startTime: T0, endTime: T0 + 90, cluster: 'bench', node: 'n2', jobName: `lat-${i}`, tres: { cpu: 1, memMb: 100, node: 1, billing: 1 },
    });
    const rep = await until(`report of completion ${i} confirmed`, 60_000, () => {
      const x = peek.report(jobs[i]!.jobId, JobStatus.FINISHED);
      return x?.state === 'confirmed' ? x : undefined;
    }, 20);
    blocks.push(rep.mined_block! - head);
    total.push(rep.updated_at - at);
    const stored = peek.receivedAt(rep.event_id!)!;
    const signed = peek.txCreatedAt(rep.tx_id!)!;
    legs.relay.push(stored - at);
    legs.reporter.push(signed - stored);
    legs.chain.push(rep.updated_at - signed);
  }
  process.stdout.write(`latency: blocks per completion ${blocks.join(' ')}\n`);
  const p50 = pct(blocks, 0.5);
  const p90 = pct(blocks, 0.9);
  return {
    rows: [
      { measure: `spool append -> report confirmed p50 (${jobs.length} completions one at a time, real spool + relay, confirmations 1)`, value: p50, unit: 'blocks', target: '<= 2' },
      { measure: 'spool append -> report confirmed p90', value: p90, unit: 'blocks', target: '' },
      { measure: '  same, wall clock p50 / p90 (confirmed = the reporter saw the receipt)', value: `${pct(total, 0.5)} / ${pct(total, 0.9)}`, unit: 'ms', target: '' },
      { measure: '  append -> stored by the ingest p50 (relay leg)', value: pct(legs.relay, 0.5), unit: 'ms', target: '' },
      { measure: '  stored -> transaction signed p50 (planner + sender)', value: pct(legs.reporter, 0.5), unit: 'ms', target: '' },
      { measure: '  signed -> confirmed seen p50 (block wait + receipt poll)', value: pct(legs.chain, 0.5), unit: 'ms', target: '' },
    ],
    figures: {
      report_latency_p50_blocks: p50,
      report_latency_p90_blocks: p90,
      report_latency_p50_ms: pct(total, 0.5),
    },
  };
}

/** 100,000 events for SLURM jobs outside the job map, posted in batches of 500; RSS once the planner derived them all. */
async function rss(r: ReporterChild, peek: Peek, stages: Array<[string, number]>): Promise<Part> {
  const before = memMb(r.pid);
  const base = peek.events().n;
  const T0 = Math.floor(Date.now() / 1000) - 600;
  const nodes = new FakeSpool('n3', 'slurmd');
  const ctld = new FakeSpool('ctl2', 'slurmctld');
  const t0 = Date.now();
  for (let b = 0; b < N_EVENTS / EVENTS_PER_BATCH; b++) {
    // Alternating spools; each batch: job_started or job_completed of 500 jobs.
    const first = UNMAPPED_SLURM + Math.floor(b / 2) * EVENTS_PER_BATCH;
    const evs: WireEvent[] = Array.from({ length: EVENTS_PER_BATCH }, (_, k) =>
      b % 2 ? slurmEvent(3, first + k, { startTime: T0, endTime: T0 + 60 + k, submitTime: T0 - 5, jobName: `other-${first + k}` }) : slurmEvent(1, first + k, { startTime: T0, submitTime: T0 - 5, node: `n${k % 64}` }),
    );
    await (b % 2 ? ctld : nodes).send(() => r.url, evs);
  }
  const storedMs = Date.now() - t0;
  const stored = peek.events();
  if (stored.n - base !== N_EVENTS) throw new Error(`rss: ${stored.n - base} events stored, expected ${N_EVENTS}`);
  await until('the planner derived every stored event', 120_000, () => (peek.cursor() >= stored.maxId ? true : undefined), 100);
  const derivedMs = Date.now() - t0;
  await sleep(3000);
  const after = memMb(r.pid);
  process.stdout.write(`rss: ${N_EVENTS} events stored in ${(storedMs / 1000).toFixed(1)} s, derived after ${(derivedMs / 1000).toFixed(1)} s; RSS ${before.rss.toFixed(1)} MB before, ${after.rss.toFixed(1)} MB after (peak ${after.hwm.toFixed(1)}, anon ${after.anon.toFixed(1)})\n`);
  return {
    rows: [
      { measure: `reporter RSS with ${stored.n} stored events (${N_EVENTS} posted in batches of ${EVENTS_PER_BATCH}, jobs not in the job map), all derived`, value: after.rss, unit: 'MB', target: '<= 150' },
      { measure: '  of which private (RssAnon)', value: after.anon, unit: 'MB', target: '' },
      { measure: '  peak (VmHWM) over the whole suite', value: after.hwm, unit: 'MB', target: '' },
      ...stages.map(([what, mb]) => ({ measure: `  RSS ${what}`, value: mb, unit: 'MB', target: '' })),
      { measure: '  RSS before the 100,000 events (after the latency runs)', value: before.rss, unit: 'MB', target: '' },
      { measure: `  ${N_EVENTS} events posted and derived`, value: N_EVENTS / (derivedMs / 1000), unit: 'events/s', target: '' },
    ],
    figures: { reporter_rss_mb_100k: after.rss, reporter_rss_anon_mb_100k: after.anon, reporter_rss_peak_mb: after.hwm },
  };
}

export async function runReporterBench(): Promise<void> {
  ensureBuilt();
  const tStart = Date.now();
  const storeDir = mkdtempSync(join(tmpdir(), 'gl-bench-reporter-'));
  const spoolDir = mkdtempSync(join('/var/tmp', 'gl-bench-ctld-spool-'));
  let market: Market | undefined;
  let reporter: ReporterChild | undefined;
  let peekDb: Db | undefined;
  const holder: { relay?: Relay; writer?: SpoolWriter } = {};
  let ok = false;
  try {
    market = await startMarket();
    const all = await market.claimJobs(N_PIPE + N_LAT + N_SEQ, 10);
    if (all.length !== N_PIPE + N_LAT + N_SEQ) throw new Error(`claimed ${all.length} jobs`);
    const pipeJobs = all.slice(0, N_PIPE);
    const latJobs = all.slice(N_PIPE, N_PIPE + N_LAT);
    const seqJobs = all.slice(N_PIPE + N_LAT);
    await market.setBlockTime(1);
    process.stdout.write(`reporter bench: market with ${all.length} claimed jobs in ${((Date.now() - tStart) / 1000).toFixed(0)} s; anvil mines a block every second\n`);

    // The baseline first: it signs with the provider key, which the reporter's pipeline owns once started.
    const seq = await sequential(market, seqJobs);

    const m = market;
    fillJobMap(storeDir, [...pipeJobs.map((j, i) => ({ j, slurm: PIPE_SLURM + i })), ...latJobs.map((j, i) => ({ j, slurm: LAT_SLURM + i }))].map(({ j, slurm }) => ({
      gridJobId: j.jobId, slurmJobId: slurm, maxMinutes: j.maxMinutes, claimBlock: j.claimBlock, customer: m.customer.address,
    })));
    reporter = await startReporterChild(market, storeDir);
    peekDb = openStateDb(stateDbPath(storeDir), { readonly: true });
    const peek = new Peek(peekDb);
    await sleep(2000); // past start-up (first reconciliation pass)
    const stages: Array<[string, number]> = [[`idle after start (${N_PIPE + N_LAT} jobs in the job map)`, memMb(reporter.pid).rss]];

    const pipe = await pipelined(market, reporter, peek, pipeJobs, seq.rate);
    stages.push([`after the ${2 * N_PIPE} pipelined reports`, memMb(reporter.pid).rss]);
    const lat = await latency(market, reporter, peek, latJobs, spoolDir, holder);
    const mem = await rss(reporter, peek, stages);

    printTable(`reporter: throughput, latency, memory (anvil, 1-second blocks; ${((Date.now() - tStart) / 1000).toFixed(0)} s)`, [...pipe.rows, ...seq.rows, ...lat.rows, ...mem.rows]);
    mergeResults({ ...pipe.figures, ...seq.figures, ...lat.figures, ...mem.figures });
    ok = true;
  } finally {
    const steps: Array<() => unknown> = [
      () => holder.relay?.stop(),
      () => holder.writer?.close(),
      () => peekDb?.close(),
      () => reporter?.stop(),
      () => market?.stop(),
    ];
    for (const s of steps) {
      try {
        await s();
      } catch (err) {
        process.stderr.write(`reporter bench cleanup: ${(err as Error).message}\n`);
      }
    }
    rmSync(spoolDir, { recursive: true, force: true });
    if (ok && !process.env.GRIDLINK_BENCH_KEEP) rmSync(storeDir, { recursive: true, force: true });
    else process.stderr.write(`reporter bench: store and reporter log kept in ${storeDir}\n`);
  }
}

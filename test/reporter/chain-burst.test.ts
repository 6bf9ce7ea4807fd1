// Acceptance: 1,000 jobs of the job map complete with a mix of end states;
// events reach the real ingest (munge) of `gridlink reporter run`, which is
// killed with -9 at three random points and restarted. Every job reaches the
// right cold status with the right bill, and the provider key sent exactly
// one mined status transaction per transition, counted from the blocks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStatus } from '../../src/metascheduler/status.js';
import type { WireEvent } from '../../src/relay/protocol.js';
import { FakeSpool, fillJobMap, startReporterProcess, waitAllFinal, type ReporterProcess } from './chain-harness.js';
import { slurmEvent } from './fixtures.js';
import { PER_MIN, startMarket, statusTransactions, type ClaimedJob, type Market } from './market.js';

const N = 1000;
const T0 = 1_800_000_000;

interface Case {
  name: string;
  events: (slurmId: number) => { nodes: WireEvent[]; ctld: WireEvent[] };
  status: JobStatus;
  /** Minutes the chain bills (0 when it never ran). */
  billed: number;
  transitions: JobStatus[];
}

const run = (id: number, secs: number, state: string, extra: Partial<WireEvent> = {}) =>
  slurmEvent(3, id, { state, startTime: T0, endTime: T0 + secs, submitTime: T0 - 5, ...extra });
const started = (id: number, node = 'n1') => slurmEvent(1, id, { startTime: T0, submitTime: T0 - 5, node });

// Ten kinds of job, job i gets kind i % 10.
const CASES: Case[] = [
  { name: 'completed 3 min on two nodes', events: (id) => ({ nodes: [started(id, 'n1'), started(id, 'n2')], ctld: [run(id, 150, 'COMPLETED')] }), status: JobStatus.FINISHED, billed: 3, transitions: [JobStatus.RUNNING, JobStatus.FINISHED] },
  { name: 'completed in 10 s', events: (id) => ({ nodes: [started(id)], ctld: [run(id, 10, 'COMPLETED')] }), status: JobStatus.FINISHED, billed: 1, transitions: [JobStatus.RUNNING, JobStatus.FINISHED] },
  { name: 'completed, duplicate records', events: (id) => ({ nodes: [started(id), started(id)], ctld: [run(id, 420, 'COMPLETED'), run(id, 420, 'COMPLETED')] }), status: JobStatus.FINISHED, billed: 7, transitions: [JobStatus.RUNNING, JobStatus.FINISHED] },
  { name: 'failed, exit 3', events: (id) => ({ nodes: [started(id)], ctld: [run(id, 61, 'FAILED', { exitCode: 3 })] }), status: JobStatus.FAILED, billed: 2, transitions: [JobStatus.RUNNING, JobStatus.FAILED] },
  { name: 'node failure', events: (id) => ({ nodes: [started(id)], ctld: [run(id, 300, 'NODE_FAIL')] }), status: JobStatus.FAILED, billed: 5, transitions: [JobStatus.RUNNING, JobStatus.FAILED] },
  { name: 'out of memory', events: (id) => ({ nodes: [started(id)], ctld: [run(id, 30, 'OUT_OF_MEMORY', { exitCode: 0, signal: 9 })] }), status: JobStatus.FAILED, billed: 1, transitions: [JobStatus.RUNNING, JobStatus.FAILED] },
  { name: 'cancelled while running', events: (id) => ({ nodes: [started(id)], ctld: [run(id, 240, 'CANCELLED', { signal: 15 })] }), status: JobStatus.CANCELLED, billed: 4, transitions: [JobStatus.RUNNING, JobStatus.CANCELLED] },
  { name: 'timeout at the paid 10 minutes', events: (id) => ({ nodes: [started(id)], ctld: [run(id, 630, 'TIMEOUT')] }), status: JobStatus.OUT_OF_CREDITS, billed: 10, transitions: [JobStatus.RUNNING, JobStatus.OUT_OF_CREDITS] },
  { name: 'cancelled while pending', events: (id) => ({ nodes: [], ctld: [slurmEvent(3, id, { state: 'CANCELLED', startTime: 0, endTime: T0, submitTime: T0 - 5 })] }), status: JobStatus.CANCELLED, billed: 0, transitions: [JobStatus.CANCELLED] },
  { name: 'completed 2 min 5 s', events: (id) => ({ nodes: [started(id)], ctld: [run(id, 125, 'COMPLETED')] }), status: JobStatus.FINISHED, billed: 3, transitions: [JobStatus.RUNNING, JobStatus.FINISHED] },
];

let market: Market;
let jobs: ClaimedJob[];
let reporter: ReporterProcess | undefined;

beforeAll(async () => {
  market = await startMarket();
  jobs = await market.claimJobs(N, 10);
  await market.setBlockTime(1);
}, 180_000);

afterAll(async () => {
  await reporter?.stop();
  await market?.stop();
});

describe('reporter: 1,000 jobs on chain exactly once', () => {
  it('through three kill -9 of the reporter', async () => {
    const firstBlock = (await market.publicClient.getBlockNumber()) + 1n;
    const slurmIds = jobs.map((_, i) => 5000 + i);
    const probe = await startReporterProcess({ market, confirmations: 3 });
    reporter = probe;
    await probe.stop();
    fillJobMap(probe.storeDir, jobs.map((j, i) => ({ gridJobId: j.jobId, slurmJobId: slurmIds[i]!, maxMinutes: j.maxMinutes, claimBlock: j.claimBlock, customer: market.customer.address })));
    reporter = await startReporterProcess({ market, confirmations: 3, storeDir: probe.storeDir });
    const r = reporter;

    const nodes = new FakeSpool('n1', 'slurmd');
    const ctld = new FakeSpool('ctl', 'slurmctld');
    // Plus events for a job the job map does not know (named after a real grid job): nothing may be sent for it.
    await ctld.send(() => r.url, [run(99_999, 60, 'COMPLETED', { jobName: jobs[0]!.jobId, comment: jobs[0]!.jobId })]);

    // Three kill -9 at random instants of the burst (events keep coming; the senders retry like relays).
    const killAt = [0, 1, 2].map((k) => 300 + k * 2500 + Math.floor(Math.random() * 2000));
    const t0 = Date.now();
    const killer = (async () => {
      for (const at of killAt) {
        await new Promise((res) => setTimeout(res, Math.max(0, t0 + at - Date.now())));
        await r.crashAndRestart();
      }
    })();
    let sentBatches = 0;
    for (let b = 0; b < N / 50; b++) {
      const slice = slurmIds.slice(b * 50, b * 50 + 50);
      const ev = slice.map((id, k) => CASES[(b * 50 + k) % 10]!.events(id));
      const nodeEvents = ev.flatMap((e) => e.nodes);
      const ctldEvents = ev.flatMap((e) => e.ctld);
      // Odd batches: the controller's completions arrive before the nodes' prolog records.
      if (b % 2) await ctld.send(() => r.url, ctldEvents);
      await nodes.send(() => r.url, nodeEvents);
      if (!(b % 2)) await ctld.send(() => r.url, ctldEvents);
      sentBatches++;
      await new Promise((res) => setTimeout(res, 300));
    }
    await killer;
    expect(sentBatches).toBe(N / 50);
    expect(r.starts()).toBe(4);

    const expectedReports = CASES.reduce((n, c) => n + c.transitions.length, 0) * (N / 10);
    const counts = await waitAllFinal(r, expectedReports, 300_000);
    expect(counts.parked).toBe(0);

    // Chain: status and bill of every job.
    const wrong: string[] = [];
    for (let i = 0; i < jobs.length; i++) {
      const c = CASES[i % 10]!;
      const onChain = await market.client.getJob(jobs[i]!.jobId);
      const cost = PER_MIN * BigInt(c.billed);
      if (onChain.status !== c.status || onChain.cost.finalCost !== cost) wrong.push(`${i} (${c.name}): ${JobStatus[onChain.status]} cost ${onChain.cost.finalCost / PER_MIN} min, expected ${JobStatus[c.status]} ${c.billed}`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);

    // Blocks: exactly one mined, successful providerSetJobStatus per transition.
    const last = await market.publicClient.getBlockNumber();
    const txs = await statusTransactions(market.publicClient, market.provider.address, market.metaScheduler, firstBlock, last);
    expect(txs.filter((t) => !t.success)).toEqual([]);
    const seen = new Map<string, number>();
    for (const t of txs) seen.set(`${t.jobId}:${t.status}`, (seen.get(`${t.jobId}:${t.status}`) ?? 0) + 1);
    const expected = new Map<string, number>();
    jobs.forEach((j, i) => CASES[i % 10]!.transitions.forEach((s) => expected.set(`${j.jobId}:${s}`, 1)));
    expect([...seen].filter(([, n]) => n !== 1)).toEqual([]);
    expect(seen.size).toBe(expected.size);
    expect([...expected.keys()].filter((k) => !seen.has(k))).toEqual([]);
    expect(txs.length).toBe(expected.size);
  }, 600_000);
});

// Acceptance, with the chain misbehaving under a running reporter (in this
// process, anvil mining only when the test says): a report's transaction
// dropped from the mempool is re-sent; one stuck under a raised base fee is
// replaced with bumped fees; a 2-block reorg after a report was mined loses
// and doubles nothing with confirmations = 3; a duplicate event and an event
// for a job outside the job map send nothing. Counted from the blocks.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { JobStatus } from '../../src/metascheduler/status.js';
import { parseChainReporterConfig } from '../../src/reporter/config.js';
import { resolveIngestConfig } from '../../src/reporter/ingest/config.js';
import { startReporter } from '../../src/compose/reporter-root.js';
import type { Reporter } from '../../src/reporter/service.js';
import { FakeSpool, providerKeyFile } from './chain-harness.js';
import { slurmEvent } from './fixtures.js';
import { startMarket, statusTransactions, type ClaimedJob, type Market } from './market.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let market: Market;
let jobs: ClaimedJob[];
let reporter: Reporter;
let firstBlock: bigint;
let storeDir: string;
const spool = new FakeSpool('n1', 'slurmd');
const ctld = new FakeSpool('ctl', 'slurmctld');

async function until<T>(what: string, fn: () => T | undefined | false, mine = false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    if (mine) await market.anvil.mine();
    await sleep(mine ? 400 : 100);
  }
}

const report = (jobId: Hex, status: JobStatus) => reporter.reports.forJob(jobId).find((r) => r.status === status);
const attempts = (txId: number) => reporter.db.prepare('SELECT hash, max_fee FROM tx_attempts WHERE tx_id = ? ORDER BY rowid').all(txId) as Array<{ hash: Hex; max_fee: string }>;

beforeAll(async () => {
  market = await startMarket();
  jobs = await market.claimJobs(6, 10);
  await market.anvil.setAutomine(false);
  firstBlock = (await market.publicClient.getBlockNumber()) + 1n;
  // A store directory that does not exist yet: the reporter creates it (0700).
  storeDir = join(mkdtempSync(join(tmpdir(), 'gl-reporter-faults-')), 'store', 'reporter');
  reporter = await startReporter(
    resolveIngestConfig({ listen: { host: '127.0.0.1', port: 0 }, storeDir, allowedUids: [0] }),
    parseChainReporterConfig({
      rpcUrl: market.anvil.rpcUrl,
      chainId: market.chainId,
      metaScheduler: market.metaScheduler,
      keyFile: providerKeyFile(mkdtempSync(join(tmpdir(), 'gl-key-')), market.provider.privateKey),
      confirmations: 3,
      replaceAfterBlocks: 2,
      pollMs: 100,
      tickMs: 50,
      maxFeePerGasGwei: '1000',
      priorityFeeGwei: '1',
      reconcile: { slurm: false, intervalMs: 3_600_000 },
    }),
    { logger: pino({ level: 'silent' }), env: {} },
  );
  expect(statSync(storeDir).mode & 0o777).toBe(0o700);
  jobs.forEach((j, i) => reporter.addJob({ gridJobId: j.jobId, slurmJobId: 100 + i, customer: market.customer.address, maxMinutes: j.maxMinutes, claimBlock: j.claimBlock }));
}, 120_000);

afterAll(async () => {
  await reporter?.stop();
  await market?.stop();
});

describe('reporter against a misbehaving chain', () => {
  it('a dropped transaction is re-sent', async () => {
    await spool.send(() => reporter.ingest.url, [slurmEvent(1, 100)]);
    const r = await until('RUNNING signed', () => report(jobs[0]!.jobId, JobStatus.RUNNING)?.state === 'signed' && report(jobs[0]!.jobId, JobStatus.RUNNING));
    const [first] = attempts(r.txId!);
    await market.anvil.request('anvil_dropTransaction', [first!.hash]);
    expect(await market.anvil.request('eth_getTransactionByHash', [first!.hash])).toBeNull();
    await until('RUNNING confirmed after the drop', () => report(jobs[0]!.jobId, JobStatus.RUNNING)?.state === 'confirmed', true);
  });

  it('a transaction stuck under a raised base fee is replaced with bumped fees', async () => {
    await spool.send(() => reporter.ingest.url, [slurmEvent(1, 101)]);
    const r = await until('RUNNING signed', () => report(jobs[1]!.jobId, JobStatus.RUNNING)?.state === 'signed' && report(jobs[1]!.jobId, JobStatus.RUNNING));
    const before = BigInt(attempts(r.txId!)[0]!.max_fee);
    await market.anvil.request('anvil_setNextBlockBaseFeePerGas', [`0x${(200n * 10n ** 9n).toString(16)}`]);
    await market.anvil.mine(); // a block the transaction cannot enter
    await until('RUNNING confirmed after the bump', () => report(jobs[1]!.jobId, JobStatus.RUNNING)?.state === 'confirmed', true);
    const all = attempts(r.txId!);
    expect(all.length).toBeGreaterThan(1);
    expect(BigInt(all.at(-1)!.max_fee)).toBeGreaterThan(200n * 10n ** 9n);
    expect(BigInt(all.at(-1)!.max_fee)).toBeGreaterThan(before);
    expect(BigInt(all.at(-1)!.max_fee)).toBeLessThanOrEqual(1000n * 10n ** 9n);
  });

  it('a 2-block reorg after a report was mined loses and doubles nothing (confirmations = 3)', async () => {
    await spool.send(() => reporter.ingest.url, [slurmEvent(1, 102)]);
    await until('RUNNING mined', () => report(jobs[2]!.jobId, JobStatus.RUNNING)?.state === 'mined', true);
    await market.anvil.request('anvil_reorg', [2, []]);
    await until('RUNNING back to signed', () => report(jobs[2]!.jobId, JobStatus.RUNNING)?.state === 'signed');
    await until('RUNNING confirmed after the reorg', () => report(jobs[2]!.jobId, JobStatus.RUNNING)?.state === 'confirmed', true);
    expect((await market.client.getJob(jobs[2]!.jobId)).status).toBe(JobStatus.RUNNING);
  });

  it('a duplicate event sends nothing; an event for a job outside the job map sends nothing', async () => {
    const done = slurmEvent(3, 103, { startTime: 1_800_000_000, endTime: 1_800_000_000 + 90 });
    await spool.send(() => reporter.ingest.url, [slurmEvent(1, 103), slurmEvent(1, 103, { node: 'n2' })]);
    await ctld.send(() => reporter.ingest.url, [done]);
    await ctld.send(() => reporter.ingest.url, [done, slurmEvent(3, 9_999, { jobName: jobs[5]!.jobId, comment: jobs[5]!.jobId })]);
    await until('FINISHED confirmed', () => report(jobs[3]!.jobId, JobStatus.FINISHED)?.state === 'confirmed', true);
    for (let i = 0; i < 4; i++) await market.anvil.mine();
    await sleep(500);
    expect(reporter.reports.forJob(jobs[5]!.jobId)).toEqual([]);
    const j = await market.client.getJob(jobs[3]!.jobId);
    expect(j.status).toBe(JobStatus.FINISHED);
  });

  it('counted from the blocks: one successful status transaction per transition, nothing else', async () => {
    const last = await market.publicClient.getBlockNumber();
    const txs = await statusTransactions(market.publicClient, market.provider.address, market.metaScheduler, firstBlock, last);
    expect(txs.every((t) => t.success)).toBe(true);
    const got = txs.map((t) => `${jobs.findIndex((j) => j.jobId === t.jobId)}:${JobStatus[t.status]}`).sort();
    expect(got).toEqual(['0:RUNNING', '1:RUNNING', '2:RUNNING', '3:FINISHED', '3:RUNNING']);
    expect(txs.find((t) => t.status === JobStatus.FINISHED)!.minutes).toBe(2n);
  });

  it('gridlink reports shows each report with its state, nonce and transaction, beside the running reporter', () => {
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [...cliEntry(), 'reports', '--store', storeDir, ...args], { encoding: 'utf8', timeout: 60_000 });
    const json = cli(['--json']);
    expect(json.status).toBe(0);
    const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => `${r.status}:${r.state}`)).toEqual(['RUNNING:confirmed', 'RUNNING:confirmed', 'RUNNING:confirmed', 'RUNNING:confirmed', 'FINISHED:confirmed']);
    const bumped = rows[1]!;
    expect(bumped).toMatchObject({ gridJobId: jobs[1]!.jobId, minutes: 0 });
    expect(Number(bumped.attempts)).toBeGreaterThan(1);
    expect(String(bumped.txHash)).toMatch(/^0x[0-9a-f]{64}$/);
    const one = cli(['--job', jobs[3]!.jobId, '--json']);
    expect(one.stdout.trim().split('\n')).toHaveLength(2);
    const table = cli([]);
    expect(table.stdout).toMatch(/^reports: 0 planned, 0 signed, 0 mined, 5 confirmed, 0 done, 0 parked/);
    expect(table.stdout).toMatch(/FINISHED\s+2\s+confirmed/);
    const parked = cli(['--parked']);
    expect(parked.stdout.trim().split('\n')).toHaveLength(1);
    expect(cli(['--job', 'not-a-job']).stderr).toMatch(/not a 0x-prefixed 32-byte hex string/);
  });
});

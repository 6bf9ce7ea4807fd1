// Acceptance: the chain RPC unreachable for 60 s in the middle of a burst
// (the reporter's RPC goes through a proxy that refuses connections):
// nothing lost, everything confirmed after, /healthz failing meanwhile.
// And start-up refusals that say what to fix: a malformed key file, a key
// file others can read, a wrong chain id.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { JobStatus } from '../../src/metascheduler/status.js';
import { TcpProxy } from '../txpipeline/proxy.js';
import { FakeSpool, fillJobMap, freePort, providerKeyFile, startReporterProcess, waitAllFinal, type ReporterProcess } from './chain-harness.js';
import { slurmEvent } from './fixtures.js';
import { PER_MIN, startMarket, statusTransactions, type ClaimedJob, type Market } from './market.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';

const N = 300;
const T0 = 1_800_000_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let market: Market;
let jobs: ClaimedJob[];
/** Jobs for the chain-down-at-start case. */
let late: ClaimedJob[];
let proxy: TcpProxy;
let reporter: ReporterProcess | undefined;

beforeAll(async () => {
  market = await startMarket();
  jobs = await market.claimJobs(N + 3, 10);
  late = jobs.splice(N);
  await market.setBlockTime(1);
  proxy = await TcpProxy.start(market.anvil.port);
}, 180_000);

afterAll(async () => {
  await reporter?.stop();
  await proxy?.stop();
  await market?.stop();
});

async function health(url: string): Promise<number> {
  try {
    return (await fetch(`${url}/healthz`)).status;
  } catch {
    return -1;
  }
}

// The refusal cases below run beside this one (describe.concurrent): they
// spawn CLI processes that fail at start-up, never send a transaction, and
// talk to anvil directly, so they fill the outage's fixed minute instead of
// adding ~15 s after it. The chain-down-at-start case uses the same provider
// key as this one and runs after both.
describe.concurrent('reporter: chain RPC down for 60 s mid-burst', () => {
  it('loses nothing and confirms everything after', async () => {
    const firstBlock = (await market.publicClient.getBlockNumber()) + 1n;
    const storeDir = mkdtempSync(join(tmpdir(), 'gl-reporter-outage-'));
    fillJobMap(storeDir, jobs.map((j, i) => ({ gridJobId: j.jobId, slurmJobId: 7000 + i, maxMinutes: j.maxMinutes, claimBlock: j.claimBlock, customer: market.customer.address })));
    const opsPort = await freePort();
    reporter = await startReporterProcess({ market, storeDir, rpcUrl: proxy.url, extraArgs: ['--metrics-listen', `127.0.0.1:${opsPort}`] });
    const ops = `http://127.0.0.1:${opsPort}`;
    const r = reporter;
    const nodes = new FakeSpool('n1', 'slurmd');
    const ctld = new FakeSpool('ctl', 'slurmctld');
    const sendJobs = async (from: number, to: number) => {
      for (let b = from; b < to; b += 50) {
        const ids = Array.from({ length: Math.min(50, to - b) }, (_, k) => 7000 + b + k);
        await nodes.send(() => r.url, ids.map((id) => slurmEvent(1, id, { startTime: T0 })));
        await ctld.send(() => r.url, ids.map((id) => slurmEvent(3, id, { startTime: T0, endTime: T0 + 200 })));
        await sleep(250);
      }
    };
    await sendJobs(0, 100);
    expect(await health(ops)).toBe(200);
    await proxy.down();
    const downAt = Date.now();
    await sendJobs(100, 300); // the ingest keeps storing while the chain is away
    let sawUnhealthy = false;
    while (Date.now() - downAt < 60_000) {
      if ((await health(ops)) === 503) sawUnhealthy = true;
      await sleep(2000);
    }
    expect(sawUnhealthy).toBe(true);
    const during = r.counts();
    expect(during.planned + during.signed + during.mined).toBeGreaterThan(0);
    await proxy.up();
    const counts = await waitAllFinal(r, 2 * N, 240_000);
    expect(counts.parked).toBe(0);
    expect(await health(ops)).toBe(200);

    const wrong: string[] = [];
    for (const j of jobs) {
      const c = await market.client.getJob(j.jobId);
      if (c.status !== JobStatus.FINISHED || c.cost.finalCost !== 4n * PER_MIN) wrong.push(`${j.jobId}: ${JobStatus[c.status]} ${c.cost.finalCost / PER_MIN}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    const txs = await statusTransactions(market.publicClient, market.provider.address, market.metaScheduler, firstBlock, await market.publicClient.getBlockNumber());
    expect(txs.length).toBe(2 * N);
    expect(txs.every((t) => t.success)).toBe(true);
    expect(new Set(txs.map((t) => `${t.jobId}:${t.status}`)).size).toBe(2 * N);
    // One process per provider key: the next tests start reporters with the same key.
    await r.stop();
    reporter = undefined;
  }, 600_000);
});

// Concurrent with the outage case above, one refusal after the other among themselves.
describe.concurrent('reporter start-up refusals', () => {
  /** `gridlink reporter run ...` to its exit (asynchronous: the outage case's proxy and timers keep running meanwhile). */
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [...cliEntry(), 'reporter', 'run', ...args],
        { encoding: 'utf8', timeout: 60_000, env: { ...process.env, GRIDLINK_PROVIDER_KEY: '', ...env } },
        (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      );
    });
  const base = (dir: string, keyFile: string, chainId = market.chainId) => [
    '--store', dir, '--listen', '127.0.0.1:0', '--rpc-url', market.anvil.rpcUrl, '--chain-id', String(chainId),
    '--meta-scheduler', market.metaScheduler, '--key-file', keyFile, '--no-reconcile-slurm',
  ];

  it.sequential('a malformed key file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-reporter-bad-'));
    const f = join(dir, 'provider.key');
    writeFileSync(f, 'not a key\n', { mode: 0o600 });
    const r = await cli(base(dir, f));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/provider key file .*provider\.key does not hold a private key: expected 64 hex digits/);
    expect(r.stderr + r.stdout).not.toContain('not a key');
  });

  it.sequential('a key file others can read, and no key at all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-reporter-bad-'));
    const f = providerKeyFile(dir, market.provider.privateKey);
    chmodSync(f, 0o644);
    const r = await cli(base(dir, f));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/has mode 0644: it must be 0600: chmod 600 .*provider\.key/);
    expect(r.stderr + r.stdout).not.toContain(market.provider.privateKey.slice(2));
    const none = await cli(base(dir, '').filter((a) => a !== '--key-file' && a !== ''));
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/no provider key: pass --key-file FILE .* or set GRIDLINK_PROVIDER_KEY/);
  });

  it.sequential('a MetaScheduler address without the contract', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-reporter-bad-'));
    const args = base(dir, providerKeyFile(dir, market.provider.privateKey));
    args[args.indexOf('--meta-scheduler') + 1] = '0x00000000000000000000000000000000000000aa';
    const r = await cli(args);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot read the MetaScheduler at 0x0+aa .*check --meta-scheduler and --chain-id/);
  });

  it.sequential('a wrong chain id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-reporter-bad-'));
    const r = await cli(base(dir, providerKeyFile(dir, market.provider.privateKey), 1));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/chain id/i);
    expect(r.stderr).toMatch(/31337/);
  });
});

describe('reporter started while the chain RPC is down', () => {
  it('serves the ingest at once, says so in /healthz, and reports everything once the chain answers', async () => {
    const down = await TcpProxy.start(market.anvil.port);
    await down.down();
    const storeDir = mkdtempSync(join(tmpdir(), 'gl-reporter-late-'));
    fillJobMap(storeDir, late.map((j, i) => ({ gridJobId: j.jobId, slurmJobId: 8000 + i, maxMinutes: j.maxMinutes, claimBlock: j.claimBlock, customer: market.customer.address })));
    const opsPort = await freePort();
    const r = await startReporterProcess({ market, storeDir, rpcUrl: down.url, extraArgs: ['--metrics-listen', `127.0.0.1:${opsPort}`] });
    try {
      const ids = late.map((_, i) => 8000 + i);
      await new FakeSpool('n1', 'slurmd').send(() => r.url, ids.map((id) => slurmEvent(1, id, { startTime: T0 })), 10_000);
      await new FakeSpool('ctl', 'slurmctld').send(() => r.url, ids.map((id) => slurmEvent(3, id, { startTime: T0, endTime: T0 + 200 })), 10_000);
      const h = await fetch(`http://127.0.0.1:${opsPort}/healthz`);
      expect(h.status).toBe(503);
      expect(((await h.json()) as { error: string }).error).toMatch(/chain: unreachable at start/);
      await down.up();
      await waitAllFinal(r, 2 * late.length, 120_000);
      for (const j of late) expect((await market.client.getJob(j.jobId)).status).toBe(JobStatus.FINISHED);
    } finally {
      await r.stop();
      await down.stop();
    }
  }, 240_000);
});

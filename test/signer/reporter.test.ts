// The reporter (the supervisor's chain half) with its key in a remote
// signer: the chain's own anvil answers eth_signTransaction for the
// provider's unlocked account, behind an HTTPS proxy that requires a client
// certificate. A signer holding another address stops start-up; reports go
// through the signer; a signer down is reported by health (what /healthz
// serves), the reports wait and go through once it is back.
import { mkdtempSync, rmSync } from 'node:fs';
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
import { FakeSpool } from '../reporter/chain-harness.js';
import { slurmEvent } from '../reporter/fixtures.js';
import { startMarket, type ClaimedJob, type Market } from '../reporter/market.js';
import { waitFor } from '../txpipeline/helpers.js';
import { startSignerProxy, type SignerProxy } from '../txpipeline/signer-proxy.js';

let market: Market;
let jobs: ClaimedJob[];
let proxy: SignerProxy;
let reporter: Reporter | undefined;
const dir = mkdtempSync(join(tmpdir(), 'gl-signer-reporter-'));
const spool = new FakeSpool('n1', 'slurmd');
const ctld = new FakeSpool('ctl', 'slurmctld');

beforeAll(async () => {
  market = await startMarket();
  jobs = await market.claimJobs(1, 10);
  proxy = await startSignerProxy(market.anvil.rpcUrl, { dir, requireClientCert: true });
}, 120_000);
afterAll(async () => {
  await reporter?.stop();
  await proxy?.stop();
  await market?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const start = (address: Hex, store: string) =>
  startReporter(
    resolveIngestConfig({ listen: { host: '127.0.0.1', port: 0 }, storeDir: join(dir, store), allowedUids: [0] }),
    parseChainReporterConfig({
      rpcUrl: market.anvil.rpcUrl,
      chainId: market.chainId,
      metaScheduler: market.metaScheduler,
      signer: { url: proxy.url, address, caFile: proxy.ca.caFile, certFile: proxy.client.certFile, keyFile: proxy.client.keyFile, timeoutMs: 2000 },
      confirmations: 1,
      pollMs: 100,
      tickMs: 50,
      reconcile: { slurm: false, intervalMs: 3_600_000 },
    }),
    { logger: pino({ level: 'silent' }), env: {} },
  );

describe('reporter with a remote signer', () => {
  it('a signer that does not hold the configured address stops start-up, saying which address', async () => {
    const err = await start('0x000000000000000000000000000000000000bEEF', 'wrong').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/does not hold the configured chain\.signer\.address 0x0+bEEF/i);
  });

  it('reports are signed by the signer; a signer down shows in health, reports wait and go through once it is up', async () => {
    reporter = await start(market.provider.address, 'ok');
    const r = reporter;
    const job = jobs[0]!;
    r.addJob({ gridJobId: job.jobId, slurmJobId: 100, customer: market.customer.address, maxMinutes: job.maxMinutes, claimBlock: job.claimBlock });
    await spool.send(() => r.ingest.url, [slurmEvent(1, 100)]);
    await waitFor('RUNNING on chain', async () => (await market.client.getJob(job.jobId)).status === JobStatus.RUNNING, 60_000, 200);
    expect(await r.health()).toMatchObject({ ok: true });

    await proxy.down();
    await waitFor('health to say the signer is down', async () => {
      const h = await r.health();
      return !h.ok && /^signer: .*cannot reach it/.test(String(h.error));
    }, 20_000, 250);
    const done = slurmEvent(3, 100, { startTime: Math.floor(Date.now() / 1000) - 60, endTime: Math.floor(Date.now() / 1000) });
    await ctld.send(() => r.ingest.url, [done]);
    await new Promise((res) => setTimeout(res, 3000)); // the report waits for the signer
    expect((await market.client.getJob(job.jobId)).status).toBe(JobStatus.RUNNING);
    await proxy.up();
    await waitFor('FINISHED on chain', async () => (await market.client.getJob(job.jobId)).status === JobStatus.FINISHED, 60_000, 200);
    await waitFor('health ok again', async () => (await r.health()).ok, 20_000, 250);
    const txs = r.db.prepare('SELECT nonce FROM txs ORDER BY nonce').all() as Array<{ nonce: number }>;
    expect(txs.map((t) => t.nonce)).toEqual(txs.map((_, i) => txs[0]!.nonce + i));
  });
});

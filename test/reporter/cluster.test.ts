// On the real cluster: a SLURM job entered in the job map reaches FINISHED on
// chain through the whole path (shim -> spool -> relay embedded in the
// daemons -> ingest -> reporter -> chain) with its billed minutes; and
// reconciliation against slurmctld and the chain when no completion arrives.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import { createWalletClient, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { JobStatus } from '../../src/metascheduler/status.js';
import { parseChainReporterConfig, type ChainReporterConfigInput } from '../../src/reporter/config.js';
import { resolveIngestConfig } from '../../src/reporter/ingest/config.js';
import { startReporter } from '../../src/compose/reporter-root.js';
import type { Reporter } from '../../src/reporter/service.js';
import { startBridge, type Bridge } from '../bridge/bridge.js';
import { startPluginCluster, waitFor, type PluginCluster } from '../plugins/with-plugins.js';
import { freePort, providerKeyFile } from './chain-harness.js';
import { PER_MIN, startMarket, type ClaimedJob, type Market } from './market.js';

let market: Market;
let jobs: ClaimedJob[];
let reporter: Reporter | undefined;
let bridge: Bridge | undefined;
let pc: PluginCluster | undefined;

beforeAll(async () => {
  market = await startMarket();
  jobs = await market.claimJobs(4, 10);
  await market.setBlockTime(1);
}, 120_000);

afterEach(async () => {
  await reporter?.stop();
  await bridge?.stop();
  await pc?.cluster.stop();
  reporter = bridge = pc = undefined;
});

afterAll(async () => {
  await market?.stop();
});

async function reporterOn(port: number, chain: Partial<ChainReporterConfigInput> = {}): Promise<Reporter> {
  const storeDir = mkdtempSync(join(tmpdir(), 'gl-reporter-cluster-'));
  return startReporter(
    resolveIngestConfig({ listen: { host: '127.0.0.1', port }, storeDir, allowedUids: [0] }),
    parseChainReporterConfig({
      rpcUrl: market.anvil.rpcUrl,
      chainId: market.chainId,
      metaScheduler: market.metaScheduler,
      keyFile: providerKeyFile(storeDir, market.provider.privateKey),
      confirmations: 2,
      pollMs: 200,
      ...chain,
    }),
    { logger: pino({ level: 'warn' }), env: {} },
  );
}

const confirmed = (r: Reporter, id: Hex, s: JobStatus) => r.reports.forJob(id).find((x) => x.status === s)?.state === 'confirmed';

describe('reporter on the real cluster', () => {
  it('a SLURM job in the job map reaches FINISHED on chain through shim, spool, embedded relay, ingest and reporter', async () => {
    const port = await freePort();
    reporter = await reporterOn(port, { reconcile: { slurm: false } });
    bridge = await startBridge(reporter.ingest.url, 'embedded');
    const c = bridge.pc.cluster;
    const slurmId = await c.sbatch(['--job-name=grid-e2e', '--output=/dev/null'], 'sleep 2');
    const r = reporter;
    r.addJob({ gridJobId: jobs[0]!.jobId, slurmJobId: slurmId, customer: market.customer.address, maxMinutes: jobs[0]!.maxMinutes, claimBlock: jobs[0]!.claimBlock, submittedAt: Math.floor(Date.now() / 1000) - 2 });
    await c.waitJob(slurmId);
    await waitFor('FINISHED confirmed on chain', () => confirmed(r, jobs[0]!.jobId, JobStatus.FINISHED), 90_000);
    expect(confirmed(r, jobs[0]!.jobId, JobStatus.RUNNING)).toBe(true);
    const onChain = await market.client.getJob(jobs[0]!.jobId);
    expect(onChain.status).toBe(JobStatus.FINISHED);
    expect(onChain.exitCode).toBe(0n);
    // ~2 s of SLURM run time: one whole minute billed.
    expect(r.reports.forJob(jobs[0]!.jobId).find((x) => x.status === JobStatus.FINISHED)!.minutes).toBe(1);
    expect(onChain.cost.finalCost).toBe(PER_MIN);
  }, 240_000);

  it('reconciliation: a completion that never arrived is recovered from slurmctld; a job the cluster lost is reported FAILED; a job closed on chain is flagged for scancel', async () => {
    // Plugins on, but no relay: the records stay in the spools, nothing reaches the ingest.
    pc = await startPluginCluster({ jobCompOptions: ['runtime=off'], spankOptions: ['runtime=off'] });
    const c = pc.cluster;
    reporter = await reporterOn(0, { reconcile: { slurm: true, slurmConf: c.confPath, lostGraceMs: 0, intervalMs: 3_600_000 } });
    const r = reporter;
    const failed = await c.sbatch(['--job-name=grid-fails', '--output=/dev/null'], 'sleep 1; exit 3');
    await c.waitJob(failed);
    const [a, b, d] = [jobs[1]!, jobs[2]!, jobs[3]!];
    r.addJob({ gridJobId: a.jobId, slurmJobId: failed, customer: market.customer.address, maxMinutes: a.maxMinutes, claimBlock: a.claimBlock });
    r.addJob({ gridJobId: b.jobId, slurmJobId: 987_654, customer: market.customer.address, maxMinutes: b.maxMinutes, claimBlock: b.claimBlock });
    // The customer cancels d while it is SCHEDULED: the chain closes it, with nothing for the provider to report.
    const customer = market.client.withWalletClient(createWalletClient({ account: privateKeyToAccount(market.customer.privateKey), chain: foundry, transport: http(market.anvil.rpcUrl) }));
    await customer.cancelJob(d.jobId);
    const running = await c.sbatch(['--job-name=grid-cancelled-on-chain', '--output=/dev/null'], 'sleep 300');
    r.addJob({ gridJobId: d.jobId, slurmJobId: running, customer: market.customer.address, maxMinutes: d.maxMinutes, claimBlock: d.claimBlock });

    const sum = await r.reconcile();
    expect(sum).toMatchObject({ recovered: 1, lost: 1, closedOnChain: 1 });
    await waitFor('recovered FAILED confirmed', () => confirmed(r, a.jobId, JobStatus.FAILED), 60_000);
    await waitFor('lost FAILED confirmed', () => confirmed(r, b.jobId, JobStatus.FAILED), 60_000);

    const ja = await market.client.getJob(a.jobId);
    expect(ja.status).toBe(JobStatus.FAILED);
    expect(ja.exitCode).toBe(3n);
    expect(ja.lastError).toMatch(/ended FAILED \(exit code 3\)/);
    expect(ja.cost.finalCost).toBe(PER_MIN); // ran about a second: one minute
    const jb = await market.client.getJob(b.jobId);
    expect(jb.status).toBe(JobStatus.FAILED);
    expect(jb.lastError).toMatch(/lost by the cluster/);
    expect(jb.cost.finalCost).toBe(0n); // never RUNNING on chain: nothing billed
    expect(r.jobs.toCancel().map((j) => j.gridJobId)).toEqual([d.jobId]);
    expect(r.reports.coldFor(d.jobId)).toMatchObject({ state: 'done' });
    // A second pass finds nothing new.
    expect(await r.reconcile()).toMatchObject({ recovered: 0, lost: 0, closedOnChain: 0 });
    await c.cancel(running);
  }, 240_000);
});

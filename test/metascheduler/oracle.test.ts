import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startOracle, type Oracle } from '../../harness/devnet/oracle.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import type { Hex } from 'viem';
import { CREDIT, definition, fourPerMinute, smallCluster, startDevnet, type Devnet } from './devnet.js';

let net: Devnet;
let oracle: Oracle | undefined;
const logs: Record<string, unknown>[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });

beforeAll(async () => {
  net = await startDevnet({ providers: 2 });
  const small = net.providers[0]!;
  await small.register(smallCluster, fourPerMinute, []);
  await net.admin.approveProvider(small.walletClient!.account.address);
});
afterAll(async () => {
  await oracle?.stop();
  await net?.stop();
});

async function until(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const statusOf = async (id: Hex) => (await net.admin.getJob(id)).status;

describe('devnet oracle', () => {
  it('assigns a fitting job, skips one that fits nowhere, assigns it once a big enough provider joins', async () => {
    const [small, big] = [net.providers[0]!, net.providers[1]!];
    // 2 tasks x 4 cpus x 1000 MB, 2 gpus: fits the 2-node, 1-gpu-per-node cluster.
    const fits = await net.customer.requestNewJob(definition({ ntasks: 2n, cpusPerTask: 4n, memPerCpu: 1000n, gpus: 2n }), 200n * CREDIT, 'fits');
    // 12 cpus in one task: no node has that many.
    const tooBig = await net.customer.requestNewJob(definition({ cpusPerTask: 12n }), 200n * CREDIT, 'too-big');

    oracle = startOracle({ client: net.admin, pollIntervalMs: 100, logger });

    await until('the fitting job to be meta-scheduled', async () => (await statusOf(fits.jobId)) === JobStatus.META_SCHEDULED);
    const job = await net.admin.getJob(fits.jobId);
    expect(job.providerAddr).toBe(small.walletClient!.account.address);
    const claim = await small.claimNextJob();
    expect(claim?.jobId).toBe(fits.jobId);

    // A few more passes: the big job must stay PENDING and be reported once.
    await oracle.tick();
    await oracle.tick();
    expect(await statusOf(tooBig.jobId)).toBe(JobStatus.PENDING);
    const warned = logs.filter((l) => l.jobId === tooBig.jobId && l.level === 40);
    expect(warned).toHaveLength(1);
    expect(String(warned[0]!.msg)).toMatch(/no approved provider/);
    expect(logs.some((l) => l.jobId === fits.jobId && l.msg === 'job meta-scheduled')).toBe(true);

    await big.register({ nodes: 1n, gpusPerNode: [0n], cpusPerNode: [16n], memPerNode: [64_000n] }, fourPerMinute, []);
    await net.admin.approveProvider(big.walletClient!.account.address);
    await until('the big job to go to the big provider', async () => (await statusOf(tooBig.jobId)) === JobStatus.META_SCHEDULED);
    expect((await net.admin.getJob(tooBig.jobId)).providerAddr).toBe(big.walletClient!.account.address);
  });

  it('does not hand a refused job back to the provider that refused it', async () => {
    const small = net.providers[0]!;
    const { jobId } = await net.customer.requestNewJob(definition({ gpus: 1n }), 200n * CREDIT, 'refused');
    // Only the small cluster has gpus.
    await until('assignment', async () => (await statusOf(jobId)) === JobStatus.META_SCHEDULED);
    expect((await net.admin.getJob(jobId)).providerAddr).toBe(small.walletClient!.account.address);
    await small.refuseJob(jobId);
    await oracle!.tick();
    await oracle!.tick();
    expect(await statusOf(jobId)).toBe(JobStatus.PENDING);
  });
});

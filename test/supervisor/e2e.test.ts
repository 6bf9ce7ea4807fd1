// The supervisor on the whole grid: anvil (1-second blocks), the contracts,
// the devnet oracle, the sbatch service, a real 2-node SLURM cluster with the
// plugins and embedded relays, the reporter. A customer's job goes PENDING ->
// META_SCHEDULED -> claimed -> runs as the customer's user with the paid
// resources -> FINISHED, billed right; cancellation, top-up, a failing job,
// an unavailable script and hostile #SBATCH lines.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { JobStatus } from '../../src/metascheduler/status.js';
import { getProvider } from '../../src/metascheduler/actions/getProvider.js';
import type { Supervisor } from '../../src/compose/supervisor-root.js';
import { waitFor } from '../plugins/with-plugins.js';
import { CREDIT, startGrid, startGridSupervisor, type Grid } from './grid.js';

let grid: Grid;
let sup: Supervisor;

beforeAll(async () => {
  grid = await startGrid();
  sup = await startGridSupervisor(grid);
}, 240_000);

afterAll(async () => {
  await sup?.stop();
  await grid?.stop();
});

const slurmJobOf = async (id: Hex) => {
  const c = sup.claims.latestFor(id);
  return c?.slurmJobId ? (await sup.backend.list()).find((j) => j.jobId === c.slurmJobId) : undefined;
};

describe('supervisor on the grid', () => {
  it('registered the partition: 2 nodes with their CPUs, memory and 2 GPUs each, the prices and labels', async () => {
    const p = await getProvider({ publicClient: grid.publicClient as never, addresses: grid.admin.addresses }, { provider: grid.provider.address });
    const part = await sup.backend.partition(grid.bridge.pc.cluster.partition);
    expect(p.providerHardware.nodes).toBe(2n);
    expect(p.providerHardware.gpusPerNode).toEqual([2n, 2n]);
    expect(p.providerHardware.cpusPerNode).toEqual(part.nodes.map((n) => BigInt(n.cpus)));
    expect(p.providerHardware.memPerNode).toEqual(part.nodes.map((n) => BigInt(n.realMemoryMB)));
    expect(p.providerPrices.cpuPricePerMin).toBe(1n * CREDIT);
    expect(p.providerPrices.gpuPricePerMin).toBe(2n * CREDIT);
    expect([...p.labels].sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { key: 'os', value: 'linux' },
      { key: 'region', value: 'test' },
    ]);
  });

  it('runs a job as its customer with the paid resources, FINISHED, provider paid and customer refunded', async () => {
    const cust = grid.customers[0]!;
    const before = { customer: await grid.creditBalance(cust.account.address), provider: await grid.creditBalance(grid.provider.address) };
    const script = [
      '#!/bin/bash -l',
      'echo "uid=$(id -u) gid=$(id -g) user=$USER home=$HOME name=$SLURM_JOB_NAME" > "$HOME/e2e-$SLURM_JOB_NAME.txt"',
      'srun true',
      'sleep 2',
    ].join('\n');
    const id = await grid.requestJob({ script, definition: { gpus: 1n }, credits: 100n * CREDIT });
    const done = await grid.waitStatus(id, [JobStatus.FINISHED, JobStatus.FAILED], 150_000);
    expect(done.status).toBe(JobStatus.FINISHED);
    const out = readFileSync(join(cust.user.home, `e2e-${id}.txt`), 'utf8');
    expect(out.trim()).toBe(`uid=${cust.user.uid} gid=${cust.user.gid} user=${cust.user.name} home=${cust.user.home} name=${id}`);
    // 1 task x 1 CPU x 1 credit + 1 GPU x 2 credits = 3 credits per minute; a 2-second job bills 1 minute.
    expect(done.cost.finalCost).toBe(3n * CREDIT);
    await waitFor('balances settled', async () => (await grid.creditBalance(grid.provider.address)) > before.provider, 30_000);
    expect((await grid.creditBalance(grid.provider.address)) - before.provider).toBe(3n * CREDIT - (3n * CREDIT * 20n) / 100n);
    expect(before.customer - (await grid.creditBalance(cust.account.address))).toBe(3n * CREDIT);
  });

  it('the customer\'s #SBATCH lines change nothing: resources, shape, placement, accounting stay as paid', async () => {
    const hostile = [
      '#SBATCH --array=0-9',
      '#SBATCH --nodes=2',
      '#SBATCH --ntasks=4',
      '#SBATCH --cpus-per-task=2',
      '#SBATCH --mem=100',
      '#SBATCH --gpus=4',
      '#SBATCH --gres=gpu:2',
      '#SBATCH --exclusive',
      '#SBATCH --partition=other',
      '#SBATCH --account=root',
      '#SBATCH --qos=high',
      '#SBATCH --reservation=maint',
      '#SBATCH --time=99999',
      '#SBATCH --dependency=afterok:1',
      '#SBATCH --begin=now+1hour',
    ];
    const id = await grid.requestJob({ script: ['#!/bin/bash -l', ...hostile, 'sleep 20'].join('\n'), credits: 100n * CREDIT });
    await grid.waitStatus(id, JobStatus.RUNNING, 120_000);
    const j = await waitFor('SLURM job visible', () => slurmJobOf(id), 30_000);
    expect(j).toMatchObject({ name: id, numTasks: 1, cpusPerTask: 1, memPerCpuMB: 64, gpus: 0, partition: grid.bridge.pc.cluster.partition, arrayJobId: 0, account: expect.not.stringMatching(/^root$/), reservation: '', exclusive: false, requeue: false });
    expect(j.numNodes).toBe(1);
    expect(j.dependency === '' || j.dependency === '(null)').toBe(true);
    expect(j.timeLimitMinutes).toBe(100); // 100 credits (the contract's minimum) at 1 credit per minute
    expect(j.qos).not.toBe('high');
    await grid.customers[0]!.client.cancelJob(id);
    await grid.waitStatus(id, JobStatus.CANCELLED, 120_000);
  });

  it('a top-up raises the SLURM time limit by the paid minutes; a cancellation stops the job, billed for the minutes used', async () => {
    const id = await grid.requestJob({ script: '#!/bin/bash -l\nsleep 600\n', credits: 100n * CREDIT });
    await grid.waitStatus(id, JobStatus.RUNNING, 120_000);
    const first = await waitFor('SLURM job running', async () => {
      const j = await slurmJobOf(id);
      return j?.state === 'RUNNING' && j;
    }, 30_000);
    expect(first.timeLimitMinutes).toBe(100);
    await grid.customers[0]!.client.topUpJob(id, 30n * CREDIT);
    await waitFor('time limit raised', async () => (await slurmJobOf(id))?.timeLimitMinutes === 130, 60_000);
    expect(sup.reporter.jobs.get(id)?.maxMinutes).toBe(130);
    await grid.customers[0]!.client.cancelJob(id);
    const done = await grid.waitStatus(id, JobStatus.CANCELLED, 120_000);
    expect(['CANCELLED', 'COMPLETED', 'FAILED']).toContain((await slurmJobOf(id))?.state ?? 'CANCELLED');
    expect(done.cost.finalCost).toBe(1n * CREDIT);
  });

  it('a job that fails is FAILED on chain with its exit code; a script the sbatch service does not have is FAILED with the reason', async () => {
    const failing = await grid.requestJob({ script: '#!/bin/bash -l\nexit 3\n', credits: 100n * CREDIT });
    const c = grid.customers[1]!;
    const hash = 'no-such-script';
    const missing = (await c.client.requestNewJob({ gpus: 0n, memPerCpu: 64n, cpusPerTask: 1n, ntasks: 1n, batchLocationHash: hash, storageType: 0, uses: [], affinity: [] }, 100n * CREDIT, `0x${'ab'.repeat(32)}`, false)).jobId;
    const f = await grid.waitStatus(failing, JobStatus.FAILED, 120_000);
    expect(f.exitCode).not.toBe(0n);
    const m = await grid.waitStatus(missing, JobStatus.FAILED, 120_000);
    expect(m.lastError).toMatch(/script unavailable/);
    expect(m.cost.finalCost).toBe(0n);
    expect(sup.claims.latestFor(missing)?.state).toBe('failed');
  });

  it('reports health and metrics', async () => {
    const h = await sup.health();
    expect(h.ok).toBe(true);
    const metrics = await sup.reporter.registry.metrics();
    expect(metrics).toMatch(/gridlink_claim_transactions_total\{queue="claimable"\} [1-9]/);
    expect(metrics).toMatch(/gridlink_claim_to_submit_seconds_count [1-9]/);
  });
});

// The supervisor with the SSH backend (no libslurm on its host: a login node,
// here a private sshd on loopback with key authentication, runs sbatch,
// scancel and scontrol as root) and benchmarks enabled: it measures hpcc and
// fio as SLURM jobs, registers their labels, then runs a customer's job with
// hostile #SBATCH lines as the customer, with the paid resources, to FINISHED.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { getProvider } from '../../src/metascheduler/actions/getProvider.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import type { Supervisor } from '../../src/compose/supervisor-root.js';
import { ensureLocalUsers } from '../helpers/local-users.js';
import { startTestSshd, type TestSshd } from '../slurm/sshd.js';
import { waitFor } from '../plugins/with-plugins.js';
import { CREDIT, startGrid, startGridSupervisor, type Grid } from './grid.js';

let grid: Grid;
let sshd: TestSshd;
let sup: Supervisor;

beforeAll(async () => {
  grid = await startGrid({ customers: 1 });
  sshd = await startTestSshd();
  const bench = ensureLocalUsers(['gridlink-bench'])[0]!;
  const cluster = grid.bridge.pc.cluster;
  sup = await startGridSupervisor(
    grid,
    (c) => {
      c.slurm = {
        backend: 'ssh',
        partition: cluster.partition,
        ssh: { host: sshd.host, port: sshd.port, privateKeyPath: sshd.clientKeyPath, hostKey: sshd.hostPublicKey, slurmConf: cluster.confPath },
      };
      // OMPI_MCA_btl: both "nodes" are this host, where OpenMPI's shared-memory transport collides with itself.
      c.benchmarks = { enabled: true, quick: true, user: bench.name, workDir: join(bench.home, `bench-${Date.now()}`), fioSizeMB: 16, timeoutMinutes: 3, environment: { OMPI_MCA_btl: 'self,tcp', OMPI_MCA_btl_tcp_if_include: 'lo', OMPI_MCA_oob_tcp_if_include: 'lo' } };
    },
    180_000,
  );
}, 300_000);

afterAll(async () => {
  await sup?.stop();
  await sshd?.destroy();
  await grid?.stop();
});

describe('supervisor with the SSH backend and benchmarks', () => {
  it('registered the benchmark results as labels', async () => {
    expect(sup.backend.kind).toBe('ssh');
    const p = await getProvider({ publicClient: grid.publicClient as never, addresses: grid.admin.addresses }, { provider: grid.provider.address });
    const keys = p.labels.map((l) => l.key);
    expect(keys).toEqual(expect.arrayContaining(['region', 'benchmark.hpl.gflops', 'benchmark.fio.seqread.mbps']));
    for (const l of p.labels.filter((x) => x.key.startsWith('benchmark.'))) expect(Number(l.value)).toBeGreaterThan(0);
  });

  it('runs a job as its customer, #SBATCH lines without effect, to FINISHED', async () => {
    const cust = grid.customers[0]!;
    const script = ['#!/bin/bash -l', '#SBATCH --ntasks=4', '#SBATCH --exclusive', '#SBATCH --partition=other', '#SBATCH --array=1-3', 'echo "$(id -u) $SLURM_NTASKS $SLURM_JOB_NAME" > "$HOME/ssh-$SLURM_JOB_NAME.txt"', 'sleep 1'].join('\n');
    const id = await grid.requestJob({ script, credits: 100n * CREDIT });
    const slurm = await waitFor('submitted', async () => sup.claims.latestFor(id)?.slurmJobId ?? undefined, 120_000);
    const j = (await sup.backend.list()).find((x) => x.jobId === slurm);
    if (j) expect(j).toMatchObject({ numTasks: 1, exclusive: false, arrayJobId: 0, partition: grid.bridge.pc.cluster.partition });
    const done = await grid.waitStatus(id, [JobStatus.FINISHED, JobStatus.FAILED], 150_000);
    expect(done.status).toBe(JobStatus.FINISHED);
    expect(readFileSync(join(cust.user.home, `ssh-${id}.txt`), 'utf8').trim()).toBe(`${cust.user.uid} 1 ${id}`);
  });
});

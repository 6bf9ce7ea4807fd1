// SLURM 23.11 (Ubuntu 24.04's series): the same plugin sources compile for it
// (scripts/build-slurm-matrix.sh), slurmctld and slurmd start with both
// plugins loaded, and a job yields its completion and node records. The full
// acceptance suite runs on 22.05, 24.11 and 25.11 (test/plugins).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { completions, matrixSlurm, prepareSlurm, nodeEnds, readSpool, slurmTarballs, startPluginCluster, starts, waitFor, type PluginCluster } from '../plugins/with-plugins.js';
import { skipReason } from '../helpers/skip-reason.js';
import { PREPARE_TIMEOUT_MS } from '../helpers/prepare.js';

const slurm = matrixSlurm('23.11.11');
const here = existsSync(join(slurmTarballs, `slurm-${slurm.version}.tar.xz`));

let pc: PluginCluster | undefined;
afterAll(async () => {
  await pc?.cluster.stop();
});

describe.skipIf(!here)(`SLURM ${slurm.version}${skipReason(here, `no slurm-${slurm.version}.tar.xz in ${slurmTarballs}`)}`, () => {
  beforeAll(() => prepareSlurm(slurm), PREPARE_TIMEOUT_MS);
  it('loads jobcomp/provider and spank/provider and records a job', async () => {
    // 23.11's main scheduler can skip a job as "invalid account" right after
    // start (no accounting database); backfill every second starts it then.
    pc = await startPluginCluster({ slurm, gpusPerNode: 0, schedulerParameters: 'batch_sched_delay=0,bf_interval=1' });
    const c = pc.cluster;
    const v = await c.run('scontrol', ['--version']);
    expect(v.stdout).toContain(slurm.version);
    const id = await c.sbatch(['--job-name=on-23.11', '--comment=loaded'], 'exit 0');
    expect((await c.waitJob(id)).state).toBe('COMPLETED');
    const ev = await waitFor('completion record', () => completions(readSpool(pc!.ctldSpool), id)[0]);
    expect(ev).toMatchObject({ jobId: id, stateName: 'COMPLETED', jobName: 'on-23.11', comment: 'loaded', node: c.nodeName });
    expect(ev.startTime).toBeGreaterThan(0);
    await waitFor('epilog record', () => nodeEnds(readSpool(pc!.nodeSpool), id).length === 1);
    expect(starts(readSpool(pc.nodeSpool), id)).toHaveLength(1);
    expect(readFileSync(c.logs.ctld, 'utf8')).not.toMatch(/jobcomp\/provider.*(error|incompatible)/i);
  });
});

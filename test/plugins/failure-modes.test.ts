// A bad spool never hurts SLURM: the hook logs through SLURM and returns
// success, jobs run, the daemons keep answering, the node is not drained.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';

import { completions, readSpool, slurmTargets, startPluginCluster, starts, waitFor, type PluginCluster } from './with-plugins.js';

let pc: PluginCluster | undefined;
afterEach(async () => {
  await pc?.cluster.stop();
  pc = undefined;
});

async function expectHealthy(p: PluginCluster) {
  const c = p.cluster;
  const ids = [await c.sbatch([], 'echo fine'), await c.sbatch([], 'exit 0')];
  for (const id of ids) expect((await c.waitJob(id)).state).toBe('COMPLETED');
  await c.run('scontrol', ['ping']);
  await c.run('sinfo', []);
  expect(await c.nodeState()).toMatch(/^(idle|mix|alloc)$/);
  return ids;
}

describe.each(slurmTargets())('failure modes on SLURM $version', (slurm) => {
  it('an unwritable spool dir: slurm_error in both logs, jobs keep running', async () => {
    pc = await startPluginCluster({ slurm, ctldSpool: '/proc/gridlink/slurmctld', nodeSpool: '/proc/gridlink/slurmd' });
    await expectHealthy(pc);
    const ctldLog = readFileSync(pc.cluster.logs.ctld, 'utf8');
    expect(ctldLog).toMatch(/error: jobcomp\/provider: cannot create spool dir '\/proc\/gridlink\/slurmctld'/);
    await waitFor('spank error in slurmd log', () =>
      /error: spank\/provider: job \d+ job_started event lost: cannot create spool dir '\/proc\/gridlink\/slurmd'/.test(
        readFileSync(pc!.cluster.logs.slurmd, 'utf8'),
      ),
    );
    expect(await pc.cluster.nodeState()).not.toMatch(/drain/);
  });

  it('a missing spool dir is created on first use', async () => {
    pc = await startPluginCluster({ slurm });
    const [id] = await expectHealthy(pc);
    await waitFor('completion', () => completions(readSpool(pc!.ctldSpool), id).length === 1);
    expect(starts(readSpool(pc.nodeSpool), id)).toHaveLength(1);
  });

  it('a full spool: a clear error, no blocking, jobs keep running', async () => {
    // Small bound on both spools: a few records fit, then they are full.
    pc = await startPluginCluster({ slurm, jobCompOptions: ['max_bytes=4K'], spankOptions: ['max_bytes=4K'] });
    const ids: number[] = [];
    // ~1.2 KB records (1000-byte comment): the 4 KiB bound is reached by the 4th
    for (let i = 0; i < 8; i++) ids.push(await pc.cluster.sbatch([`--comment=${'c'.repeat(1000)}`], 'true'));
    for (const id of ids) expect((await pc.cluster.waitJob(id)).state).toBe('COMPLETED');
    await expectHealthy(pc);
    const ctldLog = readFileSync(pc.cluster.logs.ctld, 'utf8');
    expect(ctldLog).toMatch(/error: jobcomp\/provider: job \d+ job_completed event lost: spool .* is full .* the event was NOT recorded/);
    await waitFor('spank full error', () => /error: spank\/provider: job \d+ job_\w+ event lost: spool .* is full/.test(readFileSync(pc!.cluster.logs.slurmd, 'utf8')));
  });

  it('a bad option: logged, the rest of the options still apply', async () => {
    pc = await startPluginCluster({ slurm, spankOptions: ['bogus=1'], jobCompOptions: ['max_bytes=lots'] });
    await expectHealthy(pc);
    await waitFor('option error', () => /spank\/provider: plugstack.conf: unknown option 'bogus'/.test(readFileSync(pc!.cluster.logs.slurmd, 'utf8')));
    expect(readFileSync(pc.cluster.logs.ctld, 'utf8')).toMatch(/jobcomp\/provider: JobCompLoc=.*max_bytes=lots: expected a size/);
    const [id] = await expectHealthy(pc);
    await waitFor('completion in the configured spool', () => completions(readSpool(pc!.ctldSpool), id).length === 1);
  });
});

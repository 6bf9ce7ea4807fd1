// A bad spool never hurts SLURM: the hook logs through SLURM and returns
// success, jobs run, the daemons keep answering, the node is not drained.
import { expect, it } from 'vitest';

import { nodeEvents, type PluginSubject, type StartSubject } from '../subject.js';
import { completions, starts, waitFor } from '../with-plugins.js';

async function expectHealthy(p: PluginSubject) {
  const c = p.cluster;
  const ids = [await c.sbatch([], 'echo fine'), await c.sbatch([], 'exit 0')];
  for (const id of ids) expect((await c.waitJob(id)).state).toBe('COMPLETED');
  await c.run('scontrol', ['ping']);
  await c.run('sinfo', []);
  expect(await c.nodeState()).toMatch(/^(idle|mix|alloc)$/);
  return ids;
}

/** Each case starts (or reconfigures) its own subject with `start`; the caller stops or restores it after each. */
export function failureModeCases(start: StartSubject): void {
  it('an unwritable spool dir: slurm_error in both logs, jobs keep running', async () => {
    const pc = await start({ unwritableSpools: true });
    await expectHealthy(pc);
    expect(await pc.ctldLog()).toMatch(/error: jobcomp\/provider: cannot create spool dir '\/proc\/gridlink\/slurmctld'/);
    await waitFor('spank error in slurmd log', async () =>
      /error: spank\/provider: job \d+ job_started event lost: cannot create spool dir '\/proc\/gridlink\/slurmd'/.test(await pc.slurmdLog()),
    );
    expect(await pc.cluster.nodeState()).not.toMatch(/drain/);
  });

  it('a missing spool dir is created on first use', async () => {
    const pc = await start({});
    const [id] = await expectHealthy(pc);
    await waitFor('completion', () => completions(pc.ctldEvents(), id).length === 1);
    expect(starts(nodeEvents(pc), id)).toHaveLength(1);
  });

  it('a full spool: a clear error, no blocking, jobs keep running', async () => {
    // Small bound on both spools: a few records fit, then they are full.
    const pc = await start({ jobCompOptions: ['max_bytes=4K'], spankOptions: ['max_bytes=4K'] });
    const ids: number[] = [];
    // ~1.2 KB records (1000-byte comment): the 4 KiB bound is reached by the 4th
    for (let i = 0; i < 8; i++) ids.push(await pc.cluster.sbatch([`--comment=${'c'.repeat(1000)}`], 'true'));
    for (const id of ids) expect((await pc.cluster.waitJob(id)).state).toBe('COMPLETED');
    await expectHealthy(pc);
    expect(await pc.ctldLog()).toMatch(/error: jobcomp\/provider: job \d+ job_completed event lost: spool .* is full .* the event was NOT recorded/);
    await waitFor('spank full error', async () => /error: spank\/provider: job \d+ job_\w+ event lost: spool .* is full/.test(await pc.slurmdLog()));
  });

  it('a bad option: logged, the rest of the options still apply', async () => {
    const pc = await start({ spankOptions: ['bogus=1'], jobCompOptions: ['max_bytes=lots'] });
    await expectHealthy(pc);
    await waitFor('option error', async () => /spank\/provider: plugstack.conf: unknown option 'bogus'/.test(await pc.slurmdLog()));
    expect(await pc.ctldLog()).toMatch(/jobcomp\/provider: JobCompLoc=.*max_bytes=lots: expected a size/);
    const [id] = await expectHealthy(pc);
    await waitFor('completion in the configured spool', () => completions(pc.ctldEvents(), id).length === 1);
  });
}

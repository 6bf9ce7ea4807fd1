// The embedded runtime cannot hurt the daemons that host it: whatever the
// JavaScript does (exit, throw, reject, spin forever), slurmctld and slurmd
// keep answering, jobs keep running and being recorded, and both daemons
// still stop cleanly on `scontrol shutdown` and SIGTERM.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { completions, readSpool, startPluginCluster, starts, waitFor, type PluginCluster } from '../plugins/with-plugins.js';

const fixture = join(__dirname, 'fixtures', 'heartbeat.mjs');
let pc: PluginCluster | undefined;
afterEach(async () => {
  await pc?.cluster.stop();
  pc = undefined;
});

async function startWith(mode: string, beatFile: string) {
  rmSync(beatFile, { force: true });
  // reporter= turns the runtime on; the fixture never contacts it
  const opts = ['reporter=http://127.0.0.1:9', `entry=${fixture}`, `log=${beatFile}`, `host=${mode}`];
  return startPluginCluster({ jobCompOptions: opts, spankOptions: opts });
}

async function expectDaemonsServe(p: PluginCluster) {
  const c = p.cluster;
  await c.run('scontrol', ['ping']);
  await c.run('sinfo', []);
  const id = await c.sbatch([], 'true');
  expect((await c.waitJob(id)).state).toBe('COMPLETED');
  await waitFor('completion record', () => completions(readSpool(p.ctldSpool), id).length === 1);
  expect(starts(readSpool(p.nodeSpool), id)).toHaveLength(1);
  expect(await c.nodeState()).not.toMatch(/drain|down/);
}

describe('embedded runtime safety', () => {
  for (const mode of ['exit', 'throw', 'reject', 'loop']) {
    it(`survives JavaScript that does "${mode}"`, async () => {
      const beat = `/tmp/gridlink-runtime-${mode}.txt`;
      pc = await startWith(mode, beat);
      await waitFor('both runtimes started', () => {
        const t = existsSync(beat) ? readFileSync(beat, 'utf8') : '';
        return /start slurmctld v18/.test(t) && /start slurmd v18/.test(t);
      });
      // Past the misbehaviour: the fixture misbehaves right after its second
      // beat (600 ms in), so wait for that line from both daemons instead of a fixed 1.5 s.
      await waitFor('both runtimes at their misbehaviour (second beat)', () => {
        const t = readFileSync(beat, 'utf8');
        return (t.match(/^beat slurmctld$/gm)?.length ?? 0) >= 2 && (t.match(/^beat slurmd$/gm)?.length ?? 0) >= 2;
      });
      await expectDaemonsServe(pc);
      const ctldLog = readFileSync(pc.cluster.logs.ctld, 'utf8');
      if (mode === 'exit' || mode === 'throw')
        expect(ctldLog).toMatch(/gridlink runtime \(slurmctld\): JavaScript exited with code 1; the runtime stops, the daemon keeps running/);
      // a clean shutdown with the runtime loaded (spinning, or stopped)
      const t0 = Date.now();
      await pc.cluster.stop();
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(pc.cluster.ctldPid()).toBeUndefined();
      expect(pc.cluster.slurmdPid()).toBeUndefined();
      pc = undefined;
    });
  }

  it('SIGTERM stops slurmctld and slurmd cleanly with the runtime running, and slurmctld saves its state', async () => {
    const beat = '/tmp/gridlink-runtime-sigterm.txt';
    pc = await startWith('none', beat);
    const c = pc.cluster;
    const held = await c.sbatch(['--hold', '--job-name=survivor'], 'true');
    await waitFor('runtimes', () => existsSync(beat) && /start slurmd/.test(readFileSync(beat, 'utf8')) && /start slurmctld/.test(readFileSync(beat, 'utf8')));
    const t0 = Date.now();
    await c.killCtld('SIGTERM');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(readFileSync(c.logs.ctld, 'utf8')).toMatch(/gridlink runtime \(slurmctld\): stopped\n/);
    await c.restartCtld();
    expect((await c.showJob(held))?.state).toBe('PENDING'); // state saved on SIGTERM
    await c.restartSlurmd(); // SIGTERM to slurmd, then start again
    expect(readFileSync(c.logs.slurmd, 'utf8')).toMatch(/gridlink runtime \(slurmd\): stopped\n/);
    await expectDaemonsServe(pc);
  });
});

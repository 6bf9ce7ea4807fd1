// User hooks run in the embedded runtime: one that throws, one that calls
// process.exit(1) and one that loops forever are logged and timed out; the
// daemons keep answering and every job is still delivered.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';

import { waitFor } from '../plugins/with-plugins.js';
import { checkOncePerSpoolInOrder, startBridge, startIngest, stored, waitAllDelivered, useBridgeLifecycle } from './bridge.js';

const hooks = join(__dirname, 'fixtures', 'bad-hooks.mjs');
const marks = '/tmp/gridlink-hook-marks.txt';
const running = useBridgeLifecycle(afterEach);

it('hooks that throw, exit and loop forever never stop the daemons or delivery', async () => {
  rmSync(marks, { force: true });
  running.ingest = await startIngest();
  running.bridge = await startBridge(running.ingest.url, 'embedded', [`hooks=${hooks}`, 'hook_timeout_ms=500']);
  const c = running.bridge.pc.cluster;
  const ids: number[] = [];
  for (let i = 0; i < 6; i++) ids.push(await c.sbatch([`--job-name=hooked-${i}`], 'true'));
  for (const id of ids) expect((await c.waitJob(id)).state).toBe('COMPLETED');
  await waitAllDelivered(running.ingest, ids, 60_000);
  checkOncePerSpoolInOrder(await stored(running.ingest));
  // hooks did run, in both daemons
  await waitFor('hook marks', () => existsSync(marks) && /^start /m.test(readFileSync(marks, 'utf8')) && /^complete /m.test(readFileSync(marks, 'utf8')), 30_000);
  // the daemons answer while a hook spins
  await c.run('scontrol', ['ping']);
  await c.run('sinfo', []);
  expect(await c.nodeState()).not.toMatch(/drain|down/);
  const more = await c.sbatch([], 'true');
  await c.waitJob(more);
  await waitAllDelivered(running.ingest, [more], 60_000);
  // and the misbehaviour was logged by the relays
  const ctldLog = readFileSync(join(running.bridge.logDir, 'slurmctld.log'), 'utf8');
  const nodeLog = readFileSync(join(running.bridge.logDir, 'slurmd.log'), 'utf8');
  expect(ctldLog).toMatch(/onJobComplete/);
  expect(ctldLog).toMatch(/time|timed out|terminat/i);
  expect(nodeLog).toMatch(/onJobStart/);
  expect(nodeLog).toMatch(/hook fixture: onJobStart throws/);
  // shutdown with spinning hooks is still clean
  const t0 = Date.now();
  await running.bridge.stop();
  running.bridge = undefined;
  expect(Date.now() - t0).toBeLessThan(20_000);
}, 180_000);

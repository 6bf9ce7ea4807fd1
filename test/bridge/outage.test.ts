// Nothing is lost and nothing counted twice when the reporter is down for a
// minute, or when slurmctld is killed with -9 in the middle of a burst.
import { afterEach, expect, it } from 'vitest';

import { EventKind, SpoolReader } from '../../src/native/index.js';
import { waitFor } from '../plugins/with-plugins.js';
import { checkOncePerSpoolInOrder, isKind, metricValue, startBridge, startIngest, stored, useBridgeLifecycle } from './bridge.js';

const running = useBridgeLifecycle(afterEach);

function completedIds(recs: Awaited<ReturnType<typeof stored>>, name: string): number[] {
  return [...new Set(recs.filter((r) => isKind(r, EventKind.JobCompleted) && r.event.jobName === name).map((r) => r.event.jobId))];
}

it('reporter down while 100 jobs complete, up 60 s later: all arrive, none twice', async () => {
  // Reserve a port, then take the reporter down: the relays meet connection refused.
  const first = await startIngest();
  const { port } = first;
  const storeDir = first.store.dir;
  await first.stop();
  running.bridge = await startBridge(`http://127.0.0.1:${port}`, 'embedded');
  const c = running.bridge.pc.cluster;
  // The minute of downtime counts from the submission: the relays meet
  // connection refused from the first record on, and the 100 jobs complete
  // inside that minute (the reporter still comes back a minute after they
  // started, not a minute after the last one ended).
  const downSince = Date.now();
  await c.sbatch(['--array=1-100', '--job-name=while-down', '--output=/dev/null'], 'true');
  await waitFor('100 jobs done', async () => (await c.run('squeue', ['-h', '-n', 'while-down'])).stdout.trim() === '', 120_000);
  await new Promise((r) => setTimeout(r, Math.max(0, 60_000 - (Date.now() - downSince))));
  expect(Date.now() - downSince).toBeGreaterThanOrEqual(60_000);
  running.ingest = await startIngest(storeDir, port);
  let recs: Awaited<ReturnType<typeof stored>> = [];
  await waitFor('all 100 delivered, from both spools', async () => {
    recs = await stored(running.ingest!);
    const ids = completedIds(recs, 'while-down');
    const started = new Set(recs.filter((r) => isKind(r, EventKind.JobStarted)).map((r) => r.event.jobId));
    return ids.length === 100 && ids.every((id) => started.has(id));
  }, 60_000);
  const ids = completedIds(recs, 'while-down');
  expect(ids).toHaveLength(100);
  const started = recs.filter((r) => isKind(r, EventKind.JobStarted));
  for (const id of ids) expect(started.filter((r) => r.event.jobId === id)).toHaveLength(1);
  checkOncePerSpoolInOrder(recs);
  expect(await metricValue(running.ingest, 'gridlink_ingest_records_total', 'duplicate')).toBe(0);
}, 300_000);

it('slurmctld killed with -9 in the middle of a burst, restarted: nothing lost, nothing twice', async () => {
  running.ingest = await startIngest();
  running.bridge = await startBridge(running.ingest.url, 'embedded');
  const c = running.bridge.pc.cluster;
  await c.sbatch(['--array=1-60', '--job-name=burst-kill', '--output=/dev/null'], 'sleep 0.2');
  await waitFor('a third done', async () => completedIds(await stored(running.ingest!), 'burst-kill').length >= 20, 120_000);
  await c.killCtld('SIGKILL'); // records appended but not yet relayed die with it only if the spool loses them
  await c.restartCtld();
  // slurmctld rolls back to its last saved state: jobs that ended after it may
  // show as RUNNING until slurmd re-reports them. Let the burst run (15 s,
  // less once none of its jobs is left), then cancel what is left so every job ends.
  // A job id handed out again drains the node (Reason="Duplicate jobid"):
  // resume it, as an operator would, so the requeued jobs can still run
  // (checked every second: the drain comes when slurmd re-reports the job).
  const letRunUntil = Date.now() + 15_000;
  while (Date.now() < letRunUntil) {
    await c.resumeDuplicateJobidDrains();
    const q = await c.run('squeue', ['-h', '-n', 'burst-kill'], { allowFail: true });
    if (q.code === 0 && q.stdout.trim() === '') break;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  await c.run('scancel', ['-n', 'burst-kill']);
  await waitFor('queue empty', async () => (await c.run('squeue', ['-h'])).stdout.trim() === '', 120_000);
  // Every record either spool ever got reaches the reporter exactly once, in order.
  for (const spool of [running.bridge.pc.ctldSpool, running.bridge.pc.nodeSpool]) {
    const reader = new SpoolReader(spool);
    const { spoolId, nextSeq } = reader.stat();
    reader.close();
    let recs: Awaited<ReturnType<typeof stored>> = [];
    await waitFor(`all ${nextSeq} records of ${spool} delivered`, async () => {
      recs = (await stored(running.ingest!)).filter((r) => r.spoolId === spoolId);
      return recs.length === nextSeq;
    }, 60_000);
    expect(recs.map((r) => Number(r.seq))).toEqual(Array.from({ length: nextSeq }, (_, i) => i));
  }
  checkOncePerSpoolInOrder(await stored(running.ingest));
  // (SLURM itself may forget a job it started just before the kill, or see one
  // end twice across its state rollback: reconciling jobs is the reporter's
  // job; the bridge's is that no record is lost or doubled.)
}, 300_000);

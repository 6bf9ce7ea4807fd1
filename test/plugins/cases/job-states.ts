// Each way a job can end yields exactly one completion record with the right
// state, times and exit code; every job that started yields one prolog record.
import { expect, it } from 'vitest';

import type { PluginSubject } from '../subject.js';
import { nodeEvents } from '../subject.js';
import { completions, nodeEnds, starts, waitFor } from '../with-plugins.js';

async function completionOf(pc: PluginSubject, jobId: number) {
  const evs = await waitFor(`completion record of job ${jobId}`, () => {
    const c = completions(pc.ctldEvents(), jobId);
    return c.length ? c : undefined;
  });
  await new Promise((r) => setTimeout(r, 500)); // a second record would show up now
  expect(completions(pc.ctldEvents(), jobId)).toHaveLength(1);
  return evs[0]!;
}

/** The end-state cases, on `on.pc` (one cluster shared by the block). */
export function jobStateCases(on: { readonly pc: PluginSubject }): void {
  it('records a job that completes', async () => {
    const c = on.pc.cluster;
    const t0 = Math.floor(Date.now() / 1000);
    const id = await c.sbatch(['--job-name=ok', '--comment=hello'], 'sleep 1; exit 0');
    const info = await c.waitJob(id);
    expect(info.state).toBe('COMPLETED');
    const ev = await completionOf(on.pc, id);
    expect(ev).toMatchObject({ jobId: id, stateName: 'COMPLETED', exitCode: 0, signal: 0, jobName: 'ok', comment: 'hello', userId: 0 });
    expect(ev.jobState & 0xff).toBe(3); // JOB_COMPLETE
    expect(ev.cluster).toBe(c.name);
    expect(c.nodeNames).toContain(ev.node);
    expect(ev.submitTime).toBeGreaterThanOrEqual(t0 - 1);
    expect(ev.startTime).toBeGreaterThanOrEqual(ev.submitTime);
    expect(ev.endTime - ev.startTime).toBeGreaterThanOrEqual(1);
    expect(ev.tres.cpu).toBeGreaterThanOrEqual(1);
    expect(ev.tres.node).toBe(1);
    expect(ev.tres.memMb).toBeGreaterThan(0);
    const node = nodeEvents(on.pc);
    expect(starts(node, id)).toHaveLength(1);
    // the prolog record comes from the node the job ran on
    expect(starts(node, id)[0]).toMatchObject({ node: ev.node, cluster: c.name, userId: 0 });
    await waitFor('epilog record', () => nodeEnds(nodeEvents(on.pc), id).length === 1);
  });

  it('records exit code 3 as FAILED with exit code 3', async () => {
    const id = await on.pc.cluster.sbatch([], 'exit 3');
    expect((await on.pc.cluster.waitJob(id)).exitCode).toBe('3:0');
    const ev = await completionOf(on.pc, id);
    expect(ev).toMatchObject({ stateName: 'FAILED', exitCode: 3, signal: 0 });
    expect(starts(nodeEvents(on.pc), id)).toHaveLength(1);
    const end = await waitFor('epilog record', () => nodeEnds(nodeEvents(on.pc), id)[0]);
    expect(end.exitCode).toBe(3);
  });

  it('records a job cancelled while running', async () => {
    const c = on.pc.cluster;
    const id = await c.sbatch([], 'sleep 300');
    await c.waitJob(id, { until: (j) => j.state === 'RUNNING' });
    await c.cancel(id);
    await c.waitJob(id);
    const ev = await completionOf(on.pc, id);
    expect(ev.stateName).toBe('CANCELLED');
    expect(ev.startTime).toBeGreaterThan(0);
    expect(ev.endTime).toBeGreaterThanOrEqual(ev.startTime);
    expect(starts(nodeEvents(on.pc), id)).toHaveLength(1);
  });

  it('records a job cancelled while pending, which never started', async () => {
    const c = on.pc.cluster;
    const id = await c.sbatch(['--hold'], 'true');
    await c.cancel(id);
    const ev = await completionOf(on.pc, id);
    expect(ev.stateName).toBe('CANCELLED');
    expect(ev.startTime).toBe(0);
    expect(ev.tres).toEqual({ cpu: 0, memMb: 0, gpu: 0, node: 0, billing: 0 });
    expect(starts(nodeEvents(on.pc), id)).toHaveLength(0);
  });

  it('records a job that runs past its time limit as TIMEOUT', async () => {
    const c = on.pc.cluster;
    const id = await c.sbatch(['--time=5'], 'sleep 600');
    await c.waitJob(id, { until: (j) => j.state === 'RUNNING' });
    await c.forceTimeout(id);
    const info = await c.waitJob(id, { timeoutMs: 90_000 });
    expect(info.state).toBe('TIMEOUT');
    const ev = await completionOf(on.pc, id);
    expect(ev.stateName).toBe('TIMEOUT');
    expect(ev.startTime).toBeGreaterThan(0);
    expect(starts(nodeEvents(on.pc), id)).toHaveLength(1);
  });
}

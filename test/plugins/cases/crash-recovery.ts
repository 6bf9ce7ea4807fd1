// Records written before the hook returned survive kill -9 of slurmctld.
import { expect, it } from 'vitest';

import type { PluginSubject } from '../subject.js';
import { completions } from '../with-plugins.js';

export function crashRecoveryCases(on: { readonly pc: PluginSubject }): void {
  it('keeps every completion record across kill -9 of slurmctld right after the jobs end', async () => {
    const c = on.pc.cluster;
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) ids.push(await c.sbatch([`--job-name=burst-${i}`], 'true'));
    for (const id of ids) await c.waitJob(id);
    // No grace period: kill the controller the moment the last job is seen done.
    await c.killCtld('SIGKILL');
    const afterKill = completions(on.pc.ctldEvents());
    for (const id of ids) expect(afterKill.filter((e) => e.jobId === id).length, `job ${id}`).toBeGreaterThanOrEqual(1);

    await c.restartCtld();
    const more = await c.sbatch(['--job-name=after-restart'], 'true');
    await c.waitJob(more);
    await new Promise((r) => setTimeout(r, 500));
    const all = completions(on.pc.ctldEvents());
    for (const id of [...ids, more]) expect(all.filter((e) => e.jobId === id).length, `job ${id}`).toBeGreaterThanOrEqual(1);
    // seq keeps counting across the restart: no record overwritten or reused
    const seqs = all.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => (a < b ? -1 : 1))).toEqual(seqs);
  });
}

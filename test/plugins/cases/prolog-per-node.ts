// A job on two nodes: each node's slurmd runs the SPANK prolog and epilog for
// it, so there is one "started" and one "ended on node" record per node, and
// slurmctld's jobcomp records the job's completion once.
import { expect, it } from 'vitest';

import type { PluginSubject } from '../subject.js';
import { nodeEvents } from '../subject.js';
import { completions, nodeEnds, starts, waitFor } from '../with-plugins.js';

const byNode = <T extends { node: string }>(evs: T[]) => evs.map((e) => e.node).sort();

/** The per-node cases, on a cluster of (at least) two nodes. */
export function prologPerNodeCases(on: { readonly pc: PluginSubject }): void {
  it('records one prolog and one epilog per node and one completion for a two-node job', async () => {
    const c = on.pc.cluster;
    expect(c.nodeNames).toHaveLength(2);
    const nodes = [...c.nodeNames].sort();
    const id = await c.sbatch(['-N2', '--job-name=two-nodes', '-o', '/dev/null'], 'srun -N2 true');
    const info = await c.waitJob(id, { timeoutMs: 30_000 });
    expect(info.state).toBe('COMPLETED');
    expect(info.raw.NumNodes).toBe('2');

    const ev = await waitFor('completion record', () => completions(on.pc.ctldEvents(), id)[0]);
    await waitFor('an epilog record from each node', () => nodeEnds(nodeEvents(on.pc), id).length >= 2);
    await new Promise((r) => setTimeout(r, 1_000)); // a duplicate record would show up now
    const spools = on.pc.nodeSpools();
    const node = spools.flat();

    expect(byNode(starts(node, id))).toEqual(nodes);
    expect(byNode(nodeEnds(node, id))).toEqual(nodes);
    for (const e of [...starts(node, id), ...nodeEnds(node, id)]) expect(e).toMatchObject({ jobId: id, cluster: c.name, userId: 0 });
    for (const e of nodeEnds(node, id)) expect(e.exitCode).toBe(0);

    expect(completions(on.pc.ctldEvents(), id)).toHaveLength(1);
    expect(ev).toMatchObject({ jobId: id, stateName: 'COMPLETED', exitCode: 0, jobName: 'two-nodes' });
    expect(ev.tres.node).toBe(2);
    // The completion's node is the job's node list, a hostlist of both nodes.
    const hosts = await c.run('scontrol', ['show', 'hostnames', ev.node]);
    expect(hosts.stdout.split('\n').filter(Boolean).sort()).toEqual(nodes);
    // In each spool (one written by several slurmd processes on a host): seq unique and in file order.
    for (const spool of spools) {
      const seqs = spool.map((e) => e.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect([...seqs].sort((a, b) => (a < b ? -1 : 1))).toEqual(seqs);
    }
  });

  it('a one-node job on the same cluster records on its node only', async () => {
    const c = on.pc.cluster;
    const [, second] = c.nodeNames;
    const id = await c.sbatch(['-N1', `--nodelist=${second}`, '-o', '/dev/null'], 'true');
    expect((await c.waitJob(id, { timeoutMs: 30_000 })).state).toBe('COMPLETED');
    await waitFor('completion record', () => completions(on.pc.ctldEvents(), id).length === 1);
    await waitFor('epilog record', () => nodeEnds(nodeEvents(on.pc), id).length >= 1);
    await new Promise((r) => setTimeout(r, 1_000));
    const node = nodeEvents(on.pc);
    expect(byNode(starts(node, id))).toEqual([second]);
    expect(byNode(nodeEnds(node, id))).toEqual([second]);
    expect(completions(on.pc.ctldEvents(), id)[0]?.node).toBe(second);
  });
}

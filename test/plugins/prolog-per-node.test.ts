// A job on two nodes: each node's slurmd runs the SPANK prolog and epilog for
// it, so there is one "started" and one "ended on node" record per node, and
// slurmctld's jobcomp records the job's completion once. Both slurmd run on
// this host and append to the same node spool (several writer processes).
import { expect, it } from 'vitest';

import { describeEachSlurm } from './each-slurm.js';
import { completions, nodeEnds, readSpool, starts, waitFor } from './with-plugins.js';

const byNode = <T extends { node: string }>(evs: T[]) => evs.map((e) => e.node).sort();

describeEachSlurm('spank/provider and jobcomp/provider on a two-node SLURM $version cluster', { nodes: 2 }, (on) => {
  it('records one prolog and one epilog per node and one completion for a two-node job', async () => {
    const c = on.pc.cluster;
    expect(c.nodeNames).toHaveLength(2);
    const nodes = [...c.nodeNames].sort();
    const id = await c.sbatch(['-N2', '--job-name=two-nodes', '-o', '/dev/null'], 'srun -N2 true');
    const info = await c.waitJob(id, { timeoutMs: 30_000 });
    expect(info.state).toBe('COMPLETED');
    expect(info.raw.NumNodes).toBe('2');

    const ev = await waitFor('completion record', () => completions(readSpool(on.pc.ctldSpool), id)[0]);
    await waitFor('an epilog record from each node', () => nodeEnds(readSpool(on.pc.nodeSpool), id).length >= 2);
    await new Promise((r) => setTimeout(r, 1_000)); // a duplicate record would show up now
    const node = readSpool(on.pc.nodeSpool);

    expect(byNode(starts(node, id))).toEqual(nodes);
    expect(byNode(nodeEnds(node, id))).toEqual(nodes);
    for (const e of [...starts(node, id), ...nodeEnds(node, id)]) expect(e).toMatchObject({ jobId: id, cluster: c.name, userId: 0 });
    for (const e of nodeEnds(node, id)) expect(e.exitCode).toBe(0);

    expect(completions(readSpool(on.pc.ctldSpool), id)).toHaveLength(1);
    expect(ev).toMatchObject({ jobId: id, stateName: 'COMPLETED', exitCode: 0, jobName: 'two-nodes' });
    expect(ev.tres.node).toBe(2);
    // The completion's node is the job's node list, a hostlist of both nodes.
    const hosts = await c.run('scontrol', ['show', 'hostnames', ev.node]);
    expect(hosts.stdout.split('\n').filter(Boolean).sort()).toEqual(nodes);
    // Two processes appended to one spool: seq stays unique and in file order.
    const seqs = node.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => (a < b ? -1 : 1))).toEqual(seqs);
  });

  it('a one-node job on the same cluster records on its node only', async () => {
    const c = on.pc.cluster;
    const [, second] = c.nodeNames;
    const id = await c.sbatch(['-N1', `--nodelist=${second}`, '-o', '/dev/null'], 'true');
    expect((await c.waitJob(id, { timeoutMs: 30_000 })).state).toBe('COMPLETED');
    await waitFor('completion record', () => completions(readSpool(on.pc.ctldSpool), id).length === 1);
    await waitFor('epilog record', () => nodeEnds(readSpool(on.pc.nodeSpool), id).length >= 1);
    await new Promise((r) => setTimeout(r, 1_000));
    const node = readSpool(on.pc.nodeSpool);
    expect(byNode(starts(node, id))).toEqual([second]);
    expect(byNode(nodeEnds(node, id))).toEqual([second]);
    expect(completions(readSpool(on.pc.ctldSpool), id)[0]?.node).toBe(second);
  });
});

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { CLUSTER_MARKER_ENV, shortHostname, startCluster, type Cluster } from '../../harness/cluster/index.js';
import { clusterLockPath } from '../../harness/cluster/lock.js';
import { findByEnv, isAlive, waitForExit } from '../../src/util/proc.js';
import { waitFor } from '../plugins/with-plugins.js';

it('accepts 1..8 nodes only (checked before anything starts)', async () => {
  for (const nodes of [0, 9, 1.5]) await expect(startCluster({ nodes })).rejects.toThrow(ZodError);
});

// Two slurmd on this one host (Debian's SLURM is built with
// --enable-multiple-slurmd): each its own NodeName, port, spool, pid and log.
describe('multi-node cluster (one slurmd per node on this host)', () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await startCluster({ nodes: 2, logger: pino({ level: 'warn' }), removeOnStop: true });
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('is up with two idle nodes, each its own slurmd', async () => {
    expect(c.nodeNames).toHaveLength(2);
    expect(c.nodeName).toBe(c.nodeNames[0]);
    expect(c.nodeNames[1]).not.toBe(c.nodeNames[0]);
    const sinfo = await c.run('sinfo', ['-h', '-N', '-o', '%N %t %P']);
    const rows = sinfo.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => r[0]).sort()).toEqual([...c.nodeNames].sort());
    for (const r of rows) expect(r.slice(1)).toEqual(['idle', `${c.partition}*`]);
    for (const n of c.nodeNames) expect(await c.nodeState(n)).toBe('idle');

    const pids = c.nodeNames.map((n) => c.slurmdPid(n));
    for (const p of pids) expect(p).toBeGreaterThan(0);
    expect(new Set(pids).size).toBe(2);
    expect(c.slurmdPid()).toBe(pids[0]);
    expect(new Set(c.ports.slurmds).size).toBe(2);
    expect(c.ports.slurmd).toBe(c.ports.slurmds[0]);

    const conf = readFileSync(c.confPath, 'utf8');
    c.nodeNames.forEach((n, i) => expect(conf).toMatch(new RegExp(`^NodeName=${n} .*Port=${c.ports.slurmds[i]} `, 'm')));
    for (const n of c.nodeNames) {
      // Each slurmd logs to its own file and registered under its own name.
      expect(c.logs.nodes[n]!.slurmd).toContain(n);
      expect(existsSync(c.logs.nodes[n]!.slurmd)).toBe(true);
      expect((await c.showNode(n)).NodeHostName).toBe(shortHostname());
      // ... and listens on its own port.
      const port = c.ports.slurmds[c.nodeNames.indexOf(n)]!;
      const ss = await c.run('ss', ['-ltnpH', `sport = :${port}`]);
      expect(ss.stdout).toContain(`pid=${c.slurmdPid(n)},`);
    }
    expect(() => c.slurmdPid('no-such-node')).toThrow(/no node/);
  });

  it('runs a two-node batch job with a step on each node', async () => {
    const id = await c.sbatch(['-N2', '-o', 'two-nodes-%j.out'], 'srun -N2 -l sh -c \'echo "on $SLURMD_NODENAME"\'');
    const j = await c.waitJob(id, { timeoutMs: 30_000 });
    expect(j.state).toBe('COMPLETED');
    expect(j.exitCode).toBe('0:0');
    expect(j.raw.NumNodes).toBe('2');
    const out = readFileSync(`${c.paths.jobsDir}/two-nodes-${id}.out`, 'utf8');
    const seen = out.split('\n').filter(Boolean).map((l) => l.replace(/^\d+: on /, '')).sort();
    expect(seen).toEqual([...c.nodeNames].sort());
  });

  it('srun -N2 runs on both nodes', async () => {
    const r = await c.run('srun', ['-N2', '-l', 'sh', '-c', 'echo $SLURMD_NODENAME'], { timeoutMs: 30_000 });
    const seen = r.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^\d+: /, '')).sort();
    expect(seen).toEqual([...c.nodeNames].sort());
  });

  it('restarts the second node\'s slurmd alone', async () => {
    const [first, second] = c.nodeNames;
    const before1 = c.slurmdPid(first);
    const before2 = c.slurmdPid(second);
    await c.restartSlurmd(second);
    expect(c.slurmdPid(second)).not.toBe(before2);
    expect(c.slurmdPid(first)).toBe(before1);
    expect(await c.nodeState(second)).toMatch(/^(idle|mix|alloc)$/);
  });

  it('resumes a node drained for a reused job id (slurmctld restarted from older state), and no other drain', async () => {
    const [first, second] = c.nodeNames as [string, string];
    // The drain slurmctld sets itself when a job id it handed out again is still on a node.
    await c.run('scontrol', ['update', `NodeName=${first}`, 'State=DRAIN', 'Reason=Duplicate jobid']);
    await c.run('scontrol', ['update', `NodeName=${second}`, 'State=DRAIN', 'Reason=disk check failed']);
    expect(await c.nodeState(first)).toBe('drain');
    expect(await c.resumeDuplicateJobidDrains()).toEqual([first]);
    expect(await c.nodeState(first)).toBe('idle');
    expect(await c.nodeState(second)).toBe('drain');
    expect((await c.showNode(second)).Reason).toMatch(/^disk check failed/);
    await c.run('scontrol', ['update', `NodeName=${second}`, 'State=RESUME']);
    await waitFor(`${second} idle after RESUME`, async () => (await c.nodeState(second)) === 'idle', 15_000);
  });

  it('stops without leaving any slurmd, step daemon or job behind', async () => {
    // A running two-node job at stop time: a slurmstepd on each node.
    const id = await c.sbatch(['-N2', '-o', '/dev/null'], 'srun -N2 sleep 300');
    await c.waitJob(id, { until: (j) => j.state === 'RUNNING', timeoutMs: 15_000 });
    const comms = new Set(['slurmctld', 'slurmd', 'slurmstepd', 'sleep', 'srun']);
    // Wait until both nodes run their step (a sleep under each node's slurmstepd).
    const deadline = Date.now() + 15_000;
    while (findByEnv(new Set(['sleep']), CLUSTER_MARKER_ENV, c.baseDir).length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(findByEnv(new Set(['sleep']), CLUSTER_MARKER_ENV, c.baseDir)).toHaveLength(2);
    expect(findByEnv(new Set(['slurmstepd']), CLUSTER_MARKER_ENV, c.baseDir).length).toBeGreaterThanOrEqual(2);
    const pids = [c.ctldPid()!, ...c.nodeNames.map((n) => c.slurmdPid(n)!)];
    const baseDir = c.baseDir;
    await c.stop();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(findByEnv(comms, CLUSTER_MARKER_ENV, baseDir)).toEqual([]);
    expect(existsSync(baseDir)).toBe(false);
    await c.stop(); // idempotent
  });
});

// The owner of a two-node cluster dies: its exit hook, or (SIGKILL, no hook)
// the kernel's parent-death signal plus the next cluster's sweep, must get rid
// of every slurmd and of the step daemons on both nodes.
describe('multi-node cluster whose owner process dies', () => {
  const comms = new Set(['slurmctld', 'slurmscriptd', 'slurmd', 'slurmstepd', 'sleep', 'srun']);
  interface Owned {
    baseDir: string;
    ctld: number;
    slurmds: number[];
    stepds: number[];
  }

  async function runOwner(mode: 'exit' | 'sigkill'): Promise<Owned> {
    // One process (no tsx wrapper): its death is the one the daemons see.
    const fixture = path.resolve('test/cluster/fixtures/multi-node-owner.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.once('exit', (c, sig) => r({ code: c, signal: sig })),
    );
    // Not the first JSON line: pino's warnings (e.g. waiting for another run's cluster lock) are JSON too.
    const line = out.split('\n').find((l) => l.startsWith('{"baseDir"'));
    if (!line) throw new Error(`owner (${mode}) printed nothing; exit ${signal ?? code}\n${err}`);
    expect(mode === 'exit' ? code : signal).toBe(mode === 'exit' ? 0 : 'SIGKILL');
    const o = JSON.parse(line) as Owned;
    expect(o.slurmds).toHaveLength(2);
    // The batch step's slurmstepd on the first node plus one per node for the srun step.
    expect(o.stepds.length).toBeGreaterThanOrEqual(3);
    return o;
  }

  // The owner may first wait for the machine's cluster lock (up to 120 s).
  const ownerTimeoutMs = 300_000;

  it('exit hook: every slurmd, step daemon and job is gone, slurmctld stops, the lock is released', async () => {
    const o = await runOwner('exit');
    try {
      // SIGKILLed by the hook before the owner exited.
      expect(await waitForExit([...o.slurmds, ...o.stepds], 2_000)).toBe(true);
      // slurmctld got SIGTERM (it saves state) and needs a moment.
      expect(await waitForExit([o.ctld], 15_000)).toBe(true);
      expect(findByEnv(comms, CLUSTER_MARKER_ENV, o.baseDir)).toEqual([]);
      expect(existsSync(clusterLockPath()) && readFileSync(clusterLockPath(), 'utf8').includes(`"baseDir":"${o.baseDir}"`)).toBe(false);
    } finally {
      rmSync(o.baseDir, { recursive: true, force: true });
    }
  }, ownerTimeoutMs);

  it('SIGKILL: both slurmd die with their owner; the next cluster sweeps the orphaned step daemons', async () => {
    const o = await runOwner('sigkill');
    let next: Cluster | undefined;
    try {
      expect(await waitForExit(o.slurmds, 5_000)).toBe(true);
      // slurmstepd is slurmd's child, not ours: it outlives its slurmd. (Unless
      // a cluster of another test run was waiting for the lock: it takes the
      // stale lock over and sweeps them itself.)
      const lock = existsSync(clusterLockPath()) ? readFileSync(clusterLockPath(), 'utf8') : '';
      if (lock.includes(`"baseDir":"${o.baseDir}"`)) expect(o.stepds.filter((p) => isAlive(p))).toEqual(o.stepds);
      next = await startCluster({ nodes: 2, logger: pino({ level: 'error' }), removeOnStop: true });
      expect(findByEnv(comms, CLUSTER_MARKER_ENV, o.baseDir)).toEqual([]);
      for (const pid of o.stepds) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      for (const n of next.nodeNames) expect(await next.nodeState(n)).toBe('idle');
    } finally {
      await next?.stop();
      rmSync(o.baseDir, { recursive: true, force: true });
    }
  }, ownerTimeoutMs);
});

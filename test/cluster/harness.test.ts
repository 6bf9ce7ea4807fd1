import { existsSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_MARKER_ENV, startCluster, type Cluster } from '../../harness/cluster/index.js';
import { findByEnv, isAlive } from '../../src/util/proc.js';

// One real cluster for the whole file: start-to-idle is ~1 s, but slurmctld's
// time-limit sweep runs every 30 s after its start, so the TIMEOUT job is
// launched first and checked later while the other cases run.
describe('cluster harness (real slurmctld + slurmd)', () => {
  let c: Cluster;
  let timeoutJob: number;
  let timeoutForcedAt = 0;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    const t0 = Date.now();
    c = await startCluster({ logger: pino({ level: 'warn' }), removeOnStop: true });
    timings.startToIdleMs = c.startupMs;
    timings.startClusterMs = Date.now() - t0;
  });

  afterAll(async () => {
    await c?.stop();
    console.log('cluster harness timings (ms):', JSON.stringify(timings));
  });

  it('is up: controller answers, node idle, config as generated', async () => {
    expect(await c.nodeState()).toBe('idle');
    const ping = await c.run('scontrol', ['ping']);
    expect(ping.stdout).toMatch(/is UP/);
    const conf = readFileSync(c.confPath, 'utf8');
    expect(conf).toContain(`SlurmctldPort=${c.ports.ctld}`);
    expect(conf).toContain('PluginDir=/usr/lib/x86_64-linux-gnu/slurm-wlm');
    expect(c.env.SLURM_CONF).toBe(c.confPath);
    expect(c.ctldPid()).toBeGreaterThan(0);
    expect(c.slurmdPid()).toBeGreaterThan(0);
  });

  it('starts a job and forces its TIMEOUT (checked later)', async () => {
    timeoutJob = await c.sbatch(['--time=5', '-o', '/dev/null'], 'sleep 300');
    await c.waitJob(timeoutJob, { until: (j) => j.state === 'RUNNING', timeoutMs: 15_000 });
    await c.forceTimeout(timeoutJob);
    timeoutForcedAt = Date.now();
    const j = await c.showJob(timeoutJob);
    expect(j?.raw.TimeLimit).toBe('00:00:00');
  });

  it('runs a job that completes', async () => {
    const t0 = Date.now();
    const id = await c.sbatch([], 'true');
    const j = await c.waitJob(id, { timeoutMs: 15_000 });
    timings.trueJobMs = Date.now() - t0;
    expect(j.state).toBe('COMPLETED');
    expect(j.exitCode).toBe('0:0');
  });

  it('reports exit code 3 as FAILED 3:0', async () => {
    const id = await c.sbatch(['-J', 'exit3'], 'exit 3');
    const j = await c.waitJob(id, { timeoutMs: 15_000 });
    expect(j.state).toBe('FAILED');
    expect(j.exitCode).toBe('3:0');
    const raw = await c.run('scontrol', ['show', 'job', '-o', String(id)]);
    expect(raw.stdout).toContain('ExitCode=3:0');
    expect(raw.stdout).toContain('JobName=exit3');
  });

  it('cancels a running job', async () => {
    const id = await c.sbatch(['-o', '/dev/null'], 'sleep 300');
    await c.waitJob(id, { until: (j) => j.state === 'RUNNING', timeoutMs: 15_000 });
    const t0 = Date.now();
    await c.cancel(id);
    const j = await c.waitJob(id, { timeoutMs: 15_000 });
    timings.cancelRunningMs = Date.now() - t0;
    expect(j.state).toBe('CANCELLED');
  });

  it('cancels pending jobs (held, and begin in an hour)', async () => {
    const held = await c.sbatch(['-H'], 'true');
    const later = await c.sbatch(['--begin=now+1hour'], 'true');
    const h = await c.waitJob(held, { until: (j) => j.state === 'PENDING' && j.reason === 'JobHeldUser', timeoutMs: 5_000 });
    expect(h.raw.Priority).toBe('0');
    const l = await c.waitJob(later, { until: (j) => j.state === 'PENDING' && j.reason === 'BeginTime', timeoutMs: 5_000 });
    expect(l.state).toBe('PENDING');
    await c.cancel(held);
    await c.cancel(later);
    expect((await c.waitJob(held, { timeoutMs: 10_000 })).state).toBe('CANCELLED');
    expect((await c.waitJob(later, { timeoutMs: 10_000 })).state).toBe('CANCELLED');
  });

  it('ends the forced job with TIMEOUT within one 30 s sweep', async () => {
    const j = await c.waitJob(timeoutJob, { timeoutMs: 40_000, pollMs: 250 });
    timings.forceTimeoutToTimeoutMs = Date.now() - timeoutForcedAt;
    expect(j.state).toBe('TIMEOUT');
    expect(j.reason).toBe('TimeLimit');
    // the bound that matters is waitJob's 40 s (one sweep and some); the test's own is out of load's reach
  }, 120_000);

  it('keeps running and pending jobs across slurmctld SIGKILL + restart, and a slurmd restart', async () => {
    const running = await c.sbatch(['-o', '/dev/null'], 'sleep 300');
    const pending = await c.sbatch(['-H'], 'true');
    await c.waitJob(running, { until: (j) => j.state === 'RUNNING', timeoutMs: 15_000 });
    const observed = Date.now();
    await c.waitStateSaved(observed);
    timings.stateSaveWaitMs = Date.now() - observed;

    const oldPid = c.ctldPid()!;
    await c.killCtld('SIGKILL');
    expect(isAlive(oldPid)).toBe(false);
    expect(c.ctldPid()).toBeUndefined();
    const down = await c.run('scontrol', ['ping'], { allowFail: true });
    expect(down.stdout).toMatch(/DOWN/);

    const t0 = Date.now();
    await c.restartCtld();
    timings.restartCtldMs = Date.now() - t0;
    expect(c.ctldPid()).not.toBe(oldPid);
    expect((await c.showJob(running))?.state).toBe('RUNNING');
    const p = await c.showJob(pending);
    expect(p?.state).toBe('PENDING');
    expect(p?.reason).toBe('JobHeldUser');
    // slurmd restarts too; the running step (its own slurmstepd) is untouched.
    const oldSlurmd = c.slurmdPid();
    const t1 = Date.now();
    await c.restartSlurmd();
    timings.restartSlurmdMs = Date.now() - t1;
    expect(c.slurmdPid()).not.toBe(oldSlurmd);
    expect((await c.showJob(running))?.state).toBe('RUNNING');
    // Job ids continue after the recovered ones, no reuse.
    const next = await c.sbatch(['-H'], 'true');
    expect(next).toBeGreaterThan(pending);
    await c.cancel(running);
    expect((await c.waitJob(running, { timeoutMs: 15_000 })).state).toBe('CANCELLED');
  });

  it('stops without leaving any daemon, step daemon or job behind', async () => {
    // A running job at stop time: its slurmstepd would outlive slurmd.
    const id = await c.sbatch(['-o', '/dev/null'], 'sleep 300');
    await c.waitJob(id, { until: (j) => j.state === 'RUNNING', timeoutMs: 15_000 });
    const pids = [c.ctldPid()!, c.slurmdPid()!];
    const baseDir = c.baseDir;
    const t0 = Date.now();
    await c.stop();
    timings.stopMs = Date.now() - t0;
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(findByEnv(new Set(['slurmctld', 'slurmd', 'slurmstepd', 'sleep']), CLUSTER_MARKER_ENV, baseDir)).toEqual([]);
    expect(existsSync(baseDir)).toBe(false);
    await c.stop(); // idempotent
  });
});

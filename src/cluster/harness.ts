import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { generateConfig, slurmConfigSchema, type SlurmConfig, type SpankPlugin } from './config.js';
import { spawnDaemon, stopDaemon, type Daemon } from './daemon.js';
import { detectNodeHardware, shortHostname } from './hardware.js';
import { acquireClusterLock, releaseClusterLock } from './lock.js';
import { ensureMunge } from './munge.js';
import { clusterPaths, type ClusterPaths } from './paths.js';
import { freePorts } from './ports.js';
import { descendants, findByEnv, freezeAndKillSync, signalAll, waitForExit } from './procs.js';
import { runCommand, tailFile, type RunOptions, type RunResult } from './run.js';
import { isTerminal, parseRecord, toJobInfo, type JobInfo, type ScontrolRecord } from './scontrol.js';

/**
 * Marks every process of a test cluster: set on both daemons (slurmstepd
 * inherits slurmd's environment) and in `Cluster.env` (batch jobs inherit
 * the submitter's). Its value is the cluster's base dir.
 */
export const CLUSTER_MARKER_ENV = 'GRIDLINK_CLUSTER_DIR';
const SLURM_COMMS: ReadonlySet<string> = new Set(['slurmctld', 'slurmd', 'slurmscriptd', 'slurmstepd']);

export const startClusterOptionsSchema = z.object({
  /** Default: a fresh mkdtemp under the OS temp dir. Existing state in it is wiped. */
  baseDir: z.string().min(1).optional(),
  clusterName: slurmConfigSchema.shape.clusterName,
  partition: slurmConfigSchema.shape.partition,
  /** Default: `hostname -s` (slurmd matches its NodeName against it). */
  nodeName: z.string().regex(/^\S+$/).optional(),
  ctldPort: z.number().int().min(1).max(65535).optional(),
  slurmdPort: z.number().int().min(1).max(65535).optional(),
  extraPluginDirs: slurmConfigSchema.shape.extraPluginDirs,
  jobComp: slurmConfigSchema.shape.jobComp,
  spank: slurmConfigSchema.shape.spank,
  minJobAge: slurmConfigSchema.shape.minJobAge,
  killWait: slurmConfigSchema.shape.killWait,
  defMemPerCpuMB: slurmConfigSchema.shape.defMemPerCpuMB,
  firstJobId: slurmConfigSchema.shape.firstJobId,
  schedulerParameters: slurmConfigSchema.shape.schedulerParameters,
  ctldDebug: slurmConfigSchema.shape.ctldDebug,
  slurmdDebug: slurmConfigSchema.shape.slurmdDebug,
  extraLines: slurmConfigSchema.shape.extraLines,
  /** Extra environment for both daemons (and so for plugins they load). */
  daemonEnv: z.record(z.string()).default({}),
  /** Until `scontrol ping` answers and the node is idle. */
  startTimeoutMs: z.number().int().positive().default(30_000),
  /** Kernel-delivered SIGTERM to the daemons if this process dies (even by SIGKILL). */
  dieWithParent: z.boolean().default(true),
  /**
   * One cluster per machine: wait this long for a cluster of another process
   * (another test run) to stop before failing.
   */
  lockWaitMs: z.number().int().min(0).default(120_000),
  /** Delete the base dir on stop(); default keeps it, logs help after a failure. */
  removeOnStop: z.boolean().default(false),
});
export type StartClusterOptions = z.input<typeof startClusterOptionsSchema> & { logger?: Logger };

export interface WaitJobOptions {
  /** Default: the job reached a terminal state (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...). */
  until?: (job: JobInfo) => boolean;
  timeoutMs?: number;
  pollMs?: number;
}

export interface Cluster {
  readonly name: string;
  readonly baseDir: string;
  readonly confPath: string;
  readonly nodeName: string;
  readonly partition: string;
  readonly ports: { ctld: number; slurmd: number };
  /** process.env without inherited SLURM_* / S*_ job variables, plus SLURM_CONF and the marker. */
  readonly env: NodeJS.ProcessEnv;
  readonly logs: { ctld: string; slurmd: string; ctldStdout: string; slurmdStdout: string };
  readonly paths: ClusterPaths;
  readonly config: SlurmConfig;
  /** Milliseconds from spawning the daemons to the node being idle, first start. */
  readonly startupMs: number;
  ctldPid(): number | undefined;
  slurmdPid(): number | undefined;
  /** Runs a command (typically a SLURM client) with `env`, cwd = paths.jobsDir; throws on non-zero exit unless allowFail. */
  run(cmd: string, args: string[], opts?: Omit<RunOptions, 'env'>): Promise<RunResult>;
  /** Submits `script` on stdin (a `#!/bin/sh` line is added if missing); returns the job id. */
  sbatch(args: string[], script: string): Promise<number>;
  /** `scontrol show job -o`; undefined once the job is purged (MinJobAge) or unknown. */
  showJob(jobId: number): Promise<JobInfo | undefined>;
  waitJob(jobId: number, opts?: WaitJobOptions): Promise<JobInfo>;
  /** `scontrol show node -o` of the one node. */
  showNode(): Promise<ScontrolRecord>;
  /** sinfo's compact state of the node, e.g. idle, alloc, mix, idle*, down*, drain. */
  nodeState(): Promise<string>;
  cancel(jobId: number, extraArgs?: string[]): Promise<void>;
  /**
   * Sets a running job's TimeLimit to 0: slurmctld ends it with TIMEOUT at
   * its next time-limit sweep, which runs every 30 s (PERIODIC_TIMEOUT), so
   * 0-30 s later. The fastest real TIMEOUT: a 1-minute --time takes 60-90 s.
   */
  forceTimeout(jobId: number): Promise<void>;
  /**
   * Resolves once slurmctld has written its job state file after `sinceMs`
   * (epoch ms). It saves at most 5 s after a change (SAVE_MAX_WAIT): wait for
   * this before killCtld('SIGKILL') if the test needs the latest changes to survive.
   */
  waitStateSaved(sinceMs: number, timeoutMs?: number): Promise<void>;
  /** Signals slurmctld by PID and waits until it is gone (default SIGKILL: no state save). */
  killCtld(signal?: NodeJS.Signals): Promise<void>;
  /** Stops slurmctld if running (SIGTERM, saves state), starts it without -c so state is recovered. */
  restartCtld(): Promise<void>;
  /** Same for slurmd (e.g. to reload a SPANK plugin). Running steps survive it. */
  restartSlurmd(): Promise<void>;
  /** Cancels jobs, `scontrol shutdown`, then SIGTERM/SIGKILL by PID; kills leftover step daemons and jobs. Idempotent. */
  stop(): Promise<void>;
}

const defaultLogger = (): Logger => pino({ name: 'cluster', level: process.env.LOG_LEVEL ?? 'info' });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Clients inherit nothing of an enclosing job (SLURM_JOB_ID etc. would redirect them). */
function clientEnv(base: NodeJS.ProcessEnv, confPath: string, baseDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (/^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCONTROL|SACCT)_/.test(k)) continue;
    env[k] = v;
  }
  env.SLURM_CONF = confPath;
  env[CLUSTER_MARKER_ENV] = baseDir;
  return env;
}

/** SLURM daemons (and what they started) left over by clusters whose owner died. */
function strayProcesses(baseDir?: string): number[] {
  const roots = findByEnv(SLURM_COMMS, CLUSTER_MARKER_ENV, baseDir);
  return [...roots, ...descendants(roots)].filter((p) => p !== process.pid);
}

const live = new Set<SlurmCluster>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Only synchronous work runs here: signal by PID and drop the lock.
  process.on('exit', () => {
    for (const c of live) c.killNow();
  });
}

class SlurmCluster implements Cluster {
  readonly name: string;
  readonly baseDir: string;
  readonly confPath: string;
  readonly nodeName: string;
  readonly partition: string;
  readonly ports: { ctld: number; slurmd: number };
  readonly env: NodeJS.ProcessEnv;
  readonly logs: Cluster['logs'];
  startupMs = 0;
  private ctld: Daemon | undefined;
  private slurmd: Daemon | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly paths: ClusterPaths,
    readonly config: SlurmConfig,
    private readonly daemonEnv: NodeJS.ProcessEnv,
    private readonly opts: { startTimeoutMs: number; dieWithParent: boolean; removeOnStop: boolean },
    private readonly log: Logger,
  ) {
    this.name = config.clusterName;
    this.baseDir = paths.baseDir;
    this.confPath = paths.slurmConf;
    this.nodeName = config.nodeName;
    this.partition = config.partition;
    this.ports = { ctld: config.ctldPort, slurmd: config.slurmdPort };
    this.env = clientEnv(process.env, paths.slurmConf, paths.baseDir);
    this.logs = { ctld: paths.ctldLog, slurmd: paths.slurmdLog, ctldStdout: paths.ctldStdout, slurmdStdout: paths.slurmdStdout };
  }

  ctldPid(): number | undefined {
    return this.ctld?.running() ? this.ctld.pid : undefined;
  }
  slurmdPid(): number | undefined {
    return this.slurmd?.running() ? this.slurmd.pid : undefined;
  }

  run(cmd: string, args: string[], opts: Omit<RunOptions, 'env'> = {}): Promise<RunResult> {
    return runCommand(cmd, args, { cwd: this.paths.jobsDir, ...opts, env: this.env });
  }

  async sbatch(args: string[], script: string): Promise<number> {
    const body = script.startsWith('#!') ? script : `#!/bin/sh\n${script}`;
    const r = await this.run('sbatch', ['--parsable', ...args], { input: body.endsWith('\n') ? body : body + '\n' });
    const id = Number.parseInt(r.stdout.trim().split(';')[0] ?? '', 10);
    if (!Number.isInteger(id)) throw new Error(`sbatch: unexpected output ${JSON.stringify(r.stdout)}`);
    return id;
  }

  async showJob(jobId: number): Promise<JobInfo | undefined> {
    const r = await this.run('scontrol', ['show', 'job', '-o', String(jobId)], { allowFail: true });
    if (r.code !== 0) {
      if (/Invalid job id/i.test(r.stderr + r.stdout)) return undefined;
      throw new Error(`scontrol show job ${jobId}: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
    const line = r.stdout.split('\n').find((l) => l.startsWith('JobId='));
    return line ? toJobInfo(parseRecord(line)) : undefined;
  }

  async waitJob(jobId: number, o: WaitJobOptions = {}): Promise<JobInfo> {
    const until = o.until ?? ((j: JobInfo) => isTerminal(j.state));
    const deadline = Date.now() + (o.timeoutMs ?? 60_000);
    let last: JobInfo | undefined;
    for (;;) {
      // A controller being restarted refuses connections for a moment: retry.
      const j = await this.showJob(jobId).catch(() => last);
      if (j) {
        last = j;
        if (until(j)) return j;
      } else if (last) {
        throw new Error(`job ${jobId} was purged (MinJobAge=${this.config.minJobAge}s) while waiting; last seen ${last.state}`);
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `job ${jobId}: condition not met within ${o.timeoutMs ?? 60_000} ms; last seen ` +
            `${last ? `${last.state} reason=${last.reason}` : 'never'}\n` +
            `--- slurmctld log ---\n${tailFile(this.paths.ctldLog, 15)}\n--- slurmd log ---\n${tailFile(this.paths.slurmdLog, 15)}`,
        );
      }
      await sleep(o.pollMs ?? 200);
    }
  }

  async showNode(): Promise<ScontrolRecord> {
    const r = await this.run('scontrol', ['show', 'node', '-o', this.nodeName]);
    return parseRecord(r.stdout.split('\n')[0] ?? '');
  }

  async nodeState(): Promise<string> {
    const r = await this.run('sinfo', ['-h', '-n', this.nodeName, '-o', '%t']);
    return r.stdout.trim();
  }

  async cancel(jobId: number, extraArgs: string[] = []): Promise<void> {
    await this.run('scancel', [...extraArgs, String(jobId)]);
  }

  async forceTimeout(jobId: number): Promise<void> {
    await this.run('scontrol', ['update', `JobId=${jobId}`, 'TimeLimit=0']);
  }

  async waitStateSaved(sinceMs: number, timeoutMs = 15_000): Promise<void> {
    const file = path.join(this.paths.stateDir, 'job_state');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;
      if (m > sinceMs) return;
      if (Date.now() >= deadline) throw new Error(`slurmctld did not save ${file} within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async killCtld(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const d = this.ctld;
    if (!d?.running()) return;
    await stopDaemon(d, 10_000, signal);
  }

  async restartCtld(): Promise<void> {
    if (this.ctld?.running()) await stopDaemon(this.ctld);
    await this.spawnCtld(false);
    // After a restart the node may show `*` (not responding) until slurmd re-registers.
    await this.waitReady((s) => /^(idle|mix|alloc|comp)$/.test(s), 'restart');
  }

  async restartSlurmd(): Promise<void> {
    if (this.slurmd?.running()) await stopDaemon(this.slurmd);
    // The controller keeps showing the node as it was: readiness is the new
    // slurmd's registration, seen as SlurmdStartTime (1 s resolution, local time).
    const spawnedSec = Math.floor(Date.now() / 1000);
    await this.spawnSlurmd();
    await this.waitReady((s) => /^(idle|mix|alloc|comp)$/.test(s), 'slurmd restart');
    const deadline = Date.now() + this.opts.startTimeoutMs;
    for (;;) {
      const started = Date.parse((await this.showNode()).SlurmdStartTime ?? '');
      if (started >= spawnedSec * 1000) return;
      if (Date.now() >= deadline) throw new Error(`slurmd restart: no registration within ${this.opts.startTimeoutMs} ms\n${this.logTails()}`);
      await sleep(100);
    }
  }

  /** First start: clean controller state (-c). */
  async start(): Promise<void> {
    const t0 = Date.now();
    await this.spawnCtld(true);
    await this.spawnSlurmd();
    await this.waitReady((s) => s === 'idle', 'start');
    this.startupMs = Date.now() - t0;
    this.log.info({ cluster: this.name, baseDir: this.baseDir, ports: this.ports, startupMs: this.startupMs }, 'cluster up');
  }

  /** slurmctld gets SIGTERM on our death (saves state); slurmd SIGKILL (see killNow). */
  private daemonOpts(name: string, outFile: string, deathSignal: NodeJS.Signals) {
    return {
      name,
      env: this.daemonEnv,
      cwd: this.paths.runDir,
      outFile,
      parentDeathSignal: this.opts.dieWithParent ? deathSignal : undefined,
    };
  }

  private async spawnCtld(clean: boolean): Promise<void> {
    // A stale pid file makes slurmctld signal whatever process now has that PID.
    rmSync(this.paths.ctldPid, { force: true });
    this.ctld = await spawnDaemon({
      ...this.daemonOpts('slurmctld', this.paths.ctldStdout, 'SIGTERM'),
      cmd: 'slurmctld',
      args: ['-D', ...(clean ? ['-c'] : []), '-f', this.confPath],
    });
    this.log.debug({ pid: this.ctld.pid, clean }, 'slurmctld spawned');
  }

  private async spawnSlurmd(): Promise<void> {
    rmSync(this.paths.slurmdPid, { force: true });
    this.slurmd = await spawnDaemon({
      ...this.daemonOpts('slurmd', this.paths.slurmdStdout, 'SIGKILL'),
      cmd: 'slurmd',
      args: ['-D', '-N', this.nodeName, '-f', this.confPath],
    });
    this.log.debug({ pid: this.slurmd.pid }, 'slurmd spawned');
  }

  private async waitReady(nodeOk: (state: string) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + this.opts.startTimeoutMs;
    let lastState = '(no answer)';
    let pinged = false;
    for (;;) {
      for (const d of [this.ctld, this.slurmd]) {
        if (d && !d.running()) {
          const { code, signal } = await Promise.race([d.exited, sleep(500).then(() => ({ code: null, signal: null }))]);
          throw new Error(`cluster ${what}: ${d.name} exited (${signal ?? `code ${code}`})\n${this.logTails()}`);
        }
      }
      if (!pinged) {
        const r = await this.run('scontrol', ['ping'], { allowFail: true, timeoutMs: 10_000 });
        pinged = r.code === 0 && /is UP/.test(r.stdout);
      }
      if (pinged) {
        const r = await this.run('sinfo', ['-h', '-n', this.nodeName, '-o', '%t'], { allowFail: true, timeoutMs: 10_000 });
        if (r.code === 0) {
          lastState = r.stdout.trim() || '(node not listed)';
          if (nodeOk(lastState)) return;
        }
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `cluster ${what}: not ready within ${this.opts.startTimeoutMs} ms ` +
            `(controller ${pinged ? 'up' : 'not answering'}, node state ${lastState})\n${this.logTails()}`,
        );
      }
      await sleep(100);
    }
  }

  private logTails(): string {
    const p = this.paths;
    return [
      `--- ${p.ctldLog} ---`,
      tailFile(p.ctldLog, 20),
      `--- ${p.ctldStdout} ---`,
      tailFile(p.ctldStdout, 10),
      `--- ${p.slurmdLog} ---`,
      tailFile(p.slurmdLog, 20),
      `--- ${p.slurmdStdout} ---`,
      tailFile(p.slurmdStdout, 10),
    ].join('\n');
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const t0 = Date.now();
    try {
      if (this.ctld?.running()) {
        // Cancel first: slurmd does not kill running steps on shutdown, and an
        // epilog still in flight makes it retry the dead controller for ~10 s.
        const q = await this.run('squeue', ['-h', '-o', '%i'], { allowFail: true, timeoutMs: 5_000 });
        const ids = q.code === 0 ? q.stdout.split('\n').map((s) => s.trim()).filter(Boolean) : [];
        if (ids.length > 0) {
          await this.run('scancel', ids, { allowFail: true, timeoutMs: 5_000 });
          const until = Date.now() + (this.config.killWait + 5) * 1000;
          while (Date.now() < until) {
            const r = await this.run('squeue', ['-h', '-o', '%i'], { allowFail: true, timeoutMs: 5_000 });
            if (r.code !== 0 || r.stdout.trim() === '') break;
            await sleep(100);
          }
        }
        await this.run('scontrol', ['shutdown'], { allowFail: true, timeoutMs: 5_000 });
      }
      const daemons = [this.ctld, this.slurmd].filter((d): d is Daemon => d !== undefined);
      await waitForExit(daemons.map((d) => d.pid), 3_000);
      await Promise.all(daemons.map((d) => stopDaemon(d, 5_000)));
    } finally {
      // A dying slurmstepd can still fork (epilog), and a process in the
      // middle of exec briefly hides its environment: sweep until two passes
      // 200 ms apart find nothing, a few rounds at most.
      for (let round = 0, quiet = 0; round < 6 && quiet < 2; round++) {
        const stray = freezeAndKillSync(() => strayProcesses(this.baseDir));
        if (stray.length === 0) {
          quiet++;
          if (quiet < 2) await sleep(200);
          continue;
        }
        quiet = 0;
        this.log.warn({ pids: stray, round }, 'killed leftover step daemons and job processes');
        await waitForExit(stray, 5_000);
      }
      live.delete(this);
      releaseClusterLock();
      if (this.opts.removeOnStop) rmSync(this.baseDir, { recursive: true, force: true });
      this.log.info({ cluster: this.name, stopMs: Date.now() - t0 }, 'cluster stopped');
    }
  }

  /**
   * Synchronous last resort from the process 'exit' hook, where nothing can
   * be awaited. slurmd, step daemons and jobs get SIGKILL (a SIGTERM landing
   * while slurmd forks a step can hang it). slurmctld gets SIGTERM so it saves
   * state, and its helper slurmscriptd is left alone: killing it first makes
   * slurmctld deadlock in shutdown. A detached shell SIGKILLs slurmctld if it
   * is still there 10 s later.
   */
  killNow(): void {
    const ctld = this.ctld?.running() ? this.ctld.pid : undefined;
    const slurmd = this.slurmd?.running() ? this.slurmd.pid : undefined;
    freezeAndKillSync(() => {
      const spare = new Set(ctld !== undefined ? [ctld, ...descendants([ctld])] : []);
      const rest = strayProcesses(this.baseDir).filter((p) => !spare.has(p));
      return slurmd !== undefined ? [slurmd, ...descendants([slurmd]), ...rest] : rest;
    });
    if (ctld !== undefined) {
      signalAll([ctld], 'SIGTERM');
      try {
        spawn('sh', ['-c', `sleep 10; [ "$(cat /proc/${ctld}/comm 2>/dev/null)" = slurmctld ] && kill -9 ${ctld}`], {
          detached: true,
          stdio: 'ignore',
        }).unref();
      } catch {
        // nothing more can be done from an exit handler
      }
    }
    releaseClusterLock();
  }
}

/**
 * Starts a one-node SLURM cluster on loopback (munged, slurmctld, slurmd in
 * the foreground as our children) and resolves once the node is idle.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const { logger, ...rest } = options;
  const o = startClusterOptionsSchema.parse(rest);
  const log = logger ?? defaultLogger();
  const baseDir = o.baseDir ? path.resolve(o.baseDir) : mkdtempSync(path.join(tmpdir(), 'gridlink-slurm-'));
  const stale = await acquireClusterLock(baseDir, {
    waitMs: o.lockWaitMs,
    onWait: (h) => log.warn({ holder: h }, 'another test cluster is running: waiting for it to stop'),
  });
  let cluster: SlurmCluster | undefined;
  try {
    // After the lock, anything carrying the marker belongs to a dead owner.
    const stray = freezeAndKillSync(() => strayProcesses());
    if (stray.length > 0 || stale) {
      log.warn({ pids: stray, staleLock: stale }, 'cleaned up after a previous cluster');
      await waitForExit(stray, 5_000);
    }
    await ensureMunge();

    const paths = clusterPaths(baseDir);
    for (const d of [paths.stateDir, paths.spoolDir, paths.logDir, paths.runDir, paths.jobsDir]) {
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d, { recursive: true });
    }
    const [p1, p2] = await freePorts(2);
    const config = slurmConfigSchema.parse({
      clusterName: o.clusterName,
      baseDir,
      controlHost: shortHostname(),
      ctldPort: o.ctldPort ?? p1,
      slurmdPort: o.slurmdPort ?? p2,
      nodeName: o.nodeName ?? shortHostname(),
      node: await detectNodeHardware(),
      partition: o.partition,
      extraPluginDirs: o.extraPluginDirs,
      jobComp: o.jobComp,
      spank: o.spank as SpankPlugin[],
      minJobAge: o.minJobAge,
      killWait: o.killWait,
      defMemPerCpuMB: o.defMemPerCpuMB,
      firstJobId: o.firstJobId,
      schedulerParameters: o.schedulerParameters,
      ctldDebug: o.ctldDebug,
      slurmdDebug: o.slurmdDebug,
      extraLines: o.extraLines,
    });
    const text = generateConfig(config);
    writeFileSync(paths.slurmConf, text.slurmConf);
    if (text.plugstackConf !== undefined) writeFileSync(paths.plugstackConf, text.plugstackConf);

    const daemonEnv = { ...clientEnv(process.env, paths.slurmConf, baseDir), ...o.daemonEnv };
    cluster = new SlurmCluster(
      paths,
      config,
      daemonEnv,
      { startTimeoutMs: o.startTimeoutMs, dieWithParent: o.dieWithParent, removeOnStop: o.removeOnStop },
      log,
    );
    installExitHook();
    live.add(cluster);
    await cluster.start();
    return cluster;
  } catch (e) {
    if (cluster) await cluster.stop().catch(() => undefined);
    else releaseClusterLock();
    throw e;
  }
}

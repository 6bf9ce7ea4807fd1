import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { computeNodeNames, generateConfig, slurmConfigSchema, type SlurmConfig, type SpankPlugin } from './config.js';
import { spawnDaemon, stopDaemon, type Daemon } from './daemon.js';
import { detectNodeHardware, shortHostname } from './hardware.js';
import { acquireClusterLock, releaseClusterLock } from './lock.js';
import { ensureMunge } from './munge.js';
import { clusterPaths, slurmdNodePaths, type ClusterPaths, type SlurmdNodePaths } from './paths.js';
import { freePorts } from './ports.js';
import { descendants, findByEnv, freezeAndKillSync, signalAll, waitForExit } from '../util/proc.js';
import { runCommand, tailFile, type RunOptions, type RunResult } from '../util/run-command.js';
import { parseRecord, toJobInfo, type JobInfo, type ScontrolRecord } from '../slurm/scontrol-records.js';
import { isTerminal } from '../slurm/states.js';

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
  /** Countable GPUs per node (gres gpu on placeholder device files, see generateGresConf), default 2; 0 for none. */
  gpusPerNode: slurmConfigSchema.shape.gpusPerNode,
  /**
   * Default: `hostname -s` (slurmd matches its NodeName against it). With
   * `nodes` > 1 the base of the node names: `<nodeName>-1` .. `<nodeName>-N`.
   */
  nodeName: z.string().regex(/^\S+$/).optional(),
  /**
   * Compute nodes, each its own slurmd on this host (started with `-N <name>`,
   * own port, spool dir, pid and log file). 1 is the classic one-node cluster.
   */
  nodes: slurmConfigSchema.shape.nodes,
  ctldPort: z.number().int().min(1).max(65535).optional(),
  /** With `nodes` > 1: node 1's port (the others get free ports). */
  slurmdPort: z.number().int().min(1).max(65535).optional(),
  /**
   * Install prefix of the SLURM to run (e.g. /var/cache/gridlink/slurm/24.11.5
   * from scripts/build-slurm.sh): daemons from its sbin/, clients from its
   * bin/ (first on the PATH of `env`, so jobs' srun is that version's too),
   * PluginDir its lib/slurm, and from 24.05 on a cgroup.conf with
   * CgroupPlugin=disabled beside slurm.conf (slurmd initialises a cgroup
   * plugin even with proctrack/linuxproc; 23.11 has no "disabled" and does
   * without cgroup.conf).
   * Default: the system's SLURM (Debian's 22.05).
   */
  slurmPrefix: z
    .string()
    .refine((p) => p.startsWith('/'), 'must be an absolute path')
    .optional(),
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
  /** Until `scontrol ping` answers and every node is idle. */
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
  /** The (first) compute node: every API below that takes an optional node defaults to it. */
  readonly nodeName: string;
  /** Every compute node, in slurm.conf order: `[nodeName]` in a one-node cluster. */
  readonly nodeNames: readonly string[];
  readonly partition: string;
  /** `slurmd` is the first node's port; `slurmds` every node's, in `nodeNames` order. */
  readonly ports: { ctld: number; slurmd: number; slurmds: readonly number[] };
  /** process.env without inherited SLURM_* / S*_ job variables, plus SLURM_CONF and the marker. */
  readonly env: NodeJS.ProcessEnv;
  /** `slurmd`/`slurmdStdout` are the first node's; `nodes` has every node's, by name. */
  readonly logs: {
    ctld: string;
    slurmd: string;
    ctldStdout: string;
    slurmdStdout: string;
    nodes: Readonly<Record<string, { slurmd: string; slurmdStdout: string }>>;
  };
  readonly paths: ClusterPaths;
  readonly config: SlurmConfig;
  /** Install prefix of the SLURM this cluster runs; undefined for the system's. */
  readonly slurmPrefix: string | undefined;
  /** Milliseconds from spawning the daemons to every node being idle, first start. */
  readonly startupMs: number;
  ctldPid(): number | undefined;
  /** PID of `node`'s slurmd (default the first node) while it runs. */
  slurmdPid(node?: string): number | undefined;
  /** Runs a command (typically a SLURM client) with `env`, cwd = paths.jobsDir; throws on non-zero exit unless allowFail. */
  run(cmd: string, args: string[], opts?: Omit<RunOptions, 'env'>): Promise<RunResult>;
  /** Submits `script` on stdin (a `#!/bin/sh` line is added if missing); returns the job id. */
  sbatch(args: string[], script: string): Promise<number>;
  /** `scontrol show job -o`; undefined once the job is purged (MinJobAge) or unknown. */
  showJob(jobId: number): Promise<JobInfo | undefined>;
  waitJob(jobId: number, opts?: WaitJobOptions): Promise<JobInfo>;
  /** `scontrol show node -o` of `node` (default the first node). */
  showNode(node?: string): Promise<ScontrolRecord>;
  /** sinfo's compact state of `node` (default the first node), e.g. idle, alloc, mix, idle*, down*, drain. */
  nodeState(node?: string): Promise<string>;
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
  /**
   * Stops slurmctld if running (SIGTERM, saves state), starts it without -c so
   * state is recovered, waits until every node answers, then resumes any node
   * drained for a reused job id (see resumeDuplicateJobidDrains).
   */
  restartCtld(): Promise<void>;
  /**
   * Resumes each node drained with Reason "Duplicate jobid": after `kill -9`
   * slurmctld restarts from state up to SAVE_MAX_WAIT old and may hand out a
   * job id a slurmd still runs. Other drains are left alone. Returns the nodes resumed.
   */
  resumeDuplicateJobidDrains(): Promise<string[]>;
  /** Same for `node`'s slurmd (default the first node; e.g. to reload a SPANK plugin). Running steps survive it. */
  restartSlurmd(node?: string): Promise<void>;
  /** Cancels jobs, `scontrol shutdown`, then SIGTERM/SIGKILL by PID; kills leftover step daemons and jobs. Idempotent. */
  stop(): Promise<void>;
}

const defaultLogger = (): Logger => pino({ name: 'cluster', level: process.env.LOG_LEVEL ?? 'info' });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A node whose slurmd answers (no `*`), drained or not. */
const answering = (state: string): boolean => /^(idle|mix|alloc|comp|drain|drng)$/.test(state);

/**
 * Clients inherit nothing of an enclosing job (SLURM_JOB_ID etc. would
 * redirect them). With a SLURM prefix its bin/ and sbin/ come first on PATH.
 */
function clientEnv(base: NodeJS.ProcessEnv, confPath: string, baseDir: string, slurmPrefix?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (/^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCONTROL|SACCT)_/.test(k)) continue;
    env[k] = v;
  }
  env.SLURM_CONF = confPath;
  env[CLUSTER_MARKER_ENV] = baseDir;
  if (slurmPrefix) env.PATH = [path.join(slurmPrefix, 'bin'), path.join(slurmPrefix, 'sbin'), env.PATH].filter(Boolean).join(':');
  return env;
}

/** major * 100 + minor of the slurmd in `slurmPrefix` (`slurmd -V`: "slurm 24.11.5"). */
async function slurmVersionNumber(slurmPrefix: string): Promise<number> {
  const r = await runCommand(daemonCmd(slurmPrefix, 'slurmd'), ['-V'], { allowFail: true, timeoutMs: 10_000 }).catch((e: Error) => {
    throw new Error(`slurmPrefix ${slurmPrefix}: cannot run its sbin/slurmd (${e.message}); build it with scripts/build-slurm.sh`);
  });
  const m = /(\d+)\.(\d+)\.\d+/.exec(r.stdout);
  if (!m) throw new Error(`slurmPrefix ${slurmPrefix}: sbin/slurmd -V said ${JSON.stringify(r.stdout + r.stderr)}, not a version`);
  return Number(m[1]) * 100 + Number(m[2]);
}

/** A daemon's executable: the prefix's sbin/ or, for the system's SLURM, found on PATH. */
const daemonCmd = (slurmPrefix: string | undefined, name: 'slurmctld' | 'slurmd') => (slurmPrefix ? path.join(slurmPrefix, 'sbin', name) : name);

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
  readonly nodeNames: readonly string[];
  readonly partition: string;
  readonly ports: Cluster['ports'];
  readonly env: NodeJS.ProcessEnv;
  readonly logs: Cluster['logs'];
  startupMs = 0;
  private ctld: Daemon | undefined;
  /** One slurmd per node, by node name. */
  private readonly slurmds = new Map<string, Daemon>();
  private readonly nodeFiles: ReadonlyMap<string, SlurmdNodePaths>;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly paths: ClusterPaths,
    readonly config: SlurmConfig,
    private readonly daemonEnv: NodeJS.ProcessEnv,
    private readonly opts: { startTimeoutMs: number; dieWithParent: boolean; removeOnStop: boolean },
    private readonly log: Logger,
    readonly slurmPrefix: string | undefined,
  ) {
    this.name = config.clusterName;
    this.baseDir = paths.baseDir;
    this.confPath = paths.slurmConf;
    this.nodeNames = computeNodeNames(config);
    this.nodeName = this.nodeNames[0]!;
    this.partition = config.partition;
    const multi = this.nodeNames.length > 1;
    this.nodeFiles = new Map(this.nodeNames.map((n) => [n, slurmdNodePaths(paths, n, multi)]));
    const first = this.files(this.nodeName);
    this.ports = { ctld: config.ctldPort, slurmd: config.slurmdPort, slurmds: multi ? config.slurmdPorts! : [config.slurmdPort] };
    this.env = clientEnv(process.env, paths.slurmConf, paths.baseDir, slurmPrefix);
    this.logs = {
      ctld: paths.ctldLog,
      slurmd: first.log,
      ctldStdout: paths.ctldStdout,
      slurmdStdout: first.stdout,
      nodes: Object.fromEntries([...this.nodeFiles].map(([n, f]) => [n, { slurmd: f.log, slurmdStdout: f.stdout }])),
    };
  }

  /** The files of `node`'s slurmd; throws for a name that is not one of ours. */
  private files(node: string): SlurmdNodePaths {
    const f = this.nodeFiles.get(node);
    if (!f) throw new Error(`no node ${JSON.stringify(node)} in cluster ${this.name} (nodes: ${this.nodeNames.join(', ')})`);
    return f;
  }

  ctldPid(): number | undefined {
    return this.ctld?.running() ? this.ctld.pid : undefined;
  }
  slurmdPid(node: string = this.nodeName): number | undefined {
    this.files(node);
    const d = this.slurmds.get(node);
    return d?.running() ? d.pid : undefined;
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
            `--- slurmctld log ---\n${tailFile(this.paths.ctldLog, 15)}\n` +
            this.nodeNames.map((n) => `--- slurmd log${this.nodeNames.length > 1 ? ` (${n})` : ''} ---\n${tailFile(this.files(n).log, 15)}`).join('\n'),
        );
      }
      await sleep(o.pollMs ?? 200);
    }
  }

  async showNode(node: string = this.nodeName): Promise<ScontrolRecord> {
    this.files(node);
    const r = await this.run('scontrol', ['show', 'node', '-o', node]);
    return parseRecord(r.stdout.split('\n')[0] ?? '');
  }

  async nodeState(node: string = this.nodeName): Promise<string> {
    this.files(node);
    const r = await this.run('sinfo', ['-h', '-n', node, '-o', '%t']);
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
    // After a restart a node may show `*` (not responding) until its slurmd
    // re-registers. A node that answers but is drained counts as up here: see
    // resumeDuplicateJobidDrains for the one drain a restart itself causes.
    await this.waitReady(answering, 'restart');
    await this.resumeDuplicateJobidDrains();
  }

  /**
   * After `kill -9`, slurmctld restarts from its last saved state (saved at
   * most every few seconds), so it can hand out a job id again that a slurmd
   * still runs. SLURM then drains that node with Reason="Duplicate jobid".
   * An operator resumes it once the old job is gone; so does the harness, and
   * says so in its log. Any other drain is left as it is. Returns the nodes resumed.
   */
  async resumeDuplicateJobidDrains(): Promise<string[]> {
    const resumed: string[] = [];
    for (const node of this.nodeNames) {
      const rec = await this.showNode(node);
      if (!/DRAIN/.test(rec.State ?? '') || !/Duplicate jobid/i.test(rec.Reason ?? '')) continue;
      await this.run('scontrol', ['update', `NodeName=${node}`, 'State=RESUME']);
      this.log.warn({ node, reason: rec.Reason }, 'resumed a node slurmctld drained for a job id it reused after restarting from older state');
      resumed.push(node);
    }
    // A resumed node shows `*` (not responding) until slurmctld has pinged it again.
    if (resumed.length > 0) await this.waitReady(answering, 'resume');
    return resumed;
  }

  async restartSlurmd(node: string = this.nodeName): Promise<void> {
    this.files(node);
    const old = this.slurmds.get(node);
    if (old?.running()) await stopDaemon(old);
    // The controller keeps showing the node as it was: readiness is the new
    // slurmd's registration, seen as SlurmdStartTime (1 s resolution, local time).
    const spawnedSec = Math.floor(Date.now() / 1000);
    await this.spawnSlurmd(node);
    await this.waitReady((s) => /^(idle|mix|alloc|comp)$/.test(s), 'slurmd restart');
    const deadline = Date.now() + this.opts.startTimeoutMs;
    for (;;) {
      const started = Date.parse((await this.showNode(node)).SlurmdStartTime ?? '');
      if (started >= spawnedSec * 1000) return;
      if (Date.now() >= deadline) throw new Error(`slurmd restart: no registration within ${this.opts.startTimeoutMs} ms\n${this.logTails()}`);
      await sleep(100);
    }
  }

  /** First start: clean controller state (-c). */
  async start(): Promise<void> {
    const t0 = Date.now();
    await this.spawnCtld(true);
    for (const n of this.nodeNames) await this.spawnSlurmd(n);
    await this.waitReady((s) => s === 'idle', 'start');
    this.startupMs = Date.now() - t0;
    const { ctld, slurmd, slurmds } = this.ports;
    const ports = this.nodeNames.length > 1 ? { ctld, slurmds } : { ctld, slurmd };
    const nodes = this.nodeNames.length > 1 ? { nodes: this.nodeNames } : {};
    this.log.info({ cluster: this.name, baseDir: this.baseDir, ports, ...nodes, startupMs: this.startupMs }, 'cluster up');
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
      cmd: daemonCmd(this.slurmPrefix, 'slurmctld'),
      args: ['-D', ...(clean ? ['-c'] : []), '-f', this.confPath],
    });
    this.log.debug({ pid: this.ctld.pid, clean }, 'slurmctld spawned');
  }

  private async spawnSlurmd(node: string): Promise<void> {
    const f = this.files(node);
    rmSync(f.pid, { force: true });
    const multi = this.nodeNames.length > 1;
    const d = await spawnDaemon({
      ...this.daemonOpts(multi ? `slurmd ${node}` : 'slurmd', f.stdout, 'SIGKILL'),
      cmd: daemonCmd(this.slurmPrefix, 'slurmd'),
      args: ['-D', '-N', node, '-f', this.confPath],
    });
    this.slurmds.set(node, d);
    this.log.debug({ pid: d.pid, node }, 'slurmd spawned');
  }

  /** ctld first, then the slurmds in node order. */
  private daemons(): Daemon[] {
    return [this.ctld, ...this.nodeNames.map((n) => this.slurmds.get(n))].filter((d): d is Daemon => d !== undefined);
  }

  /** Resolves once the controller answers and every node's sinfo state passes `nodeOk`. */
  private async waitReady(nodeOk: (state: string) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + this.opts.startTimeoutMs;
    let lastState = '(no answer)';
    let pinged = false;
    let pingAnswer = '';
    for (;;) {
      for (const d of this.daemons()) {
        if (d && !d.running()) {
          const { code, signal } = await Promise.race([d.exited, sleep(500).then(() => ({ code: null, signal: null }))]);
          throw new Error(`cluster ${what}: ${d.name} exited (${signal ?? `code ${code}`})\n${this.logTails()}`);
        }
      }
      if (!pinged) {
        const r = await this.run('scontrol', ['ping'], { allowFail: true, timeoutMs: 10_000 });
        pinged = r.code === 0 && /is UP/.test(r.stdout);
        pingAnswer = `${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' | ');
      }
      if (pinged) {
        // One line per node (-N): "<name> <state>".
        const r = await this.run('sinfo', ['-h', '-N', '-n', this.nodeNames.join(','), '-o', '%N %t'], { allowFail: true, timeoutMs: 10_000 });
        if (r.code === 0) {
          const states = new Map(
            r.stdout
              .split('\n')
              .map((l) => l.trim().split(/\s+/))
              .filter((f) => f.length === 2)
              .map(([n, st]) => [n!, st!]),
          );
          lastState = this.nodeNames.map((n) => `${n}=${states.get(n) ?? '(not listed)'}`).join(' ');
          if (this.nodeNames.every((n) => states.has(n) && nodeOk(states.get(n)!))) return;
        }
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `cluster ${what}: not ready within ${this.opts.startTimeoutMs} ms ` +
            `(controller ${pinged ? 'up' : `not answering: scontrol ping said ${JSON.stringify(pingAnswer)}`}, node states ${lastState})\n${this.logTails()}`,
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
      ...[...this.nodeFiles.values()].flatMap((f) => [`--- ${f.log} ---`, tailFile(f.log, 20), `--- ${f.stdout} ---`, tailFile(f.stdout, 10)]),
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
      const daemons = this.daemons();
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
   * be awaited. Every slurmd, step daemons and jobs get SIGKILL (a SIGTERM landing
   * while slurmd forks a step can hang it). slurmctld gets SIGTERM so it saves
   * state, and its helper slurmscriptd is left alone: killing it first makes
   * slurmctld deadlock in shutdown. A detached shell SIGKILLs slurmctld if it
   * is still there 10 s later.
   */
  killNow(): void {
    const ctld = this.ctld?.running() ? this.ctld.pid : undefined;
    const slurmds = [...this.slurmds.values()].filter((d) => d.running()).map((d) => d.pid);
    freezeAndKillSync(() => {
      const spare = new Set(ctld !== undefined ? [ctld, ...descendants([ctld])] : []);
      const rest = strayProcesses(this.baseDir).filter((p) => !spare.has(p));
      return [...slurmds, ...descendants(slurmds), ...rest];
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
 * Starts a SLURM cluster on loopback (munged, slurmctld, one slurmd per node
 * in the foreground as our children; one node unless `nodes` says more) and
 * resolves once every node is idle.
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
    // mkdtemp makes it 0700: jobs of other users (customers) must reach their
    // batch script under the slurmd spool dir, so the tree is traversable.
    chmodSync(baseDir, 0o755);
    for (const d of [paths.stateDir, paths.spoolDir, paths.logDir, paths.runDir, paths.jobsDir]) {
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d, { recursive: true });
    }
    const [p1, p2, ...more] = await freePorts(1 + o.nodes);
    const slurmdPort = o.slurmdPort ?? p2!;
    const config = slurmConfigSchema.parse({
      clusterName: o.clusterName,
      baseDir,
      controlHost: shortHostname(),
      ctldPort: o.ctldPort ?? p1,
      slurmdPort,
      nodeName: o.nodeName ?? shortHostname(),
      nodes: o.nodes,
      ...(o.nodes > 1 ? { slurmdPorts: [slurmdPort, ...more] } : {}),
      node: await detectNodeHardware(),
      gpusPerNode: o.gpusPerNode,
      partition: o.partition,
      ...(o.slurmPrefix ? { pluginDir: path.join(o.slurmPrefix, 'lib', 'slurm') } : {}),
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
    if (config.nodes > 1) for (const n of computeNodeNames(config)) mkdirSync(slurmdNodePaths(paths, n, true).spoolDir, { recursive: true });
    writeFileSync(paths.slurmConf, text.slurmConf);
    if (text.plugstackConf !== undefined) writeFileSync(paths.plugstackConf, text.plugstackConf);
    rmSync(paths.cgroupConf, { force: true });
    if (o.slurmPrefix && (await slurmVersionNumber(o.slurmPrefix)) >= 24_05) writeFileSync(paths.cgroupConf, 'CgroupPlugin=disabled\n');
    rmSync(paths.gresConf, { force: true });
    rmSync(paths.gpuDir, { recursive: true, force: true });
    if (text.gresConf !== undefined) {
      mkdirSync(paths.gpuDir);
      // Character devices (/dev/null's numbers) so slurmd does not log "not a valid character or block device".
      for (let i = 0; i < config.gpusPerNode; i++) {
        const f = path.join(paths.gpuDir, `gpu${i}`);
        const r = await runCommand('mknod', ['-m', '0666', f, 'c', '1', '3'], { allowFail: true });
        if (r.code !== 0) writeFileSync(f, '');
      }
      writeFileSync(paths.gresConf, text.gresConf);
    }

    const daemonEnv = { ...clientEnv(process.env, paths.slurmConf, baseDir, o.slurmPrefix), ...o.daemonEnv };
    cluster = new SlurmCluster(
      paths,
      config,
      daemonEnv,
      { startTimeoutMs: o.startTimeoutMs, dieWithParent: o.dieWithParent, removeOnStop: o.removeOnStop },
      log,
      o.slurmPrefix,
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

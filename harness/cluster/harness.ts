// harness.ts - a real SLURM cluster for tests, on loopback: startCluster
// takes the machine-wide cluster lock, cleans up after a dead owner, writes
// slurm.conf (and plugstack, gres, cgroup) for the options (options.ts),
// spawns slurmctld and one slurmd per node in the foreground and waits until
// every node is idle; stop() cancels jobs, shuts SLURM down and sweeps
// leftover step daemons and jobs; an exit hook kills what is left
// synchronously. This file is the lifecycle; what a test asks the cluster is
// queries.ts, what it does to it faults.ts, the interface it gets cluster-interface.ts.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { computeNodeNames, generateConfig, slurmConfigSchema, type SlurmConfig, type SpankPlugin } from './config.js';
import { spawnDaemon, stopDaemon, type Daemon } from './daemon.js';
import { detectNodeHardware, shortHostname } from './hardware.js';
import { acquireClusterLock, liveClusterDirs, releaseClusterLock } from './lock.js';
import { ensureMunge } from './munge.js';
import { clusterPaths, slurmdNodePaths, type ClusterPaths, type SlurmdNodePaths } from './paths.js';
import { freePorts } from './ports.js';
import { descendants, findByEnv, freezeAndKillSync, procEnv, signalAll, waitForExit } from '../../src/util/proc.js';
import { runCommand, tailFile, type RunOptions, type RunResult } from '../../src/util/run-command.js';
import type { JobInfo, ScontrolRecord } from '../../src/slurm/scontrol-records.js';
import type { Cluster, WaitJobOptions } from './cluster-interface.js';
import { forceTimeout, killCtld, resumeDuplicateJobidDrains, restartCtld, restartSlurmd, type FaultTarget } from './faults.js';
import { CLUSTER_MARKER_ENV, startClusterOptionsSchema, type StartClusterOptions } from './options.js';
import { cancel, nodeState, sbatch, showJob, showNode, waitJob, waitStateSaved } from './queries.js';

export { CLUSTER_MARKER_ENV, startClusterOptionsSchema, type StartClusterOptions } from './options.js';
export type { Cluster, WaitJobOptions } from './cluster-interface.js';

const SLURM_COMMS: ReadonlySet<string> = new Set(['slurmctld', 'slurmd', 'slurmscriptd', 'slurmstepd']);


const defaultLogger = (): Logger => pino({ name: 'cluster', level: process.env.LOG_LEVEL ?? 'info' });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/** A daemon's command through an optional wrapper (an argv prefix that ends by exec'ing what follows; options.ts). */
function wrapped(wrapper: readonly string[], cmd: string, args: string[]): { cmd: string; args: string[] } {
  return wrapper.length ? { cmd: wrapper[0]!, args: [...wrapper.slice(1), cmd, ...args] } : { cmd, args };
}

/**
 * SLURM daemons (and what they started) of the cluster in `baseDir`; without
 * one, those left over by clusters whose owner died: every marked process but
 * those of the clusters live processes hold in any slot (lock.ts).
 */
function strayProcesses(baseDir?: string): number[] {
  let roots = findByEnv(SLURM_COMMS, CLUSTER_MARKER_ENV, baseDir);
  if (baseDir === undefined) {
    const live = liveClusterDirs();
    if (live.size > 0) roots = roots.filter((pid) => !live.has(procEnv(pid).get(CLUSTER_MARKER_ENV) ?? ''));
  }
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
  /** What queries.ts and faults.ts see of this cluster. */
  private readonly target: FaultTarget;

  constructor(
    readonly paths: ClusterPaths,
    readonly config: SlurmConfig,
    private readonly daemonEnv: NodeJS.ProcessEnv,
    private readonly opts: { startTimeoutMs: number; dieWithParent: boolean; removeOnStop: boolean; ctldWrapper: string[]; slurmdWrapper: string[] },
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
    this.target = {
      config,
      paths,
      nodeNames: this.nodeNames,
      nodeFiles: (node) => this.files(node),
      run: (cmd, args, o) => this.run(cmd, args, o),
      log,
      startTimeoutMs: opts.startTimeoutMs,
      ctldDaemon: () => this.ctld,
      slurmdDaemon: (node) => this.slurmds.get(node),
      spawnCtld: (clean) => this.spawnCtld(clean),
      spawnSlurmd: (node) => this.spawnSlurmd(node),
      waitReady: (nodeOk, what) => this.waitReady(nodeOk, what),
      logTails: () => this.logTails(),
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

  sbatch(args: string[], script: string): Promise<number> {
    return sbatch(this.target, args, script);
  }
  showJob(jobId: number): Promise<JobInfo | undefined> {
    return showJob(this.target, jobId);
  }
  waitJob(jobId: number, o: WaitJobOptions = {}): Promise<JobInfo> {
    return waitJob(this.target, jobId, o);
  }
  showNode(node: string = this.nodeName): Promise<ScontrolRecord> {
    return showNode(this.target, node);
  }
  nodeState(node: string = this.nodeName): Promise<string> {
    return nodeState(this.target, node);
  }
  cancel(jobId: number, extraArgs: string[] = []): Promise<void> {
    return cancel(this.target, jobId, extraArgs);
  }
  waitStateSaved(sinceMs: number, timeoutMs?: number): Promise<void> {
    return waitStateSaved(this.target, sinceMs, timeoutMs);
  }
  forceTimeout(jobId: number): Promise<void> {
    return forceTimeout(this.target, jobId);
  }
  killCtld(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return killCtld(this.target, signal);
  }
  restartCtld(): Promise<void> {
    return restartCtld(this.target);
  }
  resumeDuplicateJobidDrains(): Promise<string[]> {
    return resumeDuplicateJobidDrains(this.target);
  }
  restartSlurmd(node: string = this.nodeName): Promise<void> {
    return restartSlurmd(this.target, node);
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
      ...wrapped(this.opts.ctldWrapper, daemonCmd(this.slurmPrefix, 'slurmctld'), ['-D', ...(clean ? ['-c'] : []), '-f', this.confPath]),
    });
    this.log.debug({ pid: this.ctld.pid, clean }, 'slurmctld spawned');
  }

  private async spawnSlurmd(node: string): Promise<void> {
    const f = this.files(node);
    rmSync(f.pid, { force: true });
    const multi = this.nodeNames.length > 1;
    const d = await spawnDaemon({
      ...this.daemonOpts(multi ? `slurmd ${node}` : 'slurmd', f.stdout, 'SIGKILL'),
      ...wrapped(this.opts.slurmdWrapper, daemonCmd(this.slurmPrefix, 'slurmd'), ['-D', '-N', node, '-f', this.confPath]),
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
    // After the lock, anything carrying a marker no live slot holds belongs to a dead owner.
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
      { startTimeoutMs: o.startTimeoutMs, dieWithParent: o.dieWithParent, removeOnStop: o.removeOnStop, ctldWrapper: o.ctldWrapper, slurmdWrapper: o.slurmdWrapper },
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

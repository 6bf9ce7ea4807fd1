// local.ts - the `local` SlurmBackend: libslurm through the addon's SLURM
// module (native/addon/gl_slurm.cc, src/native/slurm-addon.ts), every call on the libuv pool, never on the
// JavaScript thread. Calls are also queued here, one at a time, so a
// slurmctld that does not answer (each call then waits up to MessageTimeout)
// occupies one pool thread, not all of them.
//
// One process serves one cluster: libslurm reads its configuration once, at
// the first call, from SLURM_CONF. `slurmConf` sets process.env.SLURM_CONF
// before that; a second backend in the same process must name the same file.
import { existsSync } from 'node:fs';
import path from 'node:path';

import { loadSlurmAddon, type AddonSlurmError, type AddonSlurmJob, type SlurmAddon } from '../native/slurm-addon.js';
import { SlurmBackendError, submitRequestProblem, type SlurmBackend, type SlurmJob, type SlurmPartition, type SubmitRequest } from './backend.js';
import { classifySlurmErrno, SLURM_ERRNO } from './errno.js';
import { gresGpuCount, jobGpuCount } from './gres.js';
import type { SlurmJobState } from './jobs.js';
import { SLURM_STATE_NAMES } from './states.js';

export interface LocalBackendOptions {
  /** The cluster's slurm.conf; default: SLURM_CONF as the process has it, else /etc/slurm/slurm.conf. */
  slurmConf?: string;
}

const INFINITE = 0xffffffff;
const NO_VAL = 0xfffffffe;
const JOB_STATE_BASE = 0xff;
const JOB_SHARED_NONE = 0;

/** The conf libslurm was (or is about to be) initialised with in this process. */
let processConf: string | undefined;

export function createLocalBackend(opts: LocalBackendOptions = {}): SlurmBackend {
  const wanted = path.resolve(opts.slurmConf ?? process.env.SLURM_CONF ?? '/etc/slurm/slurm.conf');
  if (processConf !== undefined && processConf !== wanted) {
    throw new Error(
      `local SLURM backend: this process already talks to the cluster of ${processConf}; libslurm reads its configuration once per process, so ${wanted} needs a process of its own`,
    );
  }
  if (!existsSync(wanted)) {
    throw new Error(`local SLURM backend: ${wanted} does not exist: pass slurmConf (or set SLURM_CONF) to the cluster's slurm.conf`);
  }
  processConf = wanted;
  process.env.SLURM_CONF = wanted;
  return new LocalBackend(loadSlurmAddon());
}

class LocalBackend implements SlurmBackend {
  readonly kind = 'local' as const;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly addon: SlurmAddon) {}

  /** Runs `fn` after every earlier call settled; maps addon errors to SlurmBackendError. */
  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`local SLURM backend: ${what} after close()`));
    const run = this.queue.then(
      () => fn(),
      () => fn(),
    );
    this.queue = run.catch(() => undefined);
    return run.catch((e: unknown) => {
      throw toBackendError(what, e);
    });
  }

  async partition(name: string): Promise<SlurmPartition> {
    const p = await this.call(`partition ${name}`, () => this.addon.slurmLoadPartition(name));
    if (!p) throw new SlurmBackendError('not_found', `partition ${JSON.stringify(name)} does not exist in this cluster (see \`sinfo -s\`)`, SLURM_ERRNO.ESLURM_INVALID_PARTITION_NAME);
    return {
      name: p.name,
      state: p.state,
      nodes: p.nodes.map((n) => ({ name: n.name, cpus: n.cpus, realMemoryMB: n.realMemoryMB, gpus: gresGpuCount(n.gres), state: n.known ? n.state : 'UNKNOWN' })),
    };
  }

  async submit(req: SubmitRequest): Promise<{ jobId: number }> {
    const bad = submitRequestProblem(req);
    if (bad) throw new SlurmBackendError('refused', `submit refused before reaching SLURM: ${bad}`);
    const jobId = await this.call(`submit ${req.name.slice(0, 80)}`, () =>
      this.addon.slurmSubmit({
        script: req.script,
        name: req.name,
        user: req.user,
        uid: req.uid,
        gid: req.gid,
        workDir: req.workDir,
        stdout: req.stdout ?? path.join(req.workDir, 'slurm-%j.out'),
        stderr: req.stderr ?? req.stdout ?? path.join(req.workDir, 'slurm-%j.out'),
        environment: Object.entries(req.environment).map(([k, v]) => `${k}=${v}`),
        partition: req.partition,
        ntasks: req.ntasks,
        cpusPerTask: req.cpusPerTask,
        memPerCpuMB: req.memPerCpuMB,
        // 22.05 holds GPU requests as tres_per_job "gres:gpu:N" (what sbatch --gpus=N sends).
        ...(req.gpus > 0 ? { tresPerJob: `gres:gpu:${req.gpus}` } : {}),
        timeLimitMinutes: req.timeLimitMinutes,
        ...(req.comment ? { comment: req.comment } : {}),
      }),
    );
    return { jobId };
  }

  async cancel(jobId: number): Promise<void> {
    await this.call(`cancel ${jobId}`, () => this.addon.slurmCancel(jobId));
  }

  async setTimeLimit(jobId: number, minutes: number): Promise<void> {
    if (!Number.isInteger(minutes) || minutes <= 0 || minutes >= NO_VAL) {
      throw new SlurmBackendError('refused', `time limit ${minutes} for job ${jobId}: minutes must be a positive integer`);
    }
    await this.call(`set time limit of ${jobId}`, () => this.addon.slurmSetTimeLimit(jobId, minutes));
  }

  async list(): Promise<SlurmJob[]> {
    const raw = await this.call('list jobs', () => this.addon.slurmLoadJobs());
    return raw.map(toSlurmJob);
  }

  async jobs(): Promise<Map<number, SlurmJobState>> {
    return new Map((await this.list()).map((j) => [j.jobId, j]));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }
}

function toBackendError(what: string, e: unknown): Error {
  if (e instanceof SlurmBackendError) return e;
  const err = e as Partial<AddonSlurmError>;
  switch (err.code) {
    case 'ESLURM': {
      const errno = err.slurmErrno ?? -1;
      const kind = classifySlurmErrno(errno);
      const hint = kind === 'unavailable' ? ' (is slurmctld running, and SLURM_CONF the right cluster? retry later)' : '';
      return new SlurmBackendError(kind, `${what}: ${err.slurmText ?? err.message} (SLURM errno ${errno})${hint}`, errno, { cause: e });
    }
    case 'ESLURMCONF':
      return new SlurmBackendError('unavailable', `${what}: ${err.slurmText ?? err.message}`, undefined, { cause: e });
    case 'EUSER':
    case 'EINVAL':
      return new SlurmBackendError('refused', `${what}: ${err.slurmText ?? err.message}`, undefined, { cause: e });
    default:
      return e instanceof Error ? e : new Error(`${what}: ${String(e)}`);
  }
}

function toSlurmJob(j: AddonSlurmJob): SlurmJob {
  const base = j.jobState & JOB_STATE_BASE;
  const state = SLURM_STATE_NAMES[base] ?? 'UNKNOWN';
  // exit_code is a wait() status: signal in the low 7 bits, code in the next byte.
  const signal = j.exitCode & 0x7f;
  const exitCode = (j.exitCode >> 8) & 0xff;
  return {
    jobId: j.jobId,
    state,
    jobState: SLURM_STATE_NAMES[base] !== undefined ? base : -1,
    exitCode,
    signal,
    startTime: j.startTime,
    endTime: j.endTime,
    submitTime: j.submitTime,
    timeLimitMinutes: j.timeLimit === INFINITE || j.timeLimit === NO_VAL ? null : j.timeLimit,
    restarts: j.restartCnt,
    name: j.name,
    comment: j.comment,
    userId: j.userId,
    groupId: j.groupId,
    partition: j.partition,
    nodes: j.nodes,
    numNodes: j.numNodes,
    numTasks: j.numTasks,
    cpusPerTask: j.cpusPerTask === 0xfffe ? 1 : j.cpusPerTask,
    memPerCpuMB: j.memPerCpu ? j.minMemory : null,
    gpus: jobGpuCount(j),
    workDir: j.workDir,
    account: j.account,
    qos: j.qos,
    reservation: j.reservation,
    arrayJobId: j.arrayJobId,
    dependency: j.dependency,
    beginTime: j.beginTime,
    exclusive: j.shared === JOB_SHARED_NONE,
    requeue: j.requeue !== 0,
    stateReason: j.stateReason,
  };
}

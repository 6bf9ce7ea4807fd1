// backend.ts - the one interface the supervisor uses to reach SLURM. Two
// implementations: `local` (libslurm through the Node addon, every call off
// the JavaScript thread; src/slurm/local.ts) and `ssh` (ssh2 to a login node
// running sbatch/scancel/scontrol as root; src/slurm/ssh.ts). Both pass the
// same suite (test/slurm/backend-suite.ts) against the real cluster.
import type { SlurmJobSource, SlurmJobState } from './jobs.js';

/** What the supervisor submits: exactly the paid resources, as one customer. */
export interface SubmitRequest {
  /** The script, verbatim (starts with `#!`). Its `#SBATCH` lines must have no effect. */
  script: string;
  /** SLURM job name: the 0x hex of the grid job id. */
  name: string;
  /** The customer's Linux user: numeric ids resolved through NSS beforehand. */
  user: string;
  uid: number;
  gid: number;
  /** Working directory (the customer's home). */
  workDir: string;
  /** stdout/stderr paths (SLURM patterns like %j allowed); default `<workDir>/slurm-%j.out`. */
  stdout?: string;
  stderr?: string;
  /** The job's whole environment: nothing else is passed (no SBATCH_*, nothing of the supervisor's). */
  environment: Record<string, string>;
  partition: string;
  ntasks: number;
  cpusPerTask: number;
  /** MB per allocated CPU. */
  memPerCpuMB: number;
  /** GPUs for the whole job (gres gpu), 0 for none. */
  gpus: number;
  /** Minutes, > 0. */
  timeLimitMinutes: number;
  /** Free text stored with the job (not trusted by anyone). */
  comment?: string;
}

/** A job as slurmctld holds it, with what the supervisor and the tests check. */
export interface SlurmJob extends SlurmJobState {
  name: string;
  /** The comment given at submit ('' when none); like the name, any bytes a customer chose. */
  comment: string;
  userId: number;
  groupId: number;
  partition: string;
  /** Nodes allocated (hostlist expression), '' while pending. */
  nodes: string;
  numNodes: number;
  numTasks: number;
  cpusPerTask: number;
  /** MB per CPU when the job asked per CPU, else null. */
  memPerCpuMB: number | null;
  /** GPUs requested for the job (from the TRES/gres request), 0 for none. */
  gpus: number;
  workDir: string;
  account: string;
  qos: string;
  reservation: string;
  /** Array job id when part of an array, else 0. */
  arrayJobId: number;
  dependency: string;
  /** Unix seconds the job may start at (BeginTime). */
  beginTime: number;
  /** True when the job holds its nodes exclusively (job `shared` = JOB_SHARED_NONE, scontrol OverSubscribe=NO), as --exclusive does. */
  exclusive: boolean;
  requeue: boolean;
  stateReason: string;
}

export interface SlurmNode {
  name: string;
  cpus: number;
  realMemoryMB: number;
  /** Countable gres gpu on the node, 0 when none. */
  gpus: number;
  /** e.g. IDLE, MIXED, ALLOCATED, DOWN+DRAIN. */
  state: string;
}

export interface SlurmPartition {
  name: string;
  state: string;
  /** Every node of the partition, expanded and in SLURM's order. */
  nodes: SlurmNode[];
}

/** Why a call failed: `refused` = SLURM rejected the request itself (do not retry); `unavailable` = slurmctld or the login node could not be reached (retry later); `not_found` = no such job/partition. */
export type SlurmErrorKind = 'refused' | 'unavailable' | 'not_found';

export class SlurmBackendError extends Error {
  override readonly name = 'SlurmBackendError';
  constructor(
    readonly kind: SlurmErrorKind,
    message: string,
    /** SLURM's errno when known (slurm_get_errno / the error text's code). */
    readonly slurmErrno?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface SlurmBackend extends SlurmJobSource {
  readonly kind: 'local' | 'ssh';
  /** The partition and its nodes' hardware. not_found when it does not exist. */
  partition(name: string): Promise<SlurmPartition>;
  /** Submits one batch job; resolves with SLURM's job id. refused / unavailable as above. */
  submit(req: SubmitRequest): Promise<{ jobId: number }>;
  /** Cancels (SIGKILL after KillWait, as scancel). A job already finished or unknown is not an error. */
  cancel(jobId: number): Promise<void>;
  /** Sets the job's time limit in minutes (absolute, so a retry is harmless). */
  setTimeLimit(jobId: number, minutes: number): Promise<void>;
  /** Every job slurmctld holds, with the details above. */
  list(): Promise<SlurmJob[]>;
  close(): Promise<void>;
}

/** Ceiling of any 32-bit count SLURM takes (0xffffffff is INFINITE, 0xfffffffe NO_VAL). */
const U32_MAX = 0xfffffffe;

/**
 * Why no SLURM may see this request (undefined: nothing): counts out of
 * range, a job as root, a relative workDir, a partition that is not one
 * word, NUL bytes (SLURM strings are C strings), bad environment names.
 * Both backends refuse such a request before anything runs; each adds what
 * its own path cannot carry.
 */
export function submitRequestProblem(r: SubmitRequest): string | undefined {
  const count = (v: number, min: number) => Number.isInteger(v) && v >= min && v <= U32_MAX;
  if (!count(r.uid, 0) || !count(r.gid, 0)) return `uid ${r.uid} / gid ${r.gid} must be resolved numeric ids`;
  if (r.uid === 0) return 'jobs never run as root (uid 0)';
  if (!count(r.ntasks, 1)) return `ntasks ${r.ntasks} must be a positive integer`;
  if (!count(r.cpusPerTask, 1) || r.cpusPerTask > 0xfffd) return `cpusPerTask ${r.cpusPerTask} must be a positive integer`;
  if (!count(r.memPerCpuMB, 1)) return `memPerCpuMB ${r.memPerCpuMB} must be a positive integer`;
  if (!count(r.gpus, 0)) return `gpus ${r.gpus} must be a non-negative integer`;
  if (!count(r.timeLimitMinutes, 1)) return `timeLimitMinutes ${r.timeLimitMinutes} must be a positive integer`;
  if (!r.workDir.startsWith('/')) return `workDir ${JSON.stringify(r.workDir)} must be an absolute path`;
  if (!/^[^\s\0]+$/.test(r.partition)) return `invalid partition name ${JSON.stringify(r.partition)}`;
  if (r.name === '') return 'the job name is empty';
  const strings: [string, string | undefined][] = [
    ['script', r.script],
    ['name', r.name],
    ['user', r.user],
    ['workDir', r.workDir],
    ['stdout', r.stdout],
    ['stderr', r.stderr],
    ['comment', r.comment],
  ];
  for (const [k, v] of strings) if (v?.includes('\0')) return `${k} contains a NUL byte (SLURM strings are C strings)`;
  for (const [k, v] of Object.entries(r.environment)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) return `environment name ${JSON.stringify(k.slice(0, 60))} is not a valid variable name`;
    if (v.includes('\0')) return `environment ${k} contains a NUL byte`;
  }
  return undefined;
}

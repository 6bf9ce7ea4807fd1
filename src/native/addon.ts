// addon.ts - load the Node-API addon (build/Release or prebuilds/) once.
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { JobEvent, JobEventBytes } from './event.js';

export interface AddonPos {
  segment: number;
  offset: number;
  total: number;
}

/** What the addon decodes: JobEvent's numeric fields as they are, strings as raw bytes. */
export interface AddonEvent extends Omit<JobEvent, 'formatVersion' | 'kind' | 'kindName' | 'bytes' | keyof JobEventBytes>, JobEventBytes {
  version: number;
  kind: number;
}

export interface AddonRecord {
  event?: AddonEvent;
  error?: string;
  payload?: Buffer;
  pos: AddonPos;
  next: AddonPos;
}

export interface AddonStat {
  spoolId: string;
  nextSeq: number;
  currentSegment: number;
  writtenBytes: number;
  ackedBytes: number;
  ack: AddonPos;
  ackedSeq: number;
  rejectedFull: number;
  rejectedError: number;
  corruptSkipped: number;
  segments: number;
  bytesOnDisk: number;
}

export interface AddonSpoolReader {
  read(max?: number): AddonRecord[];
  ack(next: AddonPos, lastSeq: bigint): void;
  rewind(): void;
  sync(): void;
  stat(): AddonStat;
  close(): void;
}

type AddonStringField = 'cluster' | 'node' | 'stateName' | 'jobName' | 'comment';

export type AddonEventInput = Partial<Omit<AddonEvent, 'seq' | 'spoolId' | 'writeTimeNs' | 'version' | 'tres' | AddonStringField>> & {
  kind: number;
  tres?: Partial<AddonEvent['tres']>;
  cluster?: Buffer | string;
  node?: Buffer | string;
  stateName?: Buffer | string;
  jobName?: Buffer | string;
  comment?: Buffer | string;
};

export interface AddonSpoolWriter {
  append(ev: AddonEventInput): bigint;
  sync(): void;
  close(): void;
}

export interface MungeDecoded {
  payload: Buffer;
  uid: number;
  gid: number;
  encodeTime: number;
}

/** What slurmSubmit takes: SubmitRequest resolved to SLURM's fields (see src/slurm/local.ts). */
export interface AddonSlurmSubmit {
  script: string;
  name: string;
  /** Checked in the addon: must resolve through NSS to `uid`; `gid` must exist. */
  user: string;
  uid: number;
  gid: number;
  workDir: string;
  stdout: string;
  stderr: string;
  /** "K=V" strings, the job's whole environment. */
  environment: string[];
  partition: string;
  ntasks: number;
  cpusPerTask: number;
  memPerCpuMB: number;
  /** e.g. "gres:gpu:2" (22.05's form, as sbatch --gpus writes it); omitted for none. */
  tresPerJob?: string;
  timeLimitMinutes: number;
  comment?: string;
}

/** One slurm_job_info_t, as slurm_load_jobs returned it (raw: src/slurm/local.ts maps it). */
export interface AddonSlurmJob {
  jobId: number;
  /** job_state: base state in the low byte, flags above. */
  jobState: number;
  /** wait() status: exit code << 8 | signal. */
  exitCode: number;
  /** Minutes; 0xffffffff INFINITE, 0xfffffffe NO_VAL. */
  timeLimit: number;
  userId: number;
  groupId: number;
  numNodes: number;
  numTasks: number;
  arrayJobId: number;
  cpusPerTask: number;
  /** 0 exclusive (JOB_SHARED_NONE), 1 ok, 2 user, 3 mcs, 0xfffe not set. */
  shared: number;
  requeue: number;
  restartCnt: number;
  stateReasonCode: number;
  /** 1 when pn_min_memory carries MEM_PER_CPU (minMemory is then MB per CPU), else 0 (MB per node). */
  memPerCpu: number;
  minMemory: number;
  submitTime: number;
  startTime: number;
  endTime: number;
  /** eligible_time: when the job may start (BeginTime). */
  beginTime: number;
  name: string;
  comment: string;
  partition: string;
  nodes: string;
  workDir: string;
  account: string;
  qos: string;
  reservation: string;
  dependency: string;
  /** slurm_job_reason_string(state_reason). */
  stateReason: string;
  stateDesc: string;
  tresPerJob: string;
  tresPerNode: string;
  tresPerTask: string;
  tresReqStr: string;
  tresAllocStr: string;
}

export interface AddonSlurmNode {
  name: string;
  /** False when the partition names a node slurm_load_node did not return. */
  known: boolean;
  cpus: number;
  realMemoryMB: number;
  /** As SLURM prints it, e.g. "gpu:2" or "gpu:tesla:2(S:0)"; '' for none. */
  gres: string;
  /** slurm_node_state_string, e.g. IDLE, MIXED, DOWN+DRAIN. */
  state: string;
}

export interface AddonSlurmPartition {
  name: string;
  state: 'UP' | 'DOWN' | 'DRAIN' | 'INACTIVE' | 'UNKNOWN';
  nodes: AddonSlurmNode[];
}

/**
 * Rejections of the slurm* calls: code 'ESLURM' with slurmErrno (slurm_get_errno())
 * and slurmText (slurm_strerror); 'ESLURMCONF' (slurm.conf unreadable), 'EUSER'
 * (user/uid/gid do not resolve), 'EINVAL' (bad arguments).
 */
export interface AddonSlurmError extends Error {
  code: 'ESLURM' | 'ESLURMCONF' | 'EUSER' | 'EINVAL';
  slurmErrno?: number;
  slurmText?: string;
}

export interface Addon {
  /** Every slurm* call runs on the libuv pool under one mutex; slurm_init at the first (SLURM_CONF then is the cluster). */
  slurmSubmit(req: AddonSlurmSubmit): Promise<number>;
  /** SIGKILL through slurmctld (KillWait applies); already finished or unknown ids resolve. */
  slurmCancel(jobId: number): Promise<void>;
  slurmSetTimeLimit(jobId: number, minutes: number): Promise<void>;
  slurmLoadJobs(): Promise<AddonSlurmJob[]>;
  /** null when no such partition. */
  slurmLoadPartition(name: string): Promise<AddonSlurmPartition | null>;
  /** Rejects with err.code = 'EMUNGE_*' (e.g. EMUNGE_SOCKET when munged is down). */
  mungeEncode(payload: Buffer | string, opts?: { socket?: string }): Promise<string>;
  /** Rejects with err.code = 'EMUNGE_*': EMUNGE_CRED_REPLAYED, EMUNGE_BAD_CRED, EMUNGE_CRED_EXPIRED... */
  mungeDecode(credential: string, opts?: { socket?: string }): Promise<MungeDecoded>;
  SpoolReader: new (dir: string) => AddonSpoolReader;
  SpoolWriter: new (dir: string, opts?: { maxBytes?: number; segmentBytes?: number }) => AddonSpoolWriter;
  formatVersion: number;
}

/** The repository (or installed package) root: where binding.gyp lives. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: Addon | undefined;

/**
 * Loads the addon through node-gyp-build from the package root: a local build
 * (build/Release, then build/Debug) when there is one, else the prebuild for
 * this platform and arch (prebuilds/<platform>-<arch>/gridlink.node, made by
 * `npm run prebuildify` and shipped in the npm tarball), so an installed
 * package needs no compiler where a prebuild fits. A local build wins so
 * `npm run build:native` in a checkout is never shadowed by an older
 * prebuild. Loaded on first use only: the Meta-Scheduler client never needs it.
 */
export function loadAddon(): Addon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const load = require('node-gyp-build') as (dir: string) => unknown;
  try {
    cached = load(packageRoot) as Addon;
  } catch (err) {
    throw new Error(
      `gridlink native addon not found or not loadable under ${packageRoot} (build/Release, or prebuilds/${process.platform}-${process.arch}/): ` +
        `run \`npm run build:native\` in a checkout or \`npm rebuild gridlink\` where it is installed (needs python3, make, g++, libslurm and libmunge headers). ` +
        `Cause: ${(err as Error).message}`,
    );
  }
  return cached;
}

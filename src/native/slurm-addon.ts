// slurm-addon.ts - load gridlink_slurm.so, the addon's libslurm calls
// (native/addon/gl_slurm.cc), once and only when the local SLURM backend asks:
// it links one SLURM release's libslurm, so hosts without SLURM, or with
// another release, still load gridlink.node (spool, relay, munge). It sits
// beside gridlink.node (build/Release or prebuilds/<platform>-<arch>), or
// where GRIDLINK_SLURM_ADDON says.
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';

import { addonPath } from './addon.js';

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
 * Rejections of the slurm* calls: code 'ESLURM' with slurmErrno (SLURM's errno)
 * and slurmText (slurm_strerror); 'ESLURMCONF' (slurm.conf unreadable), 'EUSER'
 * (user/uid/gid do not resolve), 'EINVAL' (bad arguments).
 */
export interface AddonSlurmError extends Error {
  code: 'ESLURM' | 'ESLURMCONF' | 'EUSER' | 'EINVAL';
  slurmErrno?: number;
  slurmText?: string;
}

export interface SlurmAddon {
  /** Every slurm* call runs on the libuv pool under one mutex; slurm_init at the first (SLURM_CONF then is the cluster). */
  slurmSubmit(req: AddonSlurmSubmit): Promise<number>;
  /** SIGKILL through slurmctld (KillWait applies); already finished or unknown ids resolve. */
  slurmCancel(jobId: number): Promise<void>;
  slurmSetTimeLimit(jobId: number, minutes: number): Promise<void>;
  slurmLoadJobs(): Promise<AddonSlurmJob[]>;
  /** null when no such partition. */
  slurmLoadPartition(name: string): Promise<AddonSlurmPartition | null>;
  /** The SLURM release it was compiled for, e.g. "22.05.8". */
  slurmVersion: string;
}

const REBUILD =
  'install libslurm-dev of the SLURM release you run (or set GRIDLINK_SLURM_PREFIX=<its install prefix>) and rebuild: ' +
  '`npm run build:native` in a checkout, `npm rebuild gridlink` where it is installed';

let cached: SlurmAddon | undefined;

/** Where gridlink_slurm.so is looked for: GRIDLINK_SLURM_ADDON, else beside gridlink.node. */
export function slurmAddonPath(): string {
  return process.env.GRIDLINK_SLURM_ADDON || join(dirname(addonPath()), 'gridlink_slurm.so');
}

/**
 * Loads gridlink_slurm.so (RTLD_NOW: a libslurm without a symbol it needs
 * fails here, not at a call). Throws an Error saying what to install or
 * rebuild when it is absent or its libslurm is not this host's.
 */
export function loadSlurmAddon(): SlurmAddon {
  if (cached) return cached;
  const file = slurmAddonPath();
  if (!existsSync(file)) {
    throw new Error(
      `gridlink's SLURM module is missing (${file}): the addon was built without SLURM's headers. ` +
        `The local SLURM backend needs it: ${REBUILD}. The spool, relay and munge work without it.`,
    );
  }
  const mod = { exports: {} as SlurmAddon };
  try {
    process.dlopen(mod, file, constants.dlopen.RTLD_NOW);
  } catch (err) {
    const msg = (err as Error).message;
    const lib = /libslurm[\w.-]*\.so(\.\d+)?/.exec(msg)?.[0];
    throw new Error(
      `gridlink's SLURM module ${file} does not load` +
        (lib ? `: it was built for the SLURM release whose library is ${lib}, which this host does not have. ` : '. ') +
        `Install libslurm of your SLURM version, or ${REBUILD}. Cause: ${msg}`,
    );
  }
  cached = mod.exports;
  return cached;
}

// submit-request.ts - what a claimed grid job becomes in SLURM: the script as
// the customer wrote it, run as the customer's user with exactly the paid
// resources and time, in a clean environment. Pure: checks and builds, does
// not submit. A job that can never run (bad script, no paid minutes, zero
// resources) is reported here as a JobInputError: the job is FAILED on chain.
import type { Hex } from 'viem';

import type { JobDefinition } from '../metascheduler/types.js';
import type { SubmitRequest } from '../slurm/backend.js';
import type { CustomerUser } from './users.js';

export class JobInputError extends Error {
  override readonly name = 'JobInputError';
}

export interface SubmitSettings {
  partition: string;
  /** PATH of the job's environment. */
  path: string;
  /** stdout file, `{home}` replaced by the user's home; SLURM patterns (%j) allowed. */
  output: string;
  /** SLURM's default MaxBatchScriptSize is 4 MB. */
  maxScriptBytes: number;
}

/** A SLURM time limit is a 32-bit count of minutes with INFINITE = 0xffffffff. */
const MAX_TIME_LIMIT = 0xfffffffe;

function positive(name: string, v: bigint, max: number): number {
  if (v <= 0n) throw new JobInputError(`the job definition asks for ${v} ${name}: nothing can run with that`);
  if (v > BigInt(max)) throw new JobInputError(`the job definition asks for ${v} ${name}, more than SLURM can express (${max})`);
  return Number(v);
}

export function buildSubmitRequest(p: {
  gridJobId: Hex;
  definition: JobDefinition;
  /** Paid minutes: maxDurationMinute at claim plus top-ups. */
  minutes: number;
  user: CustomerUser;
  script: string;
  settings: SubmitSettings;
}): SubmitRequest {
  const { definition: d, script, user, settings: s } = p;
  if (!(p.minutes > 0)) throw new JobInputError('the job was claimed with a time limit of 0 minutes (its locked credits do not pay for one minute at this provider\'s prices)');
  if (Buffer.byteLength(script, 'utf8') > s.maxScriptBytes) throw new JobInputError(`the job script is ${Buffer.byteLength(script, 'utf8')} bytes, over the ${s.maxScriptBytes}-byte limit`);
  if (!script.startsWith('#!')) throw new JobInputError('the job script does not start with #! (an interpreter line such as #!/bin/bash -l)');
  if (script.includes('\0')) throw new JobInputError('the job script contains a NUL byte');
  const ntasks = positive('tasks', d.ntasks, 1_000_000);
  const cpusPerTask = positive('CPUs per task', d.cpusPerTask, 65_535);
  const memPerCpuMB = positive('MB of memory per CPU', d.memPerCpu, 2 ** 40);
  if (d.gpus < 0n || d.gpus > 65_535n) throw new JobInputError(`the job definition asks for ${d.gpus} GPUs`);
  return {
    script,
    name: p.gridJobId.toLowerCase(),
    user: user.name,
    uid: user.uid,
    gid: user.gid,
    workDir: user.home,
    stdout: s.output.replaceAll('{home}', user.home),
    // sbatch would export SLURM_JOB_NAME from the client; the grid's scripts read it.
    environment: { HOME: user.home, USER: user.name, LOGNAME: user.name, PATH: s.path, SLURM_JOB_NAME: p.gridJobId.toLowerCase() },
    partition: s.partition,
    ntasks,
    cpusPerTask,
    memPerCpuMB,
    gpus: Number(d.gpus),
    timeLimitMinutes: Math.min(p.minutes, MAX_TIME_LIMIT),
    comment: `gridlink ${p.gridJobId.toLowerCase()}`,
  };
}

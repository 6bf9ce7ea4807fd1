// resources.ts - what a customer asks for (tasks, CPUs per task, memory per
// CPU, GPUs) as a checked JobDefinition, and the SLURM-style sizes (512M,
// 2G) the CLI accepts for memory. Pure.
import type { JobDefinition } from '../metascheduler/types.js';

export class ResourceError extends Error {
  override readonly name = 'ResourceError';
}

export interface JobResources {
  /** Tasks (SLURM --ntasks), default 1. */
  tasks: number;
  /** CPUs per task, default 1. */
  cpusPerTask: number;
  /** MB of memory per CPU, default 256. */
  memPerCpuMB: number;
  /** GPUs for the whole job (not per task), default 0. */
  gpus: number;
}

export const DEFAULT_RESOURCES: JobResources = { tasks: 1, cpusPerTask: 1, memPerCpuMB: 256, gpus: 0 };

const UNITS: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/** A memory size as SLURM writes it: a number of MB, or with a K, M, G or T suffix (MB is the unit). */
export function parseMemSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT])?B?$/i.exec(text.trim());
  if (!m) throw new ResourceError(`memory size ${JSON.stringify(text)} is not a size: write MB as a number, or with a unit such as 512M or 2G`);
  const mb = Math.ceil(Number(m[1]) * UNITS[(m[2] ?? 'M').toUpperCase()]!);
  if (!(mb >= 1)) throw new ResourceError(`memory size ${JSON.stringify(text)} is below 1 MB: ask for at least 1M per CPU`);
  return mb;
}

/** A whole number in [min, max], for option `name`. */
export function parseCount(text: string | number, name: string, min = 1, max = 1_000_000): number {
  const s = String(text).trim();
  if (!/^\d+$/.test(s)) throw new ResourceError(`${name} must be a whole number, got ${JSON.stringify(String(text))}`);
  const n = Number(s);
  if (n < min || n > max) throw new ResourceError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** The chain's job definition for `r` and the uploaded script's key. */
export function toJobDefinition(r: JobResources, batchLocationHash: string): JobDefinition {
  parseCount(r.tasks, 'tasks');
  parseCount(r.cpusPerTask, 'cpus per task', 1, 65_535);
  parseCount(r.memPerCpuMB, 'MB of memory per CPU', 1, 2 ** 40);
  parseCount(r.gpus, 'gpus', 0, 65_535);
  return {
    gpus: BigInt(r.gpus),
    memPerCpu: BigInt(r.memPerCpuMB),
    cpusPerTask: BigInt(r.cpusPerTask),
    ntasks: BigInt(r.tasks),
    batchLocationHash,
    storageType: 0,
    uses: [],
    affinity: [],
  };
}

export const describeResources = (r: JobResources): string =>
  `${r.tasks} task${r.tasks === 1 ? '' : 's'} of ${r.cpusPerTask} CPU${r.cpusPerTask === 1 ? '' : 's'} with ${r.memPerCpuMB} MB per CPU${r.gpus ? ` and ${r.gpus} GPU${r.gpus === 1 ? '' : 's'}` : ''}`;

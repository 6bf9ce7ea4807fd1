// fit.ts - whether a provider's hardware can run a job's resources at all
// (the customer's check before submitting, the devnet oracle's placement).
import type { ProviderHardware } from './types.js';

export interface ResourceRequest {
  gpus: bigint;
  memPerCpu: bigint;
  cpusPerTask: bigint;
  ntasks: bigint;
}

export type FitResult = { fits: true; tasksCapacity: bigint } | { fits: false; reason: string; tasksCapacity: bigint };

/**
 * Whether a cluster can run a job at all (not whether it is free now). A task
 * cannot span nodes, so capacity is counted per node: each node holds
 * min(cpus / cpusPerTask, mem / (cpusPerTask * memPerCpu)) tasks. GPUs are a
 * per-job total, as in billing.
 */
export function fitsHardware(job: ResourceRequest, hw: ProviderHardware): FitResult {
  const n = Math.min(Number(hw.nodes), hw.cpusPerNode.length, hw.memPerNode.length, hw.gpusPerNode.length);
  if (job.ntasks <= 0n || job.cpusPerTask <= 0n) return { fits: false, reason: 'job asks for no cpus', tasksCapacity: 0n };
  const memPerTask = job.cpusPerTask * job.memPerCpu;
  let tasks = 0n;
  let gpus = 0n;
  for (let i = 0; i < n; i++) {
    const cpus = hw.cpusPerNode[i] ?? 0n;
    const mem = hw.memPerNode[i] ?? 0n;
    const byCpu = cpus / job.cpusPerTask;
    const byMem = memPerTask === 0n ? byCpu : mem / memPerTask;
    tasks += byCpu < byMem ? byCpu : byMem;
    gpus += hw.gpusPerNode[i] ?? 0n;
  }
  if (tasks < job.ntasks) {
    return {
      fits: false,
      reason: `room for ${tasks} tasks of ${job.cpusPerTask} cpu / ${memPerTask} MB, job needs ${job.ntasks}`,
      tasksCapacity: tasks,
    };
  }
  if (gpus < job.gpus) return { fits: false, reason: `${gpus} gpus, job needs ${job.gpus}`, tasksCapacity: tasks };
  return { fits: true, tasksCapacity: tasks };
}

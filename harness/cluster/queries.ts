// queries.ts - what a test asks a running cluster, through the SLURM clients
// with the cluster's environment: submit (sbatch), show a job or a node, wait
// for a job's state, cancel, and whether slurmctld saved its state.
import { statSync } from 'node:fs';
import path from 'node:path';

import type { SlurmConfig } from './config.js';
import type { WaitJobOptions } from './cluster-interface.js';
import type { ClusterPaths, SlurmdNodePaths } from './paths.js';
import { parseRecord, toJobInfo, type JobInfo, type ScontrolRecord } from '../../src/slurm/scontrol-records.js';
import { isTerminal } from '../../src/slurm/states.js';
import { tailFile, type RunOptions, type RunResult } from '../../src/util/run-command.js';

/** The running cluster as the queries see it. */
export interface QueryTarget {
  readonly config: SlurmConfig;
  readonly paths: ClusterPaths;
  readonly nodeNames: readonly string[];
  /** `node`'s slurmd files; throws for a name that is not one of the cluster's. */
  nodeFiles(node: string): SlurmdNodePaths;
  run(cmd: string, args: string[], opts?: Omit<RunOptions, 'env'>): Promise<RunResult>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function sbatch(c: QueryTarget, args: string[], script: string): Promise<number> {
  const body = script.startsWith('#!') ? script : `#!/bin/sh\n${script}`;
  const r = await c.run('sbatch', ['--parsable', ...args], { input: body.endsWith('\n') ? body : body + '\n' });
  const id = Number.parseInt(r.stdout.trim().split(';')[0] ?? '', 10);
  if (!Number.isInteger(id)) throw new Error(`sbatch: unexpected output ${JSON.stringify(r.stdout)}`);
  return id;
}

export async function showJob(c: QueryTarget, jobId: number): Promise<JobInfo | undefined> {
  const r = await c.run('scontrol', ['show', 'job', '-o', String(jobId)], { allowFail: true });
  if (r.code !== 0) {
    if (/Invalid job id/i.test(r.stderr + r.stdout)) return undefined;
    throw new Error(`scontrol show job ${jobId}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  const line = r.stdout.split('\n').find((l) => l.startsWith('JobId='));
  return line ? toJobInfo(parseRecord(line)) : undefined;
}

export async function waitJob(c: QueryTarget, jobId: number, o: WaitJobOptions = {}): Promise<JobInfo> {
  const until = o.until ?? ((j: JobInfo) => isTerminal(j.state));
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  let last: JobInfo | undefined;
  for (;;) {
    // A controller being restarted refuses connections for a moment: retry.
    const j = await showJob(c, jobId).catch(() => last);
    if (j) {
      last = j;
      if (until(j)) return j;
    } else if (last) {
      throw new Error(`job ${jobId} was purged (MinJobAge=${c.config.minJobAge}s) while waiting; last seen ${last.state}`);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `job ${jobId}: condition not met within ${o.timeoutMs ?? 60_000} ms; last seen ` +
          `${last ? `${last.state} reason=${last.reason}` : 'never'}\n` +
          `--- slurmctld log ---\n${tailFile(c.paths.ctldLog, 15)}\n` +
          c.nodeNames.map((n) => `--- slurmd log${c.nodeNames.length > 1 ? ` (${n})` : ''} ---\n${tailFile(c.nodeFiles(n).log, 15)}`).join('\n'),
      );
    }
    await sleep(o.pollMs ?? 200);
  }
}

export async function showNode(c: QueryTarget, node: string): Promise<ScontrolRecord> {
  c.nodeFiles(node);
  const r = await c.run('scontrol', ['show', 'node', '-o', node]);
  return parseRecord(r.stdout.split('\n')[0] ?? '');
}

export async function nodeState(c: QueryTarget, node: string): Promise<string> {
  c.nodeFiles(node);
  const r = await c.run('sinfo', ['-h', '-n', node, '-o', '%t']);
  return r.stdout.trim();
}

export async function cancel(c: QueryTarget, jobId: number, extraArgs: string[] = []): Promise<void> {
  await c.run('scancel', [...extraArgs, String(jobId)]);
}

export async function waitStateSaved(c: QueryTarget, sinceMs: number, timeoutMs = 15_000): Promise<void> {
  const file = path.join(c.paths.stateDir, 'job_state');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (m > sinceMs) return;
    if (Date.now() >= deadline) throw new Error(`slurmctld did not save ${file} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

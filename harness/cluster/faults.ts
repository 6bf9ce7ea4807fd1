// faults.ts - what a test does to a running cluster to see gridlink survive
// it: force a job's TIMEOUT, kill slurmctld, restart it or a node's slurmd
// (waiting until they answer again), and resume the nodes a restart drained
// for a reused job id.
import type { Logger } from 'pino';

import { stopDaemon, type Daemon } from './daemon.js';
import { showNode, type QueryTarget } from './queries.js';

/** The running cluster as fault injection sees it: its daemons and how it (re)starts them. */
export interface FaultTarget extends QueryTarget {
  readonly log: Logger;
  readonly startTimeoutMs: number;
  ctldDaemon(): Daemon | undefined;
  slurmdDaemon(node: string): Daemon | undefined;
  spawnCtld(clean: boolean): Promise<void>;
  spawnSlurmd(node: string): Promise<void>;
  /** Resolves once the controller answers and every node's sinfo state passes `nodeOk`. */
  waitReady(nodeOk: (state: string) => boolean, what: string): Promise<void>;
  logTails(): string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A node whose slurmd answers (no `*`), drained or not. */
export const answering = (state: string): boolean => /^(idle|mix|alloc|comp|drain|drng)$/.test(state);

export async function forceTimeout(c: FaultTarget, jobId: number): Promise<void> {
  await c.run('scontrol', ['update', `JobId=${jobId}`, 'TimeLimit=0']);
}

export async function killCtld(c: FaultTarget, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const d = c.ctldDaemon();
  if (!d?.running()) return;
  await stopDaemon(d, 10_000, signal);
}

export async function restartCtld(c: FaultTarget): Promise<void> {
  const d = c.ctldDaemon();
  if (d?.running()) await stopDaemon(d);
  await c.spawnCtld(false);
  // After a restart a node may show `*` (not responding) until its slurmd
  // re-registers. A node that answers but is drained counts as up here: see
  // resumeDuplicateJobidDrains for the one drain a restart itself causes.
  await c.waitReady(answering, 'restart');
  await resumeDuplicateJobidDrains(c);
}

/**
 * After `kill -9`, slurmctld restarts from its last saved state (saved at
 * most every few seconds), so it can hand out a job id again that a slurmd
 * still runs. SLURM then drains that node with Reason="Duplicate jobid".
 * An operator resumes it once the old job is gone; so does the harness, and
 * says so in its log. Any other drain is left as it is. Returns the nodes resumed.
 */
export async function resumeDuplicateJobidDrains(c: FaultTarget): Promise<string[]> {
  const resumed: string[] = [];
  for (const node of c.nodeNames) {
    const rec = await showNode(c, node);
    if (!/DRAIN/.test(rec.State ?? '') || !/Duplicate jobid/i.test(rec.Reason ?? '')) continue;
    await c.run('scontrol', ['update', `NodeName=${node}`, 'State=RESUME']);
    c.log.warn({ node, reason: rec.Reason }, 'resumed a node slurmctld drained for a job id it reused after restarting from older state');
    resumed.push(node);
  }
  // A resumed node shows `*` (not responding) until slurmctld has pinged it again.
  if (resumed.length > 0) await c.waitReady(answering, 'resume');
  return resumed;
}

export async function restartSlurmd(c: FaultTarget, node: string): Promise<void> {
  c.nodeFiles(node);
  const old = c.slurmdDaemon(node);
  if (old?.running()) await stopDaemon(old);
  // The controller keeps showing the node as it was: readiness is the new
  // slurmd's registration, seen as SlurmdStartTime (1 s resolution, local time).
  const spawnedSec = Math.floor(Date.now() / 1000);
  await c.spawnSlurmd(node);
  await c.waitReady((s) => /^(idle|mix|alloc|comp)$/.test(s), 'slurmd restart');
  const deadline = Date.now() + c.startTimeoutMs;
  for (;;) {
    const started = Date.parse((await showNode(c, node)).SlurmdStartTime ?? '');
    if (started >= spawnedSec * 1000) return;
    if (Date.now() >= deadline) throw new Error(`slurmd restart: no registration within ${c.startTimeoutMs} ms\n${c.logTails()}`);
    await sleep(100);
  }
}

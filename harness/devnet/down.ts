// down.ts - `npm run devnet:down`: stops every process of the devnet in
// `dir` and removes what it made. The daemon first (SIGTERM: it stops its
// components in order, the supervisor first), then the supervisor (recorded,
// or running on the devnet's configuration file), then any recorded process
// still alive (checked by PID and start time), then anything carrying the
// harnesses' markers (SLURM step daemons of the devnet's cluster, directory
// servers whose owner is gone), then every lock file the devnet took (its
// own, the supervisor store's, the machine's SLURM cluster lock) once its
// holder is gone, files kept or not. Idempotent: nothing running and nothing
// there is fine.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { clusterLockPath, CLUSTER_MARKER_ENV } from '../cluster/index.js';
import { findByEnv, signalAll, waitForExit } from '../../src/util/proc.js';
import { reapOrphans } from '../directory/types.js';
import { sameProcess, stopProcs, type ProcRef } from './procs.js';
import { lockOwner, lockPath, readState, statePath } from './state.js';
import { stopSupervisor } from './supervisor-process.js';

const SLURM_COMMS: ReadonlySet<string> = new Set(['slurmctld', 'slurmd', 'slurmscriptd', 'slurmstepd']);

export interface DownResult {
  /** Processes that were running and were stopped. */
  stopped: ProcRef[];
  removed: boolean;
  /** Lock files removed (the devnet's own lock goes with its directory and is not listed). */
  locks: string[];
}

/**
 * The lock files the devnet in `dir` takes: its own lock, the supervisor
 * store's LOCK and the machine's SLURM cluster lock (that one only while it
 * names the devnet's cluster), with the transient files of the daemon `pid`.
 */
export function devnetLockFiles(dir: string, o: { storeDir?: string; slurmBaseDir: string; daemonPid?: number }): string[] {
  const files = [lockPath(dir), join(o.storeDir ?? join(dir, 'supervisor'), 'LOCK')];
  try {
    if ((JSON.parse(readFileSync(clusterLockPath(), 'utf8')) as { baseDir?: unknown }).baseDir === o.slurmBaseDir) files.push(clusterLockPath());
  } catch {
    // none, or half-written by its taker: not ours to judge
  }
  if (o.daemonPid !== undefined) files.push(`${clusterLockPath()}.${o.daemonPid}`, `${clusterLockPath()}.stale.${o.daemonPid}`);
  return files.filter((f) => existsSync(f));
}

/** Whether the process a lock file names (JSON {pid, start}) is still the one that took it. */
function lockHeld(file: string): boolean {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; start?: unknown };
    if (typeof h.pid !== 'number') return false;
    return typeof h.start === 'number' ? sameProcess({ name: 'lock holder', pid: h.pid, start: h.start }) : existsSync(`/proc/${h.pid}`);
  } catch {
    return false;
  }
}

/** The devnet's SLURM processes, found by the cluster harness's marker (its base dir). */
export function clusterLeftovers(slurmBaseDir: string): number[] {
  return findByEnv(SLURM_COMMS, CLUSTER_MARKER_ENV, slurmBaseDir);
}

export async function stopDevnet(dir: string, o: { keepFiles?: boolean; daemonGraceMs?: number } = {}): Promise<DownResult> {
  const state = readState(statePath(dir));
  const stopped: ProcRef[] = [];
  const runningBefore = (state?.processes ?? []).filter((r) => r.pid !== process.pid && sameProcess(r));
  const owner = lockOwner(dir);
  const daemon = state?.daemon && sameProcess(state.daemon) ? state.daemon : owner?.pid !== process.pid ? owner : undefined;
  if (daemon && daemon.pid !== process.pid) stopped.push(...(await stopProcs([daemon], o.daemonGraceMs ?? 60_000)));
  // Whatever the daemon did not stop (it was killed, or stuck): the supervisor first, then the rest.
  const recorded = (readState(statePath(dir)) ?? state)?.processes ?? [];
  stopped.push(...(await stopSupervisor(recorded, state?.supervisor?.config ?? join(dir, 'supervisor', 'supervisor.json'))));
  stopped.push(...(await stopProcs(recorded.filter((r) => r.pid !== process.pid), 5_000)));
  const slurmBase = state?.slurm?.baseDir ?? `${dir}/slurm`;
  const left = clusterLeftovers(slurmBase);
  if (left.length > 0) {
    signalAll(left, 'SIGKILL');
    await waitForExit(left, 5_000);
  }
  await reapOrphans().catch(() => []);
  const locks: string[] = [];
  for (const f of devnetLockFiles(dir, { storeDir: state?.supervisor?.storeDir, slurmBaseDir: slurmBase, daemonPid: daemon?.pid ?? state?.daemon.pid })) {
    if (f.endsWith(`.${daemon?.pid ?? state?.daemon.pid}`) || !lockHeld(f)) {
      rmSync(f, { force: true });
      if (f !== lockPath(dir)) locks.push(f);
    }
  }
  let removed = false;
  if (!o.keepFiles) {
    // The directory harness's own temporary dirs (normally removed by its stop()).
    const extra = [state?.ldap?.baseDir, state?.logs?.sssd ? dirname(state.logs.sssd) : undefined];
    for (const d of extra) if (d && d.startsWith('/tmp/gridlink-') && existsSync(d)) rmSync(d, { recursive: true, force: true });
  }
  if (!o.keepFiles && existsSync(dir)) {
    rmSync(dir, { recursive: true, force: true });
    removed = true;
  }
  for (const r of runningBefore) if (!stopped.some((x) => x.pid === r.pid)) stopped.push(r);
  return { stopped, removed, locks };
}

// down.ts - `npm run devnet:down`: stops every process of the devnet in
// `dir` and removes what it made. The daemon first (SIGTERM: it stops its
// components in order), then any recorded process still alive (checked by
// PID and start time), then anything carrying the harnesses' markers (SLURM
// step daemons of the devnet's cluster, directory servers whose owner is
// gone). Idempotent: nothing running and nothing there is fine.
import { existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

import { CLUSTER_MARKER_ENV } from '../cluster/index.js';
import { findByEnv, signalAll, waitForExit } from '../cluster/procs.js';
import { reapOrphans } from '../directory/types.js';
import { sameProcess, stopProcs, type ProcRef } from './procs.js';
import { lockOwner, readState, statePath } from './state.js';

const SLURM_COMMS: ReadonlySet<string> = new Set(['slurmctld', 'slurmd', 'slurmscriptd', 'slurmstepd']);

export interface DownResult {
  /** Processes that were running and were stopped. */
  stopped: ProcRef[];
  removed: boolean;
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
  // Whatever the daemon did not stop (it was killed, or stuck).
  const recorded = (readState(statePath(dir)) ?? state)?.processes ?? [];
  stopped.push(...(await stopProcs(recorded.filter((r) => r.pid !== process.pid), 5_000)));
  const slurmBase = state?.slurm?.baseDir ?? `${dir}/slurm`;
  const left = clusterLeftovers(slurmBase);
  if (left.length > 0) {
    signalAll(left, 'SIGKILL');
    await waitForExit(left, 5_000);
  }
  await reapOrphans().catch(() => []);
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
  return { stopped, removed };
}

// lock.ts - the machine-wide test cluster lock (src/util/pid-lock.ts).
import { releaseLock, selfHolder, tryLock, type LockHolder } from '../../src/util/pid-lock.js';

/**
 * One test cluster per machine: every cluster's node names derive from the
 * hostname (the name itself, or <hostname>-1..N with several nodes), its
 * slurmd processes all run here, and clusters share munged, so two at once
 * make each other's failures unreadable. The lock holds the owning PID; a lock whose
 * PID is dead is stale and taken over.
 */
// A fixed path, not os.tmpdir(): runs with different TMPDIRs must still see each other.
export const CLUSTER_LOCK_PATH = '/tmp/gridlink-slurm-cluster.lock';

export interface ClusterLockHolder extends LockHolder {
  baseDir: string;
}

/** The cluster lock's record in `file`, if it is one. */
function clusterHolder(h: (LockHolder & Record<string, unknown>) | undefined): ClusterLockHolder | undefined {
  if (!h || typeof h.baseDir !== 'string') return undefined;
  return { pid: h.pid, baseDir: h.baseDir, ...(h.start !== undefined ? { start: h.start } : {}) };
}

export interface AcquireLockOptions {
  /** How long to wait for a live holder (another test run) to stop its cluster; 0 = fail at once. */
  waitMs?: number;
  /** Called once when we start waiting. */
  onWait?: (holder: ClusterLockHolder) => void;
  file?: string;
}

/**
 * Takes the machine-wide cluster lock, waiting up to `waitMs` while a live
 * process holds it (so two test runs queue instead of failing). Returns the
 * stale holder it replaced, if any.
 */
export async function acquireClusterLock(baseDir: string, o: AcquireLockOptions = {}): Promise<ClusterLockHolder | undefined> {
  const file = o.file ?? CLUSTER_LOCK_PATH;
  const deadline = Date.now() + (o.waitMs ?? 0);
  let waiting = false;
  for (;;) {
    // 0644: test runs of other users must read the holder, not take it for stale.
    const r = tryLock(file, { ...selfHolder(), baseDir }, { mode: 0o644 });
    if (r.taken) return clusterHolder(r.stale);
    const holder = clusterHolder(r.holder) ?? (r.holder ? { ...r.holder, baseDir: '?' } : undefined);
    if (!holder) continue; // contended: try again
    const who = holder.pid === process.pid ? 'this process' : `PID ${holder.pid}`;
    if (holder.pid === process.pid || Date.now() >= deadline) {
      throw new Error(
        `another test cluster is running (${who}, ${holder.baseDir}): stop it first ` +
          `(one cluster per machine; lock ${file}${o.waitMs ? `, waited ${o.waitMs} ms` : ''})`,
      );
    }
    if (!waiting) o.onWait?.(holder);
    waiting = true;
    await new Promise((wake) => setTimeout(wake, 250));
  }
}

export function releaseClusterLock(file = CLUSTER_LOCK_PATH): void {
  releaseLock(file);
}

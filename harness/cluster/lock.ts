// lock.ts - the test cluster locks, one per slot (src/util/pid-lock.ts).
import { releaseLock, readLockHolder, holderAlive, selfHolder, tryLock, type LockHolder } from '../../src/util/pid-lock.js';

/**
 * One test cluster per slot, and one slot unless a test run asks for more.
 * Clusters of two slots can run side by side: each has its own directory,
 * ports, slurm.conf and spool directories, and the marker of its base dir on
 * every process it starts (its clean-up never touches another live slot's
 * processes); they share munged. By default (slot 0, CLUSTER_LOCK_PATH) a
 * second cluster waits for the first, as an operator's devnet and a test run
 * on one machine should. `npm test` runs two cluster lanes, each in a slot
 * of its own (GRIDLINK_CLUSTER_SLOT, scripts/run-tests.mjs). The lock holds
 * the owning PID; a lock whose PID is dead is stale and taken over.
 */
// A fixed path, not os.tmpdir(): runs with different TMPDIRs must still see each other.
export const CLUSTER_LOCK_PATH = '/tmp/gridlink-slurm-cluster.lock';
/** The slot this process's clusters take (a small integer; default 0). */
export const CLUSTER_SLOT_ENV = 'GRIDLINK_CLUSTER_SLOT';

/** The lock file of `slot`: slot 0's is CLUSTER_LOCK_PATH, slot N's /tmp/gridlink-slurm-cluster.slotN.lock. */
export function clusterLockPath(slot = currentSlot()): string {
  return slot === 0 ? CLUSTER_LOCK_PATH : CLUSTER_LOCK_PATH.replace(/\.lock$/, `.slot${slot}.lock`);
}

/** GRIDLINK_CLUSTER_SLOT, 0 when unset; anything but a small integer is refused. */
export function currentSlot(env: NodeJS.ProcessEnv = process.env): number {
  const v = env[CLUSTER_SLOT_ENV];
  if (v === undefined || v === '') return 0;
  if (!/^[0-9]$/.test(v)) throw new Error(`${CLUSTER_SLOT_ENV}=${JSON.stringify(v)}: expected a slot number 0-9`);
  return Number(v);
}

/** The base dirs of the clusters other live processes hold, in every slot: their processes are not strays. */
export function liveClusterDirs(): Set<string> {
  const dirs = new Set<string>();
  for (let slot = 0; slot <= 9; slot++) {
    const h = clusterHolder(readLockHolder(clusterLockPath(slot)));
    if (h && h.pid !== process.pid && holderAlive(h)) dirs.add(h.baseDir);
  }
  return dirs;
}

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
  const file = o.file ?? clusterLockPath();
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
          `(one cluster per slot; lock ${file}${o.waitMs ? `, waited ${o.waitMs} ms` : ''})`,
      );
    }
    if (!waiting) o.onWait?.(holder);
    waiting = true;
    await new Promise((wake) => setTimeout(wake, 250));
  }
}

export function releaseClusterLock(file = clusterLockPath()): void {
  releaseLock(file);
}

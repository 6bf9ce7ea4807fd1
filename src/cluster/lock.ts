import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAlive, procStartTime } from './procs.js';

/**
 * One test cluster per machine: every cluster's node names derive from the
 * hostname (the name itself, or <hostname>-1..N with several nodes), its
 * slurmd processes all run here, and clusters share munged, so two at once
 * make each other's failures unreadable. The lock holds the owning PID; a lock whose
 * PID is dead is stale and taken over.
 */
// A fixed path, not os.tmpdir(): runs with different TMPDIRs must still see each other.
export const CLUSTER_LOCK_PATH = '/tmp/gridlink-slurm-cluster.lock';

export interface LockHolder {
  pid: number;
  baseDir: string;
  /** /proc start time of `pid`: a reused PID does not look like a live holder. */
  start?: number;
}

function holderAlive(h: LockHolder): boolean {
  return isAlive(h.pid) && (h.start === undefined || procStartTime(h.pid) === h.start);
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.baseDir === 'string') {
      return { pid: v.pid, baseDir: v.baseDir, ...(typeof v.start === 'number' ? { start: v.start } : {}) };
    }
  } catch {
    // unreadable or half-written: treat as stale
  }
  return undefined;
}

export interface AcquireLockOptions {
  /** How long to wait for a live holder (another test run) to stop its cluster; 0 = fail at once. */
  waitMs?: number;
  /** Called once when we start waiting. */
  onWait?: (holder: LockHolder) => void;
  file?: string;
}

/**
 * Takes the machine-wide cluster lock, waiting up to `waitMs` while a live
 * process holds it (so two test runs queue instead of failing). Returns the
 * stale holder it replaced, if any.
 */
export async function acquireClusterLock(baseDir: string, o: AcquireLockOptions = {}): Promise<LockHolder | undefined> {
  const file = o.file ?? CLUSTER_LOCK_PATH;
  const deadline = Date.now() + (o.waitMs ?? 0);
  let stale: LockHolder | undefined;
  let waiting = false;
  for (;;) {
    try {
      // Write to a private file and hard-link it into place: the lock never
      // exists half-written, so nobody mistakes a fresh lock for a stale one.
      const tmp = `${file}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify({ pid: process.pid, baseDir, start: procStartTime(process.pid) }));
      try {
        linkSync(tmp, file);
        return stale;
      } finally {
        rmSync(tmp, { force: true });
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readHolder(file);
    if (holder && holderAlive(holder)) {
      const who = holder.pid === process.pid ? 'this process' : `PID ${holder.pid}`;
      if (holder.pid === process.pid || Date.now() >= deadline) {
        throw new Error(
          `another test cluster is running (${who}, ${holder.baseDir}): stop it first ` +
            `(one cluster per machine; lock ${file}${o.waitMs ? `, waited ${o.waitMs} ms` : ''})`,
        );
      }
      if (!waiting) o.onWait?.(holder);
      waiting = true;
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    // Stale: move it aside rather than delete it, so a racing process that
    // already replaced it gets its fresh lock back instead of losing it.
    const grave = `${file}.stale.${process.pid}`;
    try {
      renameSync(file, grave);
    } catch {
      continue;
    }
    const moved = readHolder(grave);
    if (moved && holderAlive(moved)) {
      try {
        linkSync(grave, file);
      } catch {
        // someone else took it meanwhile: retry
      }
    } else {
      stale = holder ?? stale;
    }
    rmSync(grave, { force: true });
  }
}

export function releaseClusterLock(file = CLUSTER_LOCK_PATH): void {
  const holder = readHolder(file);
  if (holder?.pid === process.pid) rmSync(file, { force: true });
}

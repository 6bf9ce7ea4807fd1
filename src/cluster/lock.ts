import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isAlive } from './procs.js';

/**
 * One test cluster per machine: every cluster's slurmd claims the same
 * NodeName (the hostname) and they share munged, so two at once make each
 * other's failures unreadable. The lock holds the owning PID; a lock whose
 * PID is dead is stale and taken over.
 */
export const CLUSTER_LOCK_PATH = path.join(tmpdir(), 'gridlink-slurm-cluster.lock');

export interface LockHolder {
  pid: number;
  baseDir: string;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.baseDir === 'string') return { pid: v.pid, baseDir: v.baseDir };
  } catch {
    // unreadable or half-written: treat as stale
  }
  return undefined;
}

/** Returns the stale holder that was replaced, if any; throws if a live one holds it. */
export function acquireClusterLock(baseDir: string, file = CLUSTER_LOCK_PATH): LockHolder | undefined {
  let stale: LockHolder | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, baseDir }));
      closeSync(fd);
      return stale;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readHolder(file);
    if (holder && isAlive(holder.pid)) {
      const who = holder.pid === process.pid ? 'this process' : `PID ${holder.pid}`;
      throw new Error(
        `another test cluster is running (${who}, ${holder.baseDir}): stop it first ` +
          `(one cluster per machine; lock ${file})`,
      );
    }
    rmSync(file, { force: true });
    stale = holder ?? stale;
  }
  throw new Error(`cannot acquire ${file}`);
}

export function releaseClusterLock(file = CLUSTER_LOCK_PATH): void {
  const holder = readHolder(file);
  if (holder?.pid === process.pid) rmSync(file, { force: true });
}

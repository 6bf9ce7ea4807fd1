// lock.ts - one writer per store directory. The lock file holds the owner's
// PID and /proc start time; a lock whose owner is gone (kill -9, crash) is
// stale and taken over.
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';

import { isAlive, procStartTime } from '../../cluster/procs.js';

export interface DirLock {
  file: string;
  release(): void;
}

interface Holder {
  pid: number;
  start?: number;
}

function readHolder(file: string): Holder | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    if (typeof v.pid === 'number') return { pid: v.pid, ...(typeof v.start === 'number' ? { start: v.start } : {}) };
  } catch {
    // missing, unreadable or half-written: stale
  }
  return undefined;
}

function alive(h: Holder): boolean {
  return isAlive(h.pid) && (h.start === undefined || procStartTime(h.pid) === h.start);
}

/** Takes `file` exclusively or throws naming the live holder. */
export function acquireDirLock(file: string, what: string): DirLock {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify({ pid: process.pid, start: procStartTime(process.pid) }));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      let released = false;
      return {
        file,
        release: () => {
          if (released) return;
          released = true;
          const h = readHolder(file);
          if (h?.pid === process.pid) rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const h = readHolder(file);
      if (h && alive(h)) {
        throw new Error(
          `${what} is in use by process ${h.pid}${h.pid === process.pid ? ' (this process: close the other store first)' : ''}; ` +
            `stop that reporter or give this one another store directory (lock file ${file})`,
        );
      }
      // Stale: re-read right before removing so we do not remove a lock just taken by someone else.
      const again = readHolder(file);
      if (again && alive(again)) continue;
      rmSync(file, { force: true });
    }
  }
  throw new Error(`${what}: could not take the lock file ${file} (contended); retry`);
}

/**
 * The one-process-per-store lock: creates the store directory (0700) if
 * missing and takes `DIR/LOCK`. Used by the standalone ingest and by the reporter.
 */
export function lockStoreDir(dir: string, what: string): DirLock {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`${what}: cannot create ${dir}: ${(err as Error).message}; create it or pick a writable --store`);
  }
  return acquireDirLock(join(dir, 'LOCK'), `${what} ${dir}`);
}

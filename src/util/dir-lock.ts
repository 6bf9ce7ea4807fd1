// dir-lock.ts - one process per directory: the reporter's store (one writer
// per state database) and a spool (one relay draining it). The lock file
// holds the owner's PID and /proc start time; a lock whose owner is gone
// (kill -9, crash) is stale and taken over.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { releaseLock, selfHolder, tryLock } from './pid-lock.js';

export interface DirLock {
  file: string;
  release(): void;
}

/**
 * Takes `file` exclusively (src/util/pid-lock.ts) or throws naming the live
 * holder and `remedy`, what the operator does about it.
 */
export function acquireDirLock(file: string, what: string, remedy: string): DirLock {
  const r = tryLock(file, selfHolder(), { attempts: 5 });
  if (!r.taken) {
    const h = r.holder;
    if (!h) throw new Error(`${what}: could not take the lock file ${file} (contended); retry`);
    throw new Error(
      `${what} is in use by process ${h.pid}${h.pid === process.pid ? ' (this process: close the other one first)' : ''}; ` +
        `${remedy} (lock file ${file})`,
    );
  }
  let released = false;
  return {
    file,
    release: () => {
      if (released) return;
      released = true;
      releaseLock(file);
    },
  };
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
  return acquireDirLock(join(dir, 'LOCK'), `${what} ${dir}`, 'stop that process or give this one another store directory (--store)');
}

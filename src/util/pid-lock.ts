// pid-lock.ts - a lock file that names its owner process: a JSON record with
// the owner's PID and /proc start time (plus whatever the caller adds). The
// record appears atomically (written aside, hard-linked into place), so a
// fresh lock is never mistaken for a half-written stale one; a lock whose
// owner is gone (kill -9, crash, a reused PID) is stale and taken over. One
// implementation for the reporter's store lock, the test cluster's machine
// lock and the devnet's directory lock.
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

import { isAlive, procStartTime } from './proc.js';

/** What every lock file holds; callers add their own fields (a base directory, a name). */
export interface LockHolder {
  pid: number;
  /** /proc start time of `pid`: a reused PID does not look like a live holder. */
  start?: number;
}

/** The record in `file` when it names a PID; undefined when missing, unreadable or not a lock. */
export function readLockHolder(file: string): (LockHolder & Record<string, unknown>) | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
    if (v && typeof v.pid === 'number') {
      if (v.start !== undefined && typeof v.start !== 'number') delete v.start;
      return v as LockHolder & Record<string, unknown>;
    }
  } catch {
    // missing, unreadable or not JSON: no holder
  }
  return undefined;
}

/** The very process the record names is alive (same PID and, when recorded, start time). */
export function holderAlive(h: LockHolder): boolean {
  return isAlive(h.pid) && (h.start === undefined || procStartTime(h.pid) === h.start);
}

/** This process's identity, for a lock record. */
export function selfHolder(): LockHolder {
  const start = procStartTime(process.pid);
  return start === undefined ? { pid: process.pid } : { pid: process.pid, start };
}

export type TryLockResult =
  /** Taken; `stale` is the dead holder's record it replaced, if any. */
  | { taken: true; stale?: LockHolder & Record<string, unknown> }
  /** Held by a live process (possibly this one), or, with no holder, contended past the retries. */
  | { taken: false; holder?: LockHolder & Record<string, unknown> };

export interface TryLockOptions {
  /** File mode of the lock (default 0600). */
  mode?: number;
  /** Races with other takers retried before giving up (default 10). */
  attempts?: number;
}

/**
 * Takes `file` for this process, writing `record` (which must name
 * process.pid), or reports the live holder. Never waits: callers that queue
 * call it again.
 */
export function tryLock<T extends LockHolder>(file: string, record: T, o: TryLockOptions = {}): TryLockResult {
  let stale: (LockHolder & Record<string, unknown>) | undefined;
  for (let attempt = 0; attempt < (o.attempts ?? 10); attempt++) {
    // A live holder: answered without writing anything. Callers poll, and a
    // relay watches its spool directory, where the lock lives: a private file
    // written and removed at every poll woke it at once, for ever (a busy loop
    // of fsync and unlink that starved its event loop).
    const current = readLockHolder(file);
    if (current && holderAlive(current)) return { taken: false, holder: current };
    // Write to a private file and hard-link it into place.
    const tmp = `${file}.${process.pid}`;
    try {
      const fd = openSync(tmp, 'w', o.mode ?? 0o600);
      try {
        writeSync(fd, JSON.stringify(record));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      linkSync(tmp, file);
      return stale ? { taken: true, stale } : { taken: true };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
    const holder = readLockHolder(file);
    if (holder && holderAlive(holder)) return { taken: false, holder };
    // Stale: move it aside rather than delete it, so a racing process that
    // already replaced it gets its fresh lock back instead of losing it.
    const grave = `${file}.stale.${process.pid}`;
    try {
      renameSync(file, grave);
    } catch {
      continue;
    }
    const moved = readLockHolder(grave);
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
  return { taken: false };
}

/** Removes `file` if this process holds it. */
export function releaseLock(file: string): void {
  if (readLockHolder(file)?.pid === process.pid) rmSync(file, { force: true });
}

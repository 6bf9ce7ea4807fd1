// state.ts - where a running devnet is described: one directory (default
// /tmp/gridlink-devnet, $GRIDLINK_DEVNET_DIR) holding state.json (0600: PIDs,
// endpoints, contract addresses, dev keys, log files), the lock, the logs and
// the components' data. `npm run devnet:down` and `gridlink status` read it.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { readLockHolder, tryLock } from '../../src/util/pid-lock.js';
import type { DevnetState, ProcRef } from '../../src/cli/devnet-state.js';
import { procRef, sameProcess } from './procs.js';

// The state file's shape is declared where the shipped `gridlink status` reads it.
export type { DevAccount, DevnetState } from '../../src/cli/devnet-state.js';

export const defaultDevnetDir = (): string => process.env.GRIDLINK_DEVNET_DIR ?? '/tmp/gridlink-devnet';

export const statePath = (dir: string): string => join(dir, 'state.json');
export const lockPath = (dir: string): string => join(dir, 'lock');
export const logDir = (dir: string): string => join(dir, 'logs');

export function readState(file: string): DevnetState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DevnetState;
  } catch {
    return undefined;
  }
}

/** Atomic (rename), mode 0600: it holds private keys. */
export function writeState(s: DevnetState): void {
  const f = statePath(s.dir);
  const tmp = `${f}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, f);
}

/** The live owner of the devnet in `dir`, if any (the lock's process, PID and start time checked). */
export function lockOwner(dir: string): ProcRef | undefined {
  const ref = readLockHolder(lockPath(dir)) as ProcRef | undefined;
  return ref && sameProcess(ref) ? ref : undefined;
}

/**
 * Takes the lock for this process: false when a live process holds it. A
 * lock left by a dead process is taken over.
 */
export function takeLock(dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return tryLock(lockPath(dir), procRef('devnet', process.pid), { attempts: 3 }).taken;
}

/** Hands the lock to `ref` (the daemon, once spawned). */
export function passLock(dir: string, ref: ProcRef): void {
  const tmp = `${lockPath(dir)}.tmp`;
  writeFileSync(tmp, JSON.stringify(ref), { mode: 0o600 });
  renameSync(tmp, lockPath(dir));
}

export const hasDevnetDir = (dir: string): boolean => existsSync(dir);

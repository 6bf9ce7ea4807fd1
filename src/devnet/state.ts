// state.ts - where a running devnet is described: one directory (default
// /tmp/gridlink-devnet, $GRIDLINK_DEVNET_DIR) holding state.json (0600: PIDs,
// endpoints, contract addresses, dev keys, log files), the lock, the logs and
// the components' data. `npm run devnet:down` and `gridlink status` read it.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { readLockHolder, tryLock } from '../util/pid-lock.js';
import { procRef, sameProcess, type ProcRef } from './procs.js';

export const defaultDevnetDir = (): string => process.env.GRIDLINK_DEVNET_DIR ?? '/tmp/gridlink-devnet';

export interface DevAccount {
  role: string;
  address: string;
  privateKey: string;
}

export interface DevnetState {
  version: 1;
  dir: string;
  /** starting -> up; failed (error set) when the start did not complete. */
  phase: 'starting' | 'up' | 'failed';
  error?: string;
  /** Start steps, in order, with the seconds since the start began. */
  steps: { at: number; text: string }[];
  startedAt: string;
  /** The process that owns every component; SIGTERM stops them all. */
  daemon: ProcRef;
  /** Every process started, by PID and start time (a reused PID is never signalled). */
  processes: ProcRef[];
  chain?: { rpcUrl: string; wsUrl: string; chainId: number; contracts: Record<string, string>; blockTimeS: number };
  accounts?: DevAccount[];
  slurm?: { conf: string; baseDir: string; partition: string; nodes: string[] };
  ldap?: { url: string; suffix: string; usersDn: string; bindDn: string; bindPasswordFile: string; caFile: string; homeRoot: string; baseDir: string };
  sbatch?: { address: string };
  /** config: the supervisor's configuration file (`gridlink doctor --config`, `gridlink supervisor --config`); metricsUrl: its /metrics (absent in a state file of an older devnet). */
  supervisor?: { storeDir: string; db: string; ingestUrl: string; metricsUrl?: string; provider: string; config: string };
  logs: Record<string, string>;
}

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

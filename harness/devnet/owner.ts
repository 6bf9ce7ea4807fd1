// owner.ts - the process that owns a running devnet: starts the stack, keeps
// the state file current, and stops everything on SIGTERM, SIGINT or SIGHUP.
// `npm run devnet` runs it detached (the daemon); `--foreground` in itself.
import { join } from 'node:path';

import { pino, type Logger } from 'pino';

import type { DevnetDirectory } from './identity.js';
import { procRef } from './procs.js';
import { startStack, type Stack } from './stack.js';
import { logDir, passLock, writeState, lockPath, type DevnetState } from './state.js';
import { rmSync } from 'node:fs';

export interface Owner {
  state: DevnetState;
  /** Resolves once the stack is up (rejects, everything stopped, when the start failed). */
  up: Promise<DevnetState>;
  /** Stops everything (idempotent); the state file is left with phase 'failed' or removed with the lock. */
  stop(): Promise<void>;
}

/** `directory` gridlink: this process runs in the devnet's NSS namespace (identity.ts). */
export function startOwner(dir: string, o: { log: Logger; directory: DevnetDirectory; onStep?: (text: string) => void }): Owner {
  const t0 = Date.now();
  const self = procRef('devnet', process.pid);
  passLock(dir, self);
  const state: DevnetState = {
    version: 1,
    dir,
    phase: 'starting',
    steps: [],
    startedAt: new Date(t0).toISOString(),
    daemon: self,
    processes: [self],
    logs: { devnet: join(logDir(dir), 'devnet.log') },
  };
  writeState(state);
  const abort = new AbortController();
  let stack: Stack | undefined;
  const up = startStack({
    dir,
    directory: o.directory,
    log: o.log,
    signal: abort.signal,
    step: (text, procs) => {
      state.processes = [self, ...procs];
      if (text) {
        state.steps.push({ at: Math.round((Date.now() - t0) / 100) / 10, text });
        o.log.info(text);
        o.onStep?.(text);
      }
      writeState(state);
    },
  }).then(
    (s) => {
      stack = s;
      Object.assign(state, s.info, { logs: { ...state.logs, ...s.info.logs }, processes: [self, ...s.processes()], phase: 'up' });
      writeState(state);
      return state;
    },
    (err: Error) => {
      state.phase = 'failed';
      state.error = abort.signal.aborted ? 'stopped while starting' : err.message;
      writeState(state);
      throw err;
    },
  );
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      abort.abort();
      await up.catch(() => undefined);
      await stack?.stop();
      rmSync(lockPath(dir), { force: true });
      o.log.info('devnet stopped');
    })());
  return { state, up, stop };
}

/** The detached daemon: owns the stack until a signal; exits 1 when the start failed. */
export async function runDaemon(dir: string, directory: DevnetDirectory): Promise<void> {
  const log = pino({ name: 'devnet', level: 'info' });
  const owner = startOwner(dir, { log, directory });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
    process.once(sig, () => {
      log.info({ signal: sig }, 'stopping the devnet');
      void owner.stop().then(() => process.exit(0));
    });
  try {
    await owner.up;
  } catch (err) {
    log.error({ err }, `devnet start failed: ${(err as Error).message}`);
    await owner.stop();
    process.exit(1);
  }
  // Up: the event loop is kept alive by the components until a signal.
  setInterval(() => undefined, 1 << 30);
}

// sbatch-process.ts - `gridlink sbatch-service` (the CLI) in a
// process of its own on a free loopback port, as the grid runs it apart from
// the provider.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { connect } from 'node:net';

import { cliEntry } from '../launch/gridlink-cli.js';
import { freePort } from '../cluster/ports.js';
import { packageRoot } from '../../src/native/addon.js';

export { freePort };

export const accepts = (port: number, host = '127.0.0.1'): Promise<boolean> =>
  new Promise<boolean>((r) => {
    const s = connect(port, host, () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });

export interface SbatchProcess {
  address: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Resolves once it accepts connections; on failure it is stopped and the
 * error names its log. listenHost: 127.0.0.1 by default; 0.0.0.0 when
 * containers must reach it (address stays the loopback one).
 */
export async function startSbatchProcess(rpcUrl: string, metaScheduler: string, logFile: string, timeoutMs = 30_000, listenHost = '127.0.0.1'): Promise<SbatchProcess> {
  const port = await freePort();
  const out = openSync(logFile, 'a');
  // node itself: one process, so its PID is the service's.
  const proc = spawn(process.execPath, [...cliEntry(), 'sbatch-service', '--listen', `${listenHost}:${port}`, '--rpc-url', rpcUrl, '--meta-scheduler', metaScheduler, '--log-level', 'warn'], {
    cwd: packageRoot,
    stdio: ['ignore', out, out],
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) break;
    if (await accepts(port)) return { address: `127.0.0.1:${port}`, pid: proc.pid!, stop };
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`gridlink sbatch-service did not start within ${timeoutMs / 1000} s (log: ${logFile})`);
}

// daemon.ts - one SLURM daemon run in the foreground (-D) as our child: spawned
// with its output in a file and an optional parent-death signal, stopped by PID.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { isAlive, signalAll, waitForExit } from '../../src/util/proc.js';

/** A daemon we run in the foreground (-D) so its PID is ours, not a pid file's guess. */
export interface Daemon {
  readonly name: string;
  readonly pid: number;
  /** Settles when the process exits (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
}

export interface SpawnDaemonOptions {
  name: string;
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** stdout and stderr are appended here. */
  outFile: string;
  /**
   * Signal the daemon gets from the kernel when this process dies, even by
   * SIGKILL (where no 'exit' handler runs). SIGTERM lets slurmctld save state.
   */
  parentDeathSignal?: NodeJS.Signals | undefined;
}

let setprivOk: boolean | undefined;
function haveSetpriv(): boolean {
  setprivOk ??= spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
  return setprivOk;
}

export async function spawnDaemon(o: SpawnDaemonOptions): Promise<Daemon> {
  const fd = openSync(o.outFile, 'a');
  // setpriv sets PR_SET_PDEATHSIG and execs: the PID we get is the daemon's.
  const usePdeath = o.parentDeathSignal !== undefined && haveSetpriv();
  const [cmd, args] = usePdeath
    ? ['setpriv', ['--pdeathsig', o.parentDeathSignal!.replace(/^SIG/, ''), '--', o.cmd, ...o.args]]
    : [o.cmd, o.args];
  const child = spawn(cmd, args, { env: o.env, cwd: o.cwd, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', (e) => reject(new Error(`${o.name}: cannot start ${o.cmd}: ${e.message}`)));
  });
  // The daemons must not keep the event loop (e.g. a devnet script) alive.
  child.unref();
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  return { name: o.name, pid: spawned, exited, running: () => !done && isAlive(spawned) };
}

/** SIGTERM (or `signal`), wait, then SIGKILL; resolves once the process is gone. */
export async function stopDaemon(d: Daemon, graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!d.running()) return;
  signalAll([d.pid], signal);
  if (await Promise.race([d.exited.then(() => true), waitForExit([d.pid], graceMs)])) return;
  signalAll([d.pid], 'SIGKILL');
  await Promise.race([d.exited, waitForExit([d.pid], 5_000)]);
}

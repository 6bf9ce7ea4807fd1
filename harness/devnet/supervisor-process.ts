// supervisor-process.ts - the devnet's supervisor in a process of its own,
// started as an operator starts it: `gridlink supervisor run --config
// <the devnet's supervisor.json>` (the build, or the source: harness/launch/gridlink-cli.ts), detached into its own
// process group, its output appended to the devnet's supervisor.log. Stopping
// or restarting it leaves the rest of the devnet up. The devnet starts it
// (stack.ts); `npm run devnet -- supervisor stop|start|restart` (main.ts) and
// the devnet's stop and `devnet:down` stop it, by the PID and start time
// recorded in the state file and by its command line.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';

import { runningSupervisors, supervisorRunArgs } from '../../src/cli/status.js';
import { cliEntry } from '../launch/gridlink-cli.js';
import { PROVIDER_KEY_ENV } from '../../src/reporter/provider-key.js';
import { packageRoot } from '../../src/native/addon.js';
import { procRef, sameProcess, stopProcs, type ProcRef } from './procs.js';

/** Its name in the state file's processes and in `gridlink status`. */
export const SUPERVISOR_NAME = 'supervisor';

/** The same supervisor run by hand, in the foreground (its logs on stdout). */
export const operatorCommand = (configFile: string): string => `npm run gridlink -- ${supervisorRunArgs(configFile).join(' ')}`;

export interface SupervisorProcess {
  ref: ProcRef;
  /** Settles when it exits: how it ended ("exit code 1", "signal SIGKILL"). */
  exited: Promise<string>;
  /** Size of the log when it started: its own lines come after. */
  logOffset: number;
}

const fileSize = (f: string): number => (existsSync(f) ? statSync(f).size : 0);

/**
 * Spawns it detached (its own process group: a Ctrl-C on the devnet's
 * terminal reaches it only through the devnet's stop). Its configuration is
 * the file alone: GRIDLINK_<PATH> variables and the provider key variable of
 * this environment are not passed on. `prefix`: a command it runs through
 * (one that execs what follows, so the PID is the supervisor's).
 */
export function spawnSupervisor(configFile: string, logFile: string, o: { prefix?: string[] } = {}): SupervisorProcess {
  const logOffset = fileSize(logFile);
  const fd = openSync(logFile, 'a', 0o600);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k.startsWith('GRIDLINK_') && k.includes('__')) && k !== PROVIDER_KEY_ENV));
  let child;
  try {
    // node itself (the build, or the source with tsx's loader): one process, so its PID is the supervisor's.
    // prefix: e.g. nsenter into the devnet's mount namespace (users.resolver "gridlink"); it execs node, the PID stays.
    const argv = [...(o.prefix ?? []), process.execPath, ...cliEntry(), ...supervisorRunArgs(configFile)];
    child = spawn(argv[0]!, argv.slice(1), { cwd: packageRoot, detached: true, stdio: ['ignore', fd, fd], env });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<string>((resolve) => {
    child.once('error', (e) => resolve(`not started: ${e.message}`));
    child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code ?? '?'}`));
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${operatorCommand(configFile)}`);
  return { ref: procRef(SUPERVISOR_NAME, child.pid), exited, logOffset };
}

/** The last `n` lines of `file` (for an error message). */
export function logTail(file: string, n = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/** GET url: the status code, or undefined when nothing answers within 2 s. */
function httpStatus(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
    req.end();
  });
}

/** Messages (pino's `msg`) of the log's lines after `offset`. */
function logMessages(file: string, offset: number): string[] {
  let text: string;
  try {
    text = readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    try {
      const m = (JSON.parse(line) as { msg?: unknown }).msg;
      if (typeof m === 'string') out.push(m);
    } catch {
      // not a pino line (a stack trace, tsx's output)
    }
  }
  return out;
}

export interface ReadyOptions {
  /** The ingest's URL: its /healthz answers 200 once the supervisor runs and its store takes writes. */
  ingestUrl: string;
  logFile: string;
  timeoutMs: number;
  /** Runs once /healthz answers (the devnet approves the provider here); raced against the process's exit. */
  whileUp?: () => Promise<void>;
}

/**
 * Resolves once the process answers on its ingest's /healthz and has logged
 * that the provider is approved and claiming ("supervisor: provider approved").
 * Throws, naming its log and quoting its tail, when it exits first or the
 * time runs out (the process is left to the caller).
 */
export async function waitSupervisorReady(p: SupervisorProcess, o: ReadyOptions): Promise<void> {
  const t0 = Date.now();
  let ended: string | undefined;
  void p.exited.then((how) => (ended = how));
  const fail = (what: string) =>
    new Error(`the supervisor (pid ${p.ref.pid}) ${what}; the end of its log ${o.logFile}:\n${logTail(o.logFile)}`);
  const check = async () => {
    if (ended === undefined && !sameProcess(p.ref)) {
      // Reaped already, its 'exit' event not yet run: wait for how it ended (the event comes within the loop's next turns).
      ended = await Promise.race([p.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref())]);
    }
    if (ended !== undefined || !sameProcess(p.ref)) throw fail(`exited while starting (${ended ?? 'gone'})`);
    if (Date.now() - t0 > o.timeoutMs) throw fail(`was not ready within ${o.timeoutMs / 1000} s`);
  };
  const pause = () => new Promise((r) => setTimeout(r, 200));
  for (;;) {
    await check();
    if ((await httpStatus(`${o.ingestUrl}/healthz`)) === 200) break;
    await pause();
  }
  if (o.whileUp) {
    const died = p.exited.then((how) => Promise.reject(fail(`exited while starting (${how})`)));
    await Promise.race([o.whileUp(), died]);
    died.catch(() => undefined);
  }
  for (;;) {
    await check();
    if (logMessages(o.logFile, p.logOffset).some((m) => m.includes('provider approved'))) return;
    await pause();
  }
}

/**
 * Stops every supervisor of the devnet: the recorded ones (PID and start time
 * checked) and any process running it on `configFile`. SIGTERM (it finishes
 * what is in flight and exits 0), SIGKILL after `graceMs`. Returns those stopped.
 */
export async function stopSupervisor(recorded: ProcRef[], configFile: string | undefined, graceMs = 15_000): Promise<ProcRef[]> {
  const mine = recorded.filter((r, i) => r.name === SUPERVISOR_NAME && recorded.findIndex((x) => x.pid === r.pid) === i);
  const byHand = (configFile ? runningSupervisors(configFile) : []).filter((pid) => !mine.some((r) => r.pid === pid)).map((pid) => procRef(SUPERVISOR_NAME, pid));
  return stopProcs([...mine, ...byHand], graceMs);
}

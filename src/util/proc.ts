// proc.ts - processes by PID read from /proc: alive (not a zombie), start
// time (a PID's identity across reuse), name, argv, environment; signalling
// and waiting for a set of PIDs.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Synchronous /proc helpers. Synchronous on purpose: they also run from a
 * process 'exit' handler, where no promise ever settles.
 */

export function listPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return [];
  }
}

interface ProcStat {
  comm: string;
  state: string;
  ppid: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may itself contain spaces or ')'.
    const open = s.indexOf('(');
    const close = s.lastIndexOf(')');
    const rest = s.slice(close + 2).split(' ');
    return { comm: s.slice(open + 1, close), state: rest[0] ?? '?', ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** A process named by PID and start time, so a PID the kernel gave to another process since is never taken for it. */
export interface ProcRef {
  name: string;
  pid: number;
  /** Clock ticks since boot (/proc/PID/stat field 22). */
  start: number;
}
/** Alive and not a zombie (a zombie has exited, it only waits to be reaped). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const st = readStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** Start time in clock ticks since boot: with the PID, identifies a process across PID reuse. */
export function procStartTime(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const v = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function procComm(pid: number): string | undefined {
  return readStat(pid)?.comm;
}

export function procEnv(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  try {
    for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = kv.indexOf('=');
      if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
  } catch {
    // gone, or a kernel thread
  }
  return env;
}

/** Every process below `roots` (not including them). */
export function descendants(roots: Iterable<number>): number[] {
  const children = new Map<number, number[]>();
  for (const pid of listPids()) {
    const st = readStat(pid);
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(pid);
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const queue = [...roots];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const p = queue.shift()!;
    for (const c of children.get(p) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/**
 * Processes named one of `comms` whose environment has `key` (with `value`
 * when given). slurmstepd inherits slurmd's environment, so a marker variable
 * set on slurmd finds the step daemons that outlive it.
 */
export function findByEnv(comms: ReadonlySet<string>, key: string, value?: string): number[] {
  const self = process.pid;
  return listPids().filter((pid) => {
    if (pid === self) return false;
    const comm = procComm(pid);
    if (comm === undefined || !comms.has(comm)) return false;
    const v = procEnv(pid).get(key);
    return v !== undefined && (value === undefined || v === value);
  });
}

/** The command line of `pid` (its argv), empty when it is gone. */
export function procArgs(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return [];
  }
}

/** Processes (not this one) whose argv holds `run` as consecutive arguments, oldest first. */
export function findByArgs(run: readonly string[]): number[] {
  const self = process.pid;
  const has = (argv: string[]) => argv.some((_, i) => run.every((a, j) => argv[i + j] === a));
  return listPids()
    .filter((pid) => pid !== self && has(procArgs(pid)))
    .sort((a, b) => (procStartTime(a) ?? 0) - (procStartTime(b) ?? 0));
}

export function signalAll(pids: Iterable<number>, signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export async function waitForExit(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pids.every((p) => !isAlive(p))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread: usable in an 'exit' handler, where timers never fire. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * Kills the processes `find()` returns without losing any that fork
 * meanwhile: each round freezes (SIGSTOP) what it finds, so a step daemon
 * caught mid-launch cannot orphan a new child out of the tree, then
 * everything frozen gets SIGKILL. Returns the PIDs killed.
 */
export function freezeAndKillSync(find: () => number[], maxRounds = 10): number[] {
  const all = new Set<number>();
  for (let round = 0; round < maxRounds; round++) {
    const found = find().filter((p) => !all.has(p));
    if (found.length === 0) break;
    signalAll(found, 'SIGSTOP');
    for (const p of found) all.add(p);
    sleepSync(5);
  }
  signalAll(all, 'SIGKILL');
  return [...all];
}

// procs.ts - processes the devnet started, named by PID and start time: a PID
// the kernel gave to another process since is never signalled.
import { isAlive, procStartTime, signalAll, waitForExit, type ProcRef } from '../../src/util/proc.js';

export type { ProcRef };

export function procRef(name: string, pid: number): ProcRef {
  return { name, pid, start: procStartTime(pid) ?? -1 };
}

/** The very process `ref` names is alive. */
export function sameProcess(ref: ProcRef): boolean {
  return isAlive(ref.pid) && procStartTime(ref.pid) === ref.start;
}

/** SIGTERM, then SIGKILL after `graceMs`, only to the processes still the ones recorded; resolves when they are gone. */
export async function stopProcs(refs: ProcRef[], graceMs = 10_000): Promise<ProcRef[]> {
  const live = refs.filter(sameProcess);
  if (live.length === 0) return [];
  signalAll(live.map((r) => r.pid), 'SIGTERM');
  if (!(await waitForExit(live.map((r) => r.pid), graceMs))) {
    const still = live.filter(sameProcess);
    signalAll(still.map((r) => r.pid), 'SIGKILL');
    await waitForExit(still.map((r) => r.pid), 5_000);
  }
  return live;
}

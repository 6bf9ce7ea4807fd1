// sigterm.ts - the clean, prompt exit every long-running command owes its
// operator: SIGTERM to a real child process, then its exit code, signal and
// how long it took. A child still running after `killAfterMs` is killed with
// SIGKILL (so a hanging command fails its test instead of holding the run):
// the result then says signal SIGKILL.
import type { ChildProcess } from 'node:child_process';

/** The bound of the tests: exit 0 within 5 s of SIGTERM. */
export const PROMPT_EXIT_MS = 5000;

export interface StopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
}

export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

export async function sigterm(child: ChildProcess, killAfterMs = 3 * PROMPT_EXIT_MS): Promise<StopResult> {
  const exited = exitOf(child);
  const t0 = Date.now();
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const e = await exited;
  clearTimeout(t);
  return { ...e, ms: Date.now() - t0 };
}

// run-command.ts - runs a command to completion with its output captured
// (CommandError names the command and its stderr), and a file's last lines.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin (e.g. a batch script for sbatch). */
  input?: string;
  timeoutMs?: number;
  /** Resolve instead of throwing on a non-zero exit. */
  allowFail?: boolean;
}

/** Arguments can be huge (64 KiB comments in tests): keep error messages readable. */
function shortArgs(args: string[]): string {
  const s = args.map((a) => (a.length > 120 ? `${a.slice(0, 120)}...(${a.length} chars)` : a)).join(' ');
  return s.length > 1000 ? `${s.slice(0, 1000)}...` : s;
}

export class CommandError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: string[],
    readonly result: RunResult,
  ) {
    super(
      `${cmd} ${shortArgs(args)} failed (${result.signal ?? `exit ${result.code}`}): ` +
        (result.stderr.trim() || result.stdout.trim()).slice(0, 2000),
    );
    this.name = 'CommandError';
  }
}

/** Runs a command to completion, capturing output; kills it at the timeout. */
export function runCommand(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: o.env, cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined); // the command may not read stdin
    child.stdin.end(o.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const r: RunResult = { code, signal, stdout, stderr };
      if ((code !== 0 || signal) && !o.allowFail) reject(new CommandError(cmd, args, r));
      else resolve(r);
    });
  });
}

/** Last `lines` lines of a file (reads at most the last 64 KiB); '' if unreadable. */
export function tailFile(file: string, lines = 30): string {
  try {
    const size = statSync(file).size;
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buf, 0, len, size - len);
    } finally {
      closeSync(fd);
    }
    return buf.toString('utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return '';
  }
}

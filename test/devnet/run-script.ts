// run-script.ts - one of the project's entry points (harness/devnet/main.ts,
// src/cli/main.ts) as a child process, as a person runs it: its exit code and
// output, SIGINT after a deadline (the devnet's launcher then stops what it
// started). Shared by the devnet's test files.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { packageRoot } from '../../src/native/index.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starting a devnet may wait for the machine's SLURM cluster lock while another test's cluster holds it. */
export const DEVNET_START_MS = 400_000;

/** `node --import tsx SCRIPT ARGS` in `env` (the CLI from its build when fresh: harness/launch/gridlink-cli.ts); SIGINT after timeoutMs. */
export function runScript(env: NodeJS.ProcessEnv, script: string, args: string[], timeoutMs: number): Promise<Run> {
  const entry = script === 'src/cli/main.ts' ? cliEntry() : ['--import', 'tsx', join(packageRoot, script)];
  return runCommand(env, process.execPath, [...entry, ...args], timeoutMs);
}

/** `cmd ARGS` in the checkout and `env`, to its exit: code and output; SIGINT after timeoutMs. */
export function runCommand(env: NodeJS.ProcessEnv, cmd: string, args: string[], timeoutMs: number): Promise<Run> {
  const p = spawn(cmd, args, { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const t = setTimeout(() => {
    stderr += `\n[test: no exit after ${timeoutMs / 1000} s, SIGINT]`;
    p.kill('SIGINT');
  }, timeoutMs);
  return new Promise((resolve) => p.on('close', (code) => (clearTimeout(t), resolve({ code, stdout, stderr }))));
}

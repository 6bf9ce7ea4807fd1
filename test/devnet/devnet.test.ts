// `npm run devnet` as an operator runs it: the whole grid starts in the
// background, a customer job runs to FINISHED and paid, and the command
// returns 0 with the stack up; `gridlink status --json` shows the job with
// its Linux user, uid and payment; a second start is refused; `devnet:down`
// leaves no process behind (by PID and by the harnesses' markers).
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { findByEnv } from '../../src/cluster/procs.js';
import { clusterLeftovers } from '../../src/devnet/down.js';
import { sameProcess } from '../../src/devnet/procs.js';
import type { DevnetState } from '../../src/devnet/state.js';
import type { StatusView } from '../../src/cli/status.js';
import { packageRoot } from '../../src/native/index.js';

const parent = mkdtempSync('/tmp/gl-devnet-test-');
chmodSync(parent, 0o755); // customers' homes are below it
const dir = join(parent, 'devnet');
const env = { ...process.env, GRIDLINK_DEVNET_DIR: dir };

/** The command's exit code and output; SIGINT (the launcher then stops what it started) after timeoutMs. */
function run(script: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(packageRoot, script), ...args], { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
const devnet = (...a: string[]) => run('src/devnet/main.ts', a, 170_000);

afterAll(async () => {
  await devnet('down');
  rmSync(parent, { recursive: true, force: true });
}, 120_000);

it('starts in the background, runs a paid job, shows it in status, refuses a second start, and down leaves nothing behind', async () => {
  const up = await devnet('--job-timeout', '90');
  expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
  expect(up.stdout).toMatch(/running on node \S+ as 0x[0-9a-f]{40} \(uid \d+\)/);
  expect(up.stdout).toMatch(/provider paid [\d.]+ credits .*customer refunded [\d.]+ credits/);
  expect(up.stdout).toMatch(/SLURM_CONF=/);
  expect(up.stdout).toMatch(/npm run devnet:down/);

  const stateFile = join(dir, 'state.json');
  expect(statSync(stateFile).mode & 0o777).toBe(0o600);
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as DevnetState;
  expect(state.phase).toBe('up');
  // Still running after the command returned.
  const names = state.processes.map((p) => p.name);
  expect(names).toEqual(expect.arrayContaining(['devnet', 'anvil', 'sbatch-service', 'slurmctld', '389ds', 'sssd']));
  expect(names.filter((n) => n.startsWith('slurmd '))).toHaveLength(2);
  for (const p of state.processes) expect(sameProcess(p), p.name).toBe(true);

  const st = await run('src/cli/main.ts', ['status', '--json', '--state', stateFile]);
  expect(st.code, st.stderr).toBe(0);
  const view = JSON.parse(st.stdout) as StatusView;
  expect(view.devnet!.components.every((c) => c.state === 'running')).toBe(true);
  const customer = state.accounts!.find((a) => a.role.startsWith('customer'))!.address.toLowerCase();
  expect(view.jobs).toHaveLength(1);
  const job = view.jobs[0]!;
  expect(job).toMatchObject({ chainStatus: 'FINISHED', claim: 'submitted', user: customer });
  expect(job.uid).toBeGreaterThanOrEqual(1000);
  expect(job.slurmJobId).toBeGreaterThan(0);
  expect(state.slurm!.nodes).toContain(job.node);
  expect(job.billedMinutes).toBeGreaterThanOrEqual(1);
  expect(Number(job.providerPayment)).toBeGreaterThan(0);
  expect(Number(job.customerRefund)).toBeGreaterThan(0);

  const again = await devnet();
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/already running .*\n.*status\n.*npm run devnet:down/);
  expect(sameProcess(state.daemon)).toBe(true);

  const down = await devnet('down');
  expect(down.code, down.stderr).toBe(0);
  for (const p of state.processes) expect(sameProcess(p), `${p.name} (pid ${p.pid}) still running`).toBe(false);
  expect(clusterLeftovers(state.slurm!.baseDir)).toEqual([]);
  // Directory servers carry their owner's PID:start mark; none of the devnet's is left.
  const owner = `${state.daemon.pid}:${state.daemon.start}`;
  expect(findByEnv(new Set(['ns-slapd', 'slapd']), 'GRIDLINK_DIRECTORY_OWNER', owner)).toEqual([]);
  expect(existsSync(dir)).toBe(false);

  const twice = await devnet('down');
  expect(twice.code).toBe(0);
  expect(twice.stdout).toMatch(/nothing to stop/);
}, 240_000);

// `npm run devnet` as an operator runs it: the whole grid starts in the
// background, a customer job runs to FINISHED and paid, and the command
// returns 0 with the stack up; `gridlink status --json` shows the job with
// its Linux user, uid and payment; a second start is refused; `devnet:down`
// leaves no process behind (by PID and by the harnesses' markers). In between,
// `gridlink doctor` passes on it, then fails the one check of each fault injected:
// a read-only spool, the reporter stopped, a wrong contract, an open key, LDAP stopped.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

interface DoctorLine {
  check: string;
  ok: boolean;
  status: string;
  detail: string;
  fix?: string;
}

/** `gridlink doctor --json` from dist (the devnet's start built it: no tsx compile, ~1 s a run). */
function doctor(config: string, slurmConf: string): Promise<{ code: number | null; lines: DoctorLine[]; stderr: string }> {
  const built = existsSync(join(packageRoot, 'dist', 'cli', 'doctor.js'));
  const main = built ? [join(packageRoot, 'dist', 'cli', 'main.js')] : ['--import', 'tsx', join(packageRoot, 'src', 'cli', 'main.ts')];
  const p = spawn(process.execPath, [...main, 'doctor', '--json', '--timeout', '3', '--config', config, '--slurm-conf', slurmConf], { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => p.on('close', (code) => resolve({ code, lines: stdout ? (JSON.parse(stdout) as DoctorLine[]) : [], stderr })));
}

const ALL_CHECKS = ['config', 'plugins', 'spool', 'drain', 'runtime', 'reporter', 'chain', 'contract', 'key', 'provider', 'ldap', 'sbatch'];

/** Exit 1, `failing` failed (and `skipped` skipped), every other check ok. */
function expectOnly(r: Awaited<ReturnType<typeof doctor>>, failing: string[], skipped: string[] = []) {
  const msg = `${JSON.stringify(r.lines, null, 1)}\n${r.stderr}`;
  expect(r.code, msg).toBe(1);
  expect(r.lines.map((l) => l.check), msg).toEqual(ALL_CHECKS);
  for (const l of r.lines) expect(l.status, `${l.check}: ${l.detail}`).toBe(failing.includes(l.check) ? 'fail' : skipped.includes(l.check) ? 'skip' : 'ok');
  for (const l of r.lines.filter((x) => x.status === 'fail')) expect(l.fix, l.check).toBeTruthy();
}

/** `gridlink doctor` on the running devnet: all ok; then one fault at a time, each restored. */
async function doctorFaults(state: DevnetState) {
  const config = state.supervisor!.config;
  const slurmConf = state.slurm!.conf;
  const base = await doctor(config, slurmConf);
  expect(base.code, `${JSON.stringify(base.lines, null, 1)}\n${base.stderr}`).toBe(0);
  expect(base.lines.map((l) => [l.check, l.status])).toEqual(ALL_CHECKS.map((c) => [c, 'ok']));
  expect(base.lines.find((l) => l.check === 'plugins')!.detail).toMatch(/slurmctld \(pid \d+\) maps jobcomp_provider.so \+ gridlink_runtime.so; slurmd \(pids \d+, \d+\) maps spank_provider.so/);

  // Faults on copies, side by side: a wrong contract address; a key file readable by others.
  const input = JSON.parse(readFileSync(config, 'utf8')) as { chain: Record<string, unknown> };
  const wrongContract = join(parent, 'doctor-contract.json');
  writeFileSync(wrongContract, JSON.stringify({ ...input, chain: { ...input.chain, metaScheduler: state.chain!.contracts.credit } }));
  const openKey = join(parent, 'doctor-provider.key');
  copyFileSync(input.chain.keyFile as string, openKey);
  chmodSync(openKey, 0o644);
  const keyConfig = join(parent, 'doctor-key.json');
  writeFileSync(keyConfig, JSON.stringify({ ...input, chain: { ...input.chain, keyFile: openKey } }));
  const [contract, key] = await Promise.all([doctor(wrongContract, slurmConf), doctor(keyConfig, slurmConf)]);
  expectOnly(contract, ['contract'], ['provider']);
  expect(contract.lines.find((l) => l.check === 'contract')!.detail).toMatch(/does not answer as a MetaScheduler/);
  expectOnly(key, ['key']);
  expect(key.lines.find((l) => l.check === 'key')).toMatchObject({ detail: `${openKey} is readable by others (mode 0644)`, fix: expect.stringMatching(/^chmod 600 /) });

  // The slurmctld spool on a read-only filesystem (root ignores mode bits): a read-only bind mount over it.
  const spool = join(dir, 'spool', 'slurmctld');
  execFileSync('mount', ['--bind', spool, spool]);
  try {
    execFileSync('mount', ['-o', 'remount,bind,ro', spool]);
    const r = await doctor(config, slurmConf);
    expectOnly(r, ['spool']);
    expect(r.lines.find((l) => l.check === 'spool')!.detail).toMatch(/slurmctld spool .* is on a read-only filesystem/);
  } finally {
    execFileSync('umount', [spool]);
  }

  // The reporter stopped (the supervisor runs in the devnet daemon), then the directory server.
  const ldapPid = state.processes.find((p) => p.name === '389ds')!.pid;
  for (const [pid, failing, pattern] of [
    [state.daemon.pid, 'reporter', /healthz: no answer within/],
    [ldapPid, 'ldap', /LDAP directory .* (unreachable|did not answer)/],
  ] as const) {
    process.kill(pid, 'SIGSTOP');
    try {
      const r = await doctor(config, slurmConf);
      expectOnly(r, [failing]);
      expect(r.lines.find((l) => l.check === failing)!.detail).toMatch(pattern);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }
}

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

  await doctorFaults(state); // ~15 s (6 runs, two wait for a stopped server; measured with load 3-5 on 2 cores)

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

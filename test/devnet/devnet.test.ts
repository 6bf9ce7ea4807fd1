// `npm run devnet` as an operator runs it: the whole grid starts in the
// background, a customer job runs to FINISHED and paid, and the command
// returns 0 with the stack up; `gridlink status --json` shows the job with
// its Linux user, uid and payment; a second start is refused; `devnet:down`
// leaves no process behind (by PID and by the harnesses' markers) and no lock
// file. In between, `gridlink doctor` passes on it, then fails the one check of
// each fault injected: a read-only spool, the reporter stopped, a wrong
// contract, an open key, LDAP stopped. The supervisor is a process of its own
// (its own process group): SIGTERM stops it alone, promptly and with exit 0,
// the rest stays up, and once started again a new job is run and paid.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { clusterLockPath } from '../../harness/cluster/index.js';
import { findByEnv } from '../../src/util/proc.js';
import { clusterLeftovers } from '../../harness/devnet/down.js';
import { sameProcess, type ProcRef } from '../../harness/devnet/procs.js';
import type { DevnetState } from '../../harness/devnet/state.js';
import { runDemoJob } from '../../harness/devnet/watch.js';
import { runningSupervisors, type StatusView } from '../../src/cli/status.js';
import { packageRoot } from '../../src/native/index.js';
import { DEVNET_START_MS, runScript, type Run } from './run-script.js';

const parent = mkdtempSync('/tmp/gl-devnet-test-');
chmodSync(parent, 0o755); // customers' homes are below it
const dir = join(parent, 'devnet');
const env = { ...process.env, GRIDLINK_DEVNET_DIR: dir };

/** The command's exit code and output; SIGINT (the launcher then stops what it started) after timeoutMs. */
const run = (script: string, args: string[], timeoutMs = 60_000): Promise<Run> => runScript(env, script, args, timeoutMs);
const devnet = (...a: string[]) => run('harness/devnet/main.ts', a, DEVNET_START_MS);

interface DoctorLine {
  check: string;
  ok: boolean;
  status: string;
  detail: string;
  fix?: string;
}

/** dist/ is at least as new as every source file (then it runs without tsx's compile, ~1 s a run). */
const distFresh = (): boolean =>
  existsSync(join(packageRoot, 'dist', 'cli', 'doctor.js')) &&
  execFileSync('find', [join(packageRoot, 'src'), '-name', '*.ts', '-newer', join(packageRoot, 'dist', 'cli', 'doctor.js')], { encoding: 'utf8' }).trim() === '';

/** `gridlink doctor --json`, from dist when it is fresh, else from source. */
function doctor(config: string, slurmConf: string): Promise<{ code: number | null; lines: DoctorLine[]; stderr: string }> {
  const built = distFresh();
  const main = built ? [join(packageRoot, 'dist', 'cli', 'main.js')] : ['--import', 'tsx', join(packageRoot, 'src', 'cli', 'main.ts')];
  const p = spawn(process.execPath, [...main, 'doctor', '--json', '--timeout', '3', '--config', config, '--slurm-conf', slurmConf], { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => p.on('close', (code) => resolve({ code, lines: stdout ? (JSON.parse(stdout) as DoctorLine[]) : [], stderr })));
}

const ALL_CHECKS = ['config', 'plugins', 'spool', 'drain', 'runtime', 'reporter', 'chain', 'contract', 'key', 'provider', 'ldap', 'users', 'sbatch'];
/** Skipped on the devnet: its users come from LDAP (users.resolver "ldap"), `users` checks resolver "gridlink". */
const DEVNET_SKIPS = ['users'];

/** Exit 1, `failing` failed (and `skipped` skipped), every other check ok. */
function expectOnly(r: Awaited<ReturnType<typeof doctor>>, failing: string[], skipped: string[] = []) {
  const msg = `${JSON.stringify(r.lines, null, 1)}\n${r.stderr}`;
  expect(r.code, msg).toBe(1);
  expect(r.lines.map((l) => l.check), msg).toEqual(ALL_CHECKS);
  for (const l of r.lines) expect(l.status, `${l.check}: ${l.detail}`).toBe(failing.includes(l.check) ? 'fail' : [...skipped, ...DEVNET_SKIPS].includes(l.check) ? 'skip' : 'ok');
  for (const l of r.lines.filter((x) => x.status === 'fail')) expect(l.fix, l.check).toBeTruthy();
}

/** `gridlink doctor` on the running devnet: all ok; then one fault at a time, each restored. */
async function doctorFaults(state: DevnetState) {
  const config = state.supervisor!.config;
  const slurmConf = state.slurm!.conf;
  const base = await doctor(config, slurmConf);
  expect(base.code, `${JSON.stringify(base.lines, null, 1)}\n${base.stderr}`).toBe(0);
  expect(base.lines.map((l) => [l.check, l.status])).toEqual(ALL_CHECKS.map((c) => [c, DEVNET_SKIPS.includes(c) ? 'skip' : 'ok']));
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
  // One after the other: two doctors started together starve each other's 1.8-s HTTP deadline at load 20 on 2 cores.
  const contract = await doctor(wrongContract, slurmConf);
  const key = await doctor(keyConfig, slurmConf);
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

  // The reporter stopped (in the supervisor's process), then the directory server.
  const ldapPid = state.processes.find((p) => p.name === '389ds')!.pid;
  for (const [pid, failing, pattern] of [
    [supervisorOf(state).pid, 'reporter', /healthz: no answer within/],
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

const supervisorOf = (s: DevnetState): ProcRef => s.processes.find((p) => p.name === 'supervisor')!;
const readStateFile = (): DevnetState => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as DevnetState;
/** /proc/PID/stat field 5: the process group. */
const pgrp = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);

async function status(): Promise<StatusView> {
  const st = await run('src/cli/main.ts', ['status', '--json', '--state', join(dir, 'state.json')]);
  expect(st.code, st.stderr).toBe(0);
  return JSON.parse(st.stdout) as StatusView;
}

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGTERM to the supervisor alone: it exits 0 within 5 s, every other process stays up; started again, a new job is run and paid. */
async function supervisorRestart(state: DevnetState) {
  const sup = supervisorOf(state);
  const t0 = Date.now();
  process.kill(sup.pid, 'SIGTERM');
  await until(`supervisor pid ${sup.pid} exit after SIGTERM`, () => !sameProcess(sup), 20_000);
  const exitMs = Date.now() - t0;
  console.log(`devnet test: the supervisor exited ${exitMs} ms after SIGTERM`);
  expect(exitMs).toBeLessThan(5000);
  // Its parent, the devnet daemon, logs how it ended.
  const devnetLog = state.logs.devnet!;
  const exited = new RegExp(`the supervisor \\(pid ${sup.pid}\\) exited \\((.*?)\\)`);
  await until('the daemon logs the supervisor\'s exit', () => exited.test(readFileSync(devnetLog, 'utf8')), 5000);
  expect(exited.exec(readFileSync(devnetLog, 'utf8'))![1]).toBe('exit code 0');

  for (const p of state.processes.filter((x) => x.name !== 'supervisor')) expect(sameProcess(p), `${p.name} (pid ${p.pid}) stopped with the supervisor`).toBe(true);
  const down = await status();
  for (const c of down.devnet!.components) expect([c.name, c.state]).toEqual([c.name, c.name === 'supervisor' ? 'stopped' : 'running']);
  expect(down.devnet!.components.find((c) => c.name === 'supervisor')!.pid).toBe(sup.pid);

  const t1 = Date.now();
  const start = await run('harness/devnet/main.ts', ['supervisor', 'start'], 150_000);
  console.log(`devnet test: \`devnet supervisor start\` took ${Date.now() - t1} ms`);
  expect(start.code, `${start.stdout}\n${start.stderr}`).toBe(0);
  expect(start.stdout).toMatch(/It is up in [\d.]+ s: provider approved, claiming jobs/);
  const after = readStateFile();
  const sup2 = supervisorOf(after);
  expect(sup2.pid).not.toBe(sup.pid);
  expect(sameProcess(sup2)).toBe(true);
  expect(pgrp(sup2.pid)).toBe(sup2.pid);
  const up = await status();
  expect(up.devnet!.components.every((c) => c.state === 'running')).toBe(true);
  expect(up.devnet!.components.find((c) => c.name === 'supervisor')!.pid).toBe(sup2.pid);

  const lines: string[] = [];
  const t2 = Date.now();
  const r = await runDemoJob(after, (l) => lines.push(l), 120_000);
  console.log(`devnet test: the job after the restart took ${Date.now() - t2} ms`);
  expect(r, lines.join('\n')).toMatchObject({ status: 'FINISHED', ok: true });
  const jobs = (await status()).jobs;
  expect(jobs).toHaveLength(2);
  const job = jobs.find((j) => j.gridJobId.toLowerCase() === r.jobId.toLowerCase())!;
  expect(job).toMatchObject({ chainStatus: 'FINISHED', claim: 'submitted' });
  expect(Number(job.providerPayment)).toBeGreaterThan(0);
  return after;
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
  expect(names).toEqual(expect.arrayContaining(['devnet', 'anvil', 'sbatch-service', 'slurmctld', '389ds', 'sssd', 'supervisor']));
  expect(names.filter((n) => n.startsWith('slurmd '))).toHaveLength(2);
  for (const p of state.processes) expect(sameProcess(p), p.name).toBe(true);
  // The supervisor: its own process, in its own process group, running the operator's command.
  const sup = supervisorOf(state);
  expect(sup.pid).not.toBe(state.daemon.pid);
  expect(pgrp(sup.pid)).toBe(sup.pid);
  expect(pgrp(sup.pid)).not.toBe(pgrp(state.daemon.pid));
  expect(readFileSync(`/proc/${sup.pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['supervisor', 'run', '--config', state.supervisor!.config]));

  const st = await run('src/cli/main.ts', ['status', '--json', '--state', stateFile]);
  expect(st.code, st.stderr).toBe(0);
  const view = JSON.parse(st.stdout) as StatusView;
  expect(view.devnet!.components.every((c) => c.state === 'running')).toBe(true);
  expect(view.devnet!.components.find((c) => c.name === 'supervisor')).toMatchObject({ pid: sup.pid, address: `ingest ${state.supervisor!.ingestUrl}` });
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

  await doctorFaults(state); // ~15 s (6 runs, two wait for a stopped server; measured with load 3-5 on 2 cores; 60 s and more at load 15-20 from source)
  const restarted = await supervisorRestart(state);

  const again = await devnet();
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/already running .*\n.*status\n.*npm run devnet:down/);
  expect(sameProcess(state.daemon)).toBe(true);

  const down = await devnet('down');
  expect(down.code, down.stderr).toBe(0);
  expect(down.stdout).toMatch(new RegExp(`supervisor \\(pid ${supervisorOf(restarted).pid}\\)`));
  for (const p of [...state.processes, ...restarted.processes]) expect(sameProcess(p), `${p.name} (pid ${p.pid}) still running`).toBe(false);
  expect(runningSupervisors(state.supervisor!.config)).toEqual([]);
  // No lock file left: the devnet's own (in its directory), the supervisor store's, the machine's SLURM cluster lock.
  const clusterLock = existsSync(clusterLockPath()) ? (JSON.parse(readFileSync(clusterLockPath(), 'utf8')) as { baseDir: string }) : undefined;
  expect(clusterLock?.baseDir).not.toBe(state.slurm!.baseDir);
  expect(clusterLeftovers(state.slurm!.baseDir)).toEqual([]);
  // Directory servers carry their owner's PID:start mark; none of the devnet's is left.
  const owner = `${state.daemon.pid}:${state.daemon.start}`;
  expect(findByEnv(new Set(['ns-slapd', 'slapd']), 'GRIDLINK_DIRECTORY_OWNER', owner)).toEqual([]);
  expect(existsSync(dir)).toBe(false);

  const twice = await devnet('down');
  expect(twice.code).toBe(0);
  expect(twice.stdout).toMatch(/nothing to stop/);
}, 900_000); // the devnet start alone may take DEVNET_START_MS

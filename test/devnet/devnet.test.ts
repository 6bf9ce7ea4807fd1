// `npm run devnet` as an operator runs it: the whole grid starts in the
// background, a customer job runs to FINISHED and paid, and the command
// returns 0 with the stack up; `gridlink status --json` shows the job with
// its Linux user, uid and payment; a second start is refused; `devnet:down`
// leaves no process behind (by PID and by the harnesses' markers) and no lock
// file. Its customers' users come from gridlink (users.resolver "gridlink", no
// directory server): the job ran under a uid the supervisor handed out, in a
// home the SPANK prolog made 0700, and the customer resolves inside the
// devnet's mount namespace and in each SLURM daemon's (from the copy its relay
// pulled); the host's own nsswitch.conf does not ask gridlink. In between, `gridlink doctor` (in that namespace)
// passes on it, then fails the one check of each fault injected: a read-only
// spool, the reporter stopped, a wrong contract, an open key, the users
// database removed (LDAP stopped: customer.test.ts, on an LDAP devnet). The supervisor is a process of its own
// (its own process group): SIGTERM stops it alone, promptly and with exit 0,
// the rest stays up, and once started again a new job is run and paid.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { clusterLockPath } from '../../harness/cluster/index.js';
import { findByEnv } from '../../src/util/proc.js';
import { clusterLeftovers } from '../../harness/devnet/down.js';
import { sameProcess, type ProcRef } from '../../harness/devnet/procs.js';
import type { DevnetState } from '../../harness/devnet/state.js';
import { runDemoJob } from '../../harness/devnet/watch.js';
import { runningSupervisors, type StatusView } from '../../src/cli/status.js';
import { nsswitchSources } from '../../src/doctor/users.js';
import { usersDbVersionOf } from '../../src/userdb/format.js';
import { devnetPrefix, doctor, expectAllOk, expectOnly } from './doctor.js';
import { DEVNET_START_MS, runScript, type Run } from './run-script.js';

const parent = mkdtempSync('/tmp/gl-devnet-test-');
chmodSync(parent, 0o755); // customers' homes are below it
const dir = join(parent, 'devnet');
const env = { ...process.env, GRIDLINK_DEVNET_DIR: dir };

/** The command's exit code and output; SIGINT (the launcher then stops what it started) after timeoutMs. */
const run = (script: string, args: string[], timeoutMs = 60_000): Promise<Run> => runScript(env, script, args, timeoutMs);
const devnet = (...a: string[]) => run('harness/devnet/main.ts', a, DEVNET_START_MS);

/** Where a command runs: the devnet's namespace (`inNs`) or a daemon's (nsenter -t PID -m). */
const sh = (prefix: string[], cmd: string[]) => {
  const argv = [...prefix, ...cmd];
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
};

/** users.resolver "gridlink": the summary says where the users are; the customer resolves where it must, not on the host; its home is 0700. */
function gridlinkIdentity(state: DevnetState, summary: string, customer: string, uid: number) {
  const u = state.users!;
  if (u.resolver !== 'gridlink') throw new Error(`the devnet runs resolver ${u.resolver}`);
  expect(summary).toMatch(/no directory server: users.resolver "gridlink"/);
  expect(summary).toContain(`users database ${u.db}`);
  expect(summary).toContain(`look a customer up: nsenter -t ${u.namespacePid} -m -w -- id 0x<address>`);
  const home = statSync(join(u.homeRoot, customer));
  expect([home.mode & 0o7777, home.uid]).toEqual([0o700, uid]);
  // The devnet's namespace (the supervisor's file), each SLURM daemon's (its relay's copy), not the host.
  const line = `${customer}:[*]:${uid}:${uid}:gridlink customer:${join(u.homeRoot, customer)}:`;
  expect(sh(devnetPrefix(state), ['getent', 'passwd', customer]).stdout).toMatch(new RegExp(`^${line}`));
  const daemons = state.processes.filter((p) => p.name === 'slurmctld' || p.name.startsWith('slurmd '));
  expect(daemons).toHaveLength(3);
  for (const d of daemons) expect(sh(['nsenter', '-t', String(d.pid), '-m', '--'], ['getent', 'passwd', String(uid)]).stdout, d.name).toMatch(new RegExp(`^${line}`));
  // The host's own NSS is unchanged (its answer for the address is not asserted: an earlier LDAP devnet's
  // SSSD may have left the same customer in its memory cache).
  for (const db of ['passwd', 'group']) expect(nsswitchSources(readFileSync('/etc/nsswitch.conf', 'utf8'), db)).not.toContain('gridlink');
  expect(Object.keys(u.copies).sort()).toEqual([hostname(), ...state.slurm!.nodes].sort());
  for (const [host, f] of Object.entries(u.copies)) expect(usersDbVersionOf(readFileSync(f)), `${host}'s copy ${f}`).toBeGreaterThanOrEqual(1);
}

/** `gridlink doctor` on the running devnet: all ok; then one fault at a time, each restored. */
async function doctorFaults(state: DevnetState) {
  const config = state.supervisor!.config;
  const inNs = devnetPrefix(state);
  const base = await doctor(state, env);
  expectAllOk(state, base);
  expect(base.lines.find((l) => l.check === 'users')!.detail).toMatch(/\/etc\/nsswitch.conf asks gridlink, .*libnss_gridlink.so.2; \/var\/lib\/gridlink\/nss\/users.cdb at the state database's version [1-9]/);
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
  const contract = await doctor(state, env, wrongContract);
  const key = await doctor(state, env, keyConfig);
  expectOnly(state, contract, ['contract'], ['provider']);
  expect(contract.lines.find((l) => l.check === 'contract')!.detail).toMatch(/does not answer as a MetaScheduler/);
  expectOnly(state, key, ['key']);
  expect(key.lines.find((l) => l.check === 'key')).toMatchObject({ detail: `${openKey} is readable by others (mode 0644)`, fix: expect.stringMatching(/^chmod 600 /) });

  // The slurmctld spool on a read-only filesystem (root ignores mode bits): a read-only bind mount over it,
  // where the doctor runs (the devnet's mount namespace: a mount made on the host does not reach it).
  const spool = join(dir, 'spool', 'slurmctld');
  const mount = (...a: string[]) => {
    const argv = [...inNs, ...a];
    execFileSync(argv[0]!, argv.slice(1));
  };
  mount('mount', '--bind', spool, spool);
  try {
    mount('mount', '-o', 'remount,bind,ro', spool);
    const r = await doctor(state, env);
    expectOnly(state, r, ['spool']);
    expect(r.lines.find((l) => l.check === 'spool')!.detail).toMatch(/slurmctld spool .* is on a read-only filesystem/);
  } finally {
    mount('umount', spool);
  }

  // The reporter stopped (in the supervisor's process).
  const sup = supervisorOf(state).pid;
  process.kill(sup, 'SIGSTOP');
  try {
    const r = await doctor(state, env);
    expectOnly(state, r, ['reporter']);
    expect(r.lines.find((l) => l.check === 'reporter')!.detail).toMatch(/healthz: no answer within/);
  } finally {
    process.kill(sup, 'SIGCONT');
  }

  // The supervisor's users database gone (moved away, then back): every customer is unknown to its host.
  // (The directory server stopped, on the LDAP devnet: test/devnet/customer.test.ts.)
  const db = state.users?.resolver === 'gridlink' ? state.users.db : '';
  renameSync(db, `${db}.away`);
  try {
    const r = await doctor(state, env);
    expectOnly(state, r, ['users']);
    expect(r.lines.find((l) => l.check === 'users')!.detail).toMatch(/^\/var\/lib\/gridlink\/nss\/users.cdb: ENOENT.*every customer is "not found" on this host/);
  } finally {
    renameSync(`${db}.away`, db);
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
  expect(names).toEqual(expect.arrayContaining(['devnet', 'anvil', 'sbatch-service', 'slurmctld', 'supervisor']));
  expect(names.filter((n) => n === '389ds' || n === 'sssd')).toEqual([]); // no directory server
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
  expect(job.uid).toBeGreaterThanOrEqual(200_000); // users.gridlink.firstUid
  gridlinkIdentity(state, up.stdout, customer, job.uid!);
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

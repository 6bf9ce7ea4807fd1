// doctor.ts - `gridlink doctor --json` on a running devnet, as its summary
// says to run it: with users.resolver "gridlink" inside the devnet's mount
// namespace (nsenter: its nsswitch.conf asks the module), with "ldap" on the
// host. Shared by the devnet's test files.
import { spawn } from 'node:child_process';

import { expect } from 'vitest';

import { enterNamespace } from '../../harness/devnet/identity.js';
import type { DevnetState } from '../../harness/devnet/state.js';
import { packageRoot } from '../../src/native/index.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';

export interface DoctorLine {
  check: string;
  ok: boolean;
  status: string;
  detail: string;
  fix?: string;
}
export interface DoctorRun {
  code: number | null;
  lines: DoctorLine[];
  stderr: string;
}

export const ALL_CHECKS = ['config', 'plugins', 'spool', 'drain', 'runtime', 'reporter', 'chain', 'contract', 'key', 'provider', 'ldap', 'users', 'sbatch'];

/** The argv prefix that runs a command where the devnet's customers resolve (its mount namespace with gridlink; none with ldap). */
export const devnetPrefix = (s: DevnetState): string[] => (s.users?.resolver === 'gridlink' ? enterNamespace(s.users.namespacePid) : []);

/** The check the devnet's resolver leaves skipped: ldap with gridlink, users with ldap. */
export const devnetSkips = (s: DevnetState): string[] => [s.users?.resolver === 'gridlink' ? 'ldap' : 'users'];

/** `gridlink doctor --json` for the devnet `s` (its config unless `config` is given), from the build when it is fresh, else from source (harness/launch/gridlink-cli.ts). */
export function doctor(s: DevnetState, env: NodeJS.ProcessEnv, config = s.supervisor!.config): Promise<DoctorRun> {
  const argv = [...devnetPrefix(s), process.execPath, ...cliEntry(), 'doctor', '--json', '--timeout', '3', '--config', config, '--slurm-conf', s.slurm!.conf];
  const p = spawn(argv[0]!, argv.slice(1), { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => p.on('close', (code) => resolve({ code, lines: stdout ? (JSON.parse(stdout) as DoctorLine[]) : [], stderr })));
}

/** Exit 0, every check ok but the one the devnet's resolver skips. */
export function expectAllOk(s: DevnetState, r: DoctorRun): void {
  expect(r.code, `${JSON.stringify(r.lines, null, 1)}\n${r.stderr}`).toBe(0);
  expect(r.lines.map((l) => [l.check, l.status])).toEqual(ALL_CHECKS.map((c) => [c, devnetSkips(s).includes(c) ? 'skip' : 'ok']));
}

/** Exit 1, `failing` failed (and `skipped` skipped), every other check ok. */
export function expectOnly(s: DevnetState, r: DoctorRun, failing: string[], skipped: string[] = []): void {
  const msg = `${JSON.stringify(r.lines, null, 1)}\n${r.stderr}`;
  expect(r.code, msg).toBe(1);
  expect(r.lines.map((l) => l.check), msg).toEqual(ALL_CHECKS);
  for (const l of r.lines) expect(l.status, `${l.check}: ${l.detail}`).toBe(failing.includes(l.check) ? 'fail' : [...skipped, ...devnetSkips(s)].includes(l.check) ? 'skip' : 'ok');
  for (const l of r.lines.filter((x) => x.status === 'fail')) expect(l.fix, l.check).toBeTruthy();
}

/** The directory server stopped (SIGSTOP, then SIGCONT): the ldap check alone fails (the LDAP devnet). */
export async function expectLdapFault(s: DevnetState, env: NodeJS.ProcessEnv): Promise<void> {
  const pid = s.processes.find((p) => p.name === '389ds')!.pid;
  process.kill(pid, 'SIGSTOP');
  try {
    const r = await doctor(s, env);
    expectOnly(s, r, ['ldap']);
    expect(r.lines.find((l) => l.check === 'ldap')!.detail).toMatch(/LDAP directory .* (unreachable|did not answer)/);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

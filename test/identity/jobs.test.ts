// Jobs run as their customers' directory users: the grid (anvil, contracts,
// oracle, sbatch service, a 2-node SLURM cluster with the plugins) and the
// supervisor with users.resolver "ldap" on a private 389ds, SSSD serving it
// to this host's NSS (the controller's and the nodes'). No customer is in
// /etc/passwd: every user comes from the connector.
import { copyFileSync, existsSync, lstatSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

import type { Hex } from 'viem';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { getentPasswd, makeTestCa, start389ds, startSssd, type DirectoryServer, type Sssd } from '../../harness/directory/index.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import { packageRoot } from '../../src/native/index.js';
import type { Supervisor } from '../../src/compose/supervisor-root.js';
import type { LdapConfig } from '../../src/ldap/index.js';
import { PROMPT_EXIT_MS, sigterm } from '../helpers/sigterm.js';
import { waitFor } from '../plugins/with-plugins.js';
import { startGrid, startGridSupervisor, type Grid } from '../supervisor/grid.js';
import { adminClient, cliEntry, collect, connectorConfigFile, ldapConfigFor, posixAccounts, traversable } from './fixtures.js';

let dir: DirectoryServer;
let sssd: Sssd;
let grid: Grid;
let sup: Supervisor;
let ldap: LdapConfig;
/** The CA file the supervisor reads (a copy: the test swaps it for a wrong one). */
let caCopy: string;
const logs: string[] = [];

beforeAll(async () => {
  dir = await start389ds();
  sssd = await startSssd({ domains: [dir] });
  grid = await startGrid({ users: 'none', customers: 5 });
  const work = mkdtempSync(join(tmpdir(), 'gl-identity-jobs-'));
  caCopy = join(work, 'directory-ca.pem');
  copyFileSync(dir.caFile, caCopy);
  ldap = ldapConfigFor(dir, { caFile: caCopy, connectTimeoutMs: 2_000, timeoutMs: 5_000 });
  const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
  sup = await startGridSupervisor(grid, (c) => {
    c.users = { resolver: 'ldap', ldap, nssWaitMs: 20_000 };
  }, 60_000, logger);
}, 300_000);

afterAll(async () => {
  await sup?.stop();
  await grid?.stop();
  await sssd?.stop();
  await dir?.stop();
});

const customer = (i: number) => grid.customers[i]!.account.address;
const nameOf = (i: number) => customer(i).toLowerCase();
const homeOf = (i: number) => join(ldap.homeRoot, nameOf(i));

/** A job that records who it ran as, what NSS says of `others`, and whether it can read their homes. */
function probeScript(tag: string, others: number[]): string {
  return [
    '#!/bin/bash',
    `out="$HOME/${tag}.txt"`,
    'echo "uid=$(id -u) gid=$(id -g) user=$(id -un) home=$HOME" > "$out"',
    ...others.map((i) => `getent passwd ${nameOf(i)} | cut -d: -f1,3 >> "$out"`),
    ...others.map((i) => `if ls ${homeOf(i)} >/dev/null 2>&1; then echo "read ${nameOf(i)}" >> "$out"; else echo "denied ${nameOf(i)}" >> "$out"; fi`),
    'echo written > "$HOME/own-file"',
  ].join('\n');
}

async function runJob(i: number, script: string): Promise<Hex> {
  const id = await grid.requestJob({ customer: i, script });
  const done = await grid.waitStatus(id, [JobStatus.FINISHED, JobStatus.FAILED], 150_000);
  expect(done.status, `${done.lastError}\n${logs.slice(-15).join('')}`).toBe(JobStatus.FINISHED);
  return id;
}

const uidInDirectory = async (i: number) => (await posixAccounts(dir)).get(nameOf(i))?.uid;
const logged = (re: RegExp) => logs.some((l) => re.test(l));
const submittedToSlurm = async (id: Hex) => (await sup.backend.list()).some((j) => j.name === id.toLowerCase());

describe('jobs as directory users', () => {
  it('A and B each run as their own user in their own home; A cannot read B\'s home; NSS resolves both', async () => {
    await runJob(1, probeScript('b', []));
    await runJob(0, probeScript('a', [1]));
    const [uidA, uidB] = [await uidInDirectory(0), await uidInDirectory(1)];
    expect(uidA).toBeGreaterThanOrEqual(dir.uidRange.min);
    expect(uidB).not.toBe(uidA);
    const out = readFileSync(join(homeOf(0), 'a.txt'), 'utf8').trim().split('\n');
    expect(out).toEqual([
      `uid=${uidA} gid=${dir.group.gidNumber} user=${nameOf(0)} home=${homeOf(0)}`,
      `${nameOf(1)}:${uidB}`,
      `denied ${nameOf(1)}`,
    ]);
    for (const i of [0, 1]) {
      const st = lstatSync(join(homeOf(i), 'own-file'));
      expect(st.uid).toBe(await uidInDirectory(i));
    }
    // This host is the controller and both nodes of the test cluster.
    const nss = await getentPasswd([nameOf(0), nameOf(1)]);
    expect(nss.get(nameOf(0))?.uid).toBe(uidA);
    expect(nss.get(nameOf(1))?.uid).toBe(uidB);
  });

  it('directory down: the job is not submitted as anyone, the claim is kept and retried with an error naming the directory; back up: it runs as its customer', async () => {
    await dir.stopServer();
    let id: Hex;
    try {
      id = await grid.requestJob({ customer: 2, script: probeScript('c', []) });
      await waitFor('the supervisor to report the directory unreachable', async () => logged(new RegExp(`the LDAP directory ${dir.url.replace(/[.]/g, '\\.')} is unreachable`)), 60_000);
      expect(await submittedToSlurm(id)).toBe(false);
      expect(sup.claims.latestFor(id)?.slurmJobId ?? null).toBeNull();
    } finally {
      await dir.startServer();
      sssd.goOnline(); // SSSD: retry now instead of at its next offline check
    }
    const done = await grid.waitStatus(id, [JobStatus.FINISHED, JobStatus.FAILED], 150_000);
    expect(done.status).toBe(JobStatus.FINISHED);
    expect(readFileSync(join(homeOf(2), 'c.txt'), 'utf8')).toContain(`uid=${await uidInDirectory(2)} `);
  });

  it('the directory\'s certificate not trusted: not submitted, the error says so; the right CA back: it runs', async () => {
    const wrong = makeTestCa(mkdtempSync(join(tmpdir(), 'gl-wrong-ca-')), 'not-the-directory-ca');
    copyFileSync(wrong.caFile, caCopy);
    // Drop the supervisor's session so that it connects again with the wrong CA.
    await dir.stopServer();
    await dir.startServer();
    let id: Hex;
    try {
      id = await grid.requestJob({ customer: 3, script: probeScript('d', []) });
      await waitFor('the supervisor to report the certificate', async () => logged(/is not trusted .*set caFile to the CA that signed it/), 60_000);
      expect(await submittedToSlurm(id)).toBe(false);
    } finally {
      copyFileSync(dir.caFile, caCopy);
    }
    const done = await grid.waitStatus(id, [JobStatus.FINISHED, JobStatus.FAILED], 150_000);
    expect(done.status).toBe(JobStatus.FINISHED);
    expect(readFileSync(join(homeOf(3), 'd.txt'), 'utf8')).toContain(`uid=${await uidInDirectory(3)} `);
  });

  it('a connector killed with -9 right after adding the entry leaves no half-made user: the supervisor finishes it and the job runs', async () => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(packageRoot, 'test/identity/crash-entry.ts'), connectorConfigFile({ ...ldap, caFile: dir.caFile }), 'entry-added', customer(4)], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r = await collect(p);
    expect(r.signal, r.stderr).toBe('SIGKILL');
    expect(await uidInDirectory(4)).toBeDefined();
    expect(existsSync(homeOf(4))).toBe(false);
    await runJob(4, probeScript('e', []));
    const st = lstatSync(homeOf(4));
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([await uidInDirectory(4), dir.group.gidNumber, 0o700]);
    expect(readFileSync(join(homeOf(4), 'e.txt'), 'utf8')).toContain(`uid=${await uidInDirectory(4)} `);
  });

  it('`gridlink ldap-connector run` follows the provider\'s claims: a user for each claimed job\'s customer, cursor kept, SIGTERM exits 0 within 5 s', async () => {
    // Its own subtree and counter (server "openldap" allocation works on any server), so it creates what the supervisor already did.
    const admin = await adminClient(dir);
    const followedDn = `ou=Followed,${dir.suffix}`;
    const groupDn = `cn=followed,${dir.groupsDn}`;
    try {
      await admin.add(followedDn, { objectClass: ['top', 'organizationalUnit'], ou: 'Followed' });
      await admin.add(groupDn, { objectClass: ['top', 'posixGroup'], cn: 'followed', gidNumber: '59100' });
    } finally {
      await admin.unbind();
    }
    const work = traversable(mkdtempSync(join(tmpdir(), 'gl-follow-')));
    const cfg = join(work, 'connector.json');
    const followed = { ...ldap, caFile: dir.caFile, server: 'openldap', usersDn: followedDn, group: { dn: groupDn, gidNumber: 59100 }, homeRoot: join(work, 'homes'), uidNumbers: { min: 400000, max: 400999 } };
    const stateFile = join(work, 'state', 'cursor.json');
    writeFileSync(cfg, JSON.stringify({ ldap: followed, follow: { rpcUrl: grid.anvil.rpcUrl, metaScheduler: grid.configInput().chain.metaScheduler, provider: grid.provider.address, fromBlock: 0, pollMs: 200, stateFile } }));
    const p = spawn(process.execPath, [...cliEntry(), 'ldap-connector', 'run', '--config', cfg], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = collect(p);
    let stopped: ReturnType<typeof sigterm> | undefined;
    const claimed = [0, 1, 2, 3, 4].map(nameOf);
    try {
      await waitFor('users for the five customers with claimed jobs', async () => {
        const c = await adminClient(dir);
        try {
          const r = await c.search(followedDn, { scope: 'one', filter: '(objectClass=posixAccount)', attributes: ['uid', 'uidNumber'] });
          return r.searchEntries.length >= claimed.length;
        } finally {
          await c.unbind();
        }
      }, 60_000);
    } finally {
      stopped = sigterm(p);
    }
    const r = await exited;
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect((await stopped)!.ms, r.stderr.slice(-2000)).toBeLessThan(PROMPT_EXIT_MS);
    const c = await adminClient(dir);
    const r2 = await c.search(followedDn, { scope: 'one', filter: '(objectClass=posixAccount)', attributes: ['uid', 'uidNumber'] });
    await c.unbind();
    expect(r2.searchEntries.map((e) => String(e.uid)).sort()).toEqual([...claimed].sort());
    expect(new Set(r2.searchEntries.map((e) => Number(e.uidNumber))).size).toBe(claimed.length);
    expect(BigInt((JSON.parse(readFileSync(stateFile, 'utf8')) as { block: string }).block)).toBeGreaterThan(0n);
  });
});

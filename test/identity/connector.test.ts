// The identity connector against real directories: a private 389ds and a
// private OpenLDAP (the same suite on each), with one SSSD serving both to
// this host's NSS. Complete users, idempotence, a kill -9 at every step,
// 1,000 users from four connector processes at once, and a directory that is
// down, untrusted or refuses the bind.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { getentPasswd, makeTestCa, start389ds, startOpenLdap, startSssd, type DirectoryServer, type Sssd } from '../../harness/directory/index.js';
import { createLdapConnector, DirectoryError, type LdapConfig } from '../../src/ldap/index.js';
import { adminClient, collect, connectorCli, connectorConfigFile, freshAddresses, groupMembers, ldapConfigFor, posixAccounts, tempFile } from './fixtures.js';
import { packageRoot } from '../../src/native/index.js';

const log = pino({ level: process.env.GL_TEST_LOG ?? 'silent' });
const servers: Partial<Record<'389ds' | 'openldap', DirectoryServer>> = {};
let sssd: Sssd | undefined;

beforeAll(async () => {
  const [ds, ol] = await Promise.all([start389ds(), startOpenLdap()]);
  servers['389ds'] = ds;
  servers.openldap = ol;
  sssd = await startSssd({ domains: [ds, ol] });
}, 240_000);

afterAll(async () => {
  await sssd?.stop();
  await Promise.all(Object.values(servers).map((s) => s?.stop()));
});

const lower = (a: string) => a.toLowerCase();

async function expectComplete(dir: DirectoryServer, config: LdapConfig, address: string): Promise<{ uid: number }> {
  const name = lower(address);
  const entry = (await posixAccounts(dir)).get(name);
  expect(entry, `entry of ${name}`).toBeDefined();
  expect(entry!.gid).toBe(dir.group.gidNumber);
  expect(entry!.uid).toBeGreaterThanOrEqual(dir.uidRange.min);
  expect(entry!.uid).toBeLessThanOrEqual(dir.uidRange.max);
  expect(entry!.home).toBe(join(config.homeRoot, name));
  expect((await groupMembers(dir)).has(name)).toBe(true);
  const st = lstatSync(entry!.home);
  expect([st.isDirectory(), st.uid, st.gid, st.mode & 0o7777]).toEqual([true, entry!.uid, dir.group.gidNumber, 0o700]);
  return { uid: entry!.uid };
}

function crashAt(config: LdapConfig, step: string, address: string) {
  const p = spawn(process.execPath, ['--import', 'tsx', join(packageRoot, 'test/identity/crash-entry.ts'), connectorConfigFile(config), step, address], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(p);
}

describe.each(['389ds', 'openldap'] as const)('%s', (kind) => {
  const dir = () => servers[kind]!;

  it('creates a complete user: entry, group membership, home 0700; NSS resolves it through SSSD', async () => {
    const config = ldapConfigFor(dir());
    const c = createLdapConnector({ config, log });
    const [a] = freshAddresses(1) as [string];
    const u = await c.ensureUser(a);
    await c.close();
    expect(u).toMatchObject({ name: lower(a), gid: dir().group.gidNumber, home: join(config.homeRoot, lower(a)), created: true });
    const { uid } = await expectComplete(dir(), config, a);
    expect(u.uid).toBe(uid);
    const nss = await getentPasswd([lower(a)]);
    expect(nss.get(lower(a))).toEqual({ uid, gid: dir().group.gidNumber, home: u.home });
  });

  it('is idempotent: the same address in any case, from several connectors at once, is one user', async () => {
    const config = ldapConfigFor(dir());
    const [a] = freshAddresses(1) as [string];
    const cs = Array.from({ length: 4 }, () => createLdapConnector({ config: { ...config, cacheMs: 0 }, log }));
    const got = await Promise.all(cs.flatMap((c) => [c.ensureUser(a), c.ensureUser(lower(a)), c.ensureUser(`0x${a.slice(2).toUpperCase()}`)]));
    await Promise.all(cs.map((c) => c.close()));
    expect(new Set(got.map((u) => u.uid)).size).toBe(1);
    // Concurrent calls of one connector share one creation; of the four connectors exactly one added the entry.
    const creators = [0, 1, 2, 3].filter((i) => got.slice(i * 3, i * 3 + 3).some((u) => u.created));
    expect(creators).toHaveLength(1);
    const entries = [...(await posixAccounts(dir())).keys()].filter((n) => n === lower(a));
    expect(entries).toHaveLength(1);
    await expectComplete(dir(), config, a);
  });

  it.each(['uid-allocated', 'entry-added', 'member-added'])('killed with -9 right after %s, restarted: no half-made user', async (step) => {
    const config = ldapConfigFor(dir());
    const [a] = freshAddresses(1) as [string];
    const r = await crashAt(config, step, a);
    expect(r.signal, r.stderr).toBe('SIGKILL');
    const entry = (await posixAccounts(dir())).get(lower(a));
    // The kill left the user absent or an entry without home: never a home without entry.
    if (step === 'uid-allocated') expect(entry).toBeUndefined();
    else expect(entry).toBeDefined();
    expect(existsSync(join(config.homeRoot, lower(a)))).toBe(false);
    const c = createLdapConnector({ config, log });
    const u = await c.ensureUser(a);
    await c.close();
    const { uid } = await expectComplete(dir(), config, a);
    expect(u.uid).toBe(uid);
  });

  it('killed with -9 at random instants while creating 30 users, then run again: every user complete, uidNumbers unique', async () => {
    const config = ldapConfigFor(dir());
    const addrs = freshAddresses(30);
    const from = tempFile('addresses', addrs.join('\n'));
    const cfg = connectorConfigFile(config);
    // Killed after its 4th and 17th user, plus a random 0-40 ms: mid-way through others' creations.
    for (const n of [4, 17]) {
      const p = connectorCli(['ensure', '--config', cfg, '--from', from, '--concurrency', '4']);
      const done = collect(p);
      let lines = 0;
      p.stdout!.on('data', (d: Buffer) => {
        lines += d.toString().split('\n').length - 1;
        if (lines >= n) setTimeout(() => p.kill('SIGKILL'), Math.random() * 40);
      });
      const r = await done;
      expect(r.signal, `run killed after ${n} users`).toBe('SIGKILL');
    }
    // The kills left users behind that are not complete yet, or all complete: either way the next run finishes them.
    const r = await collect(connectorCli(['ensure', '--config', cfg, '--from', from, '--concurrency', '4']));
    expect(r.code, r.stderr).toBe(0);
    const uids = new Set<number>();
    for (const a of addrs) uids.add((await expectComplete(dir(), config, a)).uid);
    expect(uids.size).toBe(30);
  });

  it('1,000 users created concurrently by four connector processes: unique uidNumbers, every one resolvable with getent', async () => {
    const config = ldapConfigFor(dir());
    const cfg = connectorConfigFile(config);
    const addrs = freshAddresses(1_000);
    // Each process gets its quarter plus 20 addresses every process also creates (races on one user).
    const shared = addrs.slice(0, 20);
    const files = [0, 1, 2, 3].map((i) => tempFile(`part${i}`, [...addrs.slice(20 + i * 245, 20 + (i + 1) * 245), ...shared].join('\n')));
    const runs = await Promise.all(files.map((f) => collect(connectorCli(['ensure', '--config', cfg, '--from', f, '--concurrency', '16', '--json']))));
    for (const r of runs) expect(r.code, r.stderr.slice(0, 2000)).toBe(0);
    const reported = new Map<string, number>();
    for (const r of runs)
      for (const line of r.stdout.trim().split('\n')) {
        const u = JSON.parse(line) as { name: string; uid: number };
        if (reported.has(u.name)) expect(reported.get(u.name)).toBe(u.uid);
        reported.set(u.name, u.uid);
      }
    expect(reported.size).toBe(1_000);
    const entries = await posixAccounts(dir());
    const ours = addrs.map((a) => entries.get(lower(a)));
    expect(ours.every(Boolean)).toBe(true);
    const uidsInDirectory = [...entries.values()].map((e) => e.uid);
    expect(new Set(uidsInDirectory).size).toBe(uidsInDirectory.length);
    const nss = await getentPasswd(addrs.map(lower));
    const missing = addrs.map(lower).filter((n) => !nss.has(n));
    expect(missing, `not resolved by getent: ${missing.slice(0, 5).join(' ')}`).toEqual([]);
    for (const a of addrs) expect(nss.get(lower(a))!.uid).toBe(entries.get(lower(a))!.uid);
    const members = await groupMembers(dir());
    const notMembers = addrs.map(lower).filter((n) => !members.has(n));
    expect(notMembers, 'every one of the 1,000 is in the cluster-users group').toEqual([]);
  }, 300_000);

  it('directory down: a clear, retryable error; back up: the user is created', async () => {
    const config = ldapConfigFor(dir(), { connectTimeoutMs: 2_000, timeoutMs: 3_000 });
    const c = createLdapConnector({ config, log });
    const [a] = freshAddresses(1) as [string];
    await dir().stopServer();
    try {
      const err = (await c.ensureUser(a).catch((e: unknown) => e)) as DirectoryError;
      expect(err).toBeInstanceOf(DirectoryError);
      expect([err.kind, err.retryable]).toEqual(['unreachable', true]);
      expect(err.message).toContain(`the LDAP directory ${dir().url} is unreachable`);
    } finally {
      await dir().startServer();
    }
    const u = await c.ensureUser(a);
    await c.close();
    expect((await expectComplete(dir(), config, a)).uid).toBe(u.uid);
  });

  it('a certificate from another CA, a wrong password: clear errors, nothing written', async () => {
    const [a] = freshAddresses(1) as [string];
    const wrongCa = makeTestCa(mkdtempSync(join(tmpdir(), 'gl-wrong-ca-')), 'not-the-directory-ca');
    for (const [config, kindWanted, msg] of [
      [ldapConfigFor(dir(), { caFile: wrongCa.caFile }), 'certificate', /is not trusted .*set caFile to the CA that signed it/],
      [ldapConfigFor(dir(), { url: dir().ldapsUrl, caFile: wrongCa.caFile }), 'certificate', /is not trusted/],
      [ldapConfigFor(dir(), { bindPasswordFile: tempFile('pw', 'wrong') }), 'bind', /refused the bind as .*invalid credentials/],
    ] as const) {
      if (kindWanted === 'bind') chmodSync(config.bindPasswordFile, 0o600);
      const c = createLdapConnector({ config, log });
      const err = (await c.ensureUser(a).catch((e: unknown) => e)) as DirectoryError;
      await c.close();
      expect(err).toBeInstanceOf(DirectoryError);
      expect(err.kind).toBe(kindWanted);
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(msg);
    }
    expect((await posixAccounts(dir())).has(lower(a))).toBe(false);
  });

  // Cases of a directory without 389ds's DNA plugin: they exist for OpenLDAP only
  // (defined there only, so nothing is skipped on 389ds).
  if (kind === 'openldap') {
    it('a directory without DNA given server "389ds": the magic uidNumber is caught, the entry removed, the error says to configure DNA', async () => {
      const config = ldapConfigFor(dir(), { server: '389ds' });
      const [a] = freshAddresses(1) as [string];
      const c = createLdapConnector({ config, log });
      const e = (await c.ensureUser(a).catch((x: unknown) => x)) as DirectoryError;
      await c.close();
      expect([e.kind, e.retryable]).toEqual(['conflict', false]);
      expect(e.message).toMatch(/DNA plugin is not configured .* \(the entry was removed again\)/);
      expect((await posixAccounts(dir())).has(lower(a))).toBe(false);
    });

    it('two entries sharing a uidNumber: the user is refused, never returned', async () => {
      const config = ldapConfigFor(dir(), { cacheMs: 0 });
      const [a] = freshAddresses(1) as [string];
      const c = createLdapConnector({ config, log });
      const u = await c.ensureUser(a);
      const admin = await adminClient(dir());
      await admin.add(`uid=intruder,${dir().usersDn}`, { objectClass: ['top', 'account', 'posixAccount'], uid: 'intruder', cn: 'intruder', uidNumber: String(u.uid), gidNumber: String(dir().group.gidNumber), homeDirectory: '/tmp/intruder' });
      try {
        const e = (await c.ensureUser(a).catch((x: unknown) => x)) as DirectoryError;
        expect([e.kind, e.retryable]).toEqual(['conflict', false]);
        expect(e.message).toMatch(new RegExp(`shares uidNumber ${u.uid} with another entry`));
      } finally {
        await admin.del(`uid=intruder,${dir().usersDn}`);
        await admin.unbind();
        await c.close();
      }
    });
  }

  it('`gridlink ldap-connector check` says what holds', async () => {
    const good = connectorConfigFile(ldapConfigFor(dir()));
    const bad = connectorConfigFile(ldapConfigFor(dir(), { group: { dn: dir().group.dn, gidNumber: 4242 } }));
    const [r, r2] = await Promise.all([collect(connectorCli(['check', '--config', good])), collect(connectorCli(['check', '--config', bad]))]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ok: ${dir().url.replace(/[.]/g, '\\.')} as .* has \\d+ members`));
    expect(r2.code).toBe(1);
    expect(r2.stdout).toMatch(/^FAILED: the group .* has gidNumber .*, the configuration says 4242/);
  });
});

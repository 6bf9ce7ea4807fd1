// The directory harness against real servers: 389-ds-base and OpenLDAP
// started privately, TLS verified with their CA (and refused with another),
// uidNumbers from 389ds's DNA, users seen through NSS via ONE SSSD with both
// servers as domains, and a server stopped and started again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidCredentialsError, type Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/util/proc.js';
import { getentPasswd, makeTestCa, startDirectory, startSssd, type DirectoryKind, type DirectoryServer, type Sssd, type TestCa } from '../../harness/directory/index.js';
import { ldapConnect, tryBind } from '../../harness/directory/types.js';

const KINDS: DirectoryKind[] = ['389ds', 'openldap'];
const servers = {} as Record<DirectoryKind, DirectoryServer>;
const pids: number[] = [];
let sssd: Sssd | undefined;
let wrongDir: string;
let wrongCa: TestCa;

/** A login per kind and run: never cached by an earlier run's SSSD. */
const stamp = Date.now().toString(36);
const login = (kind: DirectoryKind, i = 0) => `gl${kind === '389ds' ? 'ds' : 'ol'}${stamp}u${i}`;

beforeAll(async () => {
  const t0 = Date.now();
  const started = await Promise.allSettled(KINDS.map((k) => startDirectory(k)));
  for (const [i, r] of started.entries()) if (r.status === 'fulfilled') servers[KINDS[i]!] = r.value;
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  for (const s of Object.values(servers)) pids.push(s.pid()!);
  console.log(`directories up in ${Date.now() - t0} ms: ${KINDS.map((k) => `${k} ${servers[k].startMs} ms`).join(', ')}; 389ds steps ${JSON.stringify(servers['389ds'].startSteps)}`);
  wrongDir = mkdtempSync(path.join(tmpdir(), 'gl-wrong-ca-'));
  wrongCa = makeTestCa(wrongDir, 'not-the-directory-ca');
});

afterAll(async () => {
  await sssd?.stop();
  await Promise.all(Object.values(servers).map((s) => s.stop()));
  if (wrongDir) rmSync(wrongDir, { recursive: true, force: true });
  // Teardown leaves nothing: every server PID we saw is gone, and so is SSSD.
  for (const pid of pids) expect(isAlive(pid), `pid ${pid} still alive`).toBe(false);
});

async function admin(s: DirectoryServer, url = s.url): Promise<Client> {
  const c = await ldapConnect(url, s.caFile);
  await c.bind(s.bindDn, s.bindPassword);
  return c;
}

async function addUser(c: Client, s: DirectoryServer, name: string, uidNumber: string): Promise<void> {
  await c.add(`uid=${name},${s.usersDn}`, {
    objectClass: ['top', 'account', 'posixAccount'],
    uid: name,
    cn: name,
    uidNumber,
    gidNumber: String(s.group.gidNumber),
    homeDirectory: `/home/${name}`,
  });
}

async function uidNumberOf(c: Client, s: DirectoryServer, name: string): Promise<number> {
  const r = await c.search(`uid=${name},${s.usersDn}`, { scope: 'base', attributes: ['uidNumber'] });
  return Number(r.searchEntries[0]?.uidNumber);
}

describe.each(KINDS)('%s', (kind) => {
  it('runs privately with its skeleton: People, Groups, the posixGroup', async () => {
    const s = servers[kind];
    expect(s.url).toMatch(/^ldap:\/\/127\.0\.0\.1:\d+$/);
    expect(s.ldapsUrl).toMatch(/^ldaps:\/\/127\.0\.0\.1:\d+$/);
    expect(s.pid()).toBeGreaterThan(0);
    expect(s.baseDir.startsWith('/tmp/')).toBe(true);
    expect(s.group).toEqual({ dn: `cn=gridlink-customers,ou=Groups,dc=gridlink,dc=test`, cn: 'gridlink-customers', gidNumber: kind === '389ds' ? 59001 : 59002 });
    const c = await admin(s);
    try {
      const g = await c.search(s.group.dn, { scope: 'base', attributes: ['gidNumber', 'objectClass'] });
      expect(Number(g.searchEntries[0]?.gidNumber)).toBe(s.group.gidNumber);
      const ous = await c.search(s.suffix, { scope: 'one', filter: '(objectClass=organizationalUnit)', attributes: ['ou'] });
      expect(ous.searchEntries.map((e) => e.dn).sort()).toEqual([s.groupsDn, s.usersDn].sort());
      if (kind === '389ds') {
        // What SSSD and the connector search by has an equality index.
        const idx = await c.search('cn=index,cn=userroot,cn=ldbm database,cn=plugins,cn=config', { scope: 'one', attributes: ['cn', 'nsIndexType'] });
        const eq = new Set(idx.searchEntries.filter((e) => [e.nsIndexType].flat().map(String).includes('eq')).map((e) => String(e.cn).toLowerCase()));
        for (const a of ['uid', 'uidnumber', 'gidnumber', 'memberuid', 'objectclass', 'cn']) expect(eq.has(a), `eq index on ${a}`).toBe(true);
      }
    } finally {
      await c.unbind();
    }
  });

  it('binds over StartTLS and LDAPS with its CA, and a client with another CA is refused', async () => {
    const s = servers[kind];
    await tryBind(s.url, s.bindDn, s.bindPassword, s.caFile);
    await tryBind(s.ldapsUrl, s.bindDn, s.bindPassword, s.caFile);
    await expect(tryBind(s.url, s.bindDn, s.bindPassword, wrongCa.caFile)).rejects.toThrow(/certificate/i);
    await expect(tryBind(s.ldapsUrl, s.bindDn, s.bindPassword, wrongCa.caFile)).rejects.toThrow(/certificate/i);
    await expect(tryBind(s.url, s.bindDn, 'wrong password', s.caFile)).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it(kind === '389ds' ? 'assigns uidNumbers in range by DNA, distinct under 50 parallel adds' : 'takes a posixAccount with an explicit uidNumber', async () => {
    const s = servers[kind];
    const clients = await Promise.all(Array.from({ length: kind === '389ds' ? 5 : 1 }, () => admin(s)));
    try {
      if (kind === 'openldap') {
        await addUser(clients[0]!, s, login(kind), String(s.uidRange.min + 5));
        expect(await uidNumberOf(clients[0]!, s, login(kind))).toBe(s.uidRange.min + 5);
        return;
      }
      const names = Array.from({ length: 50 }, (_, i) => login(kind, i));
      await Promise.all(names.map((n, i) => addUser(clients[i % clients.length]!, s, n, '-1')));
      const uids = await Promise.all(names.map((n) => uidNumberOf(clients[0]!, s, n)));
      expect(new Set(uids).size).toBe(50);
      for (const u of uids) expect(u >= s.uidRange.min && u <= s.uidRange.max, `uidNumber ${u}`).toBe(true);
    } finally {
      await Promise.all(clients.map((c) => c.unbind()));
    }
  });
});

describe('SSSD with both directories as domains', () => {
  it('resolves the users of both through NSS', async () => {
    sssd = await startSssd({ domains: [servers['389ds'], servers.openldap] });
    pids.push(sssd.pid()!);
    console.log(`sssd: NSS answered ${sssd.firstResolveMs} ms after start`);
    const c = await admin(servers['389ds']);
    const dsUid = await uidNumberOf(c, servers['389ds'], login('389ds')).finally(() => c.unbind());
    const missing = `glnobody${stamp}`;
    const t0 = Date.now();
    const nss = await getentPasswd([login('389ds'), login('openldap'), missing]);
    console.log(`getent passwd (3 names, cold cache): ${Date.now() - t0} ms`);
    expect(nss.get(login('389ds'))).toEqual({ uid: dsUid, gid: 59001, home: `/home/${login('389ds')}` });
    expect(nss.get(login('openldap'))).toEqual({ uid: servers.openldap.uidRange.min + 5, gid: 59002, home: `/home/${login('openldap')}` });
    expect(nss.has(missing)).toBe(false);
    // 50 names in one getent: the DNA-numbered users all resolve.
    const many = await getentPasswd(Array.from({ length: 50 }, (_, i) => login('389ds', i)));
    expect(many.size).toBe(50);
  });
});

describe.each(KINDS)('%s down and up again', (kind) => {
  it('refuses connections while stopped and serves the same data after startServer', async () => {
    const s = servers[kind];
    const t0 = Date.now();
    await s.stopServer();
    const stopMs = Date.now() - t0;
    expect(s.pid()).toBeUndefined();
    await expect(tryBind(s.url, s.bindDn, s.bindPassword, s.caFile)).rejects.toThrow(/ECONNREFUSED/);
    await expect(tryBind(s.ldapsUrl, s.bindDn, s.bindPassword, s.caFile)).rejects.toThrow(/ECONNREFUSED/);
    const t1 = Date.now();
    await s.startServer();
    console.log(`${kind}: stopServer ${stopMs} ms, startServer ${Date.now() - t1} ms`);
    pids.push(s.pid()!);
    const c = await admin(s, s.ldapsUrl);
    try {
      expect(await uidNumberOf(c, s, login(kind))).toBeGreaterThanOrEqual(s.uidRange.min);
    } finally {
      await c.unbind();
    }
  });
});

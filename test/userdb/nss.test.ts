// libnss_gridlink.so.2 through glibc (getpwnam_r, getpwuid_r, getgrnam_r,
// getgrgid_r, getgrouplist, getpwnam), in a mount namespace with its own
// nsswitch.conf ("files gridlink") and users database: the file the
// supervisor's writer makes (src/userdb) read with libcdb; ERANGE; hostile
// names and records; a missing, truncated, corrupt or non-regular file is
// "not found" and never a crash or a hang; versions replaced under a reader.
// Cluster lane: it writes /var/lib/gridlink/nss (the mount point) and mounts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openStateDb } from '../../src/compose/state-store.js';
import { buildCdb } from '../../src/userdb/cdb.js';
import { buildUsersDb, VERSION_KEY } from '../../src/userdb/format.js';
import { UsersDbPublisher } from '../../src/userdb/publisher.js';
import { UserStore } from '../../src/userdb/store.js';
import { buildNss, inNssNamespace, writeNsswitch } from '../../harness/nss/namespace.js';
import { startQuerier, type NssQuerier } from './nss-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'gl-nss-'));
const dbDir = join(dir, 'db');
const file = join(dbDir, 'users.cdb');
const addr = (i: number) => `0x${i.toString(16).padStart(40, '0')}`;
let q: NssQuerier;
let nsswitch: string;

/** Replaces the users database the way the supervisor does: a whole file renamed into place. */
function put(data: Uint8Array): void {
  writeFileSync(`${file}.new`, data);
  renameSync(`${file}.new`, file);
}

const user = (i: number) => ({ name: addr(i), uid: 200_000 + i, gid: 200_000 + i, home: `/home/${addr(i)}`, shell: '/bin/bash', gecos: 'gridlink customer' });
const line = (i: number) => `${addr(i)}:${200_000 + i}:${200_000 + i}:gridlink customer:/home/${addr(i)}:/bin/bash`;

beforeAll(() => {
  buildNss();
  execFileSync('mkdir', ['-p', dbDir]);
  nsswitch = writeNsswitch(dir, 'files gridlink');
  q = startQuerier(nsswitch, dbDir);
}, 120_000);
afterAll(async () => {
  await q?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('libnss_gridlink.so.2', () => {
  it('exports the NSS entry points and nothing else', () => {
    const syms = execFileSync('nm', ['-D', '--defined-only', join(buildNss(), 'libnss_gridlink.so.2')], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ').pop());
    expect(syms.sort()).toEqual(
      ['endgrent', 'endpwent', 'getgrent_r', 'getgrgid_r', 'getgrnam_r', 'getpwent_r', 'getpwnam_r', 'getpwuid_r', 'initgroups_dyn', 'setgrent', 'setpwent'].map((f) => `_nss_gridlink_${f}`),
    );
  });

  it('resolves the users the supervisor\'s writer put in the file, by name and uid, their groups, and nothing else', async () => {
    const store = new UserStore(openStateDb(join(dir, 'state.db')), { firstUid: 300_000, maxUid: 400_000, homeRoot: '/home' });
    const pub = new UsersDbPublisher({ store, path: file, minUid: 1000, shell: '/bin/bash' });
    for (let i = 1; i <= 3; i++) store.ensure(addr(i));
    await pub.publish();
    const a = addr(1);
    expect(await q.ask(`pwnam ${a}`)).toBe(`${a}:300000:300000:gridlink customer:/home/${a}:/bin/bash`);
    expect(await q.ask('pwuid 300001')).toBe(`${addr(2)}:300001:300001:gridlink customer:/home/${addr(2)}:/bin/bash`);
    expect(await q.ask(`grnam ${addr(3)}`)).toBe(`${addr(3)}:300002:${addr(3)}`);
    expect(await q.ask('grgid 300002')).toBe(`${addr(3)}:300002:${addr(3)}`);
    // getgrouplist: the group passed in, then the private group (and none of another customer's)
    expect(await q.ask(`groups ${a} 100`)).toBe('100,300000');
    expect(await q.ask(`groups ${a} 300000`)).toBe('300000');
    expect(await q.ask(`pwnam ${addr(4)}`)).toBe('notfound');
    expect(await q.ask('pwuid 300003')).toBe('notfound');
    expect(await q.ask('pwnam root')).toMatch(/^root:0:0:/); // files still answers first
    // a new version is seen by the same process, without a restart
    store.ensure(addr(4));
    await pub.publish();
    expect(await q.ask(`pwnam ${addr(4)}`)).toMatch(new RegExp(`^${addr(4)}:300003:`));
  });

  it('1,000 customers added in a burst are all resolvable through glibc, by name and by uid', async () => {
    const store = new UserStore(openStateDb(join(dir, 'burst.db')), { firstUid: 500_000, maxUid: 600_000, homeRoot: '/home' });
    const pub = new UsersDbPublisher({ store, path: file, minUid: 1000, shell: '/bin/bash' });
    const users = Array.from({ length: 1000 }, (_, i) => store.ensure(addr(0x100000 + i)));
    await Promise.all(users.map(() => pub.publish()));
    for (const u of users) {
      expect(await q.ask(`pwnam ${u.name}`)).toBe(`${u.name}:${u.uid}:${u.gid}:gridlink customer:/home/${u.name}:/bin/bash`);
      expect(await q.ask(`pwuid ${u.uid}`)).toMatch(new RegExp(`^${u.name}:`));
    }
    expect(new Set(users.map((u) => u.uid)).size).toBe(1000);
  }, 120_000);

  it('answers ERANGE while the buffer is too small, then the entry; getpwnam grows its own', async () => {
    put(buildUsersDb({ version: 1, minUid: 1000, users: [user(1)] }));
    // nsswitch "gridlink" alone: with "files" first, a line of this host's /etc/passwd longer than the buffer is files' ERANGE
    const alone = mkdtempSync(join(dir, 'alone-'));
    const qa = startQuerier(writeNsswitch(alone, 'gridlink'), dbDir);
    try {
      // the strings and their NULs: name, "x", gecos, home, shell
      const need = 42 + 1 + 2 + 'gridlink customer'.length + 1 + `/home/${addr(1)}`.length + 1 + '/bin/bash'.length + 1;
      for (let len = 0; len < need; len++) expect(await qa.ask(`pwnam ${addr(1)} ${len}`), `buffer of ${len}`).toBe('error ERANGE');
      for (const len of [need, need + 1, 4096]) expect(await qa.ask(`pwnam ${addr(1)} ${len}`)).toBe(line(1));
      expect(await qa.ask(`pwuid 200001 ${need - 1}`)).toBe('error ERANGE');
      expect(await qa.ask(`pwuid 200001 ${need}`)).toBe(line(1));
      for (let len = 0; len <= 200; len += 7) expect(await qa.ask(`grgid 200001 ${len}`)).toMatch(/^(error ERANGE|0x0+1:200001:0x0+1)$/);
      expect(await qa.ask(`grgid 200001 200`)).toBe(`${addr(1)}:200001:${addr(1)}`);
      expect(await qa.ask(`pwnam-grow ${addr(1)}`)).toBe(line(1));
    } finally {
      await qa.close();
    }
    expect(await q.ask(`pwnam-grow ${addr(1)}`)).toBe(line(1)); // with files first too (glibc grows past files' longest line)
  });

  it('never finds a name that is not a lower-case 0x address, a system uid or a record that lies, whatever the file holds', async () => {
    const rec = (...f: Array<string | number>) => Buffer.from(f.join('\0'));
    const b = (s: string) => Buffer.from(s);
    const upper = `0x${'A'.repeat(40)}`;
    const tail = `${addr(9)}x`;
    put(
      buildCdb([
        [b(VERSION_KEY), rec(1, 1, 1000)],
        [b('p:evil'), rec('evil', 5000, 5000, '', '/home/evil', '/bin/sh')],
        [b('u:5000'), b('evil')],
        [b(`p:${upper}`), rec(upper, 5001, 5001, '', '/h', '/bin/sh')],
        [b(`p:${tail}`), rec(tail, 5002, 5002, '', '/h', '/bin/sh')],
        [b(`p:${addr(1)}`), rec(addr(1), 0, 0, '', '/root', '/bin/sh')], // uid 0
        [b('u:0'), b(addr(1))],
        [b(`p:${addr(2)}`), rec(addr(2), 999, 999, '', '/h', '/bin/sh')], // below minUid
        [b('u:999'), b(addr(2))],
        [b(`p:${addr(3)}`), rec(addr(3), 6003, 6003, '', '/h', '/bin/sh')],
        [b('u:7003'), b(addr(3))], // points at a user of another uid
        [b(`p:${addr(4)}`), rec(addr(2), 6004, 6004, '', '/h', '/bin/sh')], // record of another name
        [b(`p:${addr(5)}`), rec(addr(5), 6005, 6005, 'a:b', '/h', '/bin/sh')], // ':' in a field
        [b(`p:${addr(6)}`), rec(addr(6), 6006, 6006, '', 'relative', '/bin/sh')],
        [b(`p:${addr(7)}`), rec(addr(7), '06007', 6007, '', '/h', '/bin/sh')], // not a plain number
        [b(`p:${addr(8)}`), rec(addr(8), 6008, 6008, '', '/h')], // a field short
        [b(`g:${addr(8)}`), rec(addr(8), 6008, 'root,evil')], // members that are not customers
        [b('G:6008'), b(addr(8))],
        [b(`p:${addr(10)}`), rec(addr(10), 6010, 6010, '', '/h', '/bin/sh')], // the one good record
        [b('u:6010'), b(addr(10))],
      ]),
    );
    for (const name of ['evil', upper, tail, addr(1), addr(2), addr(4), addr(5), addr(6), addr(7), addr(8), '-', `${addr(10)}%0a`, `${addr(10).slice(0, 41)}`, `%20${addr(10)}`])
      expect(await q.ask(`pwnam ${name}`), name).toBe('notfound');
    expect(await q.ask(`pwnam ${addr(3)}`)).toBe(`${addr(3)}:6003:6003::/h:/bin/sh`); // its own record is sound
    for (const uid of [5000, 0, 999, 7003]) expect(await q.ask(`pwuid ${uid}`), String(uid)).toMatch(/^(notfound|root:.*)$/);
    expect(await q.ask(`grnam ${addr(8)}`)).toBe('notfound');
    expect(await q.ask('grgid 6008')).toBe('notfound');
    expect(await q.ask(`pwnam ${addr(10)}`)).toBe(`${addr(10)}:6010:6010::/h:/bin/sh`);
    expect(await q.ask('pwuid 6010')).toBe(`${addr(10)}:6010:6010::/h:/bin/sh`);
  });

  it('a missing, truncated, corrupt, foreign or non-regular file is "not found", never a crash or a hang', async () => {
    const good = buildUsersDb({ version: 3, minUid: 1000, users: Array.from({ length: 50 }, (_, i) => user(i + 1)) });
    rmSync(file, { force: true });
    expect(await q.ask(`pwnam ${addr(1)}`)).toBe('notfound');
    put(good);
    expect(await q.ask(`pwnam ${addr(1)}`)).toBe(line(1)); // the file came back: found again
    for (const n of [0, 1, 100, 2047, 2048, 3000, good.length >> 1, good.length - 9, good.length - 1]) {
      put(good.subarray(0, n));
      for (const x of [`pwnam ${addr(1)}`, 'pwuid 200040', `grnam ${addr(7)}`, 'grgid 200050']) expect(await q.ask(x), `truncated at ${n}: ${x}`).toMatch(/^(notfound|0x[0-9a-f]{40}:.*)$/);
    }
    // 300 corruptions: bytes overwritten at random places; every answer is "not found" or a whole customer entry
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let k = 0; k < 300; k++) {
      const bad = Buffer.from(good);
      for (let j = 0; j < 1 + (k % 8); j++) bad[Math.floor(rand() * bad.length)] = Math.floor(rand() * 256);
      if (k % 3 === 0) bad.writeUInt32LE(Math.floor(rand() * 0xffffffff), Math.floor(rand() * 256) * 8); // a header entry
      put(bad);
      const i = 1 + (k % 50);
      for (const x of [`pwnam ${addr(i)}`, `pwuid ${200_000 + i}`, `grgid ${200_000 + i}`, `groups ${addr(i)} 100`])
        expect(await q.ask(x), `corruption ${k}: ${x}`).toMatch(/^(notfound|0x[0-9a-f]{40}:\d+:[^\n]*|100(,\d+)?)$/);
    }
    put(buildUsersDb({ version: 3, minUid: 1000, users: [user(1)] }).fill(0, 0, 8)); // valid cdb without... the first table gone
    expect(await q.ask(`pwnam ${addr(1)}`)).toMatch(/^(notfound|0x0+1:.*)$/);
    put(buildCdb([[Buffer.from(VERSION_KEY), Buffer.from('2\x001\x001000')], [Buffer.from(`p:${addr(1)}`), Buffer.from(line(1).split(':').join('\0'))]])); // another layout
    expect(await q.ask(`pwnam ${addr(1)}`)).toBe('notfound');
    put(buildCdb([[Buffer.from(`p:${addr(1)}`), Buffer.from(line(1).split(':').join('\0'))]])); // no version record
    expect(await q.ask(`pwnam ${addr(1)}`)).toBe('notfound');
    // a directory, then a FIFO with no writer, at the path: not found at once (the module opens O_NONBLOCK)
    rmSync(file, { force: true });
    execFileSync('mkdir', [file]);
    expect(await q.ask(`pwnam ${addr(1)}`)).toBe('notfound');
    rmSync(file, { recursive: true });
    execFileSync('mkfifo', [file]);
    const t0 = Date.now();
    expect(await q.ask(`pwnam ${addr(1)}`)).toBe('notfound');
    expect(Date.now() - t0).toBeLessThan(2000);
    rmSync(file);
    put(good);
    expect(await q.ask(`pwnam ${addr(50)}`)).toBe(line(50)); // still alive, still answering
    expect(q.child.exitCode).toBeNull();
  }, 120_000);

  it('logs each kind of problem once to syslog (authpriv), and again only after a good file was seen', async () => {
    const lib = join(dir, 'syslog-capture.so');
    execFileSync('cc', ['-shared', '-fPIC', '-O1', '-o', lib, join(import.meta.dirname, 'syslog-capture.c')]);
    const log = join(dir, 'syslog.txt');
    writeFileSync(log, '');
    const qs = startQuerier(nsswitch, dbDir, { LD_PRELOAD: lib, GL_SYSLOG_FILE: log });
    const lines = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
    try {
      rmSync(file, { force: true });
      for (let i = 0; i < 5; i++) expect(await qs.ask(`pwnam ${addr(1)}`)).toBe('notfound');
      expect(lines()).toHaveLength(1);
      expect(lines()[0]).toMatch(/^(\d+) nss_gridlink: \/var\/lib\/gridlink\/nss\/users\.cdb: missing: customers are not found until it is fixed$/);
      expect(Number(lines()[0]!.split(' ')[0]) & ~7).toBe(10 << 3); // LOG_AUTHPRIV
      put(Buffer.from('truncated'));
      for (let i = 0; i < 5; i++) expect(await qs.ask(`pwuid 200001`)).toBe('notfound');
      expect(lines()).toHaveLength(2);
      expect(lines()[1]).toMatch(/not a cdb file/);
      put(buildUsersDb({ version: 1, minUid: 1000, users: [user(1)] }));
      expect(await qs.ask(`pwnam ${addr(1)}`)).toBe(line(1));
      rmSync(file);
      for (let i = 0; i < 3; i++) await qs.ask(`pwnam ${addr(1)}`);
      expect(lines()).toHaveLength(3); // missing again after a good file: logged again, once
    } finally {
      await qs.close();
    }
    put(buildUsersDb({ version: 1, minUid: 1000, users: [user(1)] }));
  });

  it('a child forked while other threads are inside the module finds users too (the lock is released across fork)', async () => {
    put(buildUsersDb({ version: 1, minUid: 1000, users: [user(1)] }));
    expect(await q.ask(`forkstorm ${addr(1)}`)).toBe('ok 200');
  }, 120_000);

  it('a reader never sees a torn file while versions are renamed into place under it', async () => {
    const versions = [1, 2, 3, 4].map((v) => buildUsersDb({ version: v, minUid: 1000, users: Array.from({ length: 2000 * v }, (_, i) => user(i + 1)) }));
    let stop = false;
    let swaps = 0;
    const writer = (async () => {
      while (!stop) {
        put(versions[swaps++ % versions.length]!);
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let k = 0; k < 1500; k++) {
      const i = 1 + ((k * 37) % 2000);
      expect(await q.ask(`pwuid ${200_000 + i}`)).toBe(line(i));
    }
    stop = true;
    await writer;
    expect(swaps).toBeGreaterThan(20);
  }, 120_000);

  it('getent, id and su, programs that know nothing of gridlink, resolve a customer through nsswitch.conf', () => {
    put(buildUsersDb({ version: 1, minUid: 1000, users: [user(1)] }));
    const [cmd, ...args] = inNssNamespace(nsswitch, dbDir, ['getent', 'passwd', addr(1)]);
    expect(execFileSync(cmd!, args, { encoding: 'utf8' }).trim()).toBe(`${addr(1)}:*:200001:200001:gridlink customer:/home/${addr(1)}:/bin/bash`);
    const [c2, ...a2] = inNssNamespace(nsswitch, dbDir, ['id', addr(1)]);
    expect(execFileSync(c2!, a2, { encoding: 'utf8' }).trim()).toBe(`uid=200001(${addr(1)}) gid=200001(${addr(1)}) groups=200001(${addr(1)})`);
    // root's su through PAM (pam_rootok, then pam_unix's account check): the password field "*" says there is no
    // shadow entry to look for (with "x" pam_unix wanted one and su said "Authentication failure")
    const [c3, ...a3] = inNssNamespace(nsswitch, dbDir, ['su', '-s', '/bin/sh', addr(1), '-c', 'id -un']);
    expect(execFileSync(c3!, a3, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()).toBe(addr(1));
    expect(readFileSync('/etc/nsswitch.conf', 'utf8')).not.toMatch(/gridlink/); // the host's own NSS is untouched
  });
});

// libnss_gridlink.so.2's enumeration (setpwent/getpwent_r/endpwent,
// setgrent/getgrent_r/endgrent) through glibc, in a mount namespace with its
// own nsswitch.conf and users database (harness/nss/namespace.ts): `getent
// passwd` without a name lists the customers only when the file's flags
// record allows it (users.gridlink.enumerate, off by default), with the
// lookups' checks (hostile records never listed); a version renamed into
// place mid-enumeration changes nothing under the cursor; ERANGE gives the
// same entry again with a larger buffer. And the file's compatibility both
// ways: the module of the commit before the flags record (built from git)
// reads a file that has it, and this module reads files without it.
// Cluster lane (the default for a new file): it writes /var/lib/gridlink/nss (the mount point) and mounts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildNss, inNssNamespace, writeNsswitch } from '../../harness/nss/namespace.js';
import { openStateDb } from '../../src/compose/state-store.js';
import { buildCdb, cdbGet } from '../../src/userdb/cdb.js';
import { buildUsersDb, FLAGS_KEY, usersDbEnumerates, VERSION_KEY } from '../../src/userdb/format.js';
import { UsersDbPublisher } from '../../src/userdb/publisher.js';
import { UserStore } from '../../src/userdb/store.js';
import { startQuerier, type NssQuerier } from './nss-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'gl-nss-enum-'));
const dbDir = join(dir, 'db');
const file = join(dbDir, 'users.cdb');
const addr = (i: number) => `0x${i.toString(16).padStart(40, '0')}`;
const user = (i: number) => ({ name: addr(i), uid: 200_000 + i, gid: 200_000 + i, home: `/home/${addr(i)}`, shell: '/bin/bash', gecos: 'gridlink customer' });
const line = (i: number) => `${addr(i)}:${200_000 + i}:${200_000 + i}:gridlink customer:/home/${addr(i)}:/bin/bash`;
const users = (from: number, n: number) => Array.from({ length: n }, (_, k) => user(from + k));
let nsswitch: string;
/** The module alone (nsswitch "gridlink"): getpwent walks only it. */
let q: NssQuerier;

function put(data: Uint8Array): void {
  writeFileSync(`${file}.new`, data);
  renameSync(`${file}.new`, file);
}

/** A program's stdout in the namespace. */
function run(cmd: string[], sw = nsswitch): string {
  const [c, ...a] = inNssNamespace(sw, dbDir, cmd);
  return execFileSync(c!, a, { encoding: 'utf8' });
}
// This test's customers (addr(i), i < 65536) among getent's lines: with "files" first, the host's own
// /etc/passwd is listed too, where a test of resolver "nss" running beside this one may have put its customers.
const customersOf = (out: string) => out.split('\n').filter((l) => /^0x0{36}[0-9a-f]{4}:/.test(l));

/** Every entry getpwent_r gives from setpwent to the end. */
async function walk(kind: 'pw' | 'gr', buflen = 4096): Promise<string[]> {
  expect(await q.ask(`set${kind}ent`)).toBe('ok');
  const out: string[] = [];
  for (;;) {
    const a = await q.ask(`get${kind}ent ${buflen}`);
    if (a === 'end') break;
    out.push(a);
    if (out.length > 100_000) throw new Error('enumeration does not end');
  }
  expect(await q.ask(`end${kind}ent`)).toBe('ok');
  return out;
}

beforeAll(() => {
  buildNss();
  execFileSync('mkdir', ['-p', dbDir]);
  nsswitch = writeNsswitch(dir, 'files gridlink');
  const alone = mkdtempSync(join(dir, 'alone-'));
  q = startQuerier(writeNsswitch(alone, 'gridlink'), dbDir);
}, 120_000);
afterAll(async () => {
  await q?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('enumeration of libnss_gridlink.so.2', () => {
  it('exports set/get/end of passwd and group enumeration', () => {
    const syms = execFileSync('nm', ['-D', '--defined-only', join(buildNss(), 'libnss_gridlink.so.2')], { encoding: 'utf8' });
    for (const s of ['setpwent', 'getpwent_r', 'endpwent', 'setgrent', 'getgrent_r', 'endgrent']) expect(syms).toContain(`_nss_gridlink_${s}`);
  });

  it('off by default: `getent passwd` and `getent group` list no customer, while each is still found by name and uid', async () => {
    const store = new UserStore(openStateDb(join(dir, 'off.db')), { firstUid: 300_000, maxUid: 400_000, homeRoot: '/home' });
    const pub = new UsersDbPublisher({ store, path: file, minUid: 1000, shell: '/bin/bash' }); // users.gridlink.enumerate's default
    for (let i = 1; i <= 3; i++) store.ensure(addr(i));
    await pub.publish();
    const all = run(['getent', 'passwd']);
    expect(all).toMatch(/^root:x:0:0:/m); // files still lists this host's accounts
    expect(customersOf(all)).toEqual([]);
    expect(customersOf(run(['getent', 'group']))).toEqual([]);
    expect(run(['getent', 'passwd', addr(2)]).trim()).toBe(`${addr(2)}:*:300001:300001:gridlink customer:/home/${addr(2)}:/bin/bash`);
    expect(run(['getent', 'group', '300002']).trim()).toBe(`${addr(3)}:*:300002:${addr(3)}`);
    expect(await walk('pw')).toEqual([]);
    expect(await walk('gr')).toEqual([]);
  });

  it('on (users.gridlink.enumerate): lists every customer, after this host\'s own accounts, and its group', async () => {
    const store = new UserStore(openStateDb(join(dir, 'on.db')), { firstUid: 300_000, maxUid: 400_000, homeRoot: '/home' });
    const pub = new UsersDbPublisher({ store, path: file, minUid: 1000, shell: '/bin/bash', enumerate: true });
    for (let i = 1; i <= 3; i++) store.ensure(addr(i));
    await pub.publish();
    const all = run(['getent', 'passwd']).trim().split('\n');
    const want = [1, 2, 3].map((i) => `${addr(i)}:*:${299_999 + i}:${299_999 + i}:gridlink customer:/home/${addr(i)}:/bin/bash`);
    expect(all.slice(-3).sort()).toEqual(want);
    expect(customersOf(all.join('\n'))).toHaveLength(3);
    expect(all[0]).toMatch(/^root:/);
    expect(customersOf(run(['getent', 'group'])).sort()).toEqual([1, 2, 3].map((i) => `${addr(i)}:*:${299_999 + i}:${addr(i)}`));
    // a customer added later is listed by the next enumeration of the same process
    expect(await walk('pw')).toHaveLength(3);
    store.ensure(addr(4));
    await pub.publish();
    expect((await walk('pw')).sort()).toEqual([1, 2, 3, 4].map((i) => `${addr(i)}:${299_999 + i}:${299_999 + i}:gridlink customer:/home/${addr(i)}:/bin/bash`));
  });

  it('lists only what a lookup would return: hostile names and records that lie are skipped', async () => {
    const rec = (...f: Array<string | number>) => Buffer.from(f.join('\0'));
    const b = (s: string) => Buffer.from(s);
    const upper = `0x${'A'.repeat(40)}`;
    put(
      buildCdb([
        [b(VERSION_KEY), rec(1, 1, 1000)],
        [b(FLAGS_KEY), b('enumerate')],
        [b('p:evil'), rec('evil', 5000, 5000, '', '/home/evil', '/bin/sh')],
        [b('p:root'), rec('root', 5001, 5001, '', '/root', '/bin/sh')],
        [b(`p:${upper}`), rec(upper, 5002, 5002, '', '/h', '/bin/sh')],
        [b(`p:${addr(1)}`), rec(addr(1), 0, 0, '', '/root', '/bin/sh')], // uid 0
        [b(`p:${addr(2)}`), rec(addr(2), 999, 999, '', '/h', '/bin/sh')], // below minUid
        [b(`p:${addr(4)}`), rec(addr(2), 6004, 6004, '', '/h', '/bin/sh')], // a record of another name
        [b(`p:${addr(5)}`), rec(addr(5), 6005, 6005, 'a:b', '/h', '/bin/sh')], // ':' in a field
        [b(`p:${addr(8)}`), rec(addr(8), 6008, 6008, '', '/h')], // a field short
        [b(`g:${addr(8)}`), rec(addr(8), 6008, 'root,evil')], // members that are not customers
        [b('g:evil'), rec('evil', 6009, 'evil')],
        [b(`p:${addr(10)}`), rec(addr(10), 6010, 6010, '', '/h', '/bin/sh')], // the one good user
        [b(`g:${addr(10)}`), rec(addr(10), 6010, addr(10))],
      ]),
    );
    expect(await walk('pw')).toEqual([`${addr(10)}:6010:6010::/h:/bin/sh`]);
    expect(await walk('gr')).toEqual([`${addr(10)}:6010:${addr(10)}`]);
    expect(customersOf(run(['getent', 'passwd']))).toEqual([`${addr(10)}:*:6010:6010::/h:/bin/sh`]);
    expect(run(['getent', 'passwd']).split('\n').filter((l) => /^(evil|root:x:5001)/.test(l))).toEqual([]);
  });

  it('a version renamed into place (or the file removed) mid-enumeration: the walk finishes the version it started, the next one sees the new', async () => {
    const v1 = buildUsersDb({ version: 1, minUid: 1000, enumerate: true, users: users(1, 50) });
    const v2 = buildUsersDb({ version: 2, minUid: 1000, enumerate: true, users: users(1, 120) });
    const off = buildUsersDb({ version: 3, minUid: 1000, users: users(1, 120) });
    for (const [what, swap] of [
      ['a newer version', () => put(v2)],
      ['a version that turns enumeration off', () => put(off)],
      ['a truncated file', () => put(v2.subarray(0, 3000))],
      ['no file', () => rmSync(file)],
    ] as const) {
      put(v1);
      expect(await q.ask('setpwent')).toBe('ok');
      const got: string[] = [];
      for (let k = 0; k < 10; k++) got.push(await q.ask('getpwent'));
      swap();
      for (let k = 0; k < 10; k++) expect(await q.ask(`pwuid ${200_000 + 100 + k}`), what).toMatch(/^(0x|notfound)/); // lookups meanwhile switch to what is there now
      for (let a = await q.ask('getpwent'); a !== 'end'; a = await q.ask('getpwent')) got.push(a);
      expect(await q.ask('endpwent')).toBe('ok');
      expect(got.sort(), what).toEqual(Array.from({ length: 50 }, (_, k) => line(k + 1)).sort());
    }
    put(v2);
    expect(await walk('pw')).toHaveLength(120);
    put(off);
    expect(await walk('pw')).toEqual([]);
    expect(q.child.exitCode).toBeNull();
  }, 120_000);

  it('a truncated or corrupt file: the walk ends, listing only whole customer entries, never a crash or a hang', async () => {
    const good = buildUsersDb({ version: 2, minUid: 1000, enumerate: true, users: users(1, 40) });
    for (const n of [0, 100, 2048, 3000, good.length >> 1, good.length - 1]) {
      put(good.subarray(0, n));
      for (const l of await walk('pw')) expect(l, `truncated at ${n}`).toMatch(/^0x[0-9a-f]{40}:\d+:\d+:[^:]*:\/[^:]*:[^:]*$/);
    }
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let k = 0; k < 200; k++) {
      const bad = Buffer.from(good);
      // record lengths and bytes anywhere (the records start at 2048), sometimes a header entry
      for (let j = 0; j < 1 + (k % 6); j++) bad[2048 + Math.floor(rand() * (bad.length - 2048))] = Math.floor(rand() * 256);
      if (k % 4 === 0) bad.writeUInt32LE(Math.floor(rand() * 0xffffffff), 2048 + 8 * Math.floor(rand() * 40));
      if (k % 5 === 0) bad.writeUInt32LE(Math.floor(rand() * 0xffffffff), Math.floor(rand() * 256) * 8);
      put(bad);
      const kind = k % 2 ? 'gr' : 'pw';
      for (const l of await walk(kind)) expect(l, `corruption ${k}`).toMatch(kind === 'pw' ? /^0x[0-9a-f]{40}:\d+:\d+:[^:]*:\/[^:]*:[^:]*$/ : /^0x[0-9a-f]{40}:\d+:(0x[0-9a-f]{40})?$/);
    }
    expect(q.child.exitCode).toBeNull();
  }, 120_000);

  it('a child forked while other threads enumerate finds users (the enumeration\'s lock is released across fork too)', async () => {
    put(buildUsersDb({ version: 1, minUid: 1000, enumerate: true, users: users(1, 300) }));
    expect(await q.ask(`forkstorm-ent ${addr(7)}`)).toBe('ok 200');
  }, 120_000);

  it('getpwent_r and getgrent_r: ERANGE while the buffer is too small, then the same entry, none skipped or repeated', async () => {
    put(buildUsersDb({ version: 1, minUid: 1000, enumerate: true, users: users(1, 20) }));
    const need = 42 + 1 + 2 + 'gridlink customer'.length + 1 + `/home/${addr(1)}`.length + 1 + '/bin/bash'.length + 1;
    const whole = await walk('pw');
    expect(whole).toHaveLength(20);
    expect(await q.ask('setpwent')).toBe('ok');
    const got: string[] = [];
    for (let k = 0; k < 20; k++) {
      for (const small of [0, 1, need >> 1, need - 1]) expect(await q.ask(`getpwent ${small}`)).toBe('error ERANGE');
      got.push(await q.ask(`getpwent ${need}`));
    }
    expect(await q.ask(`getpwent ${need}`)).toBe('end');
    expect(await q.ask('endpwent')).toBe('ok');
    expect(got).toEqual(whole); // same order, nothing skipped or repeated
    for (const l of got) expect(l).toMatch(/^0x[0-9a-f]{40}:2000\d\d:/);
    // groups: the member array needs pointers too; every size from 0 up gives ERANGE or the next group
    expect(await q.ask('setgrent')).toBe('ok');
    const groups: string[] = [];
    for (let len = 0; groups.length < 20; len = (len + 13) % 200) {
      const a = await q.ask(`getgrent ${len}`);
      expect(a).toMatch(/^(error ERANGE|0x[0-9a-f]{40}:2000\d\d:0x[0-9a-f]{40})$/);
      if (a !== 'error ERANGE') groups.push(a);
    }
    expect(await q.ask('getgrent')).toBe('end');
    expect(await q.ask('endgrent')).toBe('ok');
    expect(groups.sort()).toEqual(users(1, 20).map((u) => `${u.name}:${u.gid}:${u.name}`).sort());
    // getent grows its buffer itself: the whole list through glibc's getpwent
    expect(customersOf(run(['getent', 'passwd'])).sort()).toEqual(users(1, 20).map((u) => `${u.name}:*:${u.uid}:${u.gid}:gridlink customer:${u.home}:/bin/bash`).sort());
  });

  it('a file written before the flags record is read (and not listed); the module of before the record reads a file that has it', async () => {
    const old = buildCdb([
      [Buffer.from(VERSION_KEY), Buffer.from('1\x007\x001000')],
      [Buffer.from(`p:${addr(1)}`), Buffer.from(line(1).split(':').join('\0'))],
      [Buffer.from('u:200001'), Buffer.from(addr(1))],
    ]);
    put(old);
    expect(usersDbEnumerates(old)).toBe(false);
    expect(await q.ask(`pwnam ${addr(1)}`)).toBe(line(1));
    expect(await walk('pw')).toEqual([]);
    // a later layout-1 writer's extra header field is ignored
    put(buildCdb([[Buffer.from(VERSION_KEY), Buffer.from('1\x008\x001000\x00later')], [Buffer.from(`p:${addr(1)}`), Buffer.from(line(1).split(':').join('\0'))]]));
    expect(await q.ask(`pwnam ${addr(1)}`)).toBe(line(1));

    // the module as it was before enumeration (commit 1427a7a), under another service name; needs the
    // checkout's history (a clone, not a shallow one or an export)
    const root = join(import.meta.dirname, '../..');
    const before1427 = '1427a7a:native/nss/nss_gridlink.c';
    const withFlags = buildUsersDb({ version: 9, minUid: 1000, enumerate: true, users: users(1, 2) });
    expect(usersDbEnumerates(withFlags)).toBe(true);
    let src: string;
    try {
      src = execFileSync('git', ['show', before1427], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      // a checkout without that history (a shallow clone, an export): what the old module demands of the
      // header, exactly three fields (gl_fields(...) != 3 refuses the file), checked on the bytes instead
      const header = cdbGet(withFlags, Buffer.from(VERSION_KEY))[0];
      expect(header?.toString('latin1').split('\0')).toEqual(['1', '9', '1000']);
      return;
    }
    src = src.replaceAll('_nss_gridlink_', '_nss_glbefore_');
    writeFileSync(join(dir, 'before.c'), src);
    execFileSync('cc', ['-shared', '-fPIC', '-O1', '-D_GNU_SOURCE', '-Wl,-soname,libnss_glbefore.so.2', '-o', join(buildNss(), 'libnss_glbefore.so.2'), join(dir, 'before.c'), '-lcdb', '-lpthread']);
    const before = mkdtempSync(join(dir, 'before-'));
    const sw = writeNsswitch(before, 'files glbefore');
    put(withFlags);
    expect(run(['getent', 'passwd', addr(2)], sw).trim()).toBe(`${addr(2)}:x:200002:200002:gridlink customer:/home/${addr(2)}:/bin/bash`);
    expect(customersOf(run(['getent', 'passwd'], sw))).toEqual([]); // it never enumerated
  });
});

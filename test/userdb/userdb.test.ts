// Resolver "gridlink", supervisor side: the cdb writer against its own
// reader (the C module's libcdb reading is tested in test/userdb/nss.test.ts),
// uids handed out in the state database (from firstUid, never reused, stable
// across a reopen, host ids skipped), the users database file written
// atomically and coalesced, rewritten identical after a restart, and a
// kill -9 of a writer in the middle of a write leaving the previous version.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { openStateDb } from '../../src/compose/state-store.js';
import { createGridlinkResolver, startGridlinkResolver } from '../../src/supervisor/users-gridlink.js';
import { UserResolveError } from '../../src/supervisor/users.js';
import { buildCdb, cdbGet, cdbHash } from '../../src/userdb/cdb.js';
import { buildUsersDb, usersDbEnumerates, VERSION_KEY } from '../../src/userdb/format.js';
import { readUsersDbVersion, UsersDbPublisher } from '../../src/userdb/publisher.js';
import { UserIdsExhaustedError, UserStore } from '../../src/userdb/store.js';

const dir = mkdtempSync(join(tmpdir(), 'gl-userdb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const addr = (i: number) => `0x${i.toString(16).padStart(40, '0')}`;
const b = (s: string) => Buffer.from(s);
const get = (file: Buffer, key: string) => cdbGet(file, b(key)).map((v) => v.toString());

describe('cdb', () => {
  it('finds every key of 20,000, repeated keys in order, and nothing else', () => {
    expect(cdbHash(b(''))).toBe(5381);
    expect(cdbHash(b('a'))).toBe(((5381 << 5) + 5381) ^ 97);
    const recs: Array<[Buffer, Buffer]> = [];
    for (let i = 0; i < 20_000; i++) recs.push([b(`k${i}`), b(`v${i}`)]);
    recs.push([b('k7'), b('second')], [b(''), b('empty key')], [b('bin\0key'), Buffer.from([0, 255, 0])]);
    const f = buildCdb(recs);
    for (const i of [0, 1, 999, 12345, 19_999]) expect(get(f, `k${i}`)).toEqual([`v${i}`]);
    expect(get(f, 'k7')).toEqual(['v7', 'second']);
    expect(get(f, '')).toEqual(['empty key']);
    expect([...cdbGet(f, b('bin\0key'))[0]!]).toEqual([0, 255, 0]);
    expect(get(f, 'k20000')).toEqual([]);
    expect(get(buildCdb([]), 'x')).toEqual([]);
    expect(buildCdb([]).length).toBe(2048);
  });
});

function store(path: string, o: Partial<ConstructorParameters<typeof UserStore>[1]> = {}) {
  return new UserStore(openStateDb(path), { firstUid: 200_000, maxUid: 0x7ffffffe, homeRoot: '/home', ...o });
}

describe('uids in the state database', () => {
  it('hands out uids from firstUid, skips the host\'s ids, keeps them across a reopen and never reuses one', () => {
    const path = join(dir, 'ids.db');
    const s = store(path, { taken: () => ({ uids: new Set([200_001]), gids: new Set([200_003]) }) });
    const a = s.ensure(addr(1));
    expect(a).toEqual({ name: addr(1), uid: 200_000, gid: 200_000, home: `/home/${addr(1)}`, dbVersion: undefined });
    expect(s.ensure(addr(1))).toEqual(a); // the same customer: the same uid
    expect(s.ensure(addr(2)).uid).toBe(200_002); // 200_001 is a local user
    expect(s.ensure(addr(3)).uid).toBe(200_004); // 200_003 is a local group
    expect(() => s.ensure('0xABC')).toThrow(/not a lower-case 0x address/);
    expect(() => s.ensure(addr(4).toUpperCase())).toThrow(/not a lower-case 0x address/);
    // Reopened, with a lower firstUid and without the local ids: the same uids, and new ones after the last one handed out.
    const again = store(path, { firstUid: 1000 });
    expect(again.get(addr(2))?.uid).toBe(200_002);
    expect(again.ensure(addr(5)).uid).toBe(200_005);
    // A row removed by hand does not give its uid back: the counter only grows.
    const db = openStateDb(path);
    db.prepare('DELETE FROM gridlink_users WHERE name = ?').run(addr(5));
    expect(again.ensure(addr(6)).uid).toBe(200_006);
    // The table refuses what is not a customer, whatever writes it.
    expect(() => db.prepare("INSERT INTO gridlink_users (name, uid, gid, created_at) VALUES ('0x' || 'Z' || ?, 5, 5, 0)").run('0'.repeat(39))).toThrow(/CHECK/);
    expect(() => db.prepare('INSERT INTO gridlink_users (name, uid, gid, created_at) VALUES (?, 0, 0, 0)').run(addr(9))).toThrow(/CHECK/);
  });

  it('says what to do when every uid is handed out', () => {
    const s = store(join(dir, 'full.db'), { firstUid: 5000, maxUid: 5001 });
    s.ensure(addr(1));
    s.ensure(addr(2));
    expect(() => s.ensure(addr(3))).toThrow(UserIdsExhaustedError);
    expect(() => s.ensure(addr(3))).toThrow(/raise users.gridlink.maxUid/);
  });
});

describe('the users database file', () => {
  it('holds each version\'s users, is written atomically, coalesces a burst of 1,000 and is rewritten identical after a restart', async () => {
    const dbPath = join(dir, 'pub.db');
    const file = join(dir, 'nss', 'users.cdb');
    const s = store(dbPath);
    let writes = 0;
    const p = new UsersDbPublisher({ store: s, path: file, minUid: 1000, shell: '/bin/bash', onWritten: () => writes++ });
    writeFileSync(join(dir, 'nss-stale'), ''); // not ours: left alone
    await expect(p.start()).resolves.toBe(0);
    expect(await readUsersDbVersion(file)).toBe(0);

    const r = createGridlinkResolver({ store: s, publisher: p, minUid: 1000 });
    const u = await r.resolve(addr(0xabc).replace('0xabc', '0xABC') as never);
    expect(u).toEqual({ name: addr(0xabc), uid: 200_000, gid: 200_000, home: `/home/${addr(0xabc)}` });
    expect(await readUsersDbVersion(file)).toBe(1);
    const f1 = readFileSync(file);
    expect(get(f1, `p:${addr(0xabc)}`)).toEqual([`${addr(0xabc)}\0${200_000}\0${200_000}\0gridlink customer\0/home/${addr(0xabc)}\0/bin/bash`]);
    expect(get(f1, 'u:200000')).toEqual([addr(0xabc)]);
    expect(get(f1, `g:${addr(0xabc)}`)).toEqual([`${addr(0xabc)}\0${200_000}\0${addr(0xabc)}`]);
    expect(get(f1, 'G:200000')).toEqual([addr(0xabc)]);
    expect(get(f1, VERSION_KEY)).toEqual(['1\x001\x001000']);

    // 1,000 new customers at once: every one resolvable, in far fewer files than customers.
    writes = 0;
    const many = await Promise.all(Array.from({ length: 1000 }, (_, i) => r.resolve(addr(10_000 + i) as never)));
    expect(new Set(many.map((x) => x.uid)).size).toBe(1000);
    expect(writes).toBeLessThanOrEqual(3);
    const f2 = readFileSync(file);
    const v2 = (await readUsersDbVersion(file))!;
    expect(v2).toBeGreaterThan(1);
    for (const x of many) expect(get(f2, `u:${x.uid}`)).toEqual([x.name]);
    // A customer already in the file costs no write.
    writes = 0;
    await r.resolve(addr(10_500) as never);
    expect(writes).toBe(0);
    expect(readdirSync(join(dir, 'nss'))).toEqual(['users.cdb']); // no temporary file left

    // A restart: stale temporary files removed, the same version written again, byte for byte.
    writeFileSync(join(dir, 'nss', `.users.cdb.tmp-999999`), 'torn');
    rmSync(file);
    const restarted = await startGridlinkResolver({ minUid: 1000, gridlink: { dbPath: file, firstUid: 200_000, maxUid: 0x7ffffffe, homeRoot: '/home', shell: '/bin/bash' } }, openStateDb(dbPath));
    expect(restarted.publisher.written).toBe(v2);
    expect(readFileSync(file).equals(f2)).toBe(true);
    expect(readdirSync(join(dir, 'nss'))).toEqual(['users.cdb']);
    await expect(restarted.resolve(addr(10_000) as never)).resolves.toEqual(many[0]);
    expect(usersDbEnumerates(readFileSync(file))).toBe(false); // users.gridlink.enumerate's default

    // users.gridlink.enumerate turned on: a version of its own (the same users), or the hosts holding v2 would
    // never ask again and keep the file without the flag; every later version has it; a restart with the same
    // setting writes the same version again; turned off again: one more version
    const start = (enumerate: boolean) =>
      startGridlinkResolver({ minUid: 1000, gridlink: { dbPath: file, firstUid: 200_000, maxUid: 0x7ffffffe, homeRoot: '/home', shell: '/bin/bash', enumerate } }, openStateDb(dbPath));
    const listing = await start(true);
    expect(listing.publisher.written).toBe(v2 + 1);
    expect(usersDbEnumerates(readFileSync(file))).toBe(true);
    expect(get(readFileSync(file), `u:${many[5]!.uid}`)).toEqual([many[5]!.name]);
    await listing.resolve(addr(20_000) as never); // a new customer
    expect(await readUsersDbVersion(file)).toBe(v2 + 2);
    expect(usersDbEnumerates(readFileSync(file))).toBe(true);
    expect((await start(true)).publisher.written).toBe(v2 + 2);
    expect((await start(false)).publisher.written).toBe(v2 + 3);
    expect(usersDbEnumerates(readFileSync(file))).toBe(false);
  });

  it('refuses hostile names before any uid is handed out, and never writes a name the module would refuse', async () => {
    const s = store(join(dir, 'hostile.db'));
    const p = new UsersDbPublisher({ store: s, path: join(dir, 'hostile.cdb'), minUid: 1000, shell: '/bin/sh' });
    const r = createGridlinkResolver({ store: s, publisher: p, minUid: 1000 });
    for (const bad of ['root', '0x123', `${addr(1)}\n`, `${addr(1)}:0:0`, '../../etc', '*', 'x'.repeat(1 << 16)]) {
      const e = await r.resolve(bad as never).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UserResolveError);
      expect((e as UserResolveError).retryable).toBe(false);
    }
    expect(s.all()).toEqual([]);
    const user = (name: string, uid = 5000, home = '/h') => ({ version: 1, minUid: 1000, users: [{ name, uid, gid: uid, home, shell: '/bin/sh', gecos: '' }] });
    expect(() => buildUsersDb(user('root'))).toThrow(/not a lower-case 0x address/);
    expect(() => buildUsersDb(user(addr(1), 0))).toThrow(/out of range/);
    expect(() => buildUsersDb(user(addr(1), 5000, '/h:0:0'))).toThrow(/NUL, ':' or newline/);
    expect(() => buildUsersDb(user(addr(1), 5000, 'relative'))).toThrow(/not absolute/);
  });
});

describe('kill -9 of the writer in the middle of a write', () => {
  it('leaves the previous version whole; the next start writes the database\'s version', async () => {
    const dbPath = join(dir, 'crash.db');
    const file = join(dir, 'crash', 'users.cdb');
    // 60,000 users: a file of several MB, so the kills land inside writes.
    const db = openStateDb(dbPath);
    const ins = db.prepare('INSERT INTO gridlink_users (name, uid, gid, created_at) VALUES (?, ?, ?, 0)');
    db.transaction(() => {
      for (let i = 0; i < 60_000; i++) ins.run(addr(i + 1), 200_000 + i, 200_000 + i);
      db.prepare("INSERT INTO meta (key, value) VALUES ('userdb.next_uid', '260000')").run();
    })();
    db.close();
    const s = store(dbPath);
    const p = new UsersDbPublisher({ store: s, path: file, minUid: 1000, shell: '/bin/sh' });
    await p.publish();
    const first = readFileSync(file);
    let tornLeft = 0;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'writer-entry.ts'), dbPath, file], { stdio: ['ignore', 'ignore', 'inherit'] });
      // Killed as soon as its temporary file appears: inside a write, before the rename.
      const watcher = watch(join(dir, 'crash'), (_ev, name) => {
        if (String(name).startsWith('.users.cdb.tmp-')) child.kill('SIGKILL');
      });
      await new Promise((res) => child.once('exit', res));
      watcher.close();
      if (readdirSync(join(dir, 'crash')).some((n) => n.startsWith('.users.cdb.tmp-'))) tornLeft++;
      const v = await readUsersDbVersion(file);
      expect(v).toBeDefined(); // a whole file, never a torn one
      const now = readFileSync(file);
      expect(get(now, `p:${addr(1)}`)).toEqual(get(first, `p:${addr(1)}`));
    }
    expect(tornLeft).toBeGreaterThan(0); // the kills did land inside writes
    // The database is ahead of the file or equal; a start brings the file to the database's version.
    const restarted = new UsersDbPublisher({ store: store(dbPath), path: file, minUid: 1000, shell: '/bin/sh' });
    const v = await restarted.start();
    expect(await readUsersDbVersion(file)).toBe(v);
    expect(get(readFileSync(file), `u:${s.get(addr(60_000))!.uid}`)).toEqual([addr(60_000)]);
    expect(readdirSync(join(dir, 'crash'))).toEqual(['users.cdb']);
  }, 60_000);
});

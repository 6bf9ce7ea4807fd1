// doctor's `users` check (users.resolver "gridlink"): nsswitch.conf asks
// gridlink for passwd and group, the module is installed, this host's users
// database file is whole and at the state database's version; a WARN names
// the hosts of users.gridlink.sync.hosts that never pulled it (or not lately)
// and hosts pulling it that are not listed.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { openStateDb } from '../../src/compose/state-store.js';
import { checkUsers, nsswitchSources } from '../../src/doctor/users.js';
import { stateDbPath } from '../../src/state/db.js';
import { HostReports } from '../../src/userdb/host-reports.js';
import { UsersDbPublisher } from '../../src/userdb/publisher.js';
import { UserStore } from '../../src/userdb/store.js';
import { configInput, ctxOf, tmp } from './helpers.js';

const dir = tmp();
chmodSync(dir, 0o755); // as /var/lib/gridlink: the users database must be readable by every user
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('doctor users check', () => {
  it('reads nsswitch.conf lines as glibc does (comments, actions)', () => {
    expect(nsswitchSources('# x\npasswd:   files gridlink [NOTFOUND=return] systemd # c\ngroup: files\n', 'passwd')).toEqual(['files', 'gridlink', 'systemd']);
    expect(nsswitchSources('passwd: files\n', 'group')).toBeUndefined();
  });

  it('fails on what would leave customers unknown here, says what to do; ok when all is in place', async () => {
    const store = join(dir, 'store');
    const dbPath = join(dir, 'nss', 'users.cdb');
    const moduleDir = join(dir, 'lib');
    mkdirSync(moduleDir);
    const nss = join(dir, 'nsswitch.conf');
    const ctx = ctxOf({ input: configInput({ ingest: { listen: { host: '127.0.0.1', port: 1 }, storeDir: store }, users: { resolver: 'gridlink', gridlink: { dbPath } } }) });
    const run = () => checkUsers(ctx, { nsswitch: nss, moduleDirs: [moduleDir] });

    expect((await checkUsers(ctxOf({ input: configInput() }))).detail).toMatch(/not configured \(users.resolver is nss\)/);
    writeFileSync(nss, 'passwd: files\ngroup: files gridlink\n');
    expect(await run()).toMatchObject({ status: 'fail', detail: expect.stringMatching(/"passwd: files" does not ask gridlink/), fix: expect.stringMatching(/files gridlink/) });
    writeFileSync(nss, 'passwd: files gridlink\ngroup: files gridlink\n');
    expect(await run()).toMatchObject({ status: 'fail', detail: 'libnss_gridlink.so.2 is not installed' });
    writeFileSync(join(moduleDir, 'libnss_gridlink.so.2'), '');
    expect(await run()).toMatchObject({ status: 'fail', detail: expect.stringMatching(/ENOENT.*not found/) });
    mkdirSync(join(dir, 'nss'));
    writeFileSync(dbPath, 'garbage');
    expect((await run()).detail).toMatch(/damaged/);

    // the supervisor's state database here, its file one version behind, then written
    const db = openStateDb(stateDbPath(store));
    const s = new UserStore(db, { firstUid: 200_000, maxUid: 300_000, homeRoot: '/home' });
    const pub = new UsersDbPublisher({ store: s, path: dbPath, minUid: 1000, shell: '/bin/sh' });
    await pub.start();
    s.ensure(`0x${'1'.repeat(40)}`);
    s.nextVersion();
    db.close();
    expect(await run()).toMatchObject({ status: 'fail', detail: expect.stringMatching(/at version 0, the state database at 1/) });
    const db2 = openStateDb(stateDbPath(store));
    await new UsersDbPublisher({ store: new UserStore(db2, { firstUid: 200_000, maxUid: 300_000, homeRoot: '/home' }), path: dbPath, minUid: 1000, shell: '/bin/sh' }).start();
    db2.close();
    expect(await run()).toMatchObject({ status: 'ok', detail: expect.stringMatching(/at the state database's version 1/) });
    // a directory on the way that other users cannot pass: customers' own lookups find nothing
    chmodSync(join(dir, 'nss'), 0o700);
    expect(await run()).toMatchObject({ status: 'fail', detail: expect.stringMatching(new RegExp(`closed to other users at ${join(dir, 'nss')} \\(mode 0700\\)`)), fix: expect.stringMatching(/o\+x the directories/) });
    chmodSync(join(dir, 'nss'), 0o755);
    chmodSync(dbPath, 0o600);
    expect((await run()).detail).toMatch(/closed to other users at .*users\.cdb \(mode 0600\)/);
    chmodSync(dbPath, 0o644);
    // a host without the state database: the file's version only
    rmSync(store, { recursive: true });
    expect(await run()).toMatchObject({ status: 'ok', detail: expect.stringMatching(/version 1 \(the state database is not on this host/) });
  });

  it('warns (not fails) on a listed host that never pulled or not lately, and on a host pulling that is not listed', async () => {
    const store = join(dir, 'store-hosts');
    const dbPath = join(dir, 'nss-hosts', 'users.cdb');
    const moduleDir = join(dir, 'lib-hosts');
    mkdirSync(moduleDir);
    writeFileSync(join(moduleDir, 'libnss_gridlink.so.2'), '');
    const nss = join(dir, 'nsswitch-hosts.conf');
    writeFileSync(nss, 'passwd: files gridlink\ngroup: files gridlink\n');
    const now = 1_800_000_000_000;
    const ctx = ctxOf({
      now: () => now,
      input: configInput({ ingest: { listen: { host: '127.0.0.1', port: 1 }, storeDir: store }, users: { resolver: 'gridlink', gridlink: { dbPath, sync: { listen: { host: '127.0.0.1', port: 0 }, hosts: ['c1', 'c2', 'c3'] } } } }),
    });
    const run = () => checkUsers(ctx, { nsswitch: nss, moduleDirs: [moduleDir] });
    const db = openStateDb(stateDbPath(store));
    const s = new UserStore(db, { firstUid: 200_000, maxUid: 300_000, homeRoot: '/home' });
    const pub = new UsersDbPublisher({ store: s, path: dbPath, minUid: 1000, shell: '/bin/sh' });
    s.ensure(`0x${'1'.repeat(40)}`);
    await pub.publish();
    const hosts = new HostReports(db);
    hosts.setListed(['c1', 'c2', 'c3']);
    hosts.record('c1', 1, now - 5000);
    hosts.record('c2', 1, now - 3_600_000); // an hour ago
    hosts.record('cl', 1, now - 2000); // "c3" mistyped on the host
    hosts.record('old', 1, now - 86_400_000); // not listed, stopped pulling a day ago: no mistake
    db.close();
    const r = await run();
    expect(r.status).toBe('warn');
    expect(r.detail).toMatch(/at the state database's version 1/);
    expect(r.detail).toMatch(/never pulled: c3 \(/);
    expect(r.detail).toMatch(/not seen for over 3 min: c2 \(version 1, 60 min ago\)/);
    expect(r.detail).toMatch(/pulling but not in users.gridlink.sync.hosts: cl \(version 1, 2 s ago\)/);
    expect(r.detail).not.toMatch(/c1|old/);
    // all listed hosts pulled lately, none else: ok
    const db2 = openStateDb(stateDbPath(store));
    const h2 = new HostReports(db2);
    h2.setListed(['c1', 'c2', 'cl']);
    h2.record('c2', 1, now - 1000);
    db2.close();
    expect(await run()).toMatchObject({ status: 'warn', detail: expect.stringMatching(/never pulled: c3/) }); // the configuration still lists c3
    const ctxFixed = ctxOf({
      now: () => now,
      input: configInput({ ingest: { listen: { host: '127.0.0.1', port: 1 }, storeDir: store }, users: { resolver: 'gridlink', gridlink: { dbPath, sync: { listen: { host: '127.0.0.1', port: 0 }, hosts: ['c1', 'c2', 'cl'] } } } }),
    });
    expect(await checkUsers(ctxFixed, { nsswitch: nss, moduleDirs: [moduleDir] })).toMatchObject({ status: 'ok', detail: expect.stringMatching(/the 3 hosts of users.gridlink.sync.hosts pulled it lately/) });
  });
});

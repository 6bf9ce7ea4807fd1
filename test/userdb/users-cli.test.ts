// `gridlink users list|show|sync --check` on a state database and users
// database file made by the supervisor's own store and publisher.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openStateDb } from '../../src/compose/state-store.js';
import { stateDbPath } from '../../src/state/db.js';
import { HostReports } from '../../src/userdb/host-reports.js';
import { UsersDbPublisher } from '../../src/userdb/publisher.js';
import { UserStore } from '../../src/userdb/store.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'gl-users-cli-'));
const file = join(dir, 'users.cdb');
const A = '0x52908400098527886E0F7030069857D2E4169EE7';
const a = A.toLowerCase();

const users = (...args: string[]) => spawnSync(process.execPath, [...cliEntry(), 'users', ...args], { encoding: 'utf8' });

beforeAll(async () => {
  const db = openStateDb(stateDbPath(dir));
  const store = new UserStore(db, { firstUid: 200_000, maxUid: 300_000, homeRoot: '/home' });
  const pub = new UsersDbPublisher({ store, path: file, minUid: 1000, shell: '/bin/bash' });
  store.ensure(a);
  store.ensure(`0x${'1'.repeat(40)}`);
  await pub.publish();
  store.ensure(`0x${'2'.repeat(40)}`); // handed a uid, in no file yet
  db.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gridlink users', () => {
  it('list: every customer with uid, gid and the first version holding it', () => {
    const r = users('list', '--store', dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      [`3 customers, users database version 1`, `${a}  uid 200000  gid 200000  version 1`, `0x${'1'.repeat(40)}  uid 200001  gid 200001  version 1`, `0x${'2'.repeat(40)}  uid 200002  gid 200002  version -`, ''].join('\n'),
    );
    const json = users('list', '--store', dir, '--json').stdout.trim().split('\n').map((l) => JSON.parse(l) as { address: string; version: number | null });
    expect(json.map((j) => j.version)).toEqual([1, 1, null]);
  });

  it('show: the customer (any case of its address) and this host\'s file\'s record; an unknown one exits 1', () => {
    const r = users('show', A, '--store', dir, '--db', file);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${a}: uid 200000, gid 200000, first in users database version 1`);
    expect(r.stdout).toContain(`${file} (version 1): ${a}:200000:200000:gridlink customer:/home/${a}:/bin/bash`);
    const none = users('show', `0x${'3'.repeat(40)}`, '--store', dir);
    expect(none.status).toBe(1);
    expect(users('show', 'root', '--store', dir).status).not.toBe(0);
  });

  it('sync --check: up to date exits 0; missing, damaged or behind exits 1 saying what to check', () => {
    expect(users('sync', '--check', '--store', dir, '--db', file).stdout).toMatch(/version 1, up to date/);
    const missing = users('sync', '--check', '--store', dir, '--db', join(dir, 'none.cdb'));
    expect([missing.status, missing.stdout]).toEqual([1, expect.stringMatching(/missing, the state database is at version 1/)]);
    writeFileSync(join(dir, 'bad.cdb'), 'not a cdb');
    expect(users('sync', '--check', '--store', dir, '--db', join(dir, 'bad.cdb')).stdout).toMatch(/damaged/);
    execFileSync('cp', [file, join(dir, 'copy.cdb')]);
    expect(users('sync', '--check', '--store', dir, '--db', join(dir, 'copy.cdb')).status).toBe(0);
  });

  it('sync --check: the hosts the supervisor saw pulling against its sync.hosts; a listed host that never pulled exits 1', () => {
    const db = openStateDb(stateDbPath(dir));
    const hosts = new HostReports(db);
    hosts.setListed(['c1', 'c2']);
    hosts.record('c1', 1);
    hosts.record('c9', 1);
    db.close();
    const r = users('sync', '--check', '--store', dir, '--db', file);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/version 1, up to date/);
    expect(r.stdout).toMatch(/^host c1: listed, version 1 \(current\), last request 20\d\d-/m);
    expect(r.stdout).toMatch(/^host c2: listed, never pulled$/m);
    expect(r.stdout).toMatch(/^host c9: not listed, version 1 \(current\)/m);
    expect(r.stdout).toMatch(/^listed in users.gridlink.sync.hosts but never pulled: c2 /m);
    expect(r.stdout).toMatch(/^pulling but not in users.gridlink.sync.hosts: c9 \(version 1, \d+ s ago\)/m);
    const db2 = openStateDb(stateDbPath(dir));
    new HostReports(db2).record('c2', 0);
    db2.close();
    const r2 = users('sync', '--check', '--store', dir, '--db', file);
    expect(r2.status).toBe(0); // c2 is behind (version 0), not a mistake of the list
    expect(r2.stdout).toMatch(/^listed, behind: c2 \(version 0\)$/m);
    expect(r2.stdout).not.toMatch(/never pulled:/);
  });
});

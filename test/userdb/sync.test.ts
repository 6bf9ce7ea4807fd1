// Propagation of the users database (resolver "gridlink") with real munge:
// the supervisor's sync server, two hosts' pullers (the relay's code) writing
// their own copies, a customer resolved only once both hosts report a version
// holding it; a host that is down makes the submission wait, then fail with
// the host named (retryable), and catches up when it is back; requests that
// are not authenticated, or not by root/SlurmUser, get nothing.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureMunge } from '../../harness/cluster/munge.js';
import { pino } from 'pino';

import { createAuthenticator } from '../../src/relay/auth.js';
import { parseRelayOptions } from '../../src/relay/config.js';
import { startRelayUsersPull } from '../../src/relay/users-pull.js';
import { startGridlinkResolver, type GridlinkResolver } from '../../src/supervisor/users-gridlink.js';
import { UserResolveError } from '../../src/supervisor/users.js';
import { cdbGet } from '../../src/userdb/cdb.js';
import { readUsersDbVersion } from '../../src/userdb/publisher.js';
import { startUsersPull, type UsersPuller } from '../../src/userdb/sync-pull.js';
import { USERS_SYNC_PATH } from '../../src/userdb/sync-protocol.js';
import { openUserDb } from './state-db.js';

const dir = mkdtempSync(join(tmpdir(), 'gl-users-sync-'));
const addr = (i: number) => `0x${(0xabc000 + i).toString(16).padStart(40, '0')}`;
let r: GridlinkResolver;
const pullers: UsersPuller[] = [];
const hostFile = (h: string) => join(dir, h, 'users.cdb');
const authenticate = createAuthenticator({ kind: 'munge' });
const pull = (host: string, intervalMs = 100) => {
  const p = startUsersPull({ url: r.sync!.url, authenticate, path: hostFile(host), host, intervalMs });
  pullers.push(p);
  return p;
};

beforeAll(async () => {
  await ensureMunge();
  r = await startGridlinkResolver(
    { minUid: 1000, gridlink: { dbPath: join(dir, 'supervisor', 'users.cdb'), firstUid: 300_000, maxUid: 400_000, homeRoot: '/home', shell: '/bin/sh', sync: { listen: { host: '127.0.0.1', port: 0 }, hosts: ['c1', 'c2'], waitMs: 3000 } } },
    openUserDb(join(dir, 'state.db')),
  );
});
afterAll(async () => {
  for (const p of pullers) p.stop();
  await r?.close();
  rmSync(dir, { recursive: true, force: true });
});

const holds = (host: string, name: string) => cdbGet(readFileSync(hostFile(host)), Buffer.from(`p:${name}`)).length === 1;

describe('the users database reaches the hosts through their relays', () => {
  it('a customer is resolved once both hosts hold a version with it', async () => {
    const c1 = pull('c1');
    const c2 = pull('c2');
    const t0 = Date.now();
    const u = await r.resolve(addr(1) as never);
    const took = Date.now() - t0;
    expect(u.uid).toBe(300_000);
    expect(holds('c1', addr(1)) && holds('c2', addr(1))).toBe(true);
    const v = r.publisher.written;
    expect(r.sync!.hosts.get('c1')?.version).toBe(v);
    expect(r.sync!.hosts.get('c2')?.version).toBe(v);
    expect(took).toBeLessThan(2000); // a poll interval or two, not the bound
    expect(await c1.pullOnce()).toBe(v); // nothing new: 204, the same version
    c1.stop();
    c2.stop();
  });

  it('a host that is down holds the submission back, then fails it naming the host; back up, it catches up', async () => {
    const c1 = pull('c1');
    const e = await r.resolve(addr(2) as never).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserResolveError);
    expect((e as UserResolveError).retryable).toBe(true);
    expect((e as Error).message).toMatch(/not yet known on every host.*c2 \(version \d+\)/);
    expect(holds('c1', addr(2))).toBe(true);
    expect(holds('c2', addr(2))).toBe(false);
    // more customers while c2 is down, then c2 comes back: one pull brings it to the latest version
    await Promise.all([r.resolve(addr(3) as never), r.resolve(addr(4) as never)].map((p) => p.catch(() => undefined)));
    pull('c2');
    await expect(r.resolve(addr(2) as never)).resolves.toMatchObject({ name: addr(2) });
    await expect(r.resolve(addr(4) as never)).resolves.toMatchObject({ name: addr(4) });
    for (const a of [2, 3, 4]) expect(holds('c2', addr(a))).toBe(true);
    expect(await readUsersDbVersion(hostFile('c2'))).toBe(r.publisher.written);
    c1.stop();
  });

  it('a new version reaches hosts waiting in a long poll at once, not at their next poll', async () => {
    // intervalMs 60 s: only the held requests can bring it within the resolver's 3 s bound
    const c1 = pull('c1', 60_000);
    const c2 = pull('c2', 60_000);
    await new Promise((res) => setTimeout(res, 300)); // both asked and are held
    const u = await r.resolve(addr(5) as never);
    expect(holds('c1', u.name) && holds('c2', u.name)).toBe(true);
    c1.stop();
    c2.stop();
  });

  it('the relay pulls it with the options the SLURM plugins pass (users_url, users_db, users_poll_ms)', async () => {
    const { config } = parseRelayOptions(['spool=/var/spool/gridlink/slurmd', 'reporter=http://127.0.0.1:9', `users_url=${r.sync!.url}`, `users_db=${hostFile('relay')}`, 'users_poll_ms=100', 'host=c9']);
    expect(config.users).toEqual({ url: r.sync!.url, path: hostFile('relay'), intervalMs: 100 });
    const p = startRelayUsersPull(config, pino({ level: 'silent' }))!;
    pullers.push(p);
    const end = Date.now() + 5000;
    while (r.sync!.hosts.get('c9')?.version !== r.publisher.written && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
    expect(r.sync!.hosts.get('c9')?.version).toBe(r.publisher.written);
    expect(holds('relay', addr(1))).toBe(true);
    expect(() => parseRelayOptions(['spool=/s', 'reporter=http://x:1', 'users_db=/var/lib/x.cdb'])).toThrow(/url/i);
    expect(startRelayUsersPull(parseRelayOptions(['spool=/s', 'reporter=http://x:1']).config, pino({ level: 'silent' }))).toBeUndefined();
  });

  it('`gridlink relay --users-url` pulls it too, and stops on SIGTERM', async () => {
    const child = spawn('node_modules/.bin/tsx', ['src/cli/main.ts', 'relay', '--spool', join(dir, 'cli-spool'), '--reporter', 'http://127.0.0.1:9', '--users-url', r.sync!.url, '--users-db', hostFile('cli'), '--users-poll-ms', '200', '--host', 'c8'], { stdio: 'ignore' });
    try {
      const end = Date.now() + 20_000;
      while (r.sync!.hosts.get('c8')?.version !== r.publisher.written && Date.now() < end) await new Promise((res) => setTimeout(res, 100));
      expect(r.sync!.hosts.get('c8')?.version).toBe(r.publisher.written);
      expect(holds('cli', addr(1))).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await new Promise((res) => child.once('exit', (code) => res(code)))).toBe(0);
  }, 30_000);

  it('gives nothing to a request without munge, with a credential of another body, or from a user other than root or SlurmUser', async () => {
    const url = `${r.sync!.url}${USERS_SYNC_PATH}`;
    const body = Buffer.from(JSON.stringify({ host: 'x', have: 0 }));
    const post = async (auth?: string) => {
      const res = await fetch(url, { method: 'POST', body, headers: auth ? { 'x-gridlink-auth': auth } : {} });
      return { status: res.status, bytes: (await res.arrayBuffer()).byteLength };
    };
    expect((await post()).status).toBe(401);
    expect((await post(await authenticate(Buffer.from('another body')))).status).toBe(401);
    const digest = createHash('sha256').update(body).digest('hex');
    const asNobody = execFileSync('runuser', ['-u', 'nobody', '--', 'munge', '-s', digest], { encoding: 'utf8' }).trim();
    expect((await post(`munge ${asNobody}`)).status).toBe(403);
    const ok = await post(await authenticate(body));
    expect(ok.status).toBe(200);
    expect(ok.bytes).toBe(readFileSync(join(dir, 'supervisor', 'users.cdb')).length);
    const bad = Buffer.from('{"host":"a b","have":0}');
    expect((await fetch(url, { method: 'POST', body: bad, headers: { 'x-gridlink-auth': await authenticate(bad) } })).status).toBe(400);
  });
});

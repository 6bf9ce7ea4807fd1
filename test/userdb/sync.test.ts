// Propagation of the users database (resolver "gridlink") with real munge:
// the supervisor's sync server, two hosts' pullers (the relay's code) writing
// their own copies, a customer resolved only once both hosts report a version
// holding it; a host that is down makes the submission wait, then fail with
// the host named (retryable), and catches up when it is back; requests that
// are not authenticated, or not by root/SlurmUser, get nothing; relays
// with auth=hmac pull with the ingest's HMAC key, a wrong key gets nothing;
// every host that pulls is recorded (state database, /metrics) beside the
// configured list.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureMunge } from '../../harness/cluster/munge.js';
import { pino } from 'pino';
import { Registry } from 'prom-client';

import { createAuthenticator } from '../../src/relay/auth.js';
import { parseRelayOptions } from '../../src/relay/config.js';
import { startRelayUsersPull } from '../../src/relay/users-pull.js';
import { startGridlinkResolver, type GridlinkResolver } from '../../src/supervisor/users-gridlink.js';
import { UserResolveError } from '../../src/supervisor/users.js';
import { cdbGet } from '../../src/userdb/cdb.js';
import { readUsersDbVersion } from '../../src/userdb/publisher.js';
import { startUsersPull, type UsersPuller } from '../../src/userdb/sync-pull.js';
import { USERS_SYNC_PATH } from '../../src/userdb/sync-protocol.js';
import { openStateDb } from '../../src/compose/state-store.js';
import { openUserDb } from './state-db.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';

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
    const child = spawn(process.execPath, [...cliEntry(), 'relay', '--spool', join(dir, 'cli-spool'), '--reporter', 'http://127.0.0.1:9', '--users-url', r.sync!.url, '--users-db', hostFile('cli'), '--users-poll-ms', '200', '--host', 'c8'], { stdio: 'ignore' });
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

describe('relays that authenticate with HMAC (auth=hmac) pull it with the ingest\'s key', () => {
  it('the key of the ingest gets the file; another key, an unknown key id or a replayed request gets nothing', async () => {
    const key = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text, { mode: 0o600 });
      return f;
    };
    const good = key('relay.key', 'k'.repeat(48));
    const wrong = key('wrong.key', 'w'.repeat(48));
    const h = await startGridlinkResolver(
      { minUid: 1000, gridlink: { dbPath: join(dir, 'hmac-supervisor', 'users.cdb'), firstUid: 300_000, maxUid: 400_000, homeRoot: '/home', shell: '/bin/sh', sync: { listen: { host: '127.0.0.1', port: 0 }, hosts: ['h1'], waitMs: 5000 } } },
      openStateDb(join(dir, 'hmac-state.db')),
      // as the supervisor passes the ingest's: munge off here, one HMAC key
      { auth: { allowedUids: new Set([0]), munge: null, hmacKeys: new Map([['relays', Buffer.from('k'.repeat(48))]]) } },
    );
    try {
      const hmacPull = (host: string, keyFile: string, keyId = 'relays') => {
        const p = startUsersPull({ url: h.sync!.url, authenticate: createAuthenticator({ kind: 'hmac', keyFile, keyId }), path: hostFile(host), host, intervalMs: 100 });
        pullers.push(p);
        return p;
      };
      // the relay with the right key, through the options the SLURM plugins pass
      const { config } = parseRelayOptions(['spool=/s', 'reporter=http://127.0.0.1:9', 'auth=hmac', `hmac_key_file=${good}`, 'hmac_key_id=relays', `users_url=${h.sync!.url}`, `users_db=${hostFile('h1')}`, 'users_poll_ms=100', 'host=h1']);
      pullers.push(startRelayUsersPull(config, pino({ level: 'silent' }))!);
      const u = await h.resolve(addr(50) as never); // waits for h1 to hold it
      expect(holds('h1', u.name)).toBe(true);
      expect(h.sync!.hosts.get('h1')?.version).toBe(h.publisher.written);

      // a wrong key, an unknown key id: refused (401), nothing installed, the host not counted
      const w = hmacPull('h2', wrong);
      const x = hmacPull('h3', good, 'other');
      await expect(w.pullOnce()).rejects.toThrow(/^401 HMAC signature does not match/);
      await expect(x.pullOnce()).rejects.toThrow(/^401 no HMAC key with id other/);
      w.stop();
      x.stop();
      expect(existsSync(hostFile('h2')) || existsSync(hostFile('h3'))).toBe(false);
      expect(h.sync!.hosts.has('h2') || h.sync!.hosts.has('h3')).toBe(false);

      // a captured request sent again: the nonce is spent
      const body = Buffer.from(JSON.stringify({ host: 'h4', have: 0 }));
      const auth = await createAuthenticator({ kind: 'hmac', keyFile: good, keyId: 'relays' })(body);
      const post = () => fetch(`${h.sync!.url}${USERS_SYNC_PATH}`, { method: 'POST', body, headers: { 'x-gridlink-auth': auth } });
      const first = await post();
      expect(first.status).toBe(200);
      await first.arrayBuffer();
      const again = await post();
      expect(again.status).toBe(401);
      expect(await again.text()).toMatch(/already used/);
      // munge is off on this supervisor (ingest.munge false): a munge pull is refused
      expect((await fetch(`${h.sync!.url}${USERS_SYNC_PATH}`, { method: 'POST', body, headers: { 'x-gridlink-auth': await authenticate(body) } })).status).toBe(401);
    } finally {
      await h.close();
    }
  });
});

describe('the hosts that pull, against users.gridlink.sync.hosts', () => {
  it('records each host that pulls and its version in the state database and on /metrics; a listed host never seen shows as such', async () => {
    const registry = new Registry();
    const h = await startGridlinkResolver(
      { minUid: 1000, gridlink: { dbPath: join(dir, 'hosts-supervisor', 'users.cdb'), firstUid: 300_000, maxUid: 400_000, homeRoot: '/home', shell: '/bin/sh', sync: { listen: { host: '127.0.0.1', port: 0 }, hosts: ['n1', 'n2'], waitMs: 300 } } },
      openStateDb(join(dir, 'hosts-state.db')),
      { registry },
    );
    try {
      const p1 = startUsersPull({ url: h.sync!.url, authenticate, path: hostFile('n1'), host: 'n1', intervalMs: 100 });
      const p3 = startUsersPull({ url: h.sync!.url, authenticate, path: hostFile('n3'), host: 'n3', intervalMs: 100 }); // not listed
      pullers.push(p1, p3);
      const err = await h.resolve(addr(60) as never).catch((e: unknown) => e); // n2 never pulls
      expect((err as Error).message).toMatch(/n2 \(never asked\)/);
      const v = h.publisher.written;
      const end = Date.now() + 5000;
      while (h.hostReports.all().find((r) => r.host === 'n3')?.version !== v && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
      const byHost = new Map(h.hostReports.all().map((r) => [r.host, r]));
      expect(byHost.get('n1')).toMatchObject({ listed: true, version: v });
      expect(byHost.get('n2')).toMatchObject({ listed: true, version: undefined, lastSeen: undefined });
      expect(byHost.get('n3')).toMatchObject({ listed: false, version: v });
      expect(Date.now() - byHost.get('n3')!.lastSeen!).toBeLessThan(10_000);
      const text = await registry.metrics();
      expect(text).toContain(`gridlink_users_db_version ${v}`);
      expect(text).toContain(`gridlink_users_db_host_version{host="n1",listed="true"} ${v}`);
      expect(text).toContain('gridlink_users_db_host_version{host="n2",listed="true"} 0');
      expect(text).toContain(`gridlink_users_db_host_version{host="n3",listed="false"} ${v}`);
      expect(text).toContain('gridlink_users_db_host_last_seen_seconds{host="n2",listed="true"} 0');
      expect(text).toMatch(/gridlink_users_db_host_last_seen_seconds\{host="n3",listed="false"\} 1\d{9}/);
      p1.stop();
      p3.stop();
    } finally {
      await h.close();
    }
  });
});

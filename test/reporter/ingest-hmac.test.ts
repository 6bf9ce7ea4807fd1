// HMAC authentication (for a reporter outside the cluster's munge realm):
// valid, wrong key, stale timestamp, replayed nonce (also across a restart);
// key file checks at start.
import { chmodSync, chownSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { HMAC_MAX_SKEW_S } from '../../src/relay/protocol.js';
import { ConfigError, resolveIngestConfig } from '../../src/reporter/ingest/config.js';
import { batchBody, hmacHeader, mungeHeader, newSpoolId, post, startTestServer, storedCount, tempDir, wireEvent, type TestServer } from './helpers.js';

const KEY = 'b1946ac92492d2347c6235b4d2611184a3f1e1f7a6e2c1b9e4d2f0c8a7b6e5d4';
const OTHER_KEY = '0000000000000000000000000000000000000000000000000000000000000000';
const MARKER = 'HMAC-BODY-MARKER-19ad';

let t: TestServer;
let root: { dir: string; cleanup: () => void };

function keyFile(name: string, content: string, mode: number): string {
  const p = join(root.dir, name);
  writeFileSync(p, content, { mode });
  chmodSync(p, mode); // umask-proof
  return p;
}

beforeAll(async () => {
  root = tempDir('gl-hmac-');
  const kf = keyFile('relay.key', `${KEY}\n`, 0o600);
  t = await startTestServer(join(root.dir, 'store'), { munge: false, hmacKeys: [{ keyId: 'relay1', keyFile: kf }] });
});
afterAll(async () => {
  await t?.stop();
  root?.cleanup();
});

describe('hmac-sha256 requests', () => {
  let spoolId: string;
  let body: Buffer;
  let countBefore: number;
  let logsBefore: number;

  beforeEach(() => {
    spoolId = newSpoolId();
    body = batchBody(spoolId, [wireEvent(1, { comment: MARKER }), wireEvent(2)]);
    countBefore = storedCount(t.storeDir);
    logsBefore = t.logs.lines.length;
  });

  async function expectRefused(auth: string, reason: string): Promise<void> {
    const r = await post(t.url, body, auth);
    expect(r).toMatchObject({ status: 401, json: { error: reason } });
    const refused = t.logs.lines.slice(logsBefore).filter((l) => l.msg === 'ingest: request refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ status: 401, reason });
    expect(refused[0]!.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(t.logs.text()).not.toContain(MARKER);
    expect(storedCount(t.storeDir)).toBe(countBefore);
    expect(t.server.store.has(spoolId, '1')).toBe(false);
  }

  it('a valid signature is accepted and stored (key file\'s trailing newline ignored)', async () => {
    const r = await post(t.url, body, hmacHeader('relay1', KEY, body));
    expect(r).toEqual({ status: 200, json: { stored: 2, duplicates: 0, rejected: [] } });
    expect(t.server.store.has(spoolId, '1')).toBe(true);
    expect(storedCount(t.storeDir)).toBe(countBefore + 2);
  });

  it('a timestamp inside the window on either side is accepted', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await post(t.url, body, hmacHeader('relay1', KEY, body, { ts: now - HMAC_MAX_SKEW_S + 5 }))).status).toBe(200);
    const b2 = batchBody(spoolId, [wireEvent(3)]);
    expect((await post(t.url, b2, hmacHeader('relay1', KEY, b2, { ts: now + HMAC_MAX_SKEW_S - 5 }))).status).toBe(200);
  });

  it('wrong key: 401', async () => {
    await expectRefused(hmacHeader('relay1', OTHER_KEY, body), 'bad_signature');
  });

  it('unknown key id: 401', async () => {
    await expectRefused(hmacHeader('relay9', KEY, body), 'unknown_key');
  });

  it('signature over another body (tampered): 401', async () => {
    const other = batchBody(spoolId, [wireEvent(1)]);
    await expectRefused(hmacHeader('relay1', KEY, other), 'bad_signature');
  });

  it('stale timestamp: 401', async () => {
    await expectRefused(hmacHeader('relay1', KEY, body, { ts: Math.floor(Date.now() / 1000) - HMAC_MAX_SKEW_S - 10 }), 'stale_timestamp');
  });

  it('timestamp from the future beyond the window: 401', async () => {
    await expectRefused(hmacHeader('relay1', KEY, body, { ts: Math.floor(Date.now() / 1000) + HMAC_MAX_SKEW_S + 10 }), 'stale_timestamp');
  });

  it('replayed nonce (the exact same request twice): the second is 401', async () => {
    const auth = hmacHeader('relay1', KEY, body);
    expect((await post(t.url, body, auth)).status).toBe(200);
    countBefore = storedCount(t.storeDir);
    logsBefore = t.logs.lines.length;
    const r = await post(t.url, body, auth);
    expect(r).toMatchObject({ status: 401, json: { error: 'replayed_nonce' } });
    expect(storedCount(t.storeDir)).toBe(countBefore);
    expect(t.logs.lines.slice(logsBefore).find((l) => l.msg === 'ingest: request refused')).toMatchObject({ reason: 'replayed_nonce', keyId: 'relay1' });
  });

  it('a request replayed after the reporter restarts is still 401 (nonces are kept in the state database)', async () => {
    const auth = hmacHeader('relay1', KEY, body);
    expect((await post(t.url, body, auth)).status).toBe(200);
    await t.stop();
    t = await startTestServer(t.storeDir, { munge: false, hmacKeys: [{ keyId: 'relay1', keyFile: join(root.dir, 'relay.key') }] });
    countBefore = storedCount(t.storeDir);
    const r = await post(t.url, body, auth);
    expect(r).toMatchObject({ status: 401, json: { error: 'replayed_nonce' } });
    expect(storedCount(t.storeDir)).toBe(countBefore);
    expect(t.logs.lines.find((l) => l.msg === 'ingest: request refused')).toMatchObject({ reason: 'replayed_nonce', keyId: 'relay1' });
    // The same body under a fresh nonce is a duplicate, not a refusal.
    expect(await post(t.url, body, hmacHeader('relay1', KEY, body))).toEqual({ status: 200, json: { stored: 0, duplicates: 2, rejected: [] } });
  });

  it('a munge credential when munge is disabled: 401', async () => {
    await expectRefused(await mungeHeader(body), 'munge_disabled');
  });
});

describe('key files are checked at start', () => {
  const cfg = (keyFile: string) => ({ storeDir: join(root.dir, 'unused'), munge: false as const, hmacKeys: [{ keyId: 'k', keyFile }] });

  it('refuses a key file with mode 0644, saying how to fix it', () => {
    const p = keyFile('open.key', KEY, 0o644);
    expect(() => resolveIngestConfig(cfg(p))).toThrow(ConfigError);
    expect(() => resolveIngestConfig(cfg(p))).toThrow(/mode 0644.*chmod 600/);
  });

  it('refuses group-readable 0640 and accepts 0400', () => {
    expect(() => resolveIngestConfig(cfg(keyFile('g.key', KEY, 0o640)))).toThrow(/mode 0640/);
    expect(resolveIngestConfig(cfg(keyFile('ro.key', KEY, 0o400))).hmacKeys.get('k')?.toString()).toBe(KEY);
  });

  it('refuses a key file owned by another user', () => {
    const p = keyFile('nobody.key', KEY, 0o600);
    chownSync(p, 65534, 65534);
    expect(() => resolveIngestConfig(cfg(p))).toThrow(/owned by uid 65534/);
  });

  it('refuses a symbolic link to a good key file', () => {
    const p = join(root.dir, 'link.key');
    symlinkSync(keyFile('target.key', KEY, 0o600), p);
    expect(() => resolveIngestConfig(cfg(p))).toThrow(/symbolic link/);
  });

  it('refuses a short key, a directory, a missing file', () => {
    expect(() => resolveIngestConfig(cfg(keyFile('short.key', 'abc\n', 0o600)))).toThrow(/at least 32/);
    expect(() => resolveIngestConfig(cfg(root.dir))).toThrow(/not a regular file/);
    expect(() => resolveIngestConfig(cfg(join(root.dir, 'missing.key')))).toThrow(/cannot open/);
  });

  it('refuses to run with no authentication at all', () => {
    expect(() => resolveIngestConfig({ storeDir: root.dir, munge: false })).toThrow(/no authentication/);
  });
});

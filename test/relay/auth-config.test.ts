// Batch authentication (munge, HMAC key files) and the relay's configuration sources.
import { chmodSync, chownSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { mungeDecode } from '../../src/native/munge.js';
import { createAuthenticator } from '../../src/relay/auth.js';
import { configFromFlat, loadHmacKey, parseRelayConfig, parseRelayOptions } from '../../src/relay/config.js';
import { MAX_BATCH_BYTES, bodyDigestHex, hmacSignature } from '../../src/relay/protocol.js';
import { startRelay } from '../../src/relay/relay.js';
import { FakeReceiver } from './fake-receiver.js';
import { ackedSeq, appendJobs, captureLog, relayConfig, tempDir, until } from './helpers.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function dir(): string {
  const t = tempDir('gl-auth-');
  cleanups.push(t.cleanup);
  return t.dir;
}

const KEY = 'a3f1c0de'.repeat(8);

function keyFile(d: string, mode = 0o600, contents = `${KEY}\n`): string {
  const f = join(d, 'relay.key');
  writeFileSync(f, contents, { mode });
  chmodSync(f, mode);
  return f;
}

describe('batch authentication', () => {
  it('munge: the header is a credential from uid 0 whose payload is the sha256 hex of the exact body', async () => {
    const auth = createAuthenticator({ kind: 'munge' });
    const body = Buffer.from('{"version":1,"records":["\\udcff"]}');
    const header = await auth(body);
    expect(header).toMatch(/^munge MUNGE:\S+:$/);
    const decoded = await mungeDecode(header.slice('munge '.length));
    expect(decoded.uid).toBe(0);
    expect(decoded.payload.toString()).toBe(bodyDigestHex(body));
    expect(decoded.payload.toString()).not.toBe(bodyDigestHex(Buffer.concat([body, Buffer.from(' ')])));
    await expect(mungeDecode(header.slice('munge '.length))).rejects.toMatchObject({ code: 'EMUNGE_CRED_REPLAYED' });
  });

  it('hmac: the signature verifies over keyId, time, nonce and body digest, with a fresh nonce each time', async () => {
    const f = keyFile(dir());
    const now = 1_800_000_000_000;
    const auth = createAuthenticator({ kind: 'hmac', keyFile: f, keyId: 'cluster-a' }, () => now);
    const body = Buffer.from('{"x":1}');
    const [h1, h2] = [await auth(body), await auth(body)];
    const m = /^hmac-sha256 cluster-a:(\d+):([0-9a-f]{32}):([0-9a-f]{64})$/.exec(h1)!;
    expect(m).not.toBeNull();
    expect(Number(m[1])).toBe(now / 1000);
    expect(m[3]).toBe(hmacSignature(Buffer.from(KEY), 'cluster-a', now / 1000, m[2]!, bodyDigestHex(body)));
    expect(m[3]).not.toBe(hmacSignature(Buffer.from(`${KEY}\n`), 'cluster-a', now / 1000, m[2]!, bodyDigestHex(body))); // newline trimmed
    expect(h2).not.toBe(h1);
  });

  it('hmac: a relay delivers to a receiver holding the same key, and one with another key gets 401s and no ack', async () => {
    const d = dir();
    const f = keyFile(d);
    const good = await new FakeReceiver({ verify: { kind: 'hmac', keyId: 'k1', key: Buffer.from(KEY) } }).start();
    const bad = await new FakeReceiver({ verify: { kind: 'hmac', keyId: 'k1', key: Buffer.from('b'.repeat(64)) } }).start();
    cleanups.push(() => good.stop(), () => bad.stop());
    const s1 = join(d, 's1');
    const s2 = join(d, 's2');
    appendJobs(s1, 50);
    appendJobs(s2, 50);
    const r1 = startRelay(relayConfig(s1, good.url, { auth: { kind: 'hmac', keyFile: f, keyId: 'k1' } }), { logger: captureLog().logger });
    const r2 = startRelay(relayConfig(s2, bad.url, { auth: { kind: 'hmac', keyFile: f, keyId: 'k1' } }), { logger: captureLog().logger });
    cleanups.push(() => r1.stop(), () => r2.stop());
    await r1.drained();
    expect(good.stored).toHaveLength(50);
    expect(good.requests.every((r) => r.authOk)).toBe(true);
    await until(() => bad.requests.length >= 3, 5000, 'three refused attempts');
    expect(bad.requests.every((r) => r.status === 401)).toBe(true);
    expect(ackedSeq(s2)).toBe(0);
  });

  it('munge: when munged cannot be reached, retries without acking and says to start munged', async () => {
    const d = dir();
    const rx = await new FakeReceiver().start();
    cleanups.push(() => rx.stop());
    appendJobs(d, 3);
    const relay = startRelay(relayConfig(d, rx.url, { auth: { kind: 'munge', socket: join(d, 'no-munged.sock') } }), { logger: captureLog().logger });
    cleanups.push(() => relay.stop());
    await until(() => relay.stats().retries >= 2, 5000, 'two failed attempts');
    expect(relay.stats().lastError).toMatch(/munge_encode failed \(EMUNGE_SOCKET.*is munged running on .*no-munged\.sock/);
    expect(rx.requests).toHaveLength(0);
    expect(ackedSeq(d)).toBe(0);
  });

  it('refuses key files that others could read, that are symlinks, owned by someone else, or too short', () => {
    const d = dir();
    expect(loadHmacKey(keyFile(d, 0o400)).toString()).toBe(KEY);
    expect(() => loadHmacKey(keyFile(d, 0o644))).toThrow(/mode 0644: it must be 0600 or 0400: chmod 600/);
    expect(() => loadHmacKey(keyFile(d, 0o640))).toThrow(/mode 0640/);
    const link = join(d, 'link.key');
    symlinkSync(keyFile(d), link);
    expect(() => loadHmacKey(link)).toThrow(/not a regular file/);
    expect(() => loadHmacKey(d)).toThrow(/not a regular file/);
    const f = keyFile(d);
    chownSync(f, 65534, 65534);
    expect(() => loadHmacKey(f)).toThrow(/owned by uid 65534: it must belong to root/);
    chownSync(f, 0, 0);
    expect(() => loadHmacKey(keyFile(d, 0o600, 'short\n'))).toThrow(/5 bytes, under the 32-byte minimum/);
    expect(() => loadHmacKey(join(d, 'missing'))).toThrow(/ENOENT/);
    // and the config refuses to start with one
    expect(() =>
      parseRelayConfig({ spoolDir: d, reporterUrl: 'http://r:1', auth: { kind: 'hmac', keyFile: keyFile(d, 0o644), keyId: 'k' } }),
    ).toThrow(/chmod 600/);
  });
});

describe('relay configuration', () => {
  it('parses the key=value list the plugins pass, with defaults', () => {
    const { config, runtime } = parseRelayOptions(['spool=/var/spool/gridlink/slurmd', 'reporter=http://sup:7390', 'auth=munge', 'hooks=/etc/gridlink/h.mjs', 'log=/var/log/gl.log']);
    expect(config).toEqual({
      spoolDir: '/var/spool/gridlink/slurmd',
      reporterUrl: 'http://sup:7390',
      daemon: 'slurmd',
      host: hostname(),
      auth: { kind: 'munge' },
      batchMaxRecords: 2000,
      batchMaxBytes: 1024 * 1024,
      batchesInFlight: 4,
      pollIntervalMs: 1000,
      backoff: { initialMs: 200, maxMs: 30_000, factor: 2 },
      quarantineFile: '/var/spool/gridlink/slurmd/quarantine.jsonl',
      hooks: { module: '/etc/gridlink/h.mjs', timeoutMs: 2000, queueMax: 10_000 },
      requestTimeoutMs: 30_000,
      httpClient: 'undici',
    });
    expect(runtime).toEqual({ logFile: '/var/log/gl.log', logLevel: undefined });
    const c2 = parseRelayOptions(['spool=/s', 'reporter=https://r', 'daemon=slurmctld', 'batch-max-records=20', 'batches_in_flight=1', 'backoff_max_ms=5000', 'munge_socket=/run/m.sock']).config;
    expect(c2).toMatchObject({ daemon: 'slurmctld', batchMaxRecords: 20, batchesInFlight: 1, backoff: { initialMs: 200, maxMs: 5000 }, auth: { kind: 'munge', socket: '/run/m.sock' } });
  });

  it('refuses what it cannot run with, naming the field', () => {
    expect(() => parseRelayOptions(['spool=/s', 'reportr=http://r'])).toThrow(/unknown relay option "reportr" \(known keys: spool, .*reporter/);
    expect(() => parseRelayOptions(['spool=/s'])).toThrow(/reporterUrl: Required/);
    expect(() => parseRelayOptions(['spool=/s', 'reporter=ftp://r'])).toThrow(/http:\/\/ or https:\/\//);
    expect(() => parseRelayOptions(['spool=/s', 'reporter=http://r', 'hooks=rel.mjs'])).toThrow(/hooks.module must be an absolute path/);
    expect(() => parseRelayOptions(['spool=/s', 'reporter=http://r', `batch_max_bytes=${MAX_BATCH_BYTES + 1}`])).toThrow(/batchMaxBytes/);
    expect(() => parseRelayOptions(['spool=/s', 'reporter=http://r', 'auth=hmac'])).toThrow(/needs a key file and a key id/);
    expect(() => parseRelayOptions(['spool=/s', 'reporter=http://r', 'poll_ms=soon'])).toThrow(/poll_ms=soon: not a number/);
    expect(() => parseRelayOptions(['spool=/s', 'reporter=http://r', 'noequals'])).toThrow(/not key=value/);
  });

  it('reads a JSON config file and lets flags override it field by field', () => {
    const d = dir();
    const f = keyFile(d);
    const file = join(d, 'relay.json');
    writeFileSync(
      file,
      JSON.stringify({ spoolDir: '/s', reporterUrl: 'http://a:1', auth: { kind: 'hmac', keyFile: f, keyId: 'k1' }, backoff: { maxMs: 9000 }, hooks: { module: '/h.mjs', timeoutMs: 500 } }),
    );
    const c = configFromFlat({ configFile: file, reporterUrl: 'http://b:2', hookTimeoutMs: 700 });
    expect(c).toMatchObject({
      spoolDir: '/s',
      reporterUrl: 'http://b:2',
      auth: { kind: 'hmac', keyFile: f, keyId: 'k1' },
      backoff: { initialMs: 200, maxMs: 9000 },
      hooks: { module: '/h.mjs', timeoutMs: 700 },
    });
    expect(configFromFlat({ configFile: file, authKind: 'munge' }).auth).toEqual({ kind: 'munge' });
    writeFileSync(file, '{"spoolDir": "/s", "unknownKnob": 1, "reporterUrl": "http://a:1"}');
    expect(() => configFromFlat({ configFile: file })).toThrow(/Unrecognized key\(s\) in object: 'unknownKnob'/);
  });
});

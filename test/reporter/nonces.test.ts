// The HMAC nonce cache: replay detection within the window, its bound, and
// the hmac_nonces table of the state database that carries it across a
// restart.
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { Authenticator } from '../../src/reporter/ingest/auth.js';
import { NonceCache } from '../../src/reporter/ingest/nonces.js';
import { type Db } from '../../src/state/db.js';
import { openStateDb } from '../../src/compose/state-store.js';
import { batchBody, hmacHeader, newSpoolId, sha256hex, tempDir, wireEvent } from './helpers.js';

const WINDOW = 300;
const T0 = 1_800_000_000;

let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.reverse()) c();
  cleanups = [];
});
function dbPath(): string {
  const d = tempDir('gl-nonces-');
  cleanups.push(d.cleanup);
  return join(d.dir, 'gridlink.db');
}
function openState(path: string): Db {
  const db = openStateDb(path);
  cleanups.push(() => db.open && db.close());
  return db;
}
/** The table's rows, read on a connection of its own. */
function rows(path: string): Array<{ nonce: string; expires_at: number }> {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT nonce, expires_at FROM hmac_nonces ORDER BY nonce').all() as Array<{ nonce: string; expires_at: number }>;
  } finally {
    db.close();
  }
}

describe('NonceCache', () => {
  it('refuses a nonce seen within the window and forgets it once its timestamp leaves the window', async () => {
    const c = NonceCache.inMemory(WINDOW);
    expect(await c.claim('k:aa', T0, T0)).toBe('ok');
    expect(await c.claim('k:aa', T0, T0 + WINDOW)).toBe('replayed');
    expect(await c.claim('k:bb', T0, T0)).toBe('ok');
    // Past the window the timestamp check refuses the request; the cache may reuse the slot.
    expect(await c.claim('k:aa', T0 + WINDOW + 20, T0 + WINDOW + 20)).toBe('ok');
    await c.close();
  });

  it('answers full at its bound instead of growing, and frees slots as nonces expire', async () => {
    const c = NonceCache.inMemory(WINDOW, 2);
    expect(await c.claim('a', T0, T0)).toBe('ok');
    expect(await c.claim('b', T0, T0)).toBe('ok');
    expect(await c.claim('c', T0, T0)).toBe('full');
    expect(await c.claim('c', T0 + WINDOW + 5, T0 + WINDOW + 5)).toBe('ok');
    expect(c.size).toBe(1);
    await c.close();
  });

  it('in the state database, a nonce claimed before a restart is still refused after it', async () => {
    const p = dbPath();
    let db = openState(p);
    const a = NonceCache.open(db, WINDOW, T0);
    expect(await a.claim('relay1:0011', T0, T0)).toBe('ok');
    expect(await a.claim('relay1:0022', T0 - 200, T0)).toBe('ok');
    // committed when the claim resolves: another connection sees it
    expect(rows(p)).toEqual([
      { nonce: 'relay1:0011', expires_at: T0 + WINDOW + 1 },
      { nonce: 'relay1:0022', expires_at: T0 - 200 + WINDOW + 1 },
    ]);
    await a.close();
    expect(db.open).toBe(true); // the cache does not own the database
    db.close();

    db = openState(p);
    const b = NonceCache.open(db, WINDOW, T0 + 150);
    expect(await b.claim('relay1:0011', T0, T0 + 150)).toBe('replayed');
    expect(await b.claim('relay1:0022', T0 - 200, T0 + 150)).toBe('ok'); // its window ended at T0+101
    await b.close();
  });

  it('opening deletes the expired rows and keeps the live ones', async () => {
    const p = dbPath();
    let db = openState(p);
    const a = NonceCache.open(db, WINDOW, T0);
    for (let i = 0; i < 5; i++) await a.claim(`k:old${i}`, T0 - 290, T0);
    await a.claim('k:live', T0, T0);
    expect(rows(p)).toHaveLength(6);
    db.close();
    db = openState(p);
    const b = NonceCache.open(db, WINDOW, T0 + 20);
    expect(b.size).toBe(1);
    expect(rows(p)).toEqual([{ nonce: 'k:live', expires_at: T0 + WINDOW + 1 }]);
    expect(await b.claim('k:old0', T0 + 20, T0 + 20)).toBe('ok');
    expect(await b.claim('k:live', T0, T0 + 20)).toBe('replayed');
  });

  it('deletes expired rows while claiming, so the table stays near the number of live nonces', async () => {
    const p = dbPath();
    const db = openState(p);
    const c = NonceCache.open(db, 10, T0);
    let now = T0;
    for (let i = 0; i < 1500; i++) {
      if (i % 100 === 0) now += 20; // earlier nonces expire
      expect(await c.claim(`k:${i}`, now, now)).toBe('ok');
    }
    const n = rows(p).length;
    expect(n).toBeLessThanOrEqual(200);
    expect(n).toBeGreaterThanOrEqual(100);
    expect(c.size).toBe(n);
    db.close();
    const again = NonceCache.open(openState(p), 10, now);
    expect(await again.claim('k:1499', now, now)).toBe('replayed');
  });

  it('concurrent claims of one nonce: exactly one wins', async () => {
    const c = NonceCache.open(openState(dbPath()), WINDOW, T0);
    const r = await Promise.all(Array.from({ length: 10 }, () => c.claim('k:same', T0, T0)));
    expect(r.filter((x) => x === 'ok')).toHaveLength(1);
    expect(r.filter((x) => x === 'replayed')).toHaveLength(9);
  });
});

describe('Authenticator with a nonce table that cannot be written', () => {
  it('answers 503 nonce_journal_failed (retry later) instead of accepting or crashing, and the nonce stays unused', async () => {
    const db = openState(dbPath());
    const key = Buffer.alloc(32, 7);
    const auth = new Authenticator({
      allowedUids: new Set([0]),
      munge: null,
      hmacKeys: new Map([['relay1', key]]),
      mungeDecode: () => Promise.reject(new Error('unused')),
      nonces: NonceCache.open(db, WINDOW, Math.floor(Date.now() / 1000)),
    });
    const body = batchBody(newSpoolId(), [wireEvent(1)]);
    const parsed = auth.parseHeader(hmacHeader('relay1', key, body));
    expect('mode' in parsed && !('ok' in parsed)).toBe(true);
    const p = parsed as Exclude<typeof parsed, { ok: false }>;
    db.pragma('query_only = ON'); // every write fails, as on a read-only or failing disk
    const v = await auth.verify(p, sha256hex(body));
    expect(v).toMatchObject({ ok: false, status: 503, reason: 'nonce_journal_failed' });
    expect((v as { detail: string }).detail).toMatch(/readonly.*retry once the database is writable/);
    db.pragma('query_only = OFF');
    expect(await auth.verify(p, sha256hex(body))).toMatchObject({ ok: true, mode: 'hmac' });
    expect(await auth.verify(p, sha256hex(body))).toMatchObject({ ok: false, status: 401, reason: 'replayed_nonce' });
  });
});

// The HMAC nonce cache: replay detection within the window, its bound, and
// the journal that carries it across a restart.
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Authenticator } from '../../src/reporter/ingest/auth.js';
import { NonceCache } from '../../src/reporter/ingest/nonces.js';
import { batchBody, hmacHeader, newSpoolId, sha256hex, tempDir, wireEvent } from './helpers.js';

const WINDOW = 300;
const T0 = 1_800_000_000;

let dirs: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  for (const d of dirs) d.cleanup();
  dirs = [];
});
function journalPath(): string {
  const d = tempDir('gl-nonces-');
  dirs.push(d);
  return join(d.dir, 'hmac-nonces');
}

describe('NonceCache', () => {
  it('refuses a nonce seen within the window and forgets it once its timestamp leaves the window', async () => {
    const c = new NonceCache(WINDOW);
    expect(await c.claim('k:aa', T0, T0)).toBe('ok');
    expect(await c.claim('k:aa', T0, T0 + WINDOW)).toBe('replayed');
    expect(await c.claim('k:bb', T0, T0)).toBe('ok');
    // Past the window the timestamp check refuses the request; the cache may reuse the slot.
    expect(await c.claim('k:aa', T0 + WINDOW + 20, T0 + WINDOW + 20)).toBe('ok');
  });

  it('answers full at its bound instead of growing, and frees slots as nonces expire', async () => {
    const c = new NonceCache(WINDOW, 2);
    expect(await c.claim('a', T0, T0)).toBe('ok');
    expect(await c.claim('b', T0, T0)).toBe('ok');
    expect(await c.claim('c', T0, T0)).toBe('full');
    expect(await c.claim('c', T0 + WINDOW + 5, T0 + WINDOW + 5)).toBe('ok');
    expect(c.size).toBe(1);
  });

  it('with a journal, a nonce claimed before a restart is still refused after it', async () => {
    const p = journalPath();
    const a = await NonceCache.open(p, WINDOW, T0);
    expect(await a.claim('relay1:0011', T0, T0)).toBe('ok');
    expect(await a.claim('relay1:0022', T0 - 200, T0)).toBe('ok');
    await a.close();

    const b = await NonceCache.open(p, WINDOW, T0 + 150);
    expect(await b.claim('relay1:0011', T0, T0 + 150)).toBe('replayed');
    expect(await b.claim('relay1:0022', T0 - 200, T0 + 150)).toBe('ok'); // its window ended at T0+101
    await b.close();
  });

  it('opening drops expired lines and a torn last line, keeping the live ones', async () => {
    const p = journalPath();
    const a = await NonceCache.open(p, WINDOW, T0);
    for (let i = 0; i < 5; i++) await a.claim(`k:old${i}`, T0 - 290, T0);
    await a.claim('k:live', T0, T0);
    await a.close();
    appendFileSync(p, `${T0 + WINDOW} k:to`); // cut short: no newline
    const b = await NonceCache.open(p, WINDOW, T0 + 20);
    expect(b.size).toBe(2); // k:live and the torn line, which still parses as a whole entry
    await b.close();
    appendFileSync(p, '99999999999999999 x\nnot a line at all\n');
    const c = await NonceCache.open(p, WINDOW, T0 + 20);
    expect(c.size).toBe(2);
    expect(readFileSync(p, 'latin1').split('\n').filter(Boolean).sort()).toEqual([`${T0 + WINDOW + 1} k:live`, `${T0 + WINDOW} k:to`].sort());
    await c.close();
  });

  it('compacts the journal so it stays near the number of live nonces', async () => {
    const p = journalPath();
    const c = await NonceCache.open(p, 10, T0);
    let now = T0;
    for (let i = 0; i < 12_000; i++) {
      if (i % 1000 === 0) now += 20; // earlier nonces expire
      expect(await c.claim(`k:${i}`, now, now)).toBe('ok');
    }
    await c.close();
    const lines = readFileSync(p, 'latin1').split('\n').filter(Boolean).length;
    expect(lines).toBeLessThan(12_000);
    expect(statSync(p).size).toBeGreaterThan(0);
    const again = await NonceCache.open(p, 10, now);
    expect(await again.claim('k:11999', now, now)).toBe('replayed');
    await again.close();
  });

  it('concurrent claims of one nonce: exactly one wins', async () => {
    const c = await NonceCache.open(journalPath(), WINDOW, T0);
    const r = await Promise.all(Array.from({ length: 10 }, () => c.claim('k:same', T0, T0)));
    expect(r.filter((x) => x === 'ok')).toHaveLength(1);
    expect(r.filter((x) => x === 'replayed')).toHaveLength(9);
    await c.close();
  });
});

describe('Authenticator with a nonce journal that cannot be written', () => {
  it('answers 503 nonce_journal_failed (retry later) instead of accepting or crashing', async () => {
    class BrokenJournal extends NonceCache {
      override claim(): Promise<never> {
        return Promise.reject(new Error('ENOSPC: no space left on device, write'));
      }
    }
    const key = Buffer.alloc(32, 7);
    const auth = new Authenticator({
      allowedUids: new Set([0]),
      munge: null,
      hmacKeys: new Map([['relay1', key]]),
      mungeDecode: () => Promise.reject(new Error('unused')),
      nonces: new BrokenJournal(WINDOW),
    });
    const body = batchBody(newSpoolId(), [wireEvent(1)]);
    const parsed = auth.parseHeader(hmacHeader('relay1', key, body));
    expect('mode' in parsed && !('ok' in parsed)).toBe(true);
    const v = await auth.verify(parsed as Exclude<typeof parsed, { ok: false }>, sha256hex(body));
    expect(v).toMatchObject({ ok: false, status: 503, reason: 'nonce_journal_failed' });
    expect((v as { detail: string }).detail).toMatch(/ENOSPC.*retry once the store directory is writable/);
  });
});

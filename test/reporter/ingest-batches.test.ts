// Batch handling after authentication: invalid batches (400), one bad record
// among good ones (200, listed in `rejected`), oversize bodies (413).
import { Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';

import { ensureMunge } from '../../src/cluster/munge.js';
import { AUTH_HEADER, MAX_BATCH_BYTES, ingestResultSchema } from '../../src/relay/protocol.js';
import { batchBody, mungeHeader, newSpoolId, post, startTestServer, storedRecords, storedCount, tempDir, wireEvent, type TestServer } from './helpers.js';

let t: TestServer;
let cleanup: () => void;

beforeAll(async () => {
  await ensureMunge();
  const d = tempDir();
  cleanup = d.cleanup;
  t = await startTestServer(d.dir);
  // something in the store, so "unchanged" compares against a non-empty file
  const body = batchBody(newSpoolId(), [wireEvent(1)]);
  expect((await post(t.url, body, await mungeHeader(body))).status).toBe(200);
});
afterAll(async () => {
  await t?.stop();
  cleanup?.();
});

async function expect400(body: Buffer, reason: string): Promise<void> {
  const count = storedCount(t.storeDir);
  const r = await post(t.url, body, await mungeHeader(body));
  expect(r).toMatchObject({ status: 400, json: { error: reason } });
  expect(storedCount(t.storeDir)).toBe(count);
}

describe('invalid batches: 400, nothing stored', () => {
  it('body that is not JSON', async () => {
    await expect400(Buffer.from('{"version":1,'), 'bad_json');
  });
  it('body that is not UTF-8', async () => {
    await expect400(Buffer.from([0x7b, 0xff, 0x7d]), 'bad_json');
  });
  it('wrong version, bad spool id, empty records, missing fields', async () => {
    await expect400(batchBody(newSpoolId(), [wireEvent(1)], { version: 2 }), 'bad_batch');
    await expect400(batchBody('XYZ', [wireEvent(1)]), 'bad_batch');
    await expect400(batchBody(newSpoolId(), []), 'bad_batch');
    await expect400(Buffer.from(JSON.stringify({ version: 1, records: [wireEvent(1)] })), 'bad_batch');
    await expect400(batchBody(newSpoolId(), [wireEvent(1)], { daemon: 'slurmdbd' }), 'bad_batch');
  });
});

describe('records are validated one by one', () => {
  it('one bad record among good ones: 200, it is listed in rejected, the others are stored', async () => {
    const spoolId = newSpoolId();
    const bad = { ...wireEvent(2), kind: 9 };
    const noSeq = { jobId: 'x' };
    const body = batchBody(spoolId, [wireEvent(1), bad, wireEvent(3), noSeq]);
    const r = await post(t.url, body, await mungeHeader(body));
    expect(r.status).toBe(200);
    const res = ingestResultSchema.parse(r.json);
    expect(res.stored).toBe(2);
    expect(res.duplicates).toBe(0);
    expect(res.rejected.map((x) => [x.index, x.seq])).toEqual([
      [1, '2'],
      [3, undefined],
    ]);
    expect(res.rejected[0]!.reason).toMatch(/kind/);
    const seqs = storedRecords(t.storeDir)
      .filter((l) => l.spoolId === spoolId)
      .map((l) => l.seq);
    expect(seqs).toEqual(['1', '3']);
    expect(t.server.store.has(spoolId, '2')).toBe(false);
  });

  it('a seq above 2^63-1 (the largest the store keeps) is rejected with the reason; 2^63-1 itself is stored exactly', async () => {
    const spoolId = newSpoolId();
    const max = '9223372036854775807';
    const body = batchBody(spoolId, [wireEvent(max, { jobId: 7 }), wireEvent('9223372036854775808', { jobId: 8 }), wireEvent('18446744073709551615', { jobId: 9 })]);
    const r = await post(t.url, body, await mungeHeader(body));
    expect(r.status).toBe(200);
    const res = ingestResultSchema.parse(r.json);
    expect(res).toMatchObject({ stored: 1, duplicates: 0 });
    expect(res.rejected.map((x) => [x.index, x.seq])).toEqual([
      [1, '9223372036854775808'],
      [2, '18446744073709551615'],
    ]);
    for (const x of res.rejected) expect(x.reason).toMatch(/above 2\^63-1/);
    expect(storedRecords(t.storeDir).filter((l) => l.spoolId === spoolId).map((l) => [l.seq, l.event.jobId])).toEqual([[max, 7]]);
    expect(t.server.store.has(spoolId, max)).toBe(true);
    expect(t.server.store.has(spoolId, '9223372036854775808')).toBe(false);
  });

  it('a duplicate seq inside one batch is stored once', async () => {
    const spoolId = newSpoolId();
    const body = batchBody(spoolId, [wireEvent(5), wireEvent(5), wireEvent(6)]);
    expect((await post(t.url, body, await mungeHeader(body))).json).toEqual({ stored: 2, duplicates: 1, rejected: [] });
  });
});

describe('size limit', () => {
  it('Content-Length over the limit: 413 before the body is read or authenticated', async () => {
    const count = storedCount(t.storeDir);
    const big = Buffer.alloc(MAX_BATCH_BYTES + 1, 0x20);
    const r = await post(t.url, big, 'munge MUNGE:AAAAAAAAAAAAAAAAAAAA:');
    expect(r).toMatchObject({ status: 413, json: { error: 'too_large' } });
    expect(storedCount(t.storeDir)).toBe(count);
  });

  it('a chunked body that grows over the limit: 413', async () => {
    const body = batchBody(newSpoolId(), [wireEvent(1)]);
    const auth = await mungeHeader(body);
    const res = await request(`${t.url}/v1/events`, {
      method: 'POST',
      headers: { [AUTH_HEADER]: auth, 'content-type': 'application/json' },
      body: Readable.from(
        (function* () {
          for (let i = 0; i < 10; i++) yield Buffer.alloc(512 * 1024, 0x20);
        })(),
      ),
    });
    expect(res.statusCode).toBe(413);
    await res.body.dump();
  });

  it('the server still answers after refusing large bodies', async () => {
    const body = batchBody(newSpoolId(), [wireEvent(1)]);
    expect((await post(t.url, body, await mungeHeader(body))).status).toBe(200);
  });

  it('counts batches by result', async () => {
    const text = await t.server.registry.getSingleMetricAsString('gridlink_ingest_batches_total');
    expect(text).toMatch(/result="ok"} [1-9]/);
    expect(text).toMatch(/result="bad_request"} [1-9]/);
    expect(text).toMatch(/result="too_large"} 2/);
    const rec = await t.server.registry.getSingleMetricAsString('gridlink_ingest_records_total');
    expect(rec).toMatch(/outcome="rejected"} 4/);
    expect(rec).toMatch(/outcome="duplicate"} 1/);
  });
});

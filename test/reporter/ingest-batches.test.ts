// Batch handling after authentication: invalid batches (400), one bad record
// among good ones (200, listed in `rejected`), oversize bodies (413).
import { Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';

import { ensureMunge } from '../../harness/cluster/munge.js';
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

describe('pipelined batches (a relay round): stored only in order', () => {
  const round = () => newSpoolId().slice(0, 16);
  const seqs = (spoolId: string) => storedRecords(t.storeDir).filter((r) => r.spoolId === spoolId).map((r) => Number(r.seq));
  const batch = (spoolId: string, r: string, index: number, from: number) =>
    batchBody(spoolId, [wireEvent(from), wireEvent(from + 1)], { pipeline: { round: r, index } });

  it('batches 0, 1, 2 of a round are stored; a new round from the ack position finds the rest as duplicates', async () => {
    const spoolId = newSpoolId();
    const r = round();
    for (let i = 0; i < 3; i++) {
      const body = batch(spoolId, r, i, 1 + 2 * i);
      expect((await post(t.url, body, await mungeHeader(body))).json).toMatchObject({ stored: 2, duplicates: 0 });
    }
    const again = batch(spoolId, round(), 0, 5);
    expect((await post(t.url, again, await mungeHeader(again))).json).toMatchObject({ stored: 0, duplicates: 2 });
    expect(seqs(spoolId)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('after a batch that was not stored (401), the next of its round is refused with 503 and nothing of it is stored', async () => {
    const spoolId = newSpoolId();
    const r = round();
    const b0 = batch(spoolId, r, 0, 1);
    const b1 = batch(spoolId, r, 1, 3);
    const b2 = batch(spoolId, r, 2, 5);
    const [a0, a1, a2] = await Promise.all([post(t.url, b0, await mungeHeader(b0)), post(t.url, b1, 'munge not-a-credential'), post(t.url, b2, await mungeHeader(b2))]);
    expect([a0.status, a1.status, a2.status]).toEqual([200, 401, 503]);
    expect(['earlier_batch_failed', 'out_of_order']).toContain((a2.json as { error: string }).error);
    expect(seqs(spoolId)).toEqual([1, 2]);
  });

  it('a batch whose round this reporter did not see begin, or that comes before its turn, is refused with 503', async () => {
    const spoolId = newSpoolId();
    const late = batch(spoolId, round(), 3, 1);
    expect(await post(t.url, late, await mungeHeader(late))).toMatchObject({ status: 503, json: { error: 'out_of_order' } });
    const r = round();
    const b0 = batch(spoolId, r, 0, 1);
    const b2 = batch(spoolId, r, 2, 5);
    const b1 = batch(spoolId, r, 1, 3);
    expect((await post(t.url, b0, await mungeHeader(b0))).status).toBe(200);
    expect(await post(t.url, b2, await mungeHeader(b2))).toMatchObject({ status: 503, json: { error: 'out_of_order' } });
    // the round is over for this reporter: its later batches are refused too
    expect(await post(t.url, b1, await mungeHeader(b1))).toMatchObject({ status: 503, json: { error: 'out_of_order' } });
    expect(seqs(spoolId)).toEqual([1, 2]);
  });
});

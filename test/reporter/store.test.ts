// The durable event store: dedupe across restarts, torn-tail repair, reading
// back with cursors, segment rotation, concurrent appends, one writer.
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ensureMunge } from '../../src/cluster/munge.js';
import { EventStore } from '../../src/reporter/ingest/store.js';
import { SeqSet } from '../../src/reporter/ingest/seqset.js';
import { batchBody, captureLogger, mungeHeader, newSpoolId, post, startTestServer, storeBytes, storeLines, tempDir, wireEvent } from './helpers.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function dir(): string {
  const d = tempDir('gl-store-');
  cleanups.push(d.cleanup);
  return d.dir;
}
const batch = (spoolId: string, seqs: number[]) => ({ spoolId, host: 'h', daemon: 'slurmctld' as const, events: seqs.map((s) => wireEvent(s)) });
const segFiles = (d: string) => readdirSync(d).filter((f) => f.endsWith('.jsonl')).sort();

describe('SeqSet', () => {
  it('keeps sorted disjoint ranges, merging neighbours', () => {
    const s = new SeqSet();
    for (const x of [1n, 2n, 3n, 7n, 5n, 9n, 8n]) expect(s.add(x)).toBe(true);
    expect(s.add(2n)).toBe(false);
    expect(s.toRanges()).toEqual([
      [1n, 3n],
      [5n, 5n],
      [7n, 9n],
    ]);
    expect(s.add(4n)).toBe(true);
    expect(s.add(6n)).toBe(true);
    expect(s.toRanges()).toEqual([[1n, 9n]]);
    expect(s.size).toBe(9);
    expect([0n, 1n, 9n, 10n].map((x) => s.has(x))).toEqual([false, true, true, false]);
    expect(s.add(18446744073709551615n)).toBe(true);
    expect(s.has(18446744073709551615n)).toBe(true);
  });
});

describe('EventStore', () => {
  it('dedupes across a restart of the server (index rebuilt from the files)', async () => {
    await ensureMunge();
    const d = dir();
    const spoolId = newSpoolId();
    let s = await startTestServer(d);
    const b1 = batchBody(spoolId, [wireEvent(1), wireEvent(2)]);
    expect((await post(s.url, b1, await mungeHeader(b1))).json).toEqual({ stored: 2, duplicates: 0, rejected: [] });
    await s.stop();

    s = await startTestServer(d);
    cleanups.push(() => s.stop());
    expect(s.server.store.counts().records).toBe(2);
    const b2 = batchBody(spoolId, [wireEvent(1), wireEvent(2), wireEvent(3)]);
    expect((await post(s.url, b2, await mungeHeader(b2))).json).toEqual({ stored: 1, duplicates: 2, rejected: [] });
    expect(storeLines(d).map((l) => l.seq)).toEqual(['1', '2', '3']);
  });

  it('repairs a torn last line at open: logged, truncated, the record can be stored again', async () => {
    const d = dir();
    const spoolId = newSpoolId();
    let st = await EventStore.open(d);
    await st.append(batch(spoolId, [1, 2]));
    await st.close();
    const seg = join(d, segFiles(d)[0]!);
    const good = statSync(seg).size;
    // a crash in the middle of writing record 3
    const line3 = JSON.stringify({ spoolId, seq: '3', host: 'h', daemon: 'slurmctld', receivedAt: 1, event: wireEvent(3) });
    appendFileSync(seg, line3.slice(0, 40));

    const logs = captureLogger();
    st = await EventStore.open(d, { logger: logs.logger });
    cleanups.push(() => st.close());
    expect(statSync(seg).size).toBe(good);
    expect(st.counts()).toMatchObject({ records: 2, repairedBytes: 40 });
    expect(logs.lines.find((l) => /torn write/.test(String(l.msg)))).toMatchObject({ offset: good, bytes: 40 });
    expect(st.has(spoolId, 3n)).toBe(false);
    expect(await st.append(batch(spoolId, [2, 3]))).toEqual({ stored: 1, duplicates: 1 });
    expect(storeLines(d).map((l) => l.seq)).toEqual(['1', '2', '3']);
  });

  it('repairs a tail of zeros ending in a newline (unflushed pages after power loss)', async () => {
    const d = dir();
    const spoolId = newSpoolId();
    let st = await EventStore.open(d);
    await st.append(batch(spoolId, [1]));
    await st.close();
    const seg = join(d, segFiles(d)[0]!);
    const good = statSync(seg).size;
    appendFileSync(seg, Buffer.concat([Buffer.alloc(100), Buffer.from('}\n')]));
    st = await EventStore.open(d);
    cleanups.push(() => st.close());
    expect(statSync(seg).size).toBe(good);
    expect(st.counts().records).toBe(1);
  });

  it('skips (and reports) a corrupt line in the middle without losing the records after it', async () => {
    const d = dir();
    const spoolId = newSpoolId();
    let st = await EventStore.open(d);
    await st.append(batch(spoolId, [1]));
    await st.append(batch(spoolId, [2]));
    await st.close();
    const seg = join(d, segFiles(d)[0]!);
    const [l1, l2] = readFileSync(seg, 'utf8').split('\n');
    writeFileSync(seg, `${l1}\nnot a record\n${l2}\n`);
    const logs = captureLogger();
    st = await EventStore.open(d, { logger: logs.logger });
    cleanups.push(() => st.close());
    expect(st.counts()).toMatchObject({ records: 2, corruptLines: 1, repairedBytes: 0 });
    expect(logs.lines.some((l) => l.level === 50 && /middle of a segment/.test(String(l.msg)))).toBe(true);
    const seqs: string[] = [];
    for await (const { record } of st.events()) seqs.push(record.seq);
    expect(seqs).toEqual(['1', '2']);
  });

  it('reads back in order with resumable cursors, across segment rotation', async () => {
    const d = dir();
    const st = await EventStore.open(d, { segmentBytes: 4096 });
    cleanups.push(() => st.close());
    const spoolId = newSpoolId();
    for (let i = 0; i < 30; i++) await st.append(batch(spoolId, [2 * i + 1, 2 * i + 2]));
    expect(segFiles(d).length).toBeGreaterThan(3);
    const all: string[] = [];
    let mid: { segment: number; offset: number } | undefined;
    for await (const { record, cursor } of st.events()) {
      all.push(record.seq);
      if (record.seq === '25') mid = cursor;
    }
    expect(all).toEqual(Array.from({ length: 60 }, (_, i) => String(i + 1)));
    const rest: string[] = [];
    for await (const { record } of st.events({ after: mid! })) rest.push(record.seq);
    expect(rest).toEqual(Array.from({ length: 35 }, (_, i) => String(i + 26)));
    expect(st.counts().records).toBe(60);
    // and after a reopen: same index, same content
    await st.close();
    const st2 = await EventStore.open(d, { segmentBytes: 4096 });
    cleanups.push(() => st2.close());
    expect(st2.counts().records).toBe(60);
    expect(st2.has(spoolId, '60')).toBe(true);
    expect(await st2.append(batch(spoolId, [60, 61]))).toEqual({ stored: 1, duplicates: 1 });
  });

  it('serializes concurrent appends: overlapping batches store each record once, with group fdatasync', async () => {
    const d = dir();
    const st = await EventStore.open(d);
    cleanups.push(() => st.close());
    const spoolId = newSpoolId();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => st.append(batch(spoolId, [i, i + 1, i + 2]))));
    expect(results.reduce((n, r) => n + r.stored, 0)).toBe(22);
    expect(results.reduce((n, r) => n + r.stored + r.duplicates, 0)).toBe(60);
    expect(st.counts().syncs).toBeLessThan(20);
    const seqs = storeLines(d).map((l) => Number(l.seq));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 22 }, (_, i) => i));
  });

  it('keeps non-UTF-8 bytes (lone surrogates) as they are', async () => {
    const d = dir();
    const st = await EventStore.open(d);
    cleanups.push(() => st.close());
    const spoolId = newSpoolId();
    const name = 'a\udc80\udcffb\u00e9\ud83d\ude00';
    await st.append({ spoolId, host: 'h', daemon: 'slurmd', events: [wireEvent(1, { jobName: name })] });
    expect(storeBytes(d).toString('latin1')).toContain('a\\udc80\\udcffb');
    for await (const { record } of st.events()) expect(record.event.jobName).toBe(name);
  });

  it('refuses a second writer on the same directory', async () => {
    const d = dir();
    const st = await EventStore.open(d);
    cleanups.push(() => st.close());
    await expect(EventStore.open(d)).rejects.toThrow(/in use by process/);
  });

  it('takes over the lock of a dead process', async () => {
    const d = dir();
    writeFileSync(join(d, 'LOCK'), JSON.stringify({ pid: 999_999_999 }));
    const st = await EventStore.open(d);
    cleanups.push(() => st.close());
    expect(st.counts().records).toBe(0);
  });
});

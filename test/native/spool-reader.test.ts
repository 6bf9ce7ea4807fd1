// The spool: torn and corrupt bytes are skipped, never misread; acks persist.
import { openSync, readdirSync, readFileSync, statSync, truncateSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { SpoolReader, SpoolWriter } from '../../src/native/index.js';
import { completion, tempDir } from './helpers.js';

let cleanup: () => void = () => {};
afterEach(() => cleanup());

function segments(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
}

function readJobIds(dir: string): { ids: number[]; skipped: number } {
  const r = new SpoolReader(dir);
  const ids = [...r.readAll()].map((x) => x.event.jobId);
  const skipped = r.stat().corruptSkipped;
  r.close();
  return { ids, skipped };
}

describe('spool reader', () => {
  it('skips a tail record cut short and reads the records appended after it', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const w = new SpoolWriter(t.dir);
    for (let i = 1; i <= 5; i++) w.append(completion(i));
    const seg = join(t.dir, segments(t.dir)[0]!);
    truncateSync(seg, statSync(seg).size - 3); // a write torn by a crash
    // Before anything follows it, the torn tail may be a write in progress: wait.
    expect(readJobIds(t.dir).ids).toEqual([1, 2, 3, 4]);
    for (let i = 6; i <= 8; i++) w.append(completion(i));
    w.close();
    const { ids, skipped } = readJobIds(t.dir);
    expect(ids).toEqual([1, 2, 3, 4, 6, 7, 8]);
    expect(skipped).toBe(1);
  });

  it('skips a record with a flipped byte, and one with a damaged length', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const w = new SpoolWriter(t.dir);
    const sizes: number[] = [];
    const seg = () => join(t.dir, segments(t.dir)[0]!);
    for (let i = 1; i <= 6; i++) {
      w.append(completion(i));
      sizes.push(statSync(seg()).size);
    }
    w.close();
    const fd = openSync(seg(), 'r+');
    writeSync(fd, Buffer.from([0x5a]), 0, 1, sizes[1]! + 40); // inside record 3's payload
    writeSync(fd, Buffer.from([0xff, 0xff, 0x7f, 0x00]), 0, 4, sizes[3]! + 4); // record 5's length
    closeSync(fd);
    const { ids, skipped } = readJobIds(t.dir);
    expect(ids).toEqual([1, 2, 4, 6]);
    expect(skipped).toBe(2);
  });

  it('never accepts a frame forged inside a job comment, even while resyncing', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    // A well-formed frame from another spool (the attacker's own).
    const other = tempDir('gl-forge-');
    const fw = new SpoolWriter(other.dir);
    fw.append(completion(666, { stateName: 'COMPLETED', comment: 'forged' }));
    fw.close();
    const forged = readFileSync(join(other.dir, segments(other.dir)[0]!));
    other.cleanup();

    const w = new SpoolWriter(t.dir);
    w.append(completion(1));
    w.append(completion(2, { comment: forged })); // hostile comment carrying a frame
    w.append(completion(3));
    w.close();
    expect(readJobIds(t.dir).ids).toEqual([1, 2, 3]);
    // Damage record 2's header so the reader must resync through its comment.
    const seg = join(t.dir, segments(t.dir)[0]!);
    const first = readFileSync(seg).indexOf('GLEV', 4);
    const fd = openSync(seg, 'r+');
    writeSync(fd, Buffer.from('XXXX'), 0, 4, first);
    closeSync(fd);
    const { ids } = readJobIds(t.dir);
    expect(ids).toEqual([1, 3]);
    expect(ids).not.toContain(666);
  });

  it('resumes at the persisted ack and deletes acked segments', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const w = new SpoolWriter(t.dir, { segmentBytes: 4096 });
    for (let i = 1; i <= 100; i++) w.append(completion(i));
    w.close();
    expect(segments(t.dir).length).toBeGreaterThan(3);
    let r = new SpoolReader(t.dir);
    const { records } = r.read(60);
    const last = records.at(-1)!;
    r.ack(last.next, last.event.seq);
    r.close();
    const left = segments(t.dir);
    expect(left.length).toBeLessThan(8);
    expect(left[0]! > '0000000000000000.seg').toBe(true);
    r = new SpoolReader(t.dir);
    const rest = [...r.readAll()].map((x) => x.event.jobId);
    expect(rest[0]).toBe(61);
    expect(rest.at(-1)).toBe(100);
    expect(rest).toHaveLength(40);
    expect(r.stat().ackedSeq).toBe(60);
    // rewind goes back to the ack, not to the start
    r.rewind();
    expect(r.read(1).records[0]!.event.jobId).toBe(61);
    r.close();
  });

  it('refuses appends past max_bytes with a clear error, and accepts again after an ack', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const w = new SpoolWriter(t.dir, { maxBytes: 4096 });
    let stored = 0;
    let error: Error | undefined;
    for (let i = 1; i <= 100 && !error; i++) {
      try {
        w.append(completion(i));
        stored++;
      } catch (e) {
        error = e as Error;
      }
    }
    expect(error?.message).toMatch(/is full .*NOT recorded.*gridlink relay.*max_bytes/);
    expect(stored).toBeGreaterThan(5);
    const r = new SpoolReader(t.dir);
    expect(r.stat().rejectedFull).toBe(1);
    const recs = [...r.readAll()];
    expect(recs).toHaveLength(stored);
    r.ack(recs.at(-1)!.next, recs.at(-1)!.event.seq);
    expect(() => w.append(completion(1000))).not.toThrow();
    r.close();
    w.close();
  });

  it('reports an unusable spool dir instead of crashing', () => {
    expect(() => new SpoolWriter('/proc/gridlink-spool')).toThrow(/cannot create spool dir '\/proc\/gridlink-spool'/);
    expect(() => new SpoolReader('/nonexistent/spool')).toThrow(/is this a gridlink spool dir/);
  });

  it('survives a lost spool.meta: old records stay readable, new ones go after them, no seq is reused', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const w = new SpoolWriter(t.dir);
    w.append(completion(1));
    w.append(completion(2));
    w.close();
    const seg0 = segments(t.dir)[0]!;
    const before = readFileSync(join(t.dir, seg0));
    truncateSync(join(t.dir, 'spool.meta'), 0); // lost (an operator, a broken disk)
    const w2 = new SpoolWriter(t.dir);
    w2.append(completion(3));
    w2.close();
    expect(Buffer.compare(readFileSync(join(t.dir, seg0)), before)).toBe(0);
    expect(segments(t.dir)).toHaveLength(2);
    const r = new SpoolReader(t.dir);
    const recs = [...r.readAll()].map((x) => [x.event.jobId, Number(x.event.seq)]);
    expect(recs).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
    ]);
    expect(r.stat().writtenBytes - r.stat().ackedBytes).toBe(r.stat().bytesOnDisk);
    r.close();
  });

  it('syncAndAck syncs and acks on the thread pool while the reader reads on; close() meanwhile waits for it', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const w = new SpoolWriter(t.dir, { segmentBytes: 4096 });
    for (let i = 1; i <= 60; i++) w.append(completion(i));
    w.close();
    const before = segments(t.dir).length;
    expect(before).toBeGreaterThan(2);
    const r = new SpoolReader(t.dir);
    const first = r.readWire(30);
    const pending = r.syncAndAck(first.next(29), first.seq(29));
    const second = r.readWire(100); // not blocked by the flush, nor moved by the ack
    await pending;
    expect(first.count + second.count).toBe(60);
    expect(r.stat().ackedSeq).toBe(30);
    expect(r.stat().ack).toEqual(first.next(29));
    expect(segments(t.dir).length).toBeLessThan(before); // segments wholly acked are deleted
    const late = r.syncAndAck(second.next(second.count - 1), second.seq(second.count - 1));
    r.close();
    expect(() => r.readWire(1)).toThrow(/closed/);
    await late; // the ack on its way completes, then the reader closes
    const again = new SpoolReader(t.dir);
    expect(again.stat().ackedSeq).toBe(60);
    expect(again.readWire(10).count).toBe(0);
    await expect(again.syncAndAck({ segment: 0, offset: 0, total: 0 }, 0n)).rejects.toThrow(/behind the current ack/);
    again.close();
  });
});

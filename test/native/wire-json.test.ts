// The relay's bulk read (SpoolReader.readWire): the wire JSON the addon writes
// is byte for byte what the JavaScript encoder writes (JSON.stringify of
// toWireEvent), for hostile strings, bytes that are not UTF-8 and numbers
// past 2^53; positions, seqs and undecodable records come out as read() has them.
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { SpoolReader, SpoolWriter } from '../../src/native/index.js';
import { toWireEvent } from '../../src/relay/wire.js';
import { completion, frame, hostileStrings, tempDir } from './helpers.js';

let cleanup: () => void = () => {};
afterEach(() => cleanup());

/** Every record as both reads see it. */
function readBoth(dir: string, max = 1000) {
  const a = new SpoolReader(dir);
  const b = new SpoolReader(dir);
  try {
    return { old: a.read(max), wire: b.readWire(max) };
  } finally {
    a.close();
    b.close();
  }
}

describe('SpoolReader.readWire', () => {
  it('writes the same JSON as JSON.stringify(toWireEvent(event)) for hostile strings and large numbers', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const w = new SpoolWriter(t.dir);
    const strings = Object.values(hostileStrings);
    const odd = [
      Buffer.from('ünïcødé ✓ 𝄞 \u2028\u2029 \x7f'),
      Buffer.from([0xe2, 0x82]), // cut short at the end
      Buffer.from([0xf0, 0x9f, 0x98]), // cut short
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
      Buffer.from([0xf0, 0x80, 0x80, 0x80]), // overlong
      Buffer.from([0xe0, 0x80, 0xaf]), // overlong
      Buffer.from([0xed, 0xb2, 0x80]), // a surrogate
      Buffer.from([0xc1, 0xbf, 0x80, 0xc2]),
      Buffer.from(Array.from({ length: 32 }, (_, i) => i)), // every control character
    ];
    const big = [0, 1, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 60, 2 ** 60 + 2 ** 9, 1.8446744073709552e19, 12345678901234567000];
    const events = [
      ...strings.map((s, i) => completion(i + 1, { jobName: s, comment: s, cluster: s })),
      ...odd.map((s, i) => completion(100 + i, { jobName: s, node: s, stateName: s })),
      ...big.map((n, i) => completion(200 + i, { tres: { cpu: n, memMb: n, gpu: n, node: n, billing: n }, submitTime: i % 2 ? n : -n, startTime: 2 ** 62, endTime: -(2 ** 62) })),
      completion(300, { exitCode: -1, signal: -2147483648, jobState: 0xffffffff, jobId: 0xffffffff, userId: 0 }),
    ];
    for (const e of events) w.append(e);
    w.close();
    const { old, wire } = readBoth(t.dir);
    expect(old.records).toHaveLength(events.length);
    expect(wire.count).toBe(events.length);
    const expected = old.records.map((r) => JSON.stringify(toWireEvent(r.event)));
    old.records.forEach((r, i) => {
      expect(wire.recordJson(i).toString('utf8')).toBe(expected[i]);
      expect(wire.seq(i)).toBe(r.event.seq);
      expect(wire.pos(i)).toEqual(r.pos);
      expect(wire.next(i)).toEqual(r.next);
      expect(wire.undecodable(i)).toBeUndefined();
    });
    expect(wire.json.toString('utf8')).toBe(expected.join(','));
    // and it parses back to the same wire record
    expect(JSON.parse(`[${wire.json.toString('utf8')}]`)).toEqual(old.records.map((r) => toWireEvent(r.event)));
  });

  it('reads up to max records from the cursor, and nothing once caught up', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const w = new SpoolWriter(t.dir);
    for (let i = 1; i <= 5; i++) w.append(completion(i));
    w.close();
    const r = new SpoolReader(t.dir);
    const a = r.readWire(3);
    const b = r.readWire(3);
    const c = r.readWire(3);
    r.close();
    expect([a.count, b.count, c.count]).toEqual([3, 2, 0]);
    expect(JSON.parse(`[${b.json.toString()}]`).map((e: { jobId: number }) => e.jobId)).toEqual([4, 5]);
    expect(b.pos(0)).toEqual(a.next(2));
    expect(c.json.length).toBe(0);
  });

  it('reports an undecodable record in place, with its payload and position, and leaves it out of the JSON', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const w = new SpoolWriter(t.dir);
    w.append(completion(1));
    w.close();
    const r = new SpoolReader(t.dir);
    const spoolId = Buffer.from(r.stat().spoolId, 'hex');
    r.close();
    const payload = Buffer.alloc(160); // passes the frame check; format version 0: unknown to the decoder
    payload.writeBigUInt64LE(77n, 8);
    const seg = join(t.dir, readdirSync(t.dir).find((f) => f.endsWith('.seg'))!);
    appendFileSync(seg, frame(spoolId, payload));
    const w2 = new SpoolWriter(t.dir);
    w2.append(completion(3));
    w2.close();
    const { old, wire } = readBoth(t.dir);
    expect(old.undecodable).toHaveLength(1);
    expect(wire.count).toBe(3);
    expect(wire.undecodable(0)).toBeUndefined();
    expect(wire.undecodable(1)).toEqual(old.undecodable[0]);
    expect(wire.undecodable(1)!.payload.equals(payload)).toBe(true);
    expect([wire.start(1), wire.end(1), wire.seq(1)]).toEqual([-1, -1, 0n]);
    expect(wire.json.toString()).toBe(old.records.map((x) => JSON.stringify(toWireEvent(x.event))).join(','));
    expect(wire.next(2)).toEqual(old.records[1]!.next);
  });
});

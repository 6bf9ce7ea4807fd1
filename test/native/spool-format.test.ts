// The record format: every field and any bytes round-trip through the spool.
import { afterEach, describe, expect, it } from 'vitest';

import { EventKind, SpoolReader, SpoolWriter, decodeBytes, encodeBytes } from '../../src/native/index.js';
import { completion, hostileStrings, tempDir } from './helpers.js';

let cleanup: () => void = () => {};
afterEach(() => cleanup());

describe('job event record', () => {
  it('round-trips every field', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const w = new SpoolWriter(t.dir);
    const seq = w.append({
      kind: EventKind.JobCompleted,
      jobId: 4_000_000_001,
      userId: 65_534,
      jobState: 0x8000 | 6,
      stateName: 'TIMEOUT',
      exitCode: 3,
      signal: 9,
      submitTime: 1_700_000_000,
      startTime: 1_700_000_100,
      endTime: 1_700_000_200,
      tres: { cpu: 128, memMb: 512_000, gpu: 8, node: 4, billing: 130 },
      cluster: 'alps',
      node: 'nid[001-004]',
      jobName: 'train',
      comment: 'c',
    });
    w.close();
    const r = new SpoolReader(t.dir);
    const { records } = r.read();
    r.close();
    expect(records).toHaveLength(1);
    const ev = records[0]!.event;
    expect(ev.seq).toBe(seq);
    expect(ev).toMatchObject({
      formatVersion: 1,
      kind: EventKind.JobCompleted,
      kindName: 'job_completed',
      jobId: 4_000_000_001,
      userId: 65_534,
      jobState: 0x8006,
      stateName: 'TIMEOUT',
      exitCode: 3,
      signal: 9,
      submitTime: 1_700_000_000,
      startTime: 1_700_000_100,
      endTime: 1_700_000_200,
      tres: { cpu: 128, memMb: 512_000, gpu: 8, node: 4, billing: 130 },
      cluster: 'alps',
      node: 'nid[001-004]',
      jobName: 'train',
      comment: 'c',
    });
    expect(ev.spoolId).toMatch(/^[0-9a-f]{32}$/);
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    expect(nowNs - ev.writeTimeNs).toBeLessThan(60_000_000_000n);
  });

  for (const [name, bytes] of Object.entries(hostileStrings)) {
    it(`keeps a ${name} job name and comment byte for byte`, () => {
      const t = tempDir();
      cleanup = t.cleanup;
      const w = new SpoolWriter(t.dir);
      w.append(completion(1, { jobName: bytes, comment: bytes }));
      w.append(completion(2)); // the next record must still be intact
      w.close();
      const r = new SpoolReader(t.dir);
      const { records } = r.read();
      r.close();
      expect(records.map((x) => x.event.jobId)).toEqual([1, 2]);
      expect(Buffer.compare(records[0]!.event.bytes.jobName, bytes)).toBe(0);
      expect(Buffer.compare(records[0]!.event.bytes.comment, bytes)).toBe(0);
      expect(Buffer.compare(encodeBytes(records[0]!.event.comment), bytes)).toBe(0);
      expect(records[1]!.event.jobName).toBe('job-2');
    });
  }
});

describe('lossless bytes <-> string', () => {
  it('maps invalid UTF-8 to lone surrogates and back', () => {
    const s = decodeBytes(hostileStrings.invalidUtf8!);
    expect(s.startsWith('fo\udcff\udcfe\udcc0\udcaf')).toBe(true);
    expect(JSON.stringify(s)).toContain('\\udcff');
    expect(Buffer.compare(encodeBytes(s), hostileStrings.invalidUtf8!)).toBe(0);
  });

  it('round-trips random byte strings', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) >>> 16) & 0xff;
    for (let i = 0; i < 500; i++) {
      const b = Buffer.from(Array.from({ length: i % 40 }, rnd));
      expect(Buffer.compare(encodeBytes(decodeBytes(b)), b)).toBe(0);
    }
  });

  it('leaves valid UTF-8 alone', () => {
    const s = 'héllo — 世界 🚀';
    expect(decodeBytes(Buffer.from(s))).toBe(s);
    expect(encodeBytes(s).toString('utf8')).toBe(s);
  });
});

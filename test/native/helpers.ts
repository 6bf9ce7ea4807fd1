// helpers.ts - temp spool dirs and hostile strings for the spool tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { EventKind, type EventInput } from '../../src/native/index.js';

export function tempDir(prefix = 'gl-spool-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Names and comments a hostile job owner could set. */
export const hostileStrings: Record<string, Buffer> = {
  newlines: Buffer.from('line1\nline2\r\n{"kind":3}\n'),
  quotes: Buffer.from(`"'\`\\"\\\\'; DROP TABLE jobs; --`),
  large: Buffer.alloc(64 * 1024, 'x'),
  invalidUtf8: Buffer.from([0x66, 0x6f, 0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x80, 0x6f]),
  nul: Buffer.from([0x61, 0x00, 0x62, 0x00]),
  magic: Buffer.from('GLEVGLEVGLEV'),
  empty: Buffer.alloc(0),
};

export function completion(jobId: number, extra: Partial<EventInput> = {}): EventInput {
  return {
    kind: EventKind.JobCompleted,
    jobId,
    userId: 1000,
    jobState: 3,
    stateName: 'COMPLETED',
    exitCode: 0,
    submitTime: 1_700_000_000,
    startTime: 1_700_000_010,
    endTime: 1_700_000_070,
    tres: { cpu: 2, memMb: 1024, gpu: 0, node: 1, billing: 2 },
    cluster: 'test',
    node: 'node1',
    jobName: `job-${jobId}`,
    comment: '',
    ...extra,
  };
}

/** A frame as gl_event.h lays it out (keyed CRC32C), so a test can plant a payload the addon will not decode. */
export function frame(spoolId: Buffer, payload: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(0x56454c47, 0);
  head.writeUInt32LE(payload.length, 4);
  head.writeUInt32LE(crc32c(Buffer.concat([spoolId, head.subarray(4, 8), payload])), 8);
  return Buffer.concat([head, payload]);
}

function crc32c(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

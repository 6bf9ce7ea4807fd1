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

// The receiver's hand-written checks (src/relay/wire-parse.ts) answer as the
// zod schemas of protocol.ts do: same verdict, and the same record (key
// order included, unknown keys dropped) when it is accepted.
import { describe, expect, it } from 'vitest';

import { eventBatchSchema, wireEventSchema } from '../../src/relay/protocol.js';
import { parseEventBatch, parseWireEvent } from '../../src/relay/wire-parse.js';
import { wireEvent } from '../helpers/wire-event.js';

const record = () => wireEvent(42, { jobId: 7, cluster: 'c', node: 'n1', jobName: 'j\udcff' });

const oddValues: unknown[] = [
  undefined, null, true, 0, -1, 1, 3, 4, 1.5, -0.5, 2 ** 32, 2 ** 32 - 1, 2 ** 53, -(2 ** 53), Number.MAX_VALUE,
  '', '0', '42', '01', ' 1', '1 ', '1\n', '-1', '123456789012345678901', '12345678901234567890', 'x'.repeat(1 << 20), 'x'.repeat((1 << 20) + 1),
  [], {}, [1], { cpu: 1 },
];

function same(input: unknown): void {
  const fast = parseWireEvent(input);
  const zod = wireEventSchema.safeParse(input);
  expect(fast.success, JSON.stringify(input)?.slice(0, 200)).toBe(zod.success);
  if (fast.success && zod.success) expect(JSON.stringify(fast.data)).toBe(JSON.stringify(zod.data));
  if (!fast.success && !zod.success) expect(fast.error.issues).toEqual(zod.error.issues);
}

describe('parseWireEvent', () => {
  it('accepts a well-formed record, and copies it in the schema order without unknown keys', () => {
    const r = { extra: 1, ...record(), more: { x: 1 } };
    same(r);
    const reversed = Object.fromEntries(Object.entries(record()).reverse());
    same(reversed);
    const p = parseWireEvent(reversed);
    expect(p.success && Object.keys(p.data)).toEqual(Object.keys(record()));
  });

  it('gives the schema\'s verdict for every field set to every odd value, or left out', () => {
    let refused = 0;
    for (const key of Object.keys(record())) {
      for (const v of oddValues) {
        const r: Record<string, unknown> = record();
        r[key] = v;
        if (v === undefined) delete r[key];
        same(r);
        if (!parseWireEvent(r).success) refused++;
      }
    }
    for (const key of Object.keys(record().tres)) {
      for (const v of oddValues) {
        const r = record();
        const t: Record<string, unknown> = { ...r.tres, [key]: v };
        if (v === undefined) delete t[key];
        same({ ...r, tres: t });
      }
    }
    expect(refused).toBeGreaterThan(300);
  });

  it('refuses what is not a record object', () => {
    for (const v of oddValues) same(v);
    same([record()]);
  });
});

describe('parseEventBatch', () => {
  const batch = () => ({ version: 1, spoolId: 'ab'.repeat(16), host: 'h', daemon: 'slurmd', sentAt: 1, pipeline: { round: 'abcdef0123456789', index: 0 }, records: [record(), { junk: true }] });
  const sameBatch = (input: unknown) => {
    const fast = parseEventBatch(input);
    const zod = eventBatchSchema.safeParse(input);
    expect(fast.success).toBe(zod.success);
    if (fast.success && zod.success) expect(JSON.stringify(fast.data)).toBe(JSON.stringify(zod.data));
    if (!fast.success && !zod.success) expect(fast.error.issues).toEqual(zod.error.issues);
  };

  it('gives the schema\'s verdict for every header field set to every odd value, and for the records array', () => {
    sameBatch(batch());
    sameBatch({ ...batch(), extra: 1, pipeline: undefined });
    for (const key of Object.keys(batch()))
      for (const v of [...oddValues, { round: 'zz', index: 0 }, { round: 'abcdef01', index: -1 }]) sameBatch({ ...batch(), [key]: v });
    sameBatch({ ...batch(), records: [] });
    sameBatch({ ...batch(), records: Array.from({ length: 10_000 }, () => 1) });
    sameBatch({ ...batch(), records: Array.from({ length: 10_001 }, () => 1) });
    for (const v of oddValues) sameBatch(v);
  });
});

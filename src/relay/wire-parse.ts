// wire-parse.ts - the receiver's checks of a batch and its records, with the
// verdicts of protocol.ts's zod schemas and at a fraction of their cost: a
// record that is well formed is checked and copied by hand (the common case,
// ~2000 per batch); one that is not is handed to the schema, which says why.
// test/relay/wire-parse.test.ts holds both to the same answers.
import { z } from 'zod';

import { eventBatchSchema, wireEventSchema, type WireEvent } from './protocol.js';

type Parsed<T> = { success: true; data: T } | { success: false; error: z.ZodError };

const U32 = 0xffffffff;
const STRING_MAX = 1 << 20;
const DECIMAL_U64_RE = /^\d{1,20}$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length <= STRING_MAX;
const isU64Text = (v: unknown): v is string => typeof v === 'string' && DECIMAL_U64_RE.test(v);

/**
 * A well-formed record copied in the schema's key order (unknown keys left
 * out, as the schema strips them), or undefined when anything is off.
 */
function fastWireEvent(r: unknown): WireEvent | undefined {
  if (!isObject(r)) return undefined;
  const t = r.tres;
  if (!isObject(t)) return undefined;
  const { seq, kind, jobId, userId, jobState, stateName, exitCode, signal, submitTime, startTime, endTime, writeTimeNs, cluster, node, jobName, comment } = r;
  const { cpu, memMb, gpu, node: tNode, billing } = t;
  const inf = Number.MAX_VALUE;
  if (
    !isU64Text(seq) ||
    !isInt(kind, 1, 3) ||
    !isInt(jobId, 0, U32) ||
    !isInt(userId, 0, U32) ||
    !isInt(jobState, 0, U32) ||
    !isStr(stateName) ||
    !isInt(exitCode, -inf, inf) ||
    !isInt(signal, -inf, inf) ||
    !isInt(submitTime, 0, inf) ||
    !isInt(startTime, 0, inf) ||
    !isInt(endTime, 0, inf) ||
    !isU64Text(writeTimeNs) ||
    !isInt(cpu, 0, inf) ||
    !isInt(memMb, 0, inf) ||
    !isInt(gpu, 0, inf) ||
    !isInt(tNode, 0, inf) ||
    !isInt(billing, 0, inf) ||
    !isStr(cluster) ||
    !isStr(node) ||
    !isStr(jobName) ||
    !isStr(comment)
  )
    return undefined;
  return {
    seq,
    kind,
    jobId,
    userId,
    jobState,
    stateName,
    exitCode,
    signal,
    submitTime,
    startTime,
    endTime,
    writeTimeNs,
    tres: { cpu, memMb, gpu, node: tNode, billing },
    cluster,
    node,
    jobName,
    comment,
  };
}

/** wireEventSchema.safeParse(r), the same answer. */
export function parseWireEvent(r: unknown): Parsed<WireEvent> {
  const data = fastWireEvent(r);
  return data ? { success: true, data } : wireEventSchema.safeParse(r);
}

const batchHeaderSchema = eventBatchSchema.omit({ records: true });
type ParsedBatch = z.infer<typeof eventBatchSchema>;

/**
 * eventBatchSchema.safeParse(v), the same answer: the header goes through
 * the schema, the records array is only checked for its length (each record
 * is checked on its own, parseWireEvent) and not copied element by element.
 */
export function parseEventBatch(v: unknown): Parsed<ParsedBatch> {
  if (isObject(v) && Array.isArray(v.records) && v.records.length >= 1 && v.records.length <= 10_000) {
    const h = batchHeaderSchema.safeParse(v);
    if (h.success) return { success: true, data: { ...h.data, records: v.records as unknown[] } };
  }
  return eventBatchSchema.safeParse(v);
}

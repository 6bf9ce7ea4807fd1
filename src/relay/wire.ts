// wire.ts - spool events to wire records, and a batch body built from records serialized once.
// The relay reads its records already as wire JSON (SpoolReader.readWire,
// native/gl_wire_json.c writes what toWireEvent and JSON.stringify write here).
import type { JobEvent, Tres } from '../native/event.js';
import type { EventBatch, WireEvent } from './protocol.js';

/** The fields a JobEvent and a WireEvent have alike. */
type CommonFields = Pick<JobEvent, 'jobId' | 'userId' | 'jobState' | 'stateName' | 'exitCode' | 'signal' | 'submitTime' | 'startTime' | 'endTime' | 'cluster' | 'node' | 'jobName' | 'comment'>;

/**
 * The fields from jobId on, in the order both the wire record and the hook
 * event list them; writeTimeNs and the tres copy are the caller's (they differ).
 */
export function jobEventFields<W>(ev: CommonFields, writeTimeNs: W, tres: Tres) {
  return {
    jobId: ev.jobId,
    userId: ev.userId,
    jobState: ev.jobState,
    stateName: ev.stateName,
    exitCode: ev.exitCode,
    signal: ev.signal,
    submitTime: ev.submitTime,
    startTime: ev.startTime,
    endTime: ev.endTime,
    writeTimeNs,
    tres,
    cluster: ev.cluster,
    node: ev.node,
    jobName: ev.jobName,
    comment: ev.comment,
  };
}

/** Lossless: strings keep their surrogate escapes, u64s travel as decimal strings. */
export function toWireEvent(ev: JobEvent): WireEvent {
  return {
    seq: ev.seq.toString(),
    kind: ev.kind,
    ...jobEventFields(ev, ev.writeTimeNs.toString(), {
      cpu: ev.tres.cpu,
      memMb: ev.tres.memMb,
      gpu: ev.tres.gpu,
      node: ev.tres.node,
      billing: ev.tres.billing,
    }),
  };
}

export type BatchHeader = Omit<EventBatch, 'records'>;

/** Bytes a batch adds around its records: the header object, `"records":[`, commas, `]}`. */
export function batchOverheadBytes(header: BatchHeader, records: number): number {
  return Buffer.byteLength(JSON.stringify(header)) + '"records":[]}'.length + Math.max(0, records - 1) + 1;
}

/**
 * The exact body: `{...header,"records":[r1,r2,...]}` from records already
 * serialized as JSON, given as runs of one or more comma-separated records.
 */
export function buildBatchBody(header: BatchHeader, recordRuns: readonly Uint8Array[]): Buffer {
  const head = JSON.stringify(header);
  const parts: Uint8Array[] = [Buffer.from(`${head.slice(0, -1)},"records":[`, 'utf8')];
  recordRuns.forEach((run, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(run);
  });
  parts.push(CLOSE);
  return Buffer.concat(parts);
}

const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');

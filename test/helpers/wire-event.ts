// wire-event.ts - a valid record of the relay-to-reporter wire (src/relay/protocol.ts)
// for tests: a completed job numbered after its sequence number, any field
// overridden. Shared by the reporter's and the relay's tests.
import type { WireEvent } from '../../src/relay/protocol.js';

/** The record with sequence number `seq` (job 1000 + seq), `extra` replacing fields in place (key order kept). */
export function wireEvent(seq: number | string, extra: Partial<WireEvent> = {}): WireEvent {
  return {
    seq: String(seq),
    kind: 3,
    jobId: 1000 + Number(seq),
    userId: 1000,
    jobState: 3,
    stateName: 'COMPLETED',
    exitCode: 0,
    signal: 0,
    submitTime: 1_700_000_000,
    startTime: 1_700_000_010,
    endTime: 1_700_000_070,
    writeTimeNs: '1700000070000000000',
    tres: { cpu: 2, memMb: 1024, gpu: 0, node: 1, billing: 2 },
    cluster: 'test',
    node: 'node1',
    jobName: `job-${seq}`,
    comment: '',
    ...extra,
  };
}

// fixtures.ts - a state database in a temp dir, a job map, and wire events for reporter unit tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import { keccak256, toHex, type Hex } from 'viem';

import type { WireEvent } from '../../src/relay/protocol.js';
import { JobMap } from '../../src/reporter/jobmap.js';
import { SLURM_STATE_NAMES } from '../../src/slurm/states.js';
import { Reports } from '../../src/reporter/reports.js';
import { type Db } from '../../src/state/db.js';
import { openStateDb } from '../../src/compose/state-store.js';

export const quiet = pino({ level: 'silent' });

export function stateDb(): { db: Db; dir: string; jobs: JobMap; reports: Reports; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'gl-state-'));
  const db = openStateDb(join(dir, 'gridlink.db'));
  return { db, dir, jobs: new JobMap(db), reports: new Reports(db), cleanup: () => (db.close(), rmSync(dir, { recursive: true, force: true })) };
}

export const gridId = (n: number): Hex => keccak256(toHex(`job-${n}`));
export const CUSTOMER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

export function slurmEvent(kind: 1 | 2 | 3, jobId: number, extra: Partial<WireEvent> & { state?: string } = {}): WireEvent {
  const { state, ...rest } = extra;
  const s = state ?? (kind === 3 ? 'COMPLETED' : 'RUNNING');
  return {
    seq: '0',
    kind,
    jobId,
    userId: 1000,
    jobState: kind === 3 ? SLURM_STATE_NAMES.indexOf(s) : 0,
    stateName: kind === 3 ? s : '',
    exitCode: 0,
    signal: 0,
    submitTime: 1_700_000_000,
    startTime: 1_700_000_010,
    endTime: kind === 3 ? 1_700_000_010 + 150 : 0,
    writeTimeNs: '0',
    tres: { cpu: 1, memMb: 100, gpu: 0, node: 1, billing: 1 },
    cluster: 'c',
    node: 'n1',
    jobName: 'x',
    comment: '',
    ...rest,
  };
}

/** An in-memory EventSource with ids. */
export class MemEvents {
  readonly rows: Array<{ id: number; record: { event: WireEvent } }> = [];
  push(...evs: WireEvent[]): void {
    for (const event of evs) this.rows.push({ id: this.rows.length + 1, record: { event } });
  }
  eventsAfter(after: number, limit: number) {
    return this.rows.filter((r) => r.id > after).slice(0, limit);
  }
  eventsForJob(jobId: number, upto: number) {
    return this.rows.filter((r) => r.record.event.jobId === jobId && r.id <= upto);
  }
}

import { afterEach, describe, expect, it } from 'vitest';

import { JobStatus } from '../../src/metascheduler/status.js';
import { JOB_REQUEUE, SLURM_STATE_NAMES } from '../../src/slurm/states.js';
import { Planner } from '../../src/reporter/planner.js';
import { CUSTOMER, MemEvents, gridId, quiet, slurmEvent, stateDb } from './fixtures.js';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function setup() {
  const s = stateDb();
  cleanup = s.cleanup;
  const events = new MemEvents();
  const outcomes: string[] = [];
  const planner = new Planner(s.db, events, s.jobs, s.reports, quiet, { onEvent: (o) => outcomes.push(o) });
  return { ...s, events, planner, outcomes };
}

const summary = (rs: Array<{ status: JobStatus; minutes: number; state: string }>) => rs.map((r) => [JobStatus[r.status], r.minutes]);

describe('planner', () => {
  it('the first job_started on any node plans RUNNING once; the completion plans the cold status', () => {
    const t = setup();
    t.jobs.add({ gridJobId: gridId(1), slurmJobId: 11, customer: CUSTOMER, maxMinutes: 60, claimBlock: 5 });
    t.events.push(slurmEvent(1, 11, { node: 'n1' }), slurmEvent(1, 11, { node: 'n2' }), slurmEvent(2, 11), slurmEvent(3, 11));
    expect(t.planner.drain()).toBe(4);
    expect(summary(t.reports.forJob(gridId(1)))).toEqual([['RUNNING', 0], ['FINISHED', 3]]);
    expect(t.outcomes).toEqual(['planned', 'duplicate', 'ignored', 'planned']);
  });

  it('events for jobs not in the job map are ignored whatever their name or comment say', () => {
    const t = setup();
    t.events.push(slurmEvent(3, 99, { jobName: gridId(1), comment: `grid=${gridId(1)}` }));
    t.planner.drain();
    expect(t.reports.list()).toEqual([]);
    expect(t.outcomes).toEqual(['unmapped']);
  });

  it('a duplicate completion plans nothing more; a job that never started goes cold directly', () => {
    const t = setup();
    t.jobs.add({ gridJobId: gridId(2), slurmJobId: 12, customer: CUSTOMER, maxMinutes: 60, claimBlock: 5 });
    const cancelledPending = slurmEvent(3, 12, { state: 'CANCELLED', startTime: 0 });
    t.events.push(cancelledPending, cancelledPending);
    t.planner.drain();
    expect(summary(t.reports.forJob(gridId(2)))).toEqual([['CANCELLED', 0]]);
    expect(t.outcomes).toEqual(['planned', 'duplicate']);
  });

  it('a completion that arrives before the prolog record still reports RUNNING first', () => {
    const t = setup();
    t.jobs.add({ gridJobId: gridId(3), slurmJobId: 13, customer: CUSTOMER, maxMinutes: 2, claimBlock: 5 });
    t.events.push(slurmEvent(3, 13, { state: 'TIMEOUT', endTime: 1_700_000_010 + 125 }), slurmEvent(1, 13));
    t.planner.drain();
    expect(summary(t.reports.forJob(gridId(3)))).toEqual([['RUNNING', 0], ['OUT_OF_CREDITS', 2]]);
  });

  it('a requeued run is added to the final bill and reports nothing itself', () => {
    const t = setup();
    t.jobs.add({ gridJobId: gridId(4), slurmJobId: 14, customer: CUSTOMER, maxMinutes: 60, claimBlock: 5 });
    const preempted = SLURM_STATE_NAMES.indexOf('PREEMPTED') | JOB_REQUEUE;
    t.events.push(slurmEvent(1, 14), slurmEvent(3, 14, { jobState: preempted, startTime: 1000, endTime: 1000 + 240 }), slurmEvent(3, 14, { startTime: 5000, endTime: 5000 + 60 }));
    t.planner.drain();
    expect(t.jobs.get(gridId(4))!.requeuedSeconds).toBe(240);
    expect(summary(t.reports.forJob(gridId(4)))).toEqual([['RUNNING', 0], ['FINISHED', 5]]);
  });

  it('a crash in the middle of a batch derives nothing of it and leaves the cursor (one transaction)', () => {
    const t = setup();
    t.jobs.add({ gridJobId: gridId(5), slurmJobId: 15, customer: CUSTOMER, maxMinutes: 60, claimBlock: 5 });
    t.events.push(slurmEvent(1, 15), slurmEvent(3, 15));
    const real = t.reports.plan.bind(t.reports);
    let calls = 0;
    t.reports.plan = (p) => {
      if (++calls === 2) throw new Error('crash');
      return real(p);
    };
    expect(() => t.planner.step()).toThrow('crash');
    expect(t.reports.list()).toEqual([]);
    expect(t.planner.cursor()).toBe(0);
    t.reports.plan = real;
    expect(t.planner.drain()).toBe(2);
    expect(t.planner.drain()).toBe(0);
    expect(t.reports.list()).toHaveLength(2);
  });

  it('events that arrived before the supervisor mapped the job are derived when it maps it, once', () => {
    const t = setup();
    t.events.push(slurmEvent(1, 17), slurmEvent(3, 17, { state: 'FAILED', exitCode: 2 }));
    t.planner.drain();
    expect(t.reports.list()).toEqual([]);
    t.planner.addJob({ gridJobId: gridId(7), slurmJobId: 17, customer: CUSTOMER, maxMinutes: 60, claimBlock: 5 });
    expect(summary(t.reports.forJob(gridId(7)))).toEqual([['RUNNING', 0], ['FAILED', 3]]);
    t.planner.addJob({ gridJobId: gridId(7), slurmJobId: 17, customer: CUSTOMER, maxMinutes: 70, claimBlock: 5 });
    expect(t.reports.forJob(gridId(7))).toHaveLength(2);
    expect(t.jobs.get(gridId(7))!.maxMinutes).toBe(70);
  });

  it('an event older than the mapped job (SLURM reused the id) is ignored', () => {
    const t = setup();
    t.jobs.add({ gridJobId: gridId(6), slurmJobId: 16, customer: CUSTOMER, maxMinutes: 60, claimBlock: 5, submittedAt: 1_800_000_000 });
    t.events.push(slurmEvent(3, 16, { submitTime: 1_700_000_000 }));
    t.planner.drain();
    expect(t.reports.list()).toEqual([]);
  });
});

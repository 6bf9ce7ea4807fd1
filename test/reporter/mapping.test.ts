import { describe, expect, it } from 'vitest';

import { chainCapMinutes, reportedMinutes } from '../../src/metascheduler/billing.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import { mapCompletion, needsRunningFirst } from '../../src/reporter/mapping.js';
import { JOB_REQUEUE, JOB_REQUEUE_HOLD, SLURM_STATE_NAMES } from '../../src/slurm/states.js';

const state = (name: string) => SLURM_STATE_NAMES.indexOf(name);
const facts = (name: string, extra: Partial<Parameters<typeof mapCompletion>[0]> = {}) => ({
  jobId: 42,
  jobState: state(name),
  exitCode: 0,
  signal: 0,
  startTime: 1_000,
  endTime: 1_000 + 300,
  ...extra,
});

describe('SLURM end state -> chain status', () => {
  it.each([
    ['COMPLETED', JobStatus.FINISHED, false],
    ['FAILED', JobStatus.FAILED, true],
    ['NODE_FAIL', JobStatus.FAILED, true],
    ['BOOT_FAIL', JobStatus.FAILED, true],
    ['OUT_OF_MEMORY', JobStatus.FAILED, true],
    ['PREEMPTED', JobStatus.FAILED, true],
    ['CANCELLED', JobStatus.CANCELLED, true],
  ])('%s -> %s', (name, status, hasError) => {
    const m = mapCompletion(facts(name, { exitCode: 3 }), 60);
    expect(m.kind).toBe('final');
    if (m.kind !== 'final') return;
    expect(m.status).toBe(status);
    expect(m.exitCode).toBe(3n);
    if (hasError) expect(m.lastError).toContain(`ended ${name}`);
    else expect(m.lastError).toBe('');
  });

  it('TIMEOUT and DEADLINE at the paid duration -> OUT_OF_CREDITS, earlier -> FAILED', () => {
    for (const name of ['TIMEOUT', 'DEADLINE']) {
      const paid = mapCompletion(facts(name, { endTime: 1_000 + 10 * 60 + 20 }), 10);
      expect(paid.kind === 'final' && paid.status).toBe(JobStatus.OUT_OF_CREDITS);
      const early = mapCompletion(facts(name, { endTime: 1_000 + 5 * 60 }), 10);
      expect(early.kind === 'final' && early.status).toBe(JobStatus.FAILED);
      expect(early.kind === 'final' && early.lastError).toMatch(/limit other than the paid duration/);
    }
  });

  it('a requeued run is not final; its seconds count towards the final completion', () => {
    expect(mapCompletion(facts('PREEMPTED', { jobState: state('PREEMPTED') | JOB_REQUEUE }), 60)).toEqual({ kind: 'requeued', slurmState: 'PREEMPTED', runSeconds: 300 });
    expect(mapCompletion(facts('NODE_FAIL', { jobState: state('NODE_FAIL') | JOB_REQUEUE_HOLD }), 60).kind).toBe('requeued');
    const fin = mapCompletion(facts('TIMEOUT', { startTime: 2_000, endTime: 2_000 + 5 * 60 }), 10, 5 * 60);
    expect(fin.kind === 'final' && fin.status).toBe(JobStatus.OUT_OF_CREDITS);
    expect(fin.kind === 'final' && fin.runSeconds).toBe(600);
  });

  it('non-end states are ignored', () => {
    expect(mapCompletion(facts('RUNNING'), 60).kind).toBe('ignored');
    expect(mapCompletion(facts('PENDING'), 60).kind).toBe('ignored');
    expect(mapCompletion({ ...facts('COMPLETED'), jobState: 77 }, 60).kind).toBe('ignored');
  });

  it('RUNNING goes first for jobs that ran and for statuses SCHEDULED cannot reach', () => {
    const pendingCancel = mapCompletion(facts('CANCELLED', { startTime: 0 }), 60);
    expect(pendingCancel.kind === 'final' && needsRunningFirst(pendingCancel)).toBe(false);
    const launchFail = mapCompletion(facts('FAILED', { startTime: 0 }), 60);
    expect(launchFail.kind === 'final' && needsRunningFirst(launchFail)).toBe(false);
    const ran = mapCompletion(facts('CANCELLED'), 60);
    expect(ran.kind === 'final' && needsRunningFirst(ran)).toBe(true);
    expect(needsRunningFirst({ status: JobStatus.FINISHED, ran: false })).toBe(true);
    expect(needsRunningFirst({ status: JobStatus.OUT_OF_CREDITS, ran: false })).toBe(true);
  });
});

describe('billed minutes', () => {
  it('whole minutes from SLURM times, a started minute counts, capped by paid and by the chain', () => {
    expect(reportedMinutes({ runSeconds: 0, paidMinutes: 10n })).toBe(0n);
    expect(reportedMinutes({ runSeconds: 1, paidMinutes: 10n })).toBe(1n);
    expect(reportedMinutes({ runSeconds: 120, paidMinutes: 10n })).toBe(2n);
    expect(reportedMinutes({ runSeconds: 121, paidMinutes: 10n })).toBe(3n);
    expect(reportedMinutes({ runSeconds: 3600, paidMinutes: 10n })).toBe(10n);
    expect(reportedMinutes({ runSeconds: 3600, paidMinutes: 100n, chainCapMinutes: 20n })).toBe(20n);
  });

  it('the chain cap is elapsed whole minutes since time.start plus the delta', () => {
    expect(chainCapMinutes(1000n, 1000n + 59n, 15n)).toBe(15n);
    expect(chainCapMinutes(1000n, 1000n + 600n, 15n)).toBe(25n);
    expect(chainCapMinutes(1000n, 900n, 15n)).toBe(15n);
  });
});

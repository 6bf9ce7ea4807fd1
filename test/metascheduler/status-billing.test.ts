import { describe, expect, it } from 'vitest';
import { encodeErrorResult, parseAbi } from 'viem';
import {
  ALL_JOB_STATUSES,
  JobStatus,
  checkTransition,
  isCold,
  isHot,
  toJobStatus,
} from '../../src/metascheduler/status.js';
import { creditsForMinutes, maxDurationMinutes, perMinute, settle } from '../../src/metascheduler/billing.js';
import { decodeRevertData, MetaSchedulerError } from '../../src/metascheduler/errors.js';
import { fitsHardware } from '../../src/metascheduler/fit.js';

const S = JobStatus;

describe('status table', () => {
  it('hot is 0..3, cold is 4..8', () => {
    expect(ALL_JOB_STATUSES.filter(isHot)).toEqual([0, 1, 2, 3]);
    expect(ALL_JOB_STATUSES.filter(isCold)).toEqual([4, 5, 6, 7, 8]);
  });

  it('allows exactly the documented transitions', () => {
    const allowed: [JobStatus, JobStatus][] = [];
    for (const f of ALL_JOB_STATUSES) for (const t of ALL_JOB_STATUSES) if (checkTransition(f, t).ok) allowed.push([f, t]);
    expect(allowed).toEqual([
      [S.PENDING, S.META_SCHEDULED], [S.PENDING, S.CANCELLED], [S.PENDING, S.PANICKED],
      [S.META_SCHEDULED, S.PENDING], [S.META_SCHEDULED, S.SCHEDULED], [S.META_SCHEDULED, S.CANCELLED], [S.META_SCHEDULED, S.PANICKED],
      [S.SCHEDULED, S.PENDING], [S.SCHEDULED, S.RUNNING], [S.SCHEDULED, S.CANCELLED], [S.SCHEDULED, S.FAILED], [S.SCHEDULED, S.PANICKED],
      [S.RUNNING, S.CANCELLED], [S.RUNNING, S.FINISHED], [S.RUNNING, S.FAILED], [S.RUNNING, S.OUT_OF_CREDITS], [S.RUNNING, S.PANICKED],
    ]);
  });

  it('checks same status first, then cold origin, then the table', () => {
    expect(checkTransition(S.FINISHED, S.FINISHED)).toEqual({ ok: false, error: 'SameStatusError' });
    expect(checkTransition(S.RUNNING, S.RUNNING)).toEqual({ ok: false, error: 'SameStatusError' });
    expect(checkTransition(S.CANCELLED, S.PENDING)).toEqual({ ok: false, error: 'JobHotStatusOnly', current: S.CANCELLED });
    expect(checkTransition(S.PENDING, S.RUNNING)).toEqual({ ok: false, error: 'InvalidTransition', from: S.PENDING, to: S.RUNNING });
    expect(checkTransition(S.RUNNING, S.PENDING)).toEqual({ ok: false, error: 'InvalidTransition', from: S.RUNNING, to: S.PENDING });
  });

  it('refuses unknown status numbers from the chain', () => {
    expect(toJobStatus(8n)).toBe(S.PANICKED);
    expect(() => toJobStatus(9)).toThrow(RangeError);
  });
});

describe('billing', () => {
  const def = { gpus: 2n, memPerCpu: 1000n, cpusPerTask: 4n, ntasks: 3n };
  const prices = { gpuPricePerMin: 7n, cpuPricePerMin: 5n, memPricePerMin: 1n };

  it('perMinute does not multiply gpus by ntasks', () => {
    // 3 * (4*5 + 4*1000*1) + 2*7
    expect(perMinute(def, prices)).toBe(3n * (20n + 4000n) + 14n);
  });

  it('maxDurationMinutes floors and creditsForMinutes multiplies', () => {
    expect(maxDurationMinutes(400n, 4n)).toBe(100n);
    expect(maxDurationMinutes(401n, 4n)).toBe(100n);
    expect(maxDurationMinutes(3n, 4n)).toBe(0n);
    expect(() => maxDurationMinutes(3n, 0n)).toThrow(RangeError);
    expect(creditsForMinutes(10n, 4n)).toBe(40n);
  });

  const base = { maxCost: 400n, perMin: 4n, billDurationDeltaMinute: 15n, cutPercent: 20n };

  it('bills reported minutes: 4/min, 400 locked, 10 min reported after 10 elapsed', () => {
    expect(settle({ ...base, startedAt: 1000n, now: 1600n, reportedMinutes: 10n })).toEqual({
      billedMinutes: 10n, finalCost: 40n, providerReward: 32n, cut: 8n, refund: 360n, billedTooMuch: false,
    });
  });

  it('bills nothing when the job never ran', () => {
    expect(settle({ ...base, startedAt: 0n, now: 99999n, reportedMinutes: 50n })).toMatchObject({
      billedMinutes: 0n, finalCost: 0n, providerReward: 0n, refund: 400n, billedTooMuch: false,
    });
  });

  it('bills at least one minute', () => {
    expect(settle({ ...base, startedAt: 1000n, now: 1010n, reportedMinutes: 0n }).billedMinutes).toBe(1n);
  });

  it('accepts up to elapsed + delta, and bills elapsed beyond', () => {
    // elapsed = floor(659/60) = 10
    expect(settle({ ...base, startedAt: 1000n, now: 1659n, reportedMinutes: 25n })).toMatchObject({ billedMinutes: 25n, billedTooMuch: false });
    expect(settle({ ...base, startedAt: 1000n, now: 1659n, reportedMinutes: 26n })).toMatchObject({ billedMinutes: 10n, billedTooMuch: true, finalCost: 40n });
  });

  it('caps at maxCost and floors the cut', () => {
    expect(settle({ ...base, startedAt: 1000n, now: 1000n + 200n * 60n, reportedMinutes: 150n })).toMatchObject({
      billedMinutes: 150n, finalCost: 400n, refund: 0n, cut: 80n, providerReward: 320n,
    });
    expect(settle({ ...base, perMin: 3n, startedAt: 1n, now: 61n, reportedMinutes: 1n })).toMatchObject({ finalCost: 3n, cut: 0n, providerReward: 3n });
  });
});

describe('error decoding', () => {
  const abi = parseAbi([
    'error InvalidTransition(uint8 from, uint8 to)',
    'error JobHotStatusOnly(uint8 current)',
    'error ProviderNotJoined()',
    'error Mystery(uint256 x)',
  ]);

  it('decodes InvalidTransition with statuses', () => {
    const e = decodeRevertData(encodeErrorResult({ abi, errorName: 'InvalidTransition', args: [3, 0] }), { functionName: 'providerSetJobStatus' });
    expect(e).toBeInstanceOf(MetaSchedulerError);
    expect(e.is('InvalidTransition') && e.args).toEqual({ from: S.RUNNING, to: S.PENDING });
    expect(e.message).toMatch(/providerSetJobStatus: InvalidTransition: .*RUNNING\(3\) to PENDING\(0\)/);
  });

  it('decodes argument-less errors and says what to do', () => {
    const e = decodeRevertData(encodeErrorResult({ abi, errorName: 'ProviderNotJoined' }));
    expect(e.name).toBe('ProviderNotJoined');
    expect(e.message).toMatch(/approve/);
  });

  it('keeps unknown selectors and revert strings', () => {
    const e = decodeRevertData(encodeErrorResult({ abi, errorName: 'Mystery', args: [1n] }));
    expect(e.name).toBe('Unknown');
    const s = decodeRevertData(encodeErrorResult({ abi: parseAbi(['error Error(string)']), errorName: 'Error', args: ['nope'] }));
    expect(s.is('Error') && s.args.reason).toBe('nope');
  });
});

describe('hardware fit', () => {
  const hw = { nodes: 2n, gpusPerNode: [1n, 1n], cpusPerNode: [8n, 8n], memPerNode: [16000n, 16000n] };
  it('counts tasks per node: a task never spans nodes', () => {
    expect(fitsHardware({ gpus: 2n, memPerCpu: 1000n, cpusPerTask: 4n, ntasks: 4n }, hw).fits).toBe(true);
    expect(fitsHardware({ gpus: 0n, memPerCpu: 1000n, cpusPerTask: 4n, ntasks: 5n }, hw).fits).toBe(false);
    expect(fitsHardware({ gpus: 0n, memPerCpu: 1000n, cpusPerTask: 12n, ntasks: 1n }, hw).fits).toBe(false);
    expect(fitsHardware({ gpus: 0n, memPerCpu: 5000n, cpusPerTask: 4n, ntasks: 1n }, hw).fits).toBe(false);
    expect(fitsHardware({ gpus: 3n, memPerCpu: 1n, cpusPerTask: 1n, ntasks: 1n }, hw).fits).toBe(false);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeErrorResult, keccak256, parseAbi, toHex, zeroAddress, zeroHash, type Hex } from 'viem';
import {
  ALL_JOB_STATUSES,
  JobStatus,
  checkTransition,
  isCold,
  isHot,
  toJobStatus,
} from '../../src/metascheduler/status.js';
import { creditsForMinutes, maxDurationMinutes, perMinute, settle } from '../../src/metascheduler/billing.js';
import { decodeRevertData, MetaSchedulerError, toMetaSchedulerError } from '../../src/metascheduler/errors.js';
import { fitsHardware } from '../../src/metascheduler/fit.js';
import { jobRepositoryAbi } from '../../src/metascheduler/abi.generated.js';
import type { MetaSchedulerClient } from '../../src/metascheduler/client.js';
import type { ProviderPrices } from '../../src/metascheduler/types.js';
import { CREDIT, definition, smallCluster, startDevnet, type Devnet } from './devnet.js';

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

// ---------------------------------------------------------------------------
// The same tables against the real contracts on anvil.
// ---------------------------------------------------------------------------

/** Small seeded PRNG so a failing draw can be replayed with the logged seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const big = (lo: bigint, hi: bigint) => lo + (BigInt(int(0, 2 ** 30)) * (hi - lo)) / 2n ** 30n;
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  return { next, int, big, pick };
}

const SEED = Number(process.env.METASCHEDULER_SEED ?? Date.now() % 2 ** 31);

describe(`against the contracts on anvil (seed ${SEED})`, () => {
  let net: Devnet;
  beforeAll(async () => {
    net = await startDevnet({ providers: 4 });
  });
  afterAll(async () => {
    await net?.stop();
  });

  it('checkTransition predicts the repository for random from/to pairs', async () => {
    const r = rng(SEED);
    const repo = net.admin.addresses.jobs;
    const me = net.admin.walletClient!.account.address;
    // The deployer administers JobRepository: let it write jobs directly so any
    // `from` status can be set up without walking the whole lifecycle.
    const roleAbi = parseAbi(['function grantRole(bytes32 role, address account)']);
    const hash = await net.admin.walletClient!.writeContract({
      address: repo, abi: roleAbi, functionName: 'grantRole',
      args: [keccak256(toHex('METASCHEDULER_ROLE')), me], chain: net.admin.walletClient!.chain,
    });
    await net.admin.publicClient.waitForTransactionReceipt({ hash });

    const pairs: [JobStatus, JobStatus][] = [];
    // Every pair once (81), then random extra draws: the table is small enough to cover fully.
    for (const f of ALL_JOB_STATUSES) for (const t of ALL_JOB_STATUSES) pairs.push([f, t]);
    for (let i = 0; i < 40; i++) pairs.push([r.pick(ALL_JOB_STATUSES), r.pick(ALL_JOB_STATUSES)]);

    const emptyJob = (status: JobStatus) => ({
      jobId: zeroHash, status, customerAddr: me, providerAddr: zeroAddress, definition: definition(),
      cost: { maxCost: 0n, finalCost: 0n, pendingTopUp: 0n, delegateSpendingAuthority: false },
      time: { submit: 0n, start: 0n, end: 0n, cancelRequestTimestamp: 0n, blockNumberStateChange: 0n, panicTimestamp: 0n },
      jobName: zeroHash, hasCancelRequest: false, lastError: '', exitCode: 0n,
    });

    const ids = new Map<JobStatus, Hex>();
    for (const s of ALL_JOB_STATUSES) {
      const { result, request } = await net.admin.publicClient.simulateContract({
        address: repo, abi: jobRepositoryAbi, functionName: 'create', args: [emptyJob(s)], account: net.admin.walletClient!.account,
      });
      const h = await net.admin.walletClient!.writeContract(request);
      await net.admin.publicClient.waitForTransactionReceipt({ hash: h });
      ids.set(s, result);
    }

    for (const [from, to] of pairs) {
      const predicted = checkTransition(from, to);
      let actual: unknown = { ok: true };
      try {
        // Simulated only, so the `from` job stays reusable for the next draw.
        await net.admin.publicClient.simulateContract({
          address: repo, abi: jobRepositoryAbi, functionName: 'setJobStatus', args: [ids.get(from)!, to], account: net.admin.walletClient!.account,
        });
      } catch (e) {
        const err = toMetaSchedulerError(e, 'setJobStatus');
        expect(err, `${from}->${to}`).toBeInstanceOf(MetaSchedulerError);
        const m = err as MetaSchedulerError;
        actual = { ok: false, error: m.name, ...(m.args as object) };
      }
      expect(actual, `transition ${from}->${to}`).toEqual(predicted);
    }
  });

  it('settle() and the claim limit match what the contract pays for random jobs', async () => {
    const r = rng(SEED + 1);
    const providers: { client: MetaSchedulerClient; prices: ProviderPrices }[] = [];
    for (const client of net.providers) {
      const prices = {
        gpuPricePerMin: r.big(0n, 3n * CREDIT),
        cpuPricePerMin: r.big(1n, CREDIT),
        memPricePerMin: r.big(0n, CREDIT / 1000n),
      };
      await client.register(smallCluster, prices, []);
      await net.admin.approveProvider(client.walletClient!.account.address);
      providers.push({ client, prices });
    }
    const c = await net.admin.getConstants();
    const seen = new Set<string>();

    for (let i = 0; i < 25; i++) {
      const { client: prov, prices } = r.pick(providers);
      const def = definition({
        gpus: BigInt(r.int(0, 2)), ntasks: BigInt(r.int(1, 4)), cpusPerTask: BigInt(r.int(1, 4)), memPerCpu: BigInt(r.int(1, 4000)),
      });
      const perMin = perMinute(def, prices);
      // At least one minute of credit (metaSchedule refuses less), and at least the minimum amount.
      const floor = perMin > c.minimumAmount ? perMin : c.minimumAmount;
      const maxCost = r.big(floor, floor * 20n);
      const ctx = `draw ${i} seed ${SEED}`;

      const { jobId } = await net.customer.requestNewJob(def, maxCost, `rand-${i}`);
      await net.admin.metaSchedule(jobId, prov.walletClient!.account.address);
      const claim = await prov.claimNextJob();
      expect(claim?.maxDurationMinute, ctx).toBe(maxDurationMinutes(maxCost, perMin));

      const neverRan = i % 7 === 3;
      let startedAt = 0n;
      if (!neverRan) {
        await prov.providerSetJobStatus(jobId, JobStatus.RUNNING, 0n);
        startedAt = (await prov.getJob(jobId)).time.start;
        await net.anvil.increaseTime(r.int(0, 3 * 3600));
      }
      const elapsedGuess = BigInt(Math.floor(Number((await net.admin.publicClient.getBlock()).timestamp - (startedAt || 0n)) / 60));
      // Cycle through the interesting reports: zero, one, anything, exactly at the
      // believed limit, just past it (elapsed can only grow before the report is mined).
      const reported = [0n, 1n, BigInt(r.int(0, 400)), elapsedGuess + c.billDurationDeltaMinute, elapsedGuess + c.billDurationDeltaMinute + 2n][i % 5]!;
      const status = neverRan ? JobStatus.FAILED : r.pick([JobStatus.FINISHED, JobStatus.FAILED, JobStatus.OUT_OF_CREDITS, JobStatus.CANCELLED]);

      const custBefore = await net.customer.getCreditBalance();
      const provBefore = await prov.getCreditBalance();
      const res = await prov.providerSetJobStatus(jobId, status, reported);
      const now = (await prov.publicClient.getBlock({ blockNumber: res.blockNumber })).timestamp;

      const want = settle({
        maxCost, perMin, startedAt, now, reportedMinutes: reported,
        billDurationDeltaMinute: c.billDurationDeltaMinute, cutPercent: c.deepsquareCut,
      });
      const job = await prov.getJob(jobId);
      expect(job.cost.finalCost, ctx).toBe(want.finalCost);
      expect((await prov.getCreditBalance()) - provBefore, ctx).toBe(want.providerReward);
      expect((await net.customer.getCreditBalance()) - custBefore, ctx).toBe(want.refund);
      expect(res.billedTooMuch !== undefined, ctx).toBe(want.billedTooMuch);
      if (res.billedTooMuch) expect(res.billedTooMuch.reportedMinutes, ctx).toBe(reported);
      seen.add(neverRan ? 'never-ran' : want.billedTooMuch ? 'too-much' : want.finalCost === maxCost ? 'capped' : 'billed');
    }
    expect([...seen].sort()).toEqual(expect.arrayContaining(['billed', 'never-ran', 'too-much']));
  });
});

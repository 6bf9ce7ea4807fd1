// Billing of METASCHEDULER.md at 4 credits/min (DEFAULT_PRICES, default job
// definition) with 400 credits locked, on real elapsed chain time.
import { describe, expect, it } from 'vitest';
import { type Hex, parseEventLogs } from 'viem';
import { type Devnet, Status, type StatusValue, credits, expectRevert, jobDefinition, metaSchedulerAbi, useDevnet } from './fixture.js';

interface Settlement {
  provider: bigint;
  customer: bigint;
  kept: bigint;
  finalCost: bigint;
  billedTooMuch: bigint[];
}

/** Runs a job for `elapsedMinutes`, reports `reported` minutes, and returns who got what. */
async function settle(
  d: Devnet,
  id: Hex,
  reported: bigint,
  opts: { elapsedMinutes?: number; status?: StatusValue } = {},
): Promise<Settlement> {
  if (opts.elapsedMinutes) await d.advanceMinutes(opts.elapsedMinutes);
  const ms = d.addresses.metaScheduler;
  const [p0, c0, m0, cut0] = [await d.balance(d.provider), await d.balance(d.customer), await d.balance(ms), await d.customer.ms.read.collectedCut()];
  const receipt = await d.mined(d.provider.ms.write.providerSetJobStatus([id, opts.status ?? Status.FINISHED, reported, '', 0n]));
  const [p1, c1, m1, cut1] = [await d.balance(d.provider), await d.balance(d.customer), await d.balance(ms), await d.customer.ms.read.collectedCut()];
  // What stays in MetaScheduler is exactly the grid's cut, and it is accounted as such.
  expect(cut1 - cut0).toBe(m1 - m0 + (await d.job(id)).cost.maxCost);
  return {
    provider: p1 - p0,
    customer: c1 - c0,
    kept: cut1 - cut0,
    finalCost: (await d.job(id)).cost.finalCost,
    billedTooMuch: parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'BilledTooMuchEvent' }).map((e) => {
      expect(e.args._jobId).toBe(id);
      expect(e.args._providerAddr).toBe(d.provider.address);
      return e.args._billingAmount;
    }),
  };
}

describe('billing', () => {
  const devnet = useDevnet();

  it('10 minutes reported after 10 elapsed: provider 32, customer refund 360, cut 8 kept', async () => {
    const d = devnet();
    const id = await d.running();
    expect(await settle(d, id, 10n, { elapsedMinutes: 10 })).toEqual({
      provider: credits(32),
      customer: credits(360),
      kept: credits(8),
      finalCost: credits(40),
      billedTooMuch: [],
    });
  });

  it('a cost above the locked credits is capped at maxCost', async () => {
    const d = devnet();
    const id = await d.running();
    // 200 <= 190 + 15: believed, 800 credits, capped at the 400 locked.
    expect(await settle(d, id, 200n, { elapsedMinutes: 190 })).toEqual({
      provider: credits(320),
      customer: 0n,
      kept: credits(80),
      finalCost: credits(400),
      billedTooMuch: [],
    });
  });

  it('26 reported after 10 elapsed: BilledTooMuchEvent(26) and 10 minutes billed', async () => {
    const d = devnet();
    const id = await d.running();
    const s = await settle(d, id, 26n, { elapsedMinutes: 10 });
    expect(s.billedTooMuch).toEqual([26n]);
    expect(s.finalCost).toBe(credits(40));
    expect(s.provider).toBe(credits(32));
  });

  it('25 reported after 10 elapsed is within the 15-minute delta and billed as reported', async () => {
    const d = devnet();
    const id = await d.running();
    const s = await settle(d, id, 25n, { elapsedMinutes: 10 });
    expect(s.billedTooMuch).toEqual([]);
    expect(s.finalCost).toBe(credits(100));
  });

  it('bills at least one minute', async () => {
    const d = devnet();
    const id = await d.running();
    const s = await settle(d, id, 0n);
    expect(s.finalCost).toBe(credits(4));
    expect(s.provider).toBe(credits(3.2));
    expect(s.kept).toBe(credits(0.8));
    expect(s.customer).toBe(credits(396));
  });

  it('a job that never ran costs nothing (cold from SCHEDULED)', async () => {
    const d = devnet();
    const id = await d.scheduled();
    const s = await settle(d, id, 30n, { elapsedMinutes: 30, status: Status.FAILED });
    expect(s).toEqual({ provider: 0n, customer: credits(400), kept: 0n, finalCost: 0n, billedTooMuch: [] });
  });

  it('bills the same for every cold status a running job reports', async () => {
    const d = devnet();
    for (const status of [Status.CANCELLED, Status.FAILED, Status.OUT_OF_CREDITS, Status.PANICKED] as const) {
      const id = await d.running();
      const s = await settle(d, id, 5n, { elapsedMinutes: 5, status });
      expect(s.finalCost, `status ${status}`).toBe(credits(20));
    }
  });

  it('prices per minute as ntasks*(cpus*cpuPrice + cpus*mem*memPrice) + gpus*gpuPrice', async () => {
    const d = devnet();
    // 2*(2*3 + 2*3*1) + 1*5 = 29 credits/min; 600 locked -> floor(600/29) = 20 minutes.
    const definition = jobDefinition({ ntasks: 2n, cpusPerTask: 2n, memPerCpu: 3n, gpus: 1n });
    const id = await d.metaScheduled({ definition, locked: credits(600) });
    const receipt = await d.mined(d.provider.ms.write.claimNextJob());
    const [claim] = parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimJobEvent' });
    expect(claim?.args).toEqual({
      customerAddr: d.customer.address,
      providerAddr: d.provider.address,
      jobId: id,
      maxDurationMinute: 20n,
      jobDefinition: definition,
    });
    await d.mined(d.provider.ms.write.providerSetJobStatus([id, Status.RUNNING, 0n, '', 0n]));
    const s = await settle(d, id, 3n, { elapsedMinutes: 3 });
    expect(s.finalCost).toBe(credits(87));
  });

  it('lets the admin withdraw the collected cut, and no more', async () => {
    const d = devnet();
    const id = await d.running();
    await settle(d, id, 10n, { elapsedMinutes: 10 });
    await expectRevert(d.admin.ms.write.withdrawAdmin([credits(9)]), 'InsufficientFunds', [credits(8), credits(9)]);
    const before = await d.balance(d.admin);
    await d.mined(d.admin.ms.write.withdrawAdmin([credits(8)]));
    expect((await d.balance(d.admin)) - before).toBe(credits(8));
    expect(await d.customer.ms.read.collectedCut()).toBe(0n);
  });

  it('reads deepsquareCut and billDurationDeltaMinute from Constants at report time', async () => {
    const d = devnet();
    await expectRevert(d.admin.constants.write.setDeepsquareCut([101n]), 'OutOfBounds', []);
    await expectRevert(d.customer.constants.write.setDeepsquareCut([50n]), 'OwnableUnauthorizedAccount', [d.customer.address]);
    const id = await d.running();
    await d.mined(d.admin.constants.write.setDeepsquareCut([50n]));
    await d.mined(d.admin.constants.write.setBillDurationDeltaMinute([0n]));
    // 11 > 10 + 0: not believed, 10 billed; half of 40 kept.
    const s = await settle(d, id, 11n, { elapsedMinutes: 10 });
    expect(s).toMatchObject({ provider: credits(20), kept: credits(20), billedTooMuch: [11n] });
  });
});

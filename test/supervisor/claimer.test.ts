// The claimer with a fake pipeline and queue lengths: claims pipelined by
// queue length minus claims in flight; a stale claimable head detected once,
// logged, counted, probed (not retried in a loop) while cancellations and
// top-ups keep flowing; claiming resumes when the queue changes.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { decodeFunctionData, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';

import { metaSchedulerAbi } from '../../src/metascheduler/abi.generated.js';
import { MetaSchedulerError } from '../../src/metascheduler/errors.js';
import { openStateDb } from '../../src/compose/state-store.js';
import { Claimer } from '../../src/supervisor/claimer.js';
import { Claims } from '../../src/supervisor/claim-store.js';
import { createSupervisorMetrics } from '../../src/supervisor/metrics.js';
import type { SubmitOutcome, TxRecord, TxRequest } from '../../src/txpipeline/types.js';

const MS = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const PROVIDER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';

function setup(opts: { stale?: boolean } = {}) {
  const registry = new Registry();
  const metrics = createSupervisorMetrics(registry, new Claims(openStateDb(':memory:')));
  const sizes = { claimable: 0, cancelling: 0, topUp: 0, block: 1n };
  const txs = new Map<number, TxRecord>();
  const sent: string[] = [];
  let stale = opts.stale ?? false;
  let nextId = 1;
  const pipeline = {
    submit: async (reqs: TxRequest[]): Promise<SubmitOutcome<MetaSchedulerError>[]> =>
      reqs.map((r) => {
        const fn = decodeFunctionData({ abi: metaSchedulerAbi, data: r.data }).functionName;
        sent.push(fn);
        if (fn === 'claimNextJob' && stale) return { ok: false, revert: new MetaSchedulerError({ name: 'JobHotStatusOnly', args: { current: 4 }, functionName: 'claimNextJob' }) };
        const id = nextId++;
        txs.set(id, { id, kind: r.kind, ref: r.ref, nonce: id, hash: '0x' as Hex, state: 'pending', to: r.to, data: r.data, value: 0n, gas: 0n, minedBlock: undefined, attempts: 1 });
        return { ok: true, txId: id, nonce: id, hash: '0x' as Hex };
      }),
    get: (id: number) => txs.get(id),
    unconfirmed: (kind: string) => [...txs.values()].filter((t) => t.kind === kind && (t.state === 'pending' || t.state === 'mined')),
  };
  const claimer = new Claimer({
    ctx: { publicClient: {} as never, addresses: { metaScheduler: MS } as never },
    provider: PROVIDER,
    pipeline,
    maxPerRound: 100,
    staleRecheckMs: 60_000,
    log: pino({ level: 'silent' }),
    metrics,
    queueSizes: async () => ({ ...sizes }),
  });
  const restart = () =>
    new Claimer({ ctx: { publicClient: {} as never, addresses: { metaScheduler: MS } as never }, provider: PROVIDER, pipeline, maxPerRound: 100, staleRecheckMs: 60_000, log: pino({ level: 'silent' }), metrics, queueSizes: async () => ({ ...sizes }) });
  return { claimer, restart, sizes, txs, sent, registry, setStale: (v: boolean) => (stale = v), mine: (block: bigint) => txs.forEach((t) => t.state === 'pending' && Object.assign(t, { state: 'confirmed', minedBlock: block })) };
}

describe('claimer', () => {
  it('sends as many claims as the queues hold, minus those in flight, in one round', async () => {
    const t = setup();
    t.sizes.claimable = 50;
    t.sizes.cancelling = 2;
    t.sizes.topUp = 1;
    expect(await t.claimer.round()).toEqual({ claimable: 50, cancelling: 2, topup: 1 });
    expect(t.sent.filter((f) => f === 'claimNextJob')).toHaveLength(50);
    expect(await t.claimer.round()).toEqual({ claimable: 0, cancelling: 0, topup: 0 }); // all still in flight
    t.mine(2n); // mined (and confirmed, depth 1) in block 2, but the lengths were read at block 1: still counted
    expect((await t.claimer.round()).claimable).toBe(0);
    t.sizes.block = 2n;
    t.sizes.claimable = 5; // 5 new jobs queued
    expect((await t.claimer.round()).claimable).toBe(5);
    // A restart with those 5 still pending: not claimed again.
    expect((await t.restart().round()).claimable).toBe(0);
  });

  it('reads the queue lengths once per block, however often it runs (an idle supervisor polls several times a block)', async () => {
    let block = 1n;
    const reads: string[] = [];
    const publicClient = {
      getBlockNumber: async () => block,
      readContract: async (a: { functionName: string; blockNumber: bigint }) => (reads.push(`${a.functionName}@${a.blockNumber}`), 0n),
    };
    const registry = new Registry();
    const claimer = new Claimer({
      ctx: { publicClient: publicClient as never, addresses: { metaScheduler: MS, providerJobQueues: MS } as never },
      provider: PROVIDER,
      pipeline: { submit: async () => [], get: () => undefined, unconfirmed: () => [] },
      maxPerRound: 100,
      staleRecheckMs: 60_000,
      log: pino({ level: 'silent' }),
      metrics: createSupervisorMetrics(registry, new Claims(openStateDb(':memory:'))),
    });
    for (let i = 0; i < 5; i++) expect(await claimer.round()).toEqual({ claimable: 0, cancelling: 0, topup: 0 });
    expect(reads.sort()).toEqual(['getCancellingJobQueueSize@1', 'getClaimableJobQueueSize@1', 'getTopUpJobQueueSize@1']);
    block = 2n;
    await claimer.round();
    await claimer.round();
    expect(reads.filter((r) => r.endsWith('@2'))).toHaveLength(3);
  });

  it('a stale claimable head: detected once, counted, no retry loop; cancellations and top-ups still claimed; resumes when the queue changes', async () => {
    const t = setup({ stale: true });
    t.sizes.claimable = 3;
    await t.claimer.round(1000);
    expect(t.claimer.staleHead()).toMatchObject({ queueLength: 3 });
    const tries = t.sent.length;
    t.sizes.cancelling = 1;
    t.sizes.topUp = 1;
    for (let i = 0; i < 10; i++) await t.claimer.round(2000 + i);
    expect(t.sent.slice(tries)).toEqual(['claimNextCancellingJob', 'claimNextTopUpJob']);
    expect(await t.registry.getSingleMetricAsString('gridlink_stale_claimable_head_total')).toMatch(/ 1$/m);
    // After the recheck interval: one probe, not a batch.
    await t.claimer.round(1000 + 60_001);
    expect(t.sent.slice(tries + 2)).toEqual(['claimNextJob']);
    // The admin cleared the head: the length changed, claiming resumes.
    t.setStale(false);
    t.sizes.claimable = 2;
    expect((await t.claimer.round(1000 + 60_002)).claimable).toBe(2);
    expect(t.claimer.staleHead()).toBeUndefined();
  });
});

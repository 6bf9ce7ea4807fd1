import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletClient, http, type Hex } from 'viem';
import { nonceManager, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { CREDIT, definition, fourPerMinute, smallCluster, startDevnet, type Devnet } from './devnet.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import { MetaSchedulerError, isMetaSchedulerError } from '../../src/metascheduler/errors.js';
import { isStaleClaimableHeadError } from '../../src/metascheduler/actions/claimNextJob.js';
import { settle } from '../../src/metascheduler/billing.js';
import type { MetaSchedulerClient } from '../../src/metascheduler/client.js';

let net: Devnet;
let provider: MetaSchedulerClient;

beforeAll(async () => {
  net = await startDevnet({ providers: 2 });
  provider = net.providers[0]!;
});
afterAll(async () => {
  await net?.stop();
});

/** Customer requests, oracle assigns, provider claims; returns the claim. */
async function scheduledJob(locked = 400n * CREDIT) {
  const { jobId } = await net.customer.requestNewJob(definition(), locked, 'test-job');
  await net.admin.metaSchedule(jobId, provider.walletClient!.account.address);
  const claim = await provider.claimNextJob();
  expect(claim?.jobId).toBe(jobId);
  return claim!;
}

async function runningJob(locked = 400n * CREDIT): Promise<Hex> {
  const claim = await scheduledJob(locked);
  await provider.providerSetJobStatus(claim.jobId, JobStatus.RUNNING, 0n);
  return claim.jobId;
}

describe('MetaScheduler client on anvil', () => {
  it('reads the part addresses from the MetaScheduler', () => {
    for (const a of Object.values(net.admin.addresses)) expect(a).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });

  it('decodes ProviderNotJoined as a typed error before approval', async () => {
    const r = await provider.register(smallCluster, fourPerMinute, [{ key: 'name', value: 'test' }]);
    expect(r.waitingForApproval).toBe(true);
    const err = await provider.claimNextJob().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetaSchedulerError);
    expect(isMetaSchedulerError(err, 'ProviderNotJoined')).toBe(true);
    expect((err as Error).message).toMatch(/claimNextJob: ProviderNotJoined: .*approve/);

    const approved = await net.admin.approveProvider(provider.walletClient!.account.address);
    expect(approved.approved).toBe(true);
    const p = await provider.getProvider();
    expect(p.providerPrices).toEqual(fourPerMinute);
    expect(p.providerHardware.cpusPerNode).toEqual([8n, 8n]);
    expect(p.labels).toEqual([{ key: 'name', value: 'test' }]);
  });

  it('returns null when the queues are empty', async () => {
    expect(await provider.hasNextClaimableJob()).toBe(false);
    expect(await provider.claimNextJob()).toBeNull();
    expect(await provider.claimNextCancellingJob()).toBeNull();
    expect(await provider.claimNextTopUpJob()).toBeNull();
  });

  it('runs the full provider flow and bills 4/min * 10 min: provider 32, refund 360', async () => {
    const me = provider.walletClient!.account.address;
    const customer = net.customer.walletClient!.account.address;
    const customerBefore = await net.customer.getCreditBalance();

    const req = await net.customer.requestNewJob(definition(), 400n * CREDIT, 'full-flow');
    expect(req.customerAddr).toBe(customer);
    expect((await net.customer.getJob(req.jobId)).status).toBe(JobStatus.PENDING);
    expect(await net.customer.getCreditBalance()).toBe(customerBefore - 400n * CREDIT);

    const ms = await net.admin.metaSchedule(req.jobId, me);
    expect(ms.transitions).toEqual([{ jobId: req.jobId, from: JobStatus.PENDING, to: JobStatus.META_SCHEDULED }]);
    expect(await provider.hasNextClaimableJob()).toBe(true);

    const claim = await provider.claimNextJob();
    expect(claim).toMatchObject({ jobId: req.jobId, customerAddr: customer, providerAddr: me, maxDurationMinute: 100n });
    expect(claim!.jobDefinition).toEqual(definition());
    expect((await provider.getJob(req.jobId)).status).toBe(JobStatus.SCHEDULED);

    const run = await provider.providerSetJobStatus(req.jobId, JobStatus.RUNNING, 0n);
    expect(run.transitions).toEqual([{ jobId: req.jobId, from: JobStatus.SCHEDULED, to: JobStatus.RUNNING }]);
    const started = await provider.getJob(req.jobId);
    expect(started.time.start).toBeGreaterThan(0n);

    const providerBefore = await provider.getCreditBalance();
    await net.anvil.increaseTime(600);
    const fin = await provider.providerSetJobStatus(req.jobId, JobStatus.FINISHED, 10n, '', 0n);
    expect(fin.transitions).toEqual([{ jobId: req.jobId, from: JobStatus.RUNNING, to: JobStatus.FINISHED }]);
    expect(fin.billedTooMuch).toBeUndefined();

    const job = await provider.getJob(req.jobId);
    expect(job.status).toBe(JobStatus.FINISHED);
    expect(job.cost.finalCost).toBe(40n * CREDIT);
    expect((await provider.getCreditBalance()) - providerBefore).toBe(32n * CREDIT);
    expect(await net.customer.getCreditBalance()).toBe(customerBefore - 40n * CREDIT); // 360 refunded

    const block = await provider.publicClient.getBlock({ blockNumber: fin.blockNumber });
    const c = await provider.getConstants();
    expect(
      settle({
        maxCost: 400n * CREDIT,
        perMin: 4n * CREDIT,
        startedAt: started.time.start,
        now: block.timestamp,
        reportedMinutes: 10n,
        billDurationDeltaMinute: c.billDurationDeltaMinute,
        cutPercent: c.deepsquareCut,
      }),
    ).toEqual({ billedMinutes: 10n, finalCost: 40n * CREDIT, providerReward: 32n * CREDIT, cut: 8n * CREDIT, refund: 360n * CREDIT, billedTooMuch: false });
  });

  it('cancels a running job through the cancelling queue', async () => {
    const jobId = await runningJob();
    const cancel = await net.customer.cancelJob(jobId);
    expect(cancel.requested).toBe(true);
    expect((await net.customer.getJob(jobId)).hasCancelRequest).toBe(true);
    expect(await provider.hasCancellingJob()).toBe(true);

    const ev = await provider.claimNextCancellingJob();
    expect(ev).toMatchObject({ jobId, customerAddr: net.customer.walletClient!.account.address });
    expect(await provider.hasCancellingJob()).toBe(false);

    await net.anvil.increaseTime(120);
    const done = await provider.providerSetJobStatus(jobId, JobStatus.CANCELLED, 2n);
    expect(done.transitions).toEqual([{ jobId, from: JobStatus.RUNNING, to: JobStatus.CANCELLED }]);
    expect((await provider.getJob(jobId)).cost.finalCost).toBe(8n * CREDIT);
  });

  it('cancels a pending job at once with a full refund', async () => {
    const before = await net.customer.getCreditBalance();
    const { jobId } = await net.customer.requestNewJob(definition(), 200n * CREDIT, 'cancel-me');
    const r = await net.customer.cancelJob(jobId);
    expect(r.requested).toBe(false);
    expect(r.transitions).toEqual([{ jobId, from: JobStatus.PENDING, to: JobStatus.CANCELLED }]);
    expect(await net.customer.getCreditBalance()).toBe(before);
  });

  it('adds top-up minutes in the claim event', async () => {
    const jobId = await runningJob();
    await net.customer.topUpJob(jobId, 40n * CREDIT);
    expect((await net.customer.getJob(jobId)).cost.maxCost).toBe(440n * CREDIT);
    expect(await provider.hasTopUpJob()).toBe(true);
    const ev = await provider.claimNextTopUpJob();
    expect(ev).toMatchObject({ jobId, maxDurationMinute: 10n });
    expect(await provider.hasTopUpJob()).toBe(false);
    await provider.providerSetJobStatus(jobId, JobStatus.FINISHED, 1n);
  });

  it('decodes InvalidTransition with from/to', async () => {
    const { jobId } = await scheduledJob();
    const err = await provider.providerSetJobStatus(jobId, JobStatus.FINISHED, 1n).catch((e: unknown) => e);
    expect(isMetaSchedulerError(err, 'InvalidTransition')).toBe(true);
    const e = err as MetaSchedulerError<'InvalidTransition'>;
    expect(e.args).toEqual({ from: JobStatus.SCHEDULED, to: JobStatus.FINISHED });
    expect(e.functionName).toBe('providerSetJobStatus');
    expect(e.message).toMatch(/SCHEDULED\(2\) to FINISHED\(5\)/);

    const bad = await provider.providerSetJobStatus(jobId, JobStatus.PENDING, 0n).catch((x: unknown) => x);
    expect(isMetaSchedulerError(bad, 'RunningColdStatusOnly')).toBe(true);
    expect((bad as MetaSchedulerError<'RunningColdStatusOnly'>).args).toEqual({ current: JobStatus.PENDING });

    // A job that never ran ends at no cost.
    const failed = await provider.providerSetJobStatus(jobId, JobStatus.FAILED, 5n, 'sbatch failed', 1n);
    expect(failed.transitions[0]).toMatchObject({ from: JobStatus.SCHEDULED, to: JobStatus.FAILED });
    const job = await provider.getJob(jobId);
    expect(job).toMatchObject({ lastError: 'sbatch failed', exitCode: 1n });
    expect(job.cost.finalCost).toBe(0n);

    const cold = await provider.providerSetJobStatus(jobId, JobStatus.FINISHED, 1n).catch((x: unknown) => x);
    expect(isMetaSchedulerError(cold, 'JobHotStatusOnly')).toBe(true);
    expect((cold as MetaSchedulerError<'JobHotStatusOnly'>).args).toEqual({ current: JobStatus.FAILED });
  });

  it('refuses a job back to PENDING and reports who may act', async () => {
    const { jobId } = await scheduledJob();
    const r = await provider.refuseJob(jobId);
    expect(r.refused).toMatchObject({ jobId, providerAddr: provider.walletClient!.account.address });
    expect(r.transitions).toEqual([{ jobId, from: JobStatus.SCHEDULED, to: JobStatus.PENDING }]);

    const other = net.providers[1]!;
    const err = await other.refuseJob(jobId).catch((e: unknown) => e);
    expect(isMetaSchedulerError(err, 'ProviderNotJoined')).toBe(true);
    const notCustomer = await provider.cancelJob(jobId).catch((e: unknown) => e);
    expect(isMetaSchedulerError(notCustomer, 'CustomerOnly')).toBe(true);
    await net.admin.panicJob(jobId, 'test over');
    expect((await provider.getJob(jobId)).status).toBe(JobStatus.PANICKED);
  });

  it('skips a stale queue entry (job cancelled while meta-scheduled)', async () => {
    const { jobId } = await net.customer.requestNewJob(definition(), 200n * CREDIT, 'stale');
    await net.admin.metaSchedule(jobId, provider.walletClient!.account.address);
    await net.customer.cancelJob(jobId);
    expect(await provider.hasNextClaimableJob()).toBe(true);
    expect(await provider.claimNextJob()).toBeNull();
    expect(await provider.hasNextClaimableJob()).toBe(false);
  });

  it('two claims racing in one block: one gets the job, the other sees an empty queue', async () => {
    const key = net.anvil.accounts[2]!.privateKey; // the provider's key
    // One nonce manager for the account, as a daemon sending concurrently must have.
    const racer = provider.withWalletClient(
      createWalletClient({ account: privateKeyToAccount(key, { nonceManager }), chain: foundry, transport: http(net.anvil.rpcUrl) }),
    );
    const { jobId } = await net.customer.requestNewJob(definition(), 200n * CREDIT, 'race');
    await net.admin.metaSchedule(jobId, provider.walletClient!.account.address);

    await net.anvil.setAutomine(false);
    try {
      const both = Promise.all([racer.claimNextJob(), racer.claimNextJob()]);
      // Let both transactions reach the mempool (or the loser fail gas estimation) before mining.
      await new Promise((r) => setTimeout(r, 500));
      await net.anvil.mine();
      const results = await both;
      expect(results.filter((x) => x !== null).map((x) => x!.jobId)).toEqual([jobId]);
      expect(results.filter((x) => x === null)).toHaveLength(1);
    } finally {
      await net.anvil.setAutomine(true);
    }
    expect(isStaleClaimableHeadError(new MetaSchedulerError({ name: 'JobHotStatusOnly', args: { current: JobStatus.CANCELLED }, functionName: 'claimNextJob' }))).toBe(true);
  });
});

// Provider queues: claimable (with stale entries skipped), cancelling, top-up.
import { describe, expect, it } from 'vitest';
import { parseEventLogs } from 'viem';
import { Status, credits, expectRevert, metaSchedulerAbi, useDevnet } from './fixture.js';

describe('provider job queues', () => {
  const devnet = useDevnet();

  it('every claim on an empty queue reverts NoJob', async () => {
    const d = devnet();
    await expectRevert(d.provider.ms.write.claimNextJob(), 'NoJob', []);
    await expectRevert(d.provider.ms.write.claimNextCancellingJob(), 'NoJob', []);
    await expectRevert(d.provider.ms.write.claimNextTopUpJob(), 'NoJob', []);
  });

  it('claimNextJob emits ClaimJobEvent with floor(maxCost / perMin) minutes', async () => {
    const d = devnet();
    const id = await d.metaScheduled({ locked: credits(402) });
    expect(await d.customer.queues.read.getClaimableJobQueueSize([d.provider.address])).toBe(1n);
    const receipt = await d.mined(d.provider.ms.write.claimNextJob());
    const [claim] = parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimJobEvent' });
    expect(claim?.args.jobId).toBe(id);
    expect(claim?.args.maxDurationMinute).toBe(100n);
    expect(await d.customer.queues.read.hasNextClaimableJob([d.provider.address])).toBe(false);
  });

  describe('stale claimable entries', () => {
    it('skips a job cancelled while META_SCHEDULED and claims the next one', async () => {
      const d = devnet();
      const cancelled = await d.metaScheduled();
      await d.mined(d.customer.ms.write.cancelJob([cancelled]));
      const next = await d.metaScheduled();
      const receipt = await d.mined(d.provider.ms.write.claimNextJob());
      const claims = parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimJobEvent' });
      expect(claims.map((c) => c.args.jobId)).toEqual([next]);
      expect((await d.job(next)).status).toBe(Status.SCHEDULED);
      expect((await d.job(cancelled)).status).toBe(Status.CANCELLED);
    });

    it('skips a job timed out and re-assigned to another provider', async () => {
      const d = devnet();
      const moved = await d.metaScheduled();
      await d.mined(d.oracle.ms.write.timeoutJob([moved]));
      await d.mined(d.oracle.ms.write.metaSchedule([moved, d.provider2.address]));
      const mine = await d.metaScheduled();
      const receipt = await d.mined(d.provider.ms.write.claimNextJob());
      const claims = parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimJobEvent' });
      expect(claims.map((c) => c.args.jobId)).toEqual([mine]);
      // The other provider still gets it.
      await d.mined(d.provider2.ms.write.claimNextJob());
      expect((await d.job(moved)).status).toBe(Status.SCHEDULED);
      expect((await d.job(moved)).providerAddr).toBe(d.provider2.address);
    });

    it('skips the first entry of a job queued twice (timed out, then re-assigned to the same provider)', async () => {
      const d = devnet();
      const id = await d.metaScheduled();
      await d.mined(d.oracle.ms.write.timeoutJob([id]));
      await d.mined(d.oracle.ms.write.metaSchedule([id, d.provider.address]));
      await d.mined(d.provider.ms.write.claimNextJob());
      expect((await d.job(id)).status).toBe(Status.SCHEDULED);
      // The second entry is now stale: draining it claims nothing.
      const receipt = await d.mined(d.provider.ms.write.claimNextJob());
      expect(parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimJobEvent' })).toEqual([]);
      expect(await d.customer.queues.read.hasNextClaimableJob([d.provider.address])).toBe(false);
    });

    it('drains a queue of stale entries only, without reverting, so later claims work', async () => {
      const d = devnet();
      const a = await d.metaScheduled();
      const b = await d.metaScheduled();
      await d.mined(d.provider.ms.write.refuseJob([a]));
      await d.mined(d.customer.ms.write.cancelJob([b]));
      const receipt = await d.mined(d.provider.ms.write.claimNextJob());
      expect(parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimJobEvent' })).toEqual([]);
      expect(await d.customer.queues.read.getClaimableJobQueueSize([d.provider.address])).toBe(0n);
      await expectRevert(d.provider.ms.write.claimNextJob(), 'NoJob', []);
      const c = await d.scheduled();
      expect((await d.job(c)).status).toBe(Status.SCHEDULED);
    });
  });

  describe('cancellation', () => {
    it('a running job is cancelled through the cancelling queue and billed on the provider report', async () => {
      const d = devnet();
      const id = await d.running();
      await d.mined(d.customer.ms.write.cancelJob([id]));
      let job = await d.job(id);
      expect(job.status).toBe(Status.RUNNING);
      expect(job.hasCancelRequest).toBe(true);
      expect(job.time.cancelRequestTimestamp).toBeGreaterThan(0n);
      expect(await d.customer.queues.read.hasCancellingJob([d.provider.address])).toBe(true);
      await expectRevert(d.customer.ms.write.cancelJob([id]), 'AlreadyDone', []);

      const receipt = await d.mined(d.provider.ms.write.claimNextCancellingJob());
      const [event] = parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimNextCancellingJobEvent' });
      expect(event?.args).toEqual({ customerAddr: d.customer.address, providerAddr: d.provider.address, jobId: id });
      expect(await d.customer.queues.read.hasCancellingJob([d.provider.address])).toBe(false);

      await d.advanceMinutes(5);
      const before = await d.balance(d.customer);
      await d.mined(d.provider.ms.write.providerSetJobStatus([id, Status.CANCELLED, 5n, '', 0n]));
      job = await d.job(id);
      expect(job.status).toBe(Status.CANCELLED);
      expect(job.cost.finalCost).toBe(credits(20));
      expect((await d.balance(d.customer)) - before).toBe(credits(380));
    });

    it('cancelling a SCHEDULED job refunds at once and still tells the provider to stop it', async () => {
      const d = devnet();
      const id = await d.scheduled();
      await d.mined(d.customer.ms.write.cancelJob([id]));
      expect((await d.job(id)).status).toBe(Status.CANCELLED);
      const receipt = await d.mined(d.provider.ms.write.claimNextCancellingJob());
      const [event] = parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimNextCancellingJobEvent' });
      expect(event?.args.jobId).toBe(id);
    });

    it('cancelling before assignment queues nothing for any provider', async () => {
      const d = devnet();
      const id = await d.metaScheduled();
      await d.mined(d.customer.ms.write.cancelJob([id]));
      expect(await d.customer.queues.read.hasCancellingJob([d.provider.address])).toBe(false);
    });
  });

  describe('top-up', () => {
    it('adds the bought minutes to a running job through ClaimNextTopUpJobEvent', async () => {
      const d = devnet();
      const id = await d.running();
      await d.mined(d.customer.credit.write.approve([d.addresses.metaScheduler, credits(120)]));
      await d.mined(d.customer.ms.write.topUpJob([id, credits(120)]));
      expect((await d.job(id)).cost).toMatchObject({ maxCost: credits(520), pendingTopUp: credits(120) });
      expect(await d.customer.queues.read.hasTopUpJob([d.provider.address])).toBe(true);

      const receipt = await d.mined(d.provider.ms.write.claimNextTopUpJob());
      const [event] = parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimNextTopUpJobEvent' });
      expect(event?.args).toEqual({ _jobId: id, _providerAddr: d.provider.address, maxDurationMinute: 30n });
      expect((await d.job(id)).cost.pendingTopUp).toBe(0n);

      // The top-up raises the cap: 120 minutes believed and billed in full.
      await d.advanceMinutes(120);
      await d.mined(d.provider.ms.write.providerSetJobStatus([id, Status.FINISHED, 120n, '', 0n]));
      expect((await d.job(id)).cost.finalCost).toBe(credits(480));
    });

    it('queues one entry per batch of top-ups and carries fractions of a minute over', async () => {
      const d = devnet();
      const id = await d.running();
      await d.mined(d.customer.credit.write.approve([d.addresses.metaScheduler, credits(100)]));
      // Half a minute twice: the first claim adds 0 minutes, the second 1, none is lost.
      await d.mined(d.customer.ms.write.topUpJob([id, credits(2)]));
      await d.mined(d.customer.ms.write.topUpJob([id, credits(2)]));
      expect(await d.customer.queues.read.getTopUpJobQueueSize([d.provider.address])).toBe(1n);
      const minutes = async () => {
        const receipt = await d.mined(d.provider.ms.write.claimNextTopUpJob());
        return parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimNextTopUpJobEvent' })[0]?.args
          .maxDurationMinute;
      };
      expect(await minutes()).toBe(1n);
      await d.mined(d.customer.ms.write.topUpJob([id, credits(2)]));
      expect(await minutes()).toBe(0n);
      await d.mined(d.customer.ms.write.topUpJob([id, credits(2)]));
      expect(await minutes()).toBe(1n);
    });

    it('before the claim, a top-up only raises the limit the claim will give', async () => {
      const d = devnet();
      const id = await d.metaScheduled();
      await d.mined(d.customer.credit.write.approve([d.addresses.metaScheduler, credits(40)]));
      await d.mined(d.customer.ms.write.topUpJob([id, credits(40)]));
      expect(await d.customer.queues.read.hasTopUpJob([d.provider.address])).toBe(false);
      const receipt = await d.mined(d.provider.ms.write.claimNextJob());
      const [claim] = parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimJobEvent' });
      expect(claim?.args.maxDurationMinute).toBe(110n);
    });

    it('a top-up of a cold job reverts JobHotStatusOnly', async () => {
      const d = devnet();
      const id = await d.newJob();
      await d.mined(d.customer.ms.write.cancelJob([id]));
      await expectRevert(d.customer.ms.write.topUpJob([id, credits(1)]), 'JobHotStatusOnly', [Status.CANCELLED]);
    });

    it('a top-up entry of a job that ended before the claim is dropped without an event', async () => {
      const d = devnet();
      const id = await d.running();
      await d.mined(d.customer.credit.write.approve([d.addresses.metaScheduler, credits(40)]));
      await d.mined(d.customer.ms.write.topUpJob([id, credits(40)]));
      const before = await d.balance(d.customer);
      await d.mined(d.provider.ms.write.providerSetJobStatus([id, Status.FINISHED, 1n, '', 0n]));
      // The top-up is refunded with the rest of the unused credits.
      expect((await d.balance(d.customer)) - before).toBe(credits(440 - 4));
      const receipt = await d.mined(d.provider.ms.write.claimNextTopUpJob());
      expect(parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimNextTopUpJobEvent' })).toEqual([]);
    });

    it('topUpJobDelegate buys one slice once the remaining time is down to one slice', async () => {
      const d = devnet();
      const noDelegation = await d.running();
      await expectRevert(d.oracle.ms.write.topUpJobDelegate([noDelegation]), 'NoSpendingAuthority', []);

      const id = await d.running({ delegate: true });
      // 400 credits at 4/min = 100 minutes, 30-minute slices.
      await expectRevert(d.oracle.ms.write.topUpJobDelegate([id]), 'RemainingTimeAboveLimit', [100n, 30n]);
      await d.advanceMinutes(75);
      await d.mined(d.customer.credit.write.approve([d.addresses.metaScheduler, credits(120)]));
      await d.mined(d.oracle.ms.write.topUpJobDelegate([id]));
      expect((await d.job(id)).cost.maxCost).toBe(credits(520));
      const receipt = await d.mined(d.provider.ms.write.claimNextTopUpJob());
      const [event] = parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'ClaimNextTopUpJobEvent' });
      expect(event?.args.maxDurationMinute).toBe(30n);

      // The customer can withdraw the authority.
      await d.mined(d.customer.ms.write.setDelegateSpendingAuthority([id, false]));
      await expectRevert(d.oracle.ms.write.topUpJobDelegate([id]), 'NoSpendingAuthority', []);
    });

    it('topUpJobDelegate only for SCHEDULED or RUNNING jobs', async () => {
      const d = devnet();
      const id = await d.newJob({ delegate: true });
      await expectRevert(d.oracle.ms.write.topUpJobDelegate([id]), 'RunningScheduledStatusOnly', [Status.PENDING]);
    });
  });
});

// The job state machine: each allowed transition through the function that
// causes it, each forbidden one with the exact error and check order of
// METASCHEDULER.md (same status, then cold origin, then the table).
import { describe, expect, it } from 'vitest';
import { type Hex, parseEventLogs } from 'viem';
import {
  type Actor,
  COLD,
  type Devnet,
  Status,
  type StatusValue,
  expectRevert,
  jobRepositoryAbi,
  metaSchedulerAbi,
  useDevnet,
} from './fixture.js';

// METASCHEDULER.md "Allowed transitions"; cold statuses allow nothing.
const ALLOWED: Record<number, StatusValue[]> = {
  [Status.PENDING]: [Status.META_SCHEDULED, Status.CANCELLED, Status.PANICKED],
  [Status.META_SCHEDULED]: [Status.PENDING, Status.SCHEDULED, Status.CANCELLED, Status.PANICKED],
  [Status.SCHEDULED]: [Status.PENDING, Status.RUNNING, Status.CANCELLED, Status.FAILED, Status.PANICKED],
  [Status.RUNNING]: [Status.CANCELLED, Status.FINISHED, Status.FAILED, Status.OUT_OF_CREDITS, Status.PANICKED],
};
const ALL = Object.values(Status) as StatusValue[];
const NAME = Object.fromEntries(Object.entries(Status).map(([k, v]) => [v, k])) as Record<number, string>;

/** What providerSetJobStatus(next) must do on a job in `from`. */
function expected(from: StatusValue, next: StatusValue): { error: string; args: unknown[] } | 'ok' {
  if (next !== Status.RUNNING && !COLD.includes(next)) return { error: 'RunningColdStatusOnly', args: [next] };
  if (from === next) return { error: 'SameStatusError', args: [] };
  if (COLD.includes(from)) return { error: 'JobHotStatusOnly', args: [from] };
  if (!ALLOWED[from]!.includes(next)) return { error: 'InvalidTransition', args: [from, next] };
  return 'ok';
}

describe('job transitions', () => {
  const devnet = useDevnet();

  /**
   * A job of the default provider, brought to `status` by the functions that
   * cause it. The claimable queue is FIFO: a test that needs a META_SCHEDULED
   * job and a later claim of another one creates the META_SCHEDULED job last.
   */
  async function jobIn(d: Devnet, status: StatusValue): Promise<Hex> {
    switch (status) {
      case Status.PENDING:
        return d.newJob();
      case Status.META_SCHEDULED:
        return d.metaScheduled();
      case Status.SCHEDULED:
        return d.scheduled();
      case Status.RUNNING:
        return d.running();
      // Cancelled and panicked after assignment, so the provider is still the
      // job's provider and its reports reach the status checks.
      case Status.CANCELLED: {
        const id = await d.scheduled();
        await d.mined(d.customer.ms.write.cancelJob([id]));
        return id;
      }
      case Status.PANICKED: {
        const id = await d.running();
        await d.mined(d.oracle.ms.write.panicJob([id, 'boom']));
        return id;
      }
      default: {
        const id = await d.running();
        await d.mined(d.provider.ms.write.providerSetJobStatus([id, status, 1n, '', 0n]));
        return id;
      }
    }
  }

  async function transitions(d: Devnet, receiptLogs: Parameters<typeof parseEventLogs>[0]['logs']) {
    return parseEventLogs({ abi: jobRepositoryAbi, logs: receiptLogs, eventName: 'JobTransitionEvent' }).map((e) => [
      e.args._from,
      e.args._to,
    ]);
  }

  it('reaches every status through the helpers', async () => {
    const d = devnet();
    const metaLast = [...ALL.filter((s) => s !== Status.META_SCHEDULED), Status.META_SCHEDULED];
    for (const s of metaLast) expect((await d.job(await jobIn(d, s))).status, NAME[s]).toBe(s);
  });

  describe('providerSetJobStatus from every status to every status', () => {
    for (const from of ALL.filter((s) => s !== Status.PENDING)) {
      it(`from ${NAME[from]}`, async () => {
        const d = devnet();
        const stuck = await jobIn(d, from);
        for (const next of ALL) {
          const want = expected(from, next);
          if (want === 'ok') {
            // A fresh job per success, so `stuck` stays in `from` for the other cases.
            const fresh = await jobIn(d, from);
            const receipt = await d.mined(d.provider.ms.write.providerSetJobStatus([fresh, next, 1n, 'err', 3n]));
            expect(await transitions(d, receipt.logs)).toEqual([[from, next]]);
            const job = await d.job(fresh);
            expect(job.status).toBe(next);
            if (next !== Status.RUNNING) {
              expect(job.lastError).toBe('err');
              expect(job.exitCode).toBe(3n);
              expect(job.time.end).toBeGreaterThan(0n);
            } else {
              expect(job.time.start).toBeGreaterThan(0n);
            }
          } else {
            await expectRevert(d.provider.ms.write.providerSetJobStatus([stuck, next, 1n, '', 0n]), want.error, want.args);
          }
        }
      });
    }
  });

  it('PENDING -> META_SCHEDULED by metaSchedule, assigning the provider and queueing the job', async () => {
    const d = devnet();
    const id = await d.newJob();
    const receipt = await d.mined(d.oracle.ms.write.metaSchedule([id, d.provider.address]));
    expect(await transitions(d, receipt.logs)).toEqual([[Status.PENDING, Status.META_SCHEDULED]]);
    expect((await d.job(id)).providerAddr).toBe(d.provider.address);
    expect(await d.customer.queues.read.hasNextClaimableJob([d.provider.address])).toBe(true);
  });

  it('META_SCHEDULED -> SCHEDULED by claimNextJob', async () => {
    const d = devnet();
    const id = await d.metaScheduled();
    const receipt = await d.mined(d.provider.ms.write.claimNextJob());
    expect(await transitions(d, receipt.logs)).toEqual([[Status.META_SCHEDULED, Status.SCHEDULED]]);
    expect((await d.job(id)).status).toBe(Status.SCHEDULED);
    expect(await d.customer.pm.read.getJobCount([d.provider.address])).toBe(1n);
  });

  for (const from of [Status.META_SCHEDULED, Status.SCHEDULED] as const) {
    it(`${NAME[from]} -> PENDING by refuseJob and by timeoutJob, unassigning the provider`, async () => {
      const d = devnet();
      const refused = await jobIn(d, from);
      const receipt = await d.mined(d.provider.ms.write.refuseJob([refused]));
      expect(await transitions(d, receipt.logs)).toEqual([[from, Status.PENDING]]);
      const [event] = parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'JobRefusedEvent' });
      expect(event?.args).toEqual({ _jobId: refused, _providerAddr: d.provider.address, _customerAddr: d.customer.address });
      expect((await d.job(refused)).providerAddr).toBe('0x0000000000000000000000000000000000000000');

      const timedOut = await jobIn(d, from);
      const r2 = await d.mined(d.oracle.ms.write.timeoutJob([timedOut]));
      expect(await transitions(d, r2.logs)).toEqual([[from, Status.PENDING]]);
      // Unassigned: the old provider can no longer report on it.
      await expectRevert(
        d.provider.ms.write.providerSetJobStatus([timedOut, Status.FAILED, 0n, '', 0n]),
        'JobProviderOnly',
        [d.provider.address, '0x0000000000000000000000000000000000000000'],
      );
    });
  }

  for (const from of [Status.PENDING, Status.META_SCHEDULED, Status.SCHEDULED] as const) {
    it(`${NAME[from]} -> CANCELLED by cancelJob, with a full refund`, async () => {
      const d = devnet();
      const id = await jobIn(d, from);
      const before = await d.balance(d.customer);
      const receipt = await d.mined(d.customer.ms.write.cancelJob([id]));
      expect(await transitions(d, receipt.logs)).toEqual([[from, Status.CANCELLED]]);
      expect((await d.balance(d.customer)) - before).toBe((await d.job(id)).cost.maxCost);
      expect((await d.job(id)).cost.finalCost).toBe(0n);
    });
  }

  for (const from of [Status.PENDING, Status.META_SCHEDULED, Status.SCHEDULED, Status.RUNNING] as const) {
    it(`${NAME[from]} -> PANICKED by panicJob, with a full refund`, async () => {
      const d = devnet();
      const id = await jobIn(d, from);
      const before = await d.balance(d.customer);
      const receipt = await d.mined(d.oracle.ms.write.panicJob([id, 'lost']));
      expect(await transitions(d, receipt.logs)).toEqual([[from, Status.PANICKED]]);
      const job = await d.job(id);
      expect(job.lastError).toBe('lost');
      expect(job.time.panicTimestamp).toBeGreaterThan(0n);
      expect((await d.balance(d.customer)) - before).toBe(job.cost.maxCost);
    });
  }

  describe('forbidden transitions through the oracle and customer functions', () => {
    it('metaSchedule: same status, cold, then table', async () => {
      const d = devnet();
      for (const from of [Status.SCHEDULED, Status.RUNNING] as const) {
        const id = await jobIn(d, from);
        await expectRevert(d.oracle.ms.write.metaSchedule([id, d.provider.address]), 'InvalidTransition', [
          from,
          Status.META_SCHEDULED,
        ]);
      }
      for (const from of COLD) {
        const id = await jobIn(d, from);
        await expectRevert(d.oracle.ms.write.metaSchedule([id, d.provider.address]), 'JobHotStatusOnly', [from]);
      }
      const meta = await jobIn(d, Status.META_SCHEDULED);
      await expectRevert(d.oracle.ms.write.metaSchedule([meta, d.provider.address]), 'SameStatusError', []);
    });

    it('cancelJob on a cold job: SameStatusError for CANCELLED, JobHotStatusOnly otherwise', async () => {
      const d = devnet();
      for (const from of COLD) {
        const id = await jobIn(d, from);
        if (from === Status.CANCELLED) await expectRevert(d.customer.ms.write.cancelJob([id]), 'SameStatusError', []);
        else await expectRevert(d.customer.ms.write.cancelJob([id]), 'JobHotStatusOnly', [from]);
      }
    });

    it('panicJob on a cold job: SameStatusError for PANICKED, JobHotStatusOnly otherwise', async () => {
      const d = devnet();
      for (const from of COLD) {
        const id = await jobIn(d, from);
        if (from === Status.PANICKED) await expectRevert(d.oracle.ms.write.panicJob([id, 'x']), 'SameStatusError', []);
        else await expectRevert(d.oracle.ms.write.panicJob([id, 'x']), 'JobHotStatusOnly', [from]);
      }
    });

    it('refuseJob and timeoutJob only from META_SCHEDULED or SCHEDULED', async () => {
      const d = devnet();
      for (const from of [Status.RUNNING, Status.FINISHED] as const) {
        const id = await jobIn(d, from);
        await expectRevert(d.provider.ms.write.refuseJob([id]), 'MetaScheduledScheduledStatusOnly', [from]);
        await expectRevert(d.oracle.ms.write.timeoutJob([id]), 'MetaScheduledScheduledStatusOnly', [from]);
      }
      const pending = await d.newJob();
      await expectRevert(d.oracle.ms.write.timeoutJob([pending]), 'MetaScheduledScheduledStatusOnly', [Status.PENDING]);
    });
  });

  describe('who may move a job', () => {
    it('only the job provider reports or refuses', async () => {
      const d = devnet();
      const id = await d.scheduled();
      const intruder: Actor = d.provider2;
      await expectRevert(intruder.ms.write.providerSetJobStatus([id, Status.RUNNING, 0n, '', 0n]), 'JobProviderOnly', [
        intruder.address,
        d.provider.address,
      ]);
      await expectRevert(intruder.ms.write.refuseJob([id]), 'JobProviderOnly', [intruder.address, d.provider.address]);
    });

    it('only the customer cancels, tops up or changes delegation', async () => {
      const d = devnet();
      const id = await d.newJob();
      const args = [d.other.address, d.customer.address];
      await expectRevert(d.other.ms.write.cancelJob([id]), 'CustomerOnly', args);
      await expectRevert(d.other.ms.write.topUpJob([id, 1n]), 'CustomerOnly', args);
      await expectRevert(d.other.ms.write.setDelegateSpendingAuthority([id, true]), 'CustomerOnly', args);
    });

    it('only METASCHEDULER_ROLE meta-schedules, times out, panics and tops up by delegation', async () => {
      const d = devnet();
      const id = await d.newJob();
      const role = await d.customer.ms.read.METASCHEDULER_ROLE();
      const denied = [d.customer.address, role];
      await expectRevert(d.customer.ms.write.metaSchedule([id, d.provider.address]), 'AccessControlUnauthorizedAccount', denied);
      await expectRevert(d.customer.ms.write.timeoutJob([id]), 'AccessControlUnauthorizedAccount', denied);
      await expectRevert(d.customer.ms.write.panicJob([id, '']), 'AccessControlUnauthorizedAccount', denied);
      await expectRevert(d.customer.ms.write.topUpJobDelegate([id]), 'AccessControlUnauthorizedAccount', denied);
    });

    it('an unknown job id reverts InvalidJob', async () => {
      const d = devnet();
      await expectRevert(d.customer.ms.write.cancelJob([`0x${'ab'.repeat(32)}`]), 'InvalidJob', []);
    });
  });
});

// What requestNewJob and metaSchedule accept: credits, definition, switches.
import { describe, expect, it } from 'vitest';
import { parseEventLogs } from 'viem';
import { Status, credits, expectRevert, jobDefinition, jobRepositoryAbi, useDevnet } from './fixture.js';

describe('job requests', () => {
  const devnet = useDevnet();

  it('locks the credits and stores the job as submitted', async () => {
    const d = devnet();
    const before = await d.balance(d.customer);
    const id = await d.newJob({ locked: credits(150), delegate: true });
    expect(before - (await d.balance(d.customer))).toBe(credits(150));
    expect(await d.balance(d.addresses.metaScheduler)).toBe(credits(150));
    const job = await d.job(id);
    expect(job).toMatchObject({
      jobId: id,
      status: Status.PENDING,
      customerAddr: d.customer.address,
      definition: jobDefinition(),
      cost: { maxCost: credits(150), finalCost: 0n, pendingTopUp: 0n, delegateSpendingAuthority: true },
      jobName: `0x${'11'.repeat(32)}`,
      hasCancelRequest: false,
    });
    expect(job.time.submit).toBeGreaterThan(0n);
    expect(await d.customer.jobs.read.getByCustomer([d.customer.address])).toEqual([id]);
  });

  it('emits JobCreated from the repository', async () => {
    const d = devnet();
    await d.mined(d.customer.credit.write.approve([d.addresses.metaScheduler, credits(100)]));
    const receipt = await d.mined(d.customer.ms.write.requestNewJob([jobDefinition(), credits(100), `0x${'00'.repeat(32)}`, false]));
    const created = parseEventLogs({ abi: jobRepositoryAbi, logs: receipt.logs, eventName: 'JobCreated' });
    expect(created).toHaveLength(1);
  });

  it('refuses less than minimumAmount, more than the balance, and empty definitions', async () => {
    const d = devnet();
    const request = (locked: bigint, definition = jobDefinition()) =>
      d.customer.ms.write.requestNewJob([definition, locked, `0x${'00'.repeat(32)}`, false]);
    await expectRevert(request(credits(99)), 'InsufficientFunds', [credits(99), credits(100)]);
    await expectRevert(request(credits(100_001)), 'InsufficientFunds', [credits(100_000), credits(100_001)]);
    await expectRevert(request(credits(100), jobDefinition({ ntasks: 0n })), 'InvalidJobDefinition', []);
    await expectRevert(request(credits(100), jobDefinition({ cpusPerTask: 0n })), 'InvalidJobDefinition', []);
    await expectRevert(request(credits(100), jobDefinition({ memPerCpu: 0n })), 'InvalidJobDefinition', []);
    await expectRevert(request(credits(100), jobDefinition({ batchLocationHash: '' })), 'InvalidJobDefinition', []);
  });

  it('the admin can close new requests', async () => {
    const d = devnet();
    await d.mined(d.admin.ms.write.setEnableRequestNewJob([false]));
    expect(await d.customer.ms.read.enableRequestNewJob()).toBe(false);
    await expectRevert(d.customer.ms.write.requestNewJob([jobDefinition(), credits(100), `0x${'00'.repeat(32)}`, false]), 'NewJobRequestDisabled', []);
  });

  it('metaSchedule refuses a provider the locked credits cannot pay one minute of', async () => {
    const d = devnet();
    // 2*(16*3 + 16*1*1) = 128 credits/min > 100 locked.
    const id = await d.newJob({ locked: credits(100), definition: jobDefinition({ ntasks: 2n, cpusPerTask: 16n }) });
    await expectRevert(d.oracle.ms.write.metaSchedule([id, d.provider.address]), 'InsufficientFunds', [credits(100), credits(128)]);
    expect((await d.job(id)).status).toBe(Status.PENDING);
  });
});

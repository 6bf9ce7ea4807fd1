// deployMetaScheduler wires the contracts the way MetaScheduler expects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METASCHEDULER_ROLE } from '../../harness/devnet/deploy.js';
import { type Devnet, credits, startDevnet } from './fixture.js';

describe('deployMetaScheduler', () => {
  let d: Devnet;
  beforeAll(async () => {
    d = await startDevnet();
  });
  afterAll(async () => {
    await d?.anvil.stop();
  });

  it('points MetaScheduler at its parts', async () => {
    const ms = d.customer.ms.read;
    expect(await ms.credit()).toBe(d.addresses.credit);
    expect(await ms.constants()).toBe(d.addresses.constants);
    expect(await ms.providerManager()).toBe(d.addresses.providerManager);
    expect(await ms.providerJobQueues()).toBe(d.addresses.providerJobQueues);
    expect(await ms.jobs()).toBe(d.addresses.jobRepository);
  });

  it('grants METASCHEDULER_ROLE to MetaScheduler on its parts and to the oracle on MetaScheduler', async () => {
    expect(await d.customer.ms.read.METASCHEDULER_ROLE()).toBe(METASCHEDULER_ROLE);
    const ms = d.addresses.metaScheduler;
    expect(await d.customer.jobs.read.hasRole([METASCHEDULER_ROLE, ms])).toBe(true);
    expect(await d.customer.queues.read.hasRole([METASCHEDULER_ROLE, ms])).toBe(true);
    expect(await d.customer.pm.read.hasRole([METASCHEDULER_ROLE, ms])).toBe(true);
    expect(await d.customer.ms.read.hasRole([METASCHEDULER_ROLE, d.oracle.address])).toBe(true);
    expect(await d.customer.ms.read.hasRole([METASCHEDULER_ROLE, d.customer.address])).toBe(false);
    const admin = await d.customer.ms.read.DEFAULT_ADMIN_ROLE();
    expect(await d.customer.ms.read.hasRole([admin, d.admin.address])).toBe(true);
  });

  it('mints credits to the customers and uses the documented defaults', async () => {
    expect(await d.balance(d.customer)).toBe(credits(100_000));
    expect(await d.customer.credit.read.decimals()).toBe(18);
    const c = d.customer.constants.read;
    expect(await c.minimumAmount()).toBe(credits(100));
    expect(await c.billDurationDeltaMinute()).toBe(15n);
    expect(await c.deepsquareCut()).toBe(20n);
    expect(await c.topUpSliceDurationMin()).toBe(30n);
  });
});

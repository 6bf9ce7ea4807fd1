// Provider registry: register, approval, ban, removal, and what an unapproved
// or banned provider may still do.
import { describe, expect, it } from 'vitest';
import { type Address, parseEventLogs, zeroAddress } from 'viem';
import {
  DEFAULT_HARDWARE,
  DEFAULT_PRICES,
  Status,
  expectRevert,
  providerManagerAbi,
  useDevnet,
} from './fixture.js';

const LABELS = [{ key: 'region', value: 'eu' }];

describe('provider registry', () => {
  const devnet = useDevnet();

  it('a registered provider waits for approval and cannot act until approved', async () => {
    const d = devnet();
    const p = d.newcomer;
    const receipt = await d.mined(p.pm.write.register([DEFAULT_HARDWARE, DEFAULT_PRICES, LABELS]));
    const [event] = parseEventLogs({ abi: providerManagerAbi, logs: receipt.logs, eventName: 'ProviderWaitingForApproval' });
    expect(event?.args.addr).toBe(p.address);
    expect(await p.pm.read.isWaitingForApproval([p.address])).toBe(true);
    expect(await p.pm.read.isValidForScheduling([p.address])).toBe(false);
    expect((await p.pm.read.getWaitingForApprovalProvider([p.address])).addr).toBe(p.address);
    expect((await p.pm.read.getProvider([p.address])).addr).toBe(zeroAddress);

    const id = await d.newJob();
    await expectRevert(p.ms.write.claimNextJob(), 'ProviderNotJoined', []);
    await expectRevert(p.ms.write.claimNextCancellingJob(), 'ProviderNotJoined', []);
    await expectRevert(p.ms.write.claimNextTopUpJob(), 'ProviderNotJoined', []);
    await expectRevert(p.ms.write.providerSetJobStatus([id, Status.RUNNING, 0n, '', 0n]), 'ProviderNotJoined', []);
    await expectRevert(p.ms.write.refuseJob([id]), 'ProviderNotJoined', []);
    await expectRevert(d.oracle.ms.write.metaSchedule([id, p.address]), 'ProviderNotJoined', []);
  });

  it('approval makes the provider schedulable and exposes its registration', async () => {
    const d = devnet();
    const p = d.newcomer;
    await d.mined(p.pm.write.register([DEFAULT_HARDWARE, DEFAULT_PRICES, LABELS]));
    // the role is read before the write starts: a rejection must not wait unhandled behind another await
    const adminRole = await p.pm.read.DEFAULT_ADMIN_ROLE();
    await expectRevert(p.pm.write.approve([p.address]), 'AccessControlUnauthorizedAccount', [p.address, adminRole]);
    const receipt = await d.mined(d.admin.pm.write.approve([p.address]));
    const [event] = parseEventLogs({ abi: providerManagerAbi, logs: receipt.logs, eventName: 'ProviderApproved' });
    expect(event?.args.addr).toBe(p.address);
    expect(await p.pm.read.isValidForScheduling([p.address])).toBe(true);
    expect(await p.pm.read.getProvider([p.address])).toEqual({
      addr: p.address,
      providerHardware: DEFAULT_HARDWARE,
      providerPrices: DEFAULT_PRICES,
      labels: LABELS,
      isBanned: false,
    });
    expect(await p.pm.read.getProviderHardware([p.address])).toEqual(DEFAULT_HARDWARE);
    expect(await p.pm.read.getProviderPrices([p.address])).toEqual(DEFAULT_PRICES);
    expect(await p.pm.read.getLabels([p.address])).toEqual(LABELS);

    await expectRevert(d.admin.pm.write.approve([p.address]), 'WaitingApprovalOnly', []);
    await expectRevert(p.pm.write.register([DEFAULT_HARDWARE, DEFAULT_PRICES, LABELS]), 'AlreadyDone', []);
    await d.scheduled({ to: p });
    expect(await p.pm.read.getJobCount([p.address])).toBe(1n);
  });

  it('rejects inconsistent hardware', async () => {
    const d = devnet();
    const p = d.newcomer;
    const hw = DEFAULT_HARDWARE;
    const register = (h: typeof hw) => p.pm.write.register([h, DEFAULT_PRICES, LABELS]);
    await expectRevert(register({ ...hw, nodes: 0n, gpusPerNode: [], cpusPerNode: [], memPerNode: [] }), 'InvalidNodesCount', []);
    await expectRevert(register({ ...hw, nodes: 2n }), 'ArrayLengthMismatch', []);
    await expectRevert(register({ ...hw, cpusPerNode: [0n] }), 'InvalidTotalCpus', []);
    await expectRevert(register({ ...hw, memPerNode: [0n] }), 'InvalidTotalMem', []);
  });

  it('a banned provider gets no new jobs but still closes the ones it runs', async () => {
    const d = devnet();
    const id = await d.running();
    const queued = await d.metaScheduled();
    const receipt = await d.mined(d.admin.pm.write.ban([d.provider.address]));
    const [event] = parseEventLogs({ abi: providerManagerAbi, logs: receipt.logs, eventName: 'ProviderBanChanged' });
    expect(event?.args).toEqual({ addr: d.provider.address, status: true });
    expect(await d.customer.pm.read.isBanned([d.provider.address])).toBe(true);
    expect(await d.customer.pm.read.isValidForScheduling([d.provider.address])).toBe(false);

    await expectRevert(d.oracle.ms.write.metaSchedule([await d.newJob(), d.provider.address]), 'ProviderNotJoined', []);
    await expectRevert(d.provider.ms.write.claimNextJob(), 'Banned', []);
    await expectRevert(d.provider.pm.write.register([DEFAULT_HARDWARE, DEFAULT_PRICES, LABELS]), 'Banned', []);
    await d.mined(d.provider.ms.write.providerSetJobStatus([id, Status.FINISHED, 1n, '', 0n]));
    expect((await d.job(id)).status).toBe(Status.FINISHED);

    await d.mined(d.admin.pm.write.unban([d.provider.address]));
    expect(await d.customer.pm.read.isValidForScheduling([d.provider.address])).toBe(true);
    await d.mined(d.provider.ms.write.claimNextJob());
    expect((await d.job(queued)).status).toBe(Status.SCHEDULED);
  });

  it('a removed provider is gone', async () => {
    const d = devnet();
    const gone: Address = d.provider2.address;
    const receipt = await d.mined(d.admin.pm.write.remove([gone]));
    const [event] = parseEventLogs({ abi: providerManagerAbi, logs: receipt.logs, eventName: 'ProviderRemoved' });
    expect(event?.args.addr).toBe(gone);
    expect(await d.customer.pm.read.isValidForScheduling([gone])).toBe(false);
    expect((await d.customer.pm.read.getProvider([gone])).addr).toBe(zeroAddress);
    await expectRevert(d.provider2.ms.write.claimNextJob(), 'ProviderNotJoined', []);
    await expectRevert(d.admin.pm.write.remove([gone]), 'NoProvider', []);
    await expectRevert(d.admin.pm.write.ban([gone]), 'NoProvider', []);
  });
});

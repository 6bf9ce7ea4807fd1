// Claim logs after a reorg deeper than claims.logConfirmations, on anvil
// (evm_snapshot / evm_revert make the reorg): a claim orphaned and its
// transaction re-mined claiming another job closes the first claim and
// records the second; a claim re-mined at another block keeps its state (a
// submitted job is not run again) and moves to its new position.
import { createPublicClient, custom, http, type Address, type Hex, type PublicClient, type Transport } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openStateDb } from '../../src/compose/state-store.js';
import { ChainLogFollower } from '../../src/supervisor/chain-logs.js';
import { Claims } from '../../src/supervisor/claim-store.js';
import { CREDIT, definition, fourPerMinute, smallCluster, startDevnet, type Devnet } from '../metascheduler/devnet.js';
import { captureLogger, tmpDir } from '../txpipeline/helpers.js';

let net: Devnet;
const tmp = tmpDir();
beforeAll(async () => {
  net = await startDevnet({ providers: 1 });
  const p = net.providers[0]!;
  await p.register(smallCluster, fourPerMinute, [{ key: 'name', value: 'reorg' }]);
  await net.admin.approveProvider(p.walletClient!.account.address);
}, 120_000);
afterAll(async () => {
  await net?.stop();
});

/** A follower of `provider`'s claim logs at depth 1 over `transport` (default: anvil over HTTP), recording into a state database of its own. */
function followerFor(name: string, provider: Address, transport: Transport = http(net.anvil.rpcUrl)) {
  const db = openStateDb(`${tmp.dir}/${name}.db`);
  const claims = new Claims(db);
  const log = captureLogger('info');
  const publicClient = createPublicClient({ chain: foundry, transport, cacheTime: 0 }) as PublicClient;
  const follower = new ChainLogFollower({
    db,
    publicClient: publicClient as never,
    metaScheduler: net.admin.addresses.metaScheduler,
    provider,
    confirmations: 1,
    maxRange: 1000n,
    log: log.logger,
    handlers: {
      claim: (ev, at) => void claims.add({ gridJobId: ev.jobId, customer: ev.customerAddr, maxMinutes: ev.maxDurationMinute, definition: ev.jobDefinition, ...at }),
      cancel: (ev, at) => void claims.addAction({ kind: 'cancel', gridJobId: ev.jobId, ...at }),
      topUp: (ev, at) => void claims.addAction({ kind: 'topup', gridJobId: ev.jobId, minutes: ev.maxDurationMinute, ...at }),
      recordedAbove: (b) => claims.recordedAbove(b),
      moved: (r, at) => claims.moveLog(r, at),
      orphaned: (r) => void claims.orphanLog(r, 'orphaned by a reorg'),
    },
  });
  return { db, claims, log, follower };
}

describe('claim logs after a reorg deeper than logConfirmations', () => {
  it('an orphaned claim re-mined for another job: the first closed, the second recorded; a claim re-mined elsewhere keeps its state', async () => {
    const provider = net.providers[0]!;
    const me = provider.walletClient!.account.address;
    const { db, claims, log, follower } = followerFor('reorg', me);
    await follower.init();
    const a = (await net.customer.requestNewJob(definition(), 400n * CREDIT, 'job-a')).jobId;
    const b = (await net.customer.requestNewJob(definition(), 400n * CREDIT, 'job-b')).jobId;

    // Old branch: A assigned and claimed, recorded at depth 1.
    const snap = (await net.anvil.request('evm_snapshot')) as Hex;
    await net.admin.metaSchedule(a, me);
    const claimA = await provider.claimNextJob();
    expect(claimA?.jobId).toBe(a);
    expect(await follower.catchUp()).toBe(1);
    const recordedA = claims.latestFor(a)!;
    expect(recordedA.state).toBe('claimed');

    // New branch, longer: B assigned first, so the same claim transaction (same nonce) claims B.
    await net.anvil.request('evm_revert', [snap]);
    await net.admin.metaSchedule(b, me);
    const snap2 = (await net.anvil.request('evm_snapshot')) as Hex;
    const claimB = await provider.claimNextJob();
    expect(claimB?.jobId).toBe(b);
    await net.anvil.request('anvil_mine', ['0x2']);
    expect(await follower.catchUp()).toBe(1);
    expect(claims.latestFor(a)).toMatchObject({ id: recordedA.id, state: 'cancelled', lastError: 'orphaned by a reorg' });
    const recordedB = claims.latestFor(b)!;
    expect(recordedB).toMatchObject({ state: 'claimed' });
    expect(recordedB.id).not.toBe(recordedA.id);
    expect(log.lines.some((l) => /reorg deeper than claims.logConfirmations/.test(String(l.msg)))).toBe(true);

    // B submitted; then a reorg moves its claim two blocks later: same claim, same state, new block.
    claims.setState(recordedB.id, 'submitted', { slurmJobId: 7 });
    await net.anvil.request('evm_revert', [snap2]);
    await net.anvil.request('anvil_mine', ['0x2']);
    expect((await provider.claimNextJob())?.jobId).toBe(b);
    await net.anvil.request('anvil_mine', ['0x2']);
    expect(await follower.catchUp()).toBe(0);
    const movedB = claims.latestFor(b)!;
    expect(movedB).toMatchObject({ id: recordedB.id, state: 'submitted', slurmJobId: 7 });
    expect(movedB.block).toBeGreaterThan(recordedB.block);
    expect(claims.list()).toHaveLength(2);
    // No reorg: nothing read again.
    await net.anvil.request('anvil_mine', ['0x1']);
    expect(await follower.catchUp()).toBe(0);
    expect(claims.list()).toHaveLength(2);
    db.close();
  }, 120_000);

  it('an unchanged chain costs one request a round (the tip); a new block, or another tip at the same height, is read', async () => {
    const me = net.providers[0]!.walletClient!.account.address;
    const methods: string[] = [];
    const counting = custom({ request: ({ method, params }: { method: string; params?: unknown }) => (methods.push(method), net.anvil.request(method, params as unknown[])) });
    const { db, follower } = followerFor('idle', me, counting);
    await follower.init();
    await follower.catchUp();
    methods.length = 0;
    for (let i = 0; i < 5; i++) expect(await follower.catchUp()).toBe(0);
    expect(methods).toEqual(Array(5).fill('eth_getBlockByNumber'));

    await net.anvil.request('anvil_mine', ['0x1']);
    methods.length = 0;
    await follower.catchUp();
    expect(methods).toContain('eth_getLogs');
    const cursor = follower.cursor();
    expect(cursor).toBe(BigInt((await net.anvil.request('eth_blockNumber')) as string));

    // Back one block and another one mined in its place (another timestamp: another hash), same height.
    const snap = (await net.anvil.request('evm_snapshot')) as Hex;
    await net.anvil.request('anvil_mine', ['0x1']);
    await follower.catchUp();
    await net.anvil.request('evm_revert', [snap]);
    await net.anvil.request('evm_increaseTime', [100]);
    await net.anvil.request('anvil_mine', ['0x1']);
    methods.length = 0;
    await follower.catchUp();
    expect(methods).toContain('eth_getLogs'); // the kept hash no longer canonical: read again above the fork
    methods.length = 0;
    await follower.catchUp();
    expect(methods).toEqual(['eth_getBlockByNumber']);
    db.close();
  }, 60_000);
});

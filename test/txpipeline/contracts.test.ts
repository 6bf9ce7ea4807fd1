// The pipeline against the project's contracts: a revert in simulation takes
// no nonce; a transaction that passed simulation but reverted when mined is
// reported with its decoded reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFunctionData, type Hex } from 'viem';

import { metaSchedulerAbi } from '../../src/metascheduler/abi.generated.js';
import { MetaSchedulerError } from '../../src/metascheduler/errors.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import type { Db } from '../../src/state/db.js';
import type { TxEvent, TxRequest } from '../../src/txpipeline/types.js';
import { CREDIT, definition, fourPerMinute, smallCluster, startDevnet, type Devnet } from '../metascheduler/devnet.js';
import { chainNonce, metric, openPipeline, openTestDb, recordEvents, tmpDir, transfer, txRows, waitFor } from './helpers.js';

let net: Devnet;
let db: Db;
const tmp = tmpDir();

beforeAll(async () => {
  net = await startDevnet({ providers: 1 });
  const provider = net.providers[0]!;
  await provider.register(smallCluster, fourPerMinute);
  await net.admin.approveProvider(provider.walletClient!.account.address);
  db = openTestDb(tmp.dir);
});
afterAll(async () => {
  db?.close();
  await net?.stop();
  tmp.cleanup();
});

async function scheduledJob(): Promise<Hex> {
  const provider = net.providers[0]!;
  const { jobId } = await net.customer.requestNewJob(definition(), 400n * CREDIT, 'txp-job');
  await net.admin.metaSchedule(jobId, provider.walletClient!.account.address);
  const claim = await provider.claimNextJob();
  expect(claim?.jobId).toBe(jobId);
  return jobId;
}

function setStatus(jobId: Hex, status: JobStatus, ref: string): TxRequest {
  return {
    kind: 'report',
    ref,
    to: net.admin.addresses.metaScheduler,
    data: encodeFunctionData({ abi: metaSchedulerAbi, functionName: 'providerSetJobStatus', args: [jobId, status, 0n, '', 0n] }),
  };
}

describe('txpipeline with the Meta-Scheduler contracts (anvil, automine)', () => {
  it('a revert in simulation is decoded and takes no nonce; the next request gets the next nonce', async () => {
    const key = net.anvil.accounts[2]!; // the provider
    const { p } = await openPipeline(net.anvil, db, { privateKey: key.privateKey, confirmations: 1 });
    const start = await chainNonce(net.anvil, key.address);
    const unknownJob = `0x${'ab'.repeat(32)}` as Hex;
    const outs = await p.submit([setStatus(unknownJob, JobStatus.RUNNING, 'bad-1'), transfer('report', 1), setStatus(unknownJob, JobStatus.FINISHED, 'bad-2')]);
    expect(outs[0]!.ok).toBe(false);
    const rev = (outs[0] as { revert: MetaSchedulerError }).revert;
    expect(rev).toBeInstanceOf(MetaSchedulerError);
    expect(rev.functionName).toBe('providerSetJobStatus');
    expect(rev.message).toMatch(/^providerSetJobStatus: \w+: /);
    expect((outs[2] as { revert: MetaSchedulerError }).revert).toBeInstanceOf(MetaSchedulerError);
    expect(outs[1]).toMatchObject({ ok: true, nonce: start });
    const [next] = await p.submit([transfer('report', 2)]);
    expect(next).toMatchObject({ ok: true, nonce: start + 1 });
    expect(txRows(db).filter((r) => r.ref.startsWith('bad'))).toHaveLength(0);
    await waitFor('both mined', async () => {
      await p.poll();
      return (await chainNonce(net.anvil, key.address)) === start + 2 && p.inFlight() === 0;
    }, 20_000);
    await p.stop();
  });

  it('mined but reverted (the state changed after simulation): reverted event with the reason replayed at its block', async () => {
    const key = net.anvil.accounts[2]!;
    // (The claim is sent with the same key by another client: before the pipeline takes its nonce.)
    const jobId = await scheduledJob();
    const { p, registry } = await openPipeline(net.anvil, db, { privateKey: key.privateKey, confirmations: 2 });
    const evs = recordEvents(p, 'report');
    // Both pass simulation against the same state; the second one mined finds the job RUNNING already.
    const outs = await p.submit([setStatus(jobId, JobStatus.RUNNING, 'r1'), setStatus(jobId, JobStatus.RUNNING, 'r2')]);
    expect(outs.every((o) => o.ok)).toBe(true);
    const [id1, id2] = outs.map((o) => (o.ok ? o.txId : -1));
    await waitFor('both final', async () => {
      await net.anvil.mine();
      await p.poll();
      return evs.filter((e) => e.type === 'confirmed' || e.type === 'reverted').length === 2;
    }, 20_000);
    expect(evs.filter((e) => e.tx.id === id1).map((e) => e.type)).toEqual(['mined', 'confirmed']);
    const rev = evs.filter((e) => e.tx.id === id2);
    expect(rev.map((e) => e.type)).toEqual(['reverted']);
    const err = (rev[0] as Extract<TxEvent<MetaSchedulerError>, { type: 'reverted' }>).error;
    expect(err).toBeInstanceOf(MetaSchedulerError);
    expect(err.is('SameStatusError')).toBe(true);
    expect(err.functionName).toBe('providerSetJobStatus');
    expect(txRows(db).find((r) => r.id === id2)!.state).toBe('reverted');
    expect(await metric(registry, 'gridlink_tx_reverted_total')).toBe(1);
    expect((await net.customer.getJob(jobId)).status).toBe(JobStatus.RUNNING);
    await p.stop();
  });
});

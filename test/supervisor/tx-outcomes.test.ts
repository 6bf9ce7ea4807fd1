// The supervisor's own transactions that fail after they were signed, on
// anvil with the project's contracts (automine off: the transaction that
// makes ours revert is mined first in the same block, with a higher tip):
// a refuseJob that reverts puts its claim back to `claimed` (looked at
// again, never left `refused` while the chain holds the job here); a register
// that reverts makes ensureRegistered fail (the caller registers again with
// backoff) instead of waiting for an approval that cannot come.
import { join } from 'node:path';

import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createWalletClient, encodeFunctionData, http, parseGwei, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { metaSchedulerAbi, providerManagerAbi } from '../../src/metascheduler/abi.generated.js';
import type { MetaSchedulerError } from '../../src/metascheduler/errors.js';
import type { SlurmBackend } from '../../src/slurm/backend.js';
import { type Db } from '../../src/state/db.js';
import { openStateDb } from '../../src/compose/state-store.js';
import { Claims } from '../../src/supervisor/claim-store.js';
import { createSupervisorMetrics } from '../../src/supervisor/metrics.js';
import { ensureRegistered } from '../../src/supervisor/registration.js';
import { followOwnTransactions, REFUSE_TX_KIND } from '../../src/supervisor/tx-outcomes.js';
import type { TxPipeline } from '../../src/txpipeline/pipeline.js';
import { CREDIT, definition, fourPerMinute, smallCluster, startDevnet, type Devnet } from '../metascheduler/devnet.js';
import { captureLogger, openPipeline, tmpDir, waitFor } from '../txpipeline/helpers.js';

let net: Devnet;
let db: Db;
let pipe: TxPipeline<MetaSchedulerError> | undefined;
const tmp = tmpDir();
beforeEach(async () => {
  net = await startDevnet({ providers: 1 });
}, 120_000);
afterEach(async () => {
  await pipe?.stop();
  pipe = undefined;
  db?.close();
  await net?.stop();
});

/** Sends a call that is mined before ours in the next block (higher tip), without waiting for it. */
async function sendFirst(key: Hex, to: Hex, data: Hex): Promise<void> {
  const w = createWalletClient({ account: privateKeyToAccount(key), chain: foundry, transport: http(net.anvil.rpcUrl) });
  await w.sendTransaction({ to, data, gas: 500_000n, maxPriorityFeePerGas: parseGwei('50'), maxFeePerGas: parseGwei('200') });
}

describe("the supervisor's transactions that revert after mining", () => {
  it('refuseJob reverted (the customer cancelled in the same block): the claim is open again, not left refused', async () => {
    const provider = net.providers[0]!;
    const me = provider.walletClient!.account.address;
    await provider.register(smallCluster, fourPerMinute, [{ key: 'name', value: 'revert' }]);
    await net.admin.approveProvider(me);
    const { jobId } = await net.customer.requestNewJob(definition(), 400n * CREDIT, 'refuse-revert');
    await net.admin.metaSchedule(jobId, me);
    const claimed = await provider.claimNextJob();
    expect(claimed?.jobId).toBe(jobId);

    db = openStateDb(join(tmp.dir, `refuse-${Date.now()}.db`));
    const claims = new Claims(db);
    claims.add({ gridJobId: jobId, customer: claimed!.customerAddr, maxMinutes: claimed!.maxDurationMinute, definition: claimed!.jobDefinition, block: 1n, txHash: `0x${'1'.repeat(64)}`, logIndex: 0 });
    const c = claims.latestFor(jobId)!;
    const log = captureLogger('info');
    const { p } = await openPipeline(net.anvil, db, { privateKey: net.anvil.accounts[2]!.privateKey, confirmations: 1, priorityFeeWei: 1n, simulateBlockTag: 'latest', logger: log.logger });
    pipe = p;
    followOwnTransactions({ pipeline: p, claims, log: log.logger, retryInMs: 0 });
    p.start();

    await net.anvil.setAutomine(false);
    const data = encodeFunctionData({ abi: metaSchedulerAbi, functionName: 'refuseJob', args: [jobId] });
    const [out] = await p.submit([{ kind: REFUSE_TX_KIND, ref: String(c.id), to: net.admin.addresses.metaScheduler, data }], { onSigned: () => claims.setState(c.id, 'refused', { lastError: 'SLURM refused the job' }) });
    expect(out?.ok).toBe(true);
    expect(claims.latestFor(jobId)?.state).toBe('refused');
    await sendFirst(net.anvil.accounts[1]!.privateKey, net.admin.addresses.metaScheduler, encodeFunctionData({ abi: metaSchedulerAbi, functionName: 'cancelJob', args: [jobId] }));
    await net.anvil.mine();
    await waitFor('the claim open again', () => claims.latestFor(jobId)?.state === 'claimed', 20_000);
    expect(claims.latestFor(jobId)).toMatchObject({ id: c.id, attempts: 1, lastError: expect.stringMatching(/refuseJob reverted on chain.*looked at again/) });
    expect(p.get((out as { txId: number }).txId)?.state).toBe('reverted');
  }, 120_000);

  it('register reverted (banned in the same block): ensureRegistered fails, to register again, instead of waiting for an approval for ever', async () => {
    const key = net.anvil.accounts[2]!.privateKey;
    const me = privateKeyToAccount(key).address;
    // Registered before with another offer, waiting for approval: the new offer is registered again.
    await net.providers[0]!.register(smallCluster, fourPerMinute, [{ key: 'name', value: 'old offer' }]);
    db = openStateDb(join(tmp.dir, `register-${Date.now()}.db`));
    const { p } = await openPipeline(net.anvil, db, { privateKey: key, confirmations: 1, priorityFeeWei: 1n, simulateBlockTag: 'latest' });
    pipe = p;
    p.on('register', () => {});
    p.start();
    const backend = { partition: async () => ({ name: 'p', state: 'UP', nodes: [{ name: 'n1', cpus: 4, realMemoryMB: 4096, gpus: 0, state: 'IDLE' }] }) } as unknown as SlurmBackend;
    const ctx = { publicClient: net.admin.publicClient as never, addresses: net.admin.addresses };
    await net.anvil.setAutomine(false);
    const log = captureLogger('debug');
    const reg = ensureRegistered({
      ctx,
      provider: me,
      pipeline: p,
      backend,
      partition: 'p',
      prices: fourPerMinute,
      labels: async () => [],
      approvalPollMs: 100,
      log: log.logger,
      metrics: createSupervisorMetrics(new Registry(), new Claims(db)),
      stopped: () => false,
    });
    reg.catch(() => undefined);
    await waitFor('the register transaction sent', () => log.lines.some((l) => l.msg === 'supervisor: registration sent'), 20_000);
    await sendFirst(net.anvil.accounts[0]!.privateKey, net.admin.addresses.providerManager, encodeFunctionData({ abi: providerManagerAbi, functionName: 'ban', args: [me] }));
    await net.anvil.mine();
    await net.anvil.setAutomine(true);
    const timeout = new Promise((_, rej) => setTimeout(() => rej(new Error(`no outcome: ${JSON.stringify(db.prepare('SELECT id, state, kind FROM txs').all())} ${JSON.stringify(log.lines.map((l) => l.msg))}`)), 30_000));
    await expect(Promise.race([reg, timeout])).rejects.toThrow(/register transaction 0x[0-9a-f]+ reverted on chain; the registration on chain \(waiting\) is not the one sent: registering again/);
  }, 120_000);
});

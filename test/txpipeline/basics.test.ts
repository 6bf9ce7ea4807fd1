// Nonces, simulation, confirmation and the chain id check on a real anvil with 1-second blocks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import { metaSchedulerReverts } from '../../src/metascheduler/revert-decoder.js';
import { openStateDb } from '../../src/compose/state-store.js';
import { ChainIdMismatchError, TxPipeline } from '../../src/txpipeline/pipeline.js';
import type { TxEvent } from '../../src/txpipeline/types.js';
import {
  chainNonce, chainTxsFrom, histCount, metric, openPipeline, openTestDb, recordEvents, refOf, tmpDir, transfer, txRows, waitFor,
} from './helpers.js';
import { ACCOUNT_MODES, closeSigners, signingOptions } from './accounts.js';

let anvil: Anvil;
const tmp = tmpDir();

beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1, accounts: 20 });
});
afterAll(async () => {
  await closeSigners();
  await anvil?.stop();
  tmp.cleanup();
});

describe.each(ACCOUNT_MODES)('txpipeline basics (anvil, 1 s blocks, %s)', (via) => {
  // Each mode its own accounts: the tests count every transaction of an account on chain.
  const off = via === 'local key' ? 0 : 10;
  it('refuses to start when the RPC serves another chain id, and says both ids', async () => {
    const db = openTestDb(tmp.dir, `chainid-${via.replace(' ', '-')}.db`);
    const err = await TxPipeline.open({ db, revertDecoder: metaSchedulerReverts, rpcUrl: anvil.rpcUrl, chainId: 1, ...(await signingOptions(via, anvil.accounts[0 + off]!.privateKey)) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainIdMismatchError);
    expect((err as Error).message).toMatch(/chain id 31337.*configured for chain id 1\b/);
    expect((err as Error).message).toMatch(/point the RPC URL/);
    expect((err as Error).message).not.toContain(anvil.accounts[0 + off]!.privateKey.slice(2));
    // A database that already holds another chain's transactions is refused too.
    db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('txpipeline.chain_id', '5')`).run();
    const err2 = await TxPipeline.open({ db, revertDecoder: metaSchedulerReverts, rpcUrl: anvil.rpcUrl, chainId: 31337, ...(await signingOptions(via, anvil.accounts[0 + off]!.privateKey)) }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(ChainIdMismatchError);
    expect((err2 as Error).message).toMatch(/database holds transactions for chain id 5.*chain id 31337/);
    db.close();
  });

  it('works on the project database (the pipeline tables are part of migration 1)', async () => {
    const db = openStateDb(`${tmp.dir}/project-${via.replace(' ', '-')}.db`);
    const { p } = await openPipeline(anvil, db, { via, privateKey: anvil.accounts[5 + off]!.privateKey, confirmations: 1 });
    const evs = recordEvents(p, 'x');
    p.start();
    const [o] = await p.submit([transfer('x', 1)]);
    expect(o?.ok).toBe(true);
    await waitFor('confirmed', () => evs.some((e) => e.type === 'confirmed'), 30_000);
    await p.stop();
    db.close();
  });

  it('many concurrent submits: contiguous nonces, each transaction mined once, confirmed at depth', async () => {
    const db = openTestDb(tmp.dir, `nonces-${via.replace(' ', '-')}.db`);
    const acct = anvil.accounts[1 + off]!;
    const { p, registry } = await openPipeline(anvil, db, { via, privateKey: acct.privateKey, confirmations: 3 });
    const evs = recordEvents(p, 'burst');
    p.start();
    const start = await chainNonce(anvil, acct.address);
    // 12 owners submitting 25 each at the same time.
    const outcomes = (await Promise.all(Array.from({ length: 12 }, (_, k) => p.submit(Array.from({ length: 25 }, (_, j) => transfer('burst', k * 25 + j)))))).flat();
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const nonces = outcomes.map((o) => (o.ok ? o.nonce : -1)).sort((a, b) => a - b);
    expect(nonces).toEqual(Array.from({ length: 300 }, (_, i) => start + i));
    expect(p.inFlight()).toBeGreaterThan(0);

    await waitFor('300 confirmed', () => evs.filter((e) => e.type === 'confirmed').length >= 300, 60_000);
    expect(p.inFlight()).toBe(0);
    const head = p.head()!;
    const confirmed = evs.filter((e): e is Extract<TxEvent, { type: 'confirmed' }> => e.type === 'confirmed');
    expect(new Set(confirmed.map((e) => e.tx.id)).size).toBe(300);
    // confirmed only at depth: each confirmation came when its block had 3 blocks including itself
    for (const e of confirmed) expect(e.block <= head - 2n).toBe(true);
    // mined precedes confirmed for every tx
    for (const c of confirmed) {
      const i = evs.findIndex((e) => e.type === 'mined' && e.tx.id === c.tx.id);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(evs.indexOf(c));
    }
    // The chain: exactly these 300 transactions, refs once each, nonces contiguous.
    const onChain = await chainTxsFrom(anvil, acct.address);
    expect(onChain.map((t) => t.nonce).sort((a, b) => a - b)).toEqual(nonces);
    expect(new Set(onChain.map((t) => refOf(t.input))).size).toBe(300);
    expect(await chainNonce(anvil, acct.address)).toBe(start + 300);
    expect(txRows(db).every((r) => r.state === 'confirmed')).toBe(true);
    expect(await metric(registry, 'gridlink_tx_sent_total')).toBe(300);
    expect(await metric(registry, 'gridlink_tx_confirmed_total')).toBe(300);
    expect(await metric(registry, 'gridlink_tx_in_flight')).toBe(0);
    expect(await histCount(registry, 'gridlink_tx_confirmation_latency_blocks')).toBe(300);
    expect(p.health()).toMatchObject({ ok: true });
    await p.stop();
    db.close();
  });

  it('reorg of depth 2 while following with 1 s blocks (confirmations 3): nothing lost, nothing doubled', async () => {
    const db = openTestDb(tmp.dir, `reorg-live-${via.replace(' ', '-')}.db`);
    const acct = anvil.accounts[2 + off]!;
    const { p, registry } = await openPipeline(anvil, db, { via, privateKey: acct.privateKey, confirmations: 3, pollMs: 50 });
    const evs = recordEvents(p, 'r');
    p.start();
    await waitFor('a chain tall enough to reorg', async () => Number(await anvil.request('eth_blockNumber')) >= 3, 20_000);
    const start = await chainNonce(anvil, acct.address);
    const outs = await p.submit(Array.from({ length: 40 }, (_, i) => transfer('r', i)));
    expect(outs.every((o) => o.ok)).toBe(true);
    await waitFor('mined', () => evs.some((e) => e.type === 'mined'), 20_000, 10);
    await anvil.request('anvil_reorg', [2, []]); // the block holding them is at most 1 deep: orphaned
    await waitFor('40 confirmed', () => evs.filter((e) => e.type === 'confirmed').length >= 40, 60_000);
    await new Promise((r) => setTimeout(r, 2500)); // a few more blocks: nothing else may arrive
    expect(await metric(registry, 'gridlink_tx_unmined_total')).toBeGreaterThan(0);
    const confirmed = evs.filter((e): e is Extract<TxEvent, { type: 'confirmed' }> => e.type === 'confirmed');
    expect(confirmed).toHaveLength(40);
    expect(new Set(confirmed.map((e) => e.tx.id)).size).toBe(40);
    const onChain = await chainTxsFrom(anvil, acct.address);
    expect(onChain.map((t) => t.nonce).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => start + i));
    for (const e of confirmed) expect(onChain.find((t) => t.hash === e.tx.hash)?.block).toBe(Number(e.block));
    expect(await chainNonce(anvil, acct.address)).toBe(start + 40);
    await p.stop();
    db.close();
  });
});

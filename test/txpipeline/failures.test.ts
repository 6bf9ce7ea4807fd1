// Failure cases on a real anvil with manual mining (automine off unless said):
// each test mines the blocks it needs and lets the pipeline follow them.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createWalletClient, http, parseGwei, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import type { Db } from '../../src/state/db.js';
import type { TxPipeline } from '../../src/txpipeline/pipeline.js';
import type { TxEvent } from '../../src/txpipeline/types.js';
import {
  attemptRows, captureLogger, chainNonce, chainTxsFrom, metric, mineAndPoll, openPipeline, openTestDb, recordEvents, tmpDir, transfer, txRows, waitFor,
} from './helpers.js';
import { ACCOUNT_MODES, closeSigners } from './accounts.js';

const g = (x: number) => parseGwei(String(x));
let anvil: Anvil | undefined;
let db: Db | undefined;
let pipe: TxPipeline | undefined;
const tmp = tmpDir();
afterAll(() => closeSigners());

async function manualAnvil(): Promise<Anvil> {
  anvil = await startAnvil();
  await anvil.setAutomine(false);
  return anvil;
}

afterEach(async () => {
  await pipe?.stop();
  pipe = undefined;
  db?.close();
  db = undefined;
  await anvil?.stop();
  anvil = undefined;
});

const types = (evs: TxEvent[], id: number) => evs.filter((e) => e.tx.id === id).map((e) => e.type);
const baseFeeOf = async (a: Anvil, n: number | 'latest') =>
  BigInt(((await a.request('eth_getBlockByNumber', [typeof n === 'number' ? `0x${n.toString(16)}` : n, false])) as { baseFeePerGas: Hex }).baseFeePerGas);

describe.each(ACCOUNT_MODES)('txpipeline failure cases (anvil, manual mining, %s)', (via) => {
  it('a dropped transaction is sent again and mined once', async () => {
    const a = await manualAnvil();
    db = openTestDb(tmp.dir, `dropped-${via.replace(' ', '-')}.db`);
    const { p, registry } = await openPipeline(a, db, { via, confirmations: 1, replaceAfterBlocks: 3 });
    pipe = p;
    const evs = recordEvents(p, 't');
    await p.poll();
    const [o] = await p.submit([transfer('t', 1)]);
    if (!o?.ok) throw new Error('submit failed');
    await a.request('anvil_dropTransaction', [o.hash]);
    expect(await a.request('eth_getTransactionByHash', [o.hash])).toBeNull();
    await mineAndPoll(a, p, 3); // three empty blocks: not mined since its send
    await mineAndPoll(a, p, 2);
    expect(types(evs, o.txId)).toEqual(['mined', 'confirmed']);
    const onChain = await chainTxsFrom(a, p.address);
    expect(onChain).toHaveLength(1);
    expect(onChain[0]!.nonce).toBe(o.nonce);
    expect((await metric(registry, 'gridlink_tx_replaced_total')) + (await metric(registry, 'gridlink_tx_rebroadcast_total'))).toBeGreaterThanOrEqual(1);
  });

  it('stuck in the mempool under a raised base fee: replaced with bumped fees and mined', async () => {
    const a = await manualAnvil();
    db = openTestDb(tmp.dir, `stuck-${via.replace(' ', '-')}.db`);
    const { p, registry } = await openPipeline(a, db, { via, confirmations: 1, replaceAfterBlocks: 3 });
    pipe = p;
    const evs = recordEvents(p, 't');
    await p.poll();
    const [o] = await p.submit([transfer('t', 1)]);
    if (!o?.ok) throw new Error('submit failed');
    const first = attemptRows(db, o.txId)[0]!;
    await a.request('anvil_setNextBlockBaseFeePerGas', [`0x${g(100).toString(16)}`]);
    await mineAndPoll(a, p, 3);
    expect(types(evs, o.txId)).toEqual([]); // cannot pay 100 gwei (nor the decaying fee after it)
    await mineAndPoll(a, p, 2);
    expect(types(evs, o.txId)).toEqual(['mined', 'confirmed']);
    const atts = attemptRows(db, o.txId);
    expect(atts.length).toBeGreaterThanOrEqual(2);
    const minedHash = txRows(db).find((r) => r.id === o.txId)!.mined_hash;
    const mined = atts.find((x) => x.hash === minedHash)!;
    expect(mined).toBeDefined();
    expect(mined.hash).not.toBe(first.hash);
    // bumped by >= 12.5% on both fields, and enough for the base fee of its block
    expect(BigInt(mined.max_fee) * 8n >= BigInt(first.max_fee) * 9n).toBe(true);
    expect(BigInt(mined.priority_fee) * 8n >= BigInt(first.priority_fee) * 9n).toBe(true);
    const block = txRows(db).find((r) => r.id === o.txId)!.mined_block!;
    const base = await baseFeeOf(a, block);
    expect(base > BigInt(first.max_fee)).toBe(true); // the first attempt could never have been mined there
    expect(BigInt(mined.max_fee) >= base).toBe(true);
    expect(await metric(registry, 'gridlink_tx_replaced_total')).toBeGreaterThanOrEqual(1);
    expect(await chainTxsFrom(a, p.address)).toHaveLength(1);
  });

  it('fee cap: never signs above it; held at the cap (logged, counted) until the base fee allows it', async () => {
    const a = await manualAnvil();
    db = openTestDb(tmp.dir, `cap-${via.replace(' ', '-')}.db`);
    const cap = g(2.5);
    const log = captureLogger('info');
    const { p, registry } = await openPipeline(a, db, { via, confirmations: 1, replaceAfterBlocks: 2, maxFeePerGasWei: cap, priorityFeeWei: g(1), logger: log.logger });
    pipe = p;
    const evs = recordEvents(p, 't');
    await p.poll();
    // base 1 gwei: 2 * base + tip = 3 gwei > cap: sent at the cap, mined.
    const [o1] = await p.submit([transfer('t', 1)]);
    if (!o1?.ok) throw new Error('submit failed');
    expect(BigInt(attemptRows(db, o1.txId)[0]!.max_fee)).toBe(cap);
    expect(await metric(registry, 'gridlink_tx_fee_cap_hits_total')).toBeGreaterThanOrEqual(1);
    expect(log.lines.some((l) => String(l.msg).includes('FEE CAP') && l.level === 50)).toBe(true);
    await mineAndPoll(a, p, 2);
    expect(types(evs, o1.txId)).toEqual(['mined', 'confirmed']);

    // base fee 10 gwei, above the cap: the node refuses the transaction; the pipeline keeps it at the cap.
    await a.request('anvil_setNextBlockBaseFeePerGas', [`0x${g(10).toString(16)}`]);
    await mineAndPoll(a, p, 1);
    const hitsBefore = await metric(registry, 'gridlink_tx_fee_cap_hits_total');
    const [o2] = await p.submit([transfer('t', 2)]);
    if (!o2?.ok) throw new Error('submit failed');
    await mineAndPoll(a, p, 3);
    expect(types(evs, o2.txId)).toEqual([]);
    expect(await metric(registry, 'gridlink_tx_fee_cap_hits_total')).toBeGreaterThan(hitsBefore);
    expect(await metric(registry, 'gridlink_tx_rpc_errors_total', { class: 'underpriced' })).toBeGreaterThanOrEqual(1);
    // empty blocks: the base fee falls 12.5% per block, below the cap after ~11 blocks
    for (let i = 0; i < 30 && !types(evs, o2.txId).includes('confirmed'); i++) await mineAndPoll(a, p, 1);
    expect(types(evs, o2.txId)).toEqual(['mined', 'confirmed']);
    for (const r of txRows(db)) for (const at of attemptRows(db, r.id)) expect(BigInt(at.max_fee) <= cap).toBe(true);
    for (const t of await chainTxsFrom(a, p.address)) expect(t.maxFeePerGas <= cap).toBe(true);
  });

  it("nonce used by another signer of the same key: 'lost' (replaced in the pool, and nonce too low), the owner re-plans", async () => {
    const a = await manualAnvil();
    db = openTestDb(tmp.dir, `lost-${via.replace(' ', '-')}.db`);
    const key = a.accounts[0]!.privateKey;
    const { p, registry } = await openPipeline(a, db, { via, confirmations: 1 });
    pipe = p;
    const evs = recordEvents(p, 't');
    await p.poll();
    const other = createWalletClient({ account: privateKeyToAccount(key), chain: foundry, transport: http(a.rpcUrl) });

    // 1. Our transaction is in the pool; the other signer replaces it (higher fees) and that one is mined.
    const [o1] = await p.submit([transfer('t', 1)]);
    if (!o1?.ok) throw new Error('submit failed');
    const foreign1 = await other.sendTransaction({ to: a.accounts[3]!.address, value: 7n, nonce: o1.nonce, maxFeePerGas: g(50), maxPriorityFeePerGas: g(20) });
    await mineAndPoll(a, p, 1);
    // Lost only once a later block still shows no receipt of ours (a node may answer the nonce before the receipts).
    expect(types(evs, o1.txId)).toEqual([]);
    await mineAndPoll(a, p, 1);
    expect(types(evs, o1.txId)).toEqual(['lost']);
    expect((await a.request('eth_getTransactionReceipt', [foreign1])) as unknown).not.toBeNull();

    // 2. The other signer's transaction is mined before ours is even sent: nonce too low -> lost.
    await a.setAutomine(true);
    await other.sendTransaction({ to: a.accounts[3]!.address, value: 7n, nonce: o1.nonce + 1 });
    const [o2] = await p.submit([transfer('t', 2)]);
    if (!o2?.ok) throw new Error('submit failed');
    expect(o2.nonce).toBe(o1.nonce + 1); // the pipeline could not know
    await p.poll();
    await a.mine();
    await p.poll();
    expect(types(evs, o2.txId)).toEqual(['lost']);
    expect(await metric(registry, 'gridlink_tx_rpc_errors_total', { class: 'nonce_too_low' })).toBeGreaterThanOrEqual(1);
    expect(await metric(registry, 'gridlink_tx_lost_total')).toBe(2);

    // The owner re-plans: a fresh nonce, mined.
    const [o3] = await p.submit([transfer('t', 1)]);
    if (!o3?.ok) throw new Error('submit failed');
    expect(o3.nonce).toBe(o1.nonce + 2);
    await a.mine();
    await waitFor('confirmed', async () => {
      await p.poll();
      return types(evs, o3.txId).includes('confirmed');
    }, 20_000);
    expect(txRows(db).map((r) => r.state)).toEqual(['lost', 'lost', 'confirmed']);
    expect(await chainNonce(a, p.address)).toBe(o1.nonce + 3);
  });

  it('replacement underpriced (another transaction holds the nonce in the pool): bumped until it replaces it', async () => {
    const a = await manualAnvil();
    db = openTestDb(tmp.dir, `repl-${via.replace(' ', '-')}.db`);
    const { p, registry } = await openPipeline(a, db, { via, confirmations: 1, priorityFeeWei: g(1) });
    pipe = p;
    const evs = recordEvents(p, 't');
    await p.poll();
    const other = createWalletClient({ account: privateKeyToAccount(a.accounts[0]!.privateKey), chain: foundry, transport: http(a.rpcUrl) });
    const foreign = await other.sendTransaction({ to: a.accounts[3]!.address, value: 7n, nonce: 0, maxFeePerGas: g(20), maxPriorityFeePerGas: g(8) });
    const [o] = await p.submit([transfer('t', 1)]);
    if (!o?.ok) throw new Error('submit failed');
    expect(o.nonce).toBe(0);
    expect(await metric(registry, 'gridlink_tx_rpc_errors_total', { class: 'replacement_underpriced' })).toBe(1);
    for (let i = 0; i < 40 && attemptRows(db, o.txId).every((x) => x.sent_block === null); i++) await p.poll();
    const atts = attemptRows(db, o.txId);
    expect(atts.length).toBeGreaterThan(2);
    const accepted = atts.find((x) => x.sent_block !== null)!;
    expect(BigInt(accepted.max_fee) > g(20)).toBe(true); // outbid the other one (anvil compares maxFeePerGas)
    await mineAndPoll(a, p, 2);
    expect(types(evs, o.txId)).toEqual(['mined', 'confirmed']);
    expect(await a.request('eth_getTransactionReceipt', [foreign])).toBeNull();
    // each bump at least +12.5% over the previous
    for (let i = 1; i < atts.length; i++) expect(BigInt(atts[i]!.max_fee) * 8n >= BigInt(atts[i - 1]!.max_fee) * 9n).toBe(true);
  });

  it('insufficient funds: logged, retried, sent once the account is funded', async () => {
    const a = await manualAnvil();
    db = openTestDb(tmp.dir, `funds-${via.replace(' ', '-')}.db`);
    const acct = a.accounts[9]!;
    await a.request('anvil_setBalance', [acct.address, '0x0']);
    const log = captureLogger('info');
    const { p, registry } = await openPipeline(a, db, { via, confirmations: 1, privateKey: acct.privateKey, logger: log.logger });
    pipe = p;
    const evs = recordEvents(p, 't');
    await p.poll();
    // Sending value it does not have fails in simulation: nothing taken, try later.
    const [sim] = await p.submit([transfer('t', 0)]);
    expect(sim?.ok === false && 'retry' in sim && /insufficient_funds/.test(sim.retry.message)).toBe(true);
    expect(txRows(db)).toHaveLength(0);
    // A 0-value call passes simulation; the node refuses it for the gas fee.
    const [o] = await p.submit([{ ...transfer('t', 1), value: 0n }]);
    if (!o?.ok) throw new Error(`submit failed: ${JSON.stringify(o)}`);
    expect(o.nonce).toBe(0);
    await mineAndPoll(a, p, 2);
    expect(types(evs, o.txId)).toEqual([]);
    expect(await metric(registry, 'gridlink_tx_rpc_errors_total', { class: 'insufficient_funds' })).toBeGreaterThanOrEqual(2);
    expect(log.lines.some((l) => String(l.msg).includes('INSUFFICIENT FUNDS'))).toBe(true);
    await a.request('anvil_setBalance', [acct.address, `0x${(10n ** 18n).toString(16)}`]);
    await p.poll();
    await mineAndPoll(a, p, 2);
    expect(types(evs, o.txId)).toEqual(['mined', 'confirmed']);
    expect(await metric(registry, 'gridlink_tx_sent_total')).toBe(1);
  });

  it('reorg of depth 2 after mining, confirmations = 3: unmined, re-sent, mined again, confirmed exactly once', async () => {
    const a = await manualAnvil();
    db = openTestDb(tmp.dir, `reorg-${via.replace(' ', '-')}.db`);
    const { p, registry } = await openPipeline(a, db, { via, confirmations: 3 });
    pipe = p;
    const evs = recordEvents(p, 't');
    await mineAndPoll(a, p, 2);
    const outs = await p.submit(Array.from({ length: 5 }, (_, i) => transfer('t', i)));
    const ids = outs.map((o) => (o.ok ? o.txId : -1));
    await mineAndPoll(a, p, 1);
    const minedAt = (evs.find((e) => e.type === 'mined') as Extract<TxEvent, { type: 'mined' }>).block;
    for (const id of ids) expect(types(evs, id)).toEqual(['mined']);
    await mineAndPoll(a, p, 1); // depth 2 of 3: not confirmed yet
    for (const id of ids) expect(types(evs, id)).toEqual(['mined']);

    await a.request('anvil_reorg', [2, []]); // replaces the block holding them and the next one; anvil drops their transactions
    expect(await a.request('eth_getTransactionReceipt', [(outs[0] as { hash: Hex }).hash])).toBeNull();
    await p.poll();
    for (const id of ids) expect(types(evs, id)).toEqual(['mined', 'unmined']);
    expect(await metric(registry, 'gridlink_tx_unmined_total')).toBe(5);

    await mineAndPoll(a, p, 4);
    for (const id of ids) expect(types(evs, id)).toEqual(['mined', 'unmined', 'mined', 'confirmed']);
    // counted from the blocks: each transaction once in the canonical chain, in the block its confirmation names
    const onChain = await chainTxsFrom(a, p.address);
    expect(onChain.map((t) => t.nonce).sort()).toEqual([0, 1, 2, 3, 4]);
    for (const e of evs.filter((x): x is Extract<TxEvent, { type: 'confirmed' }> => x.type === 'confirmed')) {
      const t = onChain.find((x) => x.hash === e.tx.hash)!;
      expect(t).toBeDefined();
      expect(BigInt(t.block)).toBe(e.block);
      expect(e.block > minedAt).toBe(true);
    }
    expect(await metric(registry, 'gridlink_tx_confirmed_total')).toBe(5);
    expect(await chainNonce(a, p.address)).toBe(5);
  });

  it('already known: a restart re-broadcasts what the node has; taken as accepted, mined once', async () => {
    const a = await manualAnvil();
    db = openTestDb(tmp.dir, `known-${via.replace(' ', '-')}.db`);
    const first = await openPipeline(a, db, { via, confirmations: 1 });
    const outs = await first.p.submit([transfer('t', 0), transfer('t', 1)]);
    await first.p.stop();
    const { p, registry } = await openPipeline(a, db, { via, confirmations: 1 });
    pipe = p;
    const evs = recordEvents(p, 't');
    // both re-sent at open; anvil answers "transaction already imported"
    expect(await metric(registry, 'gridlink_tx_rebroadcast_total')).toBe(2);
    expect(await metric(registry, 'gridlink_tx_rpc_errors_total')).toBe(0);
    await mineAndPoll(a, p, 2);
    for (const o of outs) expect(types(evs, (o as { txId: number }).txId)).toEqual(['mined', 'confirmed']);
    expect(await chainTxsFrom(a, p.address)).toHaveLength(2);
  });

  it('a nonce hole below stored transactions (restored database) is filled with a 0-value self-transfer at open', async () => {
    const a = await manualAnvil();
    db = openTestDb(tmp.dir, `hole-${via.replace(' ', '-')}.db`);
    const first = await openPipeline(a, db, { via, confirmations: 1 });
    const outs = await first.p.submit([transfer('t', 0), transfer('t', 1), transfer('t', 2)]);
    await first.p.stop();
    const mid = outs[1] as { txId: number; hash: Hex };
    // The middle one never reached the chain and its row is gone (an older backup, say).
    await a.request('anvil_dropTransaction', [mid.hash]);
    db.prepare('DELETE FROM tx_attempts WHERE tx_id = ?').run(mid.txId);
    db.prepare('DELETE FROM txs WHERE id = ?').run(mid.txId);
    const { p } = await openPipeline(a, db, { via, confirmations: 1 });
    pipe = p;
    const evs = recordEvents(p, 't');
    await mineAndPoll(a, p, 3);
    const rows = txRows(db);
    expect(rows.map((r) => [r.nonce, r.kind, r.state])).toEqual([
      [0, 't', 'confirmed'],
      [1, 'txpipeline.fill', 'confirmed'],
      [2, 't', 'confirmed'],
    ]);
    expect(evs.filter((e) => e.type === 'confirmed')).toHaveLength(2); // fillers have no owner
    const onChain = await chainTxsFrom(a, p.address);
    const filler = onChain.find((t) => t.nonce === 1)!;
    const tx = (await a.request('eth_getTransactionByHash', [filler.hash])) as { to: string; value: Hex };
    expect(tx.to.toLowerCase()).toBe(p.address.toLowerCase());
    expect(BigInt(tx.value)).toBe(0n);
  });
});

// What owners see: handlers inside the pipeline's SQLite transaction (a
// throwing handler rolls the change back and it is retried), events queued
// until a handler is registered, lookups by ref; plus a node without
// eth_getBlockReceipts, websocket head notifications, and a key that never
// reaches the logs.
import { afterEach, describe, expect, it } from 'vitest';

import { HeadSubscription } from '../../src/chain/heads.js';
import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import type { Db } from '../../src/state/db.js';
import type { TxPipeline } from '../../src/txpipeline/pipeline.js';
import type { TxEvent } from '../../src/txpipeline/types.js';
import { RpcFilter } from './rpc-filter.js';
import { captureLogger, metric, mineAndPoll, openPipeline, openTestDb, recordEvents, tmpDir, transfer, txRows, waitFor } from './helpers.js';

let anvil: Anvil | undefined;
let db: Db | undefined;
let pipe: TxPipeline | undefined;
const tmp = tmpDir();

let closeHeads: (() => Promise<void>) | undefined;

afterEach(async () => {
  await pipe?.stop();
  pipe = undefined;
  await closeHeads?.();
  closeHeads = undefined;
  db?.close();
  db = undefined;
  await anvil?.stop();
  anvil = undefined;
});

describe('txpipeline owners and node quirks', () => {
  it("a handler's own writes commit with the event; a throwing handler rolls the change back and gets it again", async () => {
    anvil = await startAnvil();
    await anvil.setAutomine(false);
    db = openTestDb(tmp.dir, 'handler.db');
    db.exec('CREATE TABLE owner_log (tx_id INTEGER, type TEXT)');
    const { p, registry } = await openPipeline(anvil, db, { confirmations: 1 });
    pipe = p;
    let failConfirm = true;
    const seen: string[] = [];
    p.on('t', (ev) => {
      db!.prepare('INSERT INTO owner_log VALUES (?, ?)').run(ev.tx.id, ev.type);
      seen.push(ev.type);
      if (ev.type === 'confirmed' && failConfirm) throw new Error('owner table locked');
    });
    await p.poll();
    const [o] = await p.submit([transfer('t', 1)]);
    if (!o?.ok) throw new Error('submit failed');
    await mineAndPoll(anvil, p, 1);
    expect(seen).toEqual(['mined', 'confirmed']);
    // the throw rolled back the confirmation and the owner's insert that came with it
    expect(txRows(db)[0]!.state).toBe('mined');
    expect(db.prepare('SELECT type FROM owner_log ORDER BY rowid').all()).toEqual([{ type: 'mined' }]);
    expect(await metric(registry, 'gridlink_tx_handler_errors_total')).toBe(1);
    expect(p.inFlight()).toBe(1);
    failConfirm = false;
    await p.poll();
    expect(seen).toEqual(['mined', 'confirmed', 'confirmed']);
    expect(txRows(db)[0]!.state).toBe('confirmed');
    expect(db.prepare('SELECT type FROM owner_log ORDER BY rowid').all()).toEqual([{ type: 'mined' }, { type: 'confirmed' }]);
    expect(p.inFlight()).toBe(0);
  });

  it('events of a kind with no handler yet are queued and delivered on on(); find() by ref', async () => {
    anvil = await startAnvil();
    await anvil.setAutomine(false);
    db = openTestDb(tmp.dir, 'queue.db');
    const { p } = await openPipeline(anvil, db, { confirmations: 1 });
    pipe = p;
    await p.poll();
    const [o] = await p.submit([transfer('late', 7)]);
    if (!o?.ok) throw new Error('submit failed');
    await mineAndPoll(anvil, p, 1);
    const evs = recordEvents(p, 'late');
    expect(evs.map((e) => e.type)).toEqual(['mined', 'confirmed']);
    const found = p.find('late', '7');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ id: o.txId, nonce: o.nonce, state: 'confirmed', attempts: 1, hash: o.hash });
    expect(p.get(o.txId)?.minedBlock).toBeGreaterThan(0n);
    expect(p.find('late', '8')).toEqual([]);
  });

  it('maxInFlight: submit waits for room, or answers retry (nothing taken) after submitWaitMs', async () => {
    anvil = await startAnvil();
    await anvil.setAutomine(false);
    db = openTestDb(tmp.dir, 'inflight.db');
    const { p } = await openPipeline(anvil, db, { confirmations: 1, maxInFlight: 2, submitWaitMs: 2000 });
    pipe = p;
    recordEvents(p, 't');
    await p.poll();
    const outs = await p.submit([transfer('t', 1), transfer('t', 2), transfer('t', 3)]);
    expect(outs.map((o) => o.ok)).toEqual([true, true, false]);
    expect((outs[2] as { retry: Error }).retry.message).toMatch(/2 transactions in flight \(maxInFlight 2\)/);
    expect(txRows(db)).toHaveLength(2);
    // a waiting submit goes on as soon as confirmations free room
    const waiting = p.submit([transfer('t', 3)]);
    await mineAndPoll(anvil, p, 1);
    const [late] = await waiting;
    expect(late).toMatchObject({ ok: true, nonce: 2 });
  });

  it('a node without eth_getBlockReceipts: receipts are read one by one', async () => {
    anvil = await startAnvil({ blockTime: 1 });
    const filter = await RpcFilter.start(anvil.rpcUrl, ['eth_getBlockReceipts']);
    try {
      db = openTestDb(tmp.dir, 'noblockreceipts.db');
      const { p } = await openPipeline(anvil, db, { rpcUrl: filter.url, confirmations: 1 });
      pipe = p;
      const evs = recordEvents(p, 't');
      p.start();
      const outs = await p.submit([transfer('t', 1), transfer('t', 2), transfer('t', 3)]);
      expect(outs.every((o) => o.ok)).toBe(true);
      await waitFor('confirmed', () => evs.filter((e) => e.type === 'confirmed').length === 3, 20_000);
      await p.stop();
      pipe = undefined;
      expect(filter.count('eth_getBlockReceipts')).toBe(1); // tried once, then not again
      expect(filter.count('eth_getTransactionReceipt')).toBeGreaterThanOrEqual(3);
    } finally {
      await filter.stop();
    }
  });

  it('with the process\'s head subscription, a new head triggers a poll at once (pollMs 10 s here)', async () => {
    anvil = await startAnvil({ blockTime: 1 });
    db = openTestDb(tmp.dir, 'ws.db');
    const heads = new HeadSubscription(anvil.wsUrl, captureLogger('warn').logger);
    heads.start();
    closeHeads = () => heads.close();
    const { p } = await openPipeline(anvil, db, { heads, pollMs: 10_000, confirmations: 2 });
    pipe = p;
    const evs = recordEvents(p, 't');
    p.start();
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const [o] = await p.submit([transfer('t', 1)]);
    expect(o?.ok).toBe(true);
    await waitFor('confirmed', () => evs.some((e: TxEvent) => e.type === 'confirmed'), 9_000);
    expect(Date.now() - t0).toBeLessThan(9_000);
  });

  it('the private key never reaches the logs', async () => {
    anvil = await startAnvil();
    db = openTestDb(tmp.dir, 'logs.db');
    const log = captureLogger('trace');
    const key = anvil.accounts[4]!.privateKey;
    const { p } = await openPipeline(anvil, db, { privateKey: key, confirmations: 1, logger: log.logger, maxFeePerGasWei: 10n ** 9n });
    pipe = p;
    p.on('t', () => {});
    await p.submit([transfer('t', 1)]);
    await mineAndPoll(anvil, p, 3);
    expect(log.lines.length).toBeGreaterThan(2);
    const all = JSON.stringify(log.lines).toLowerCase();
    expect(all).not.toContain(key.slice(2).toLowerCase());
  });
});

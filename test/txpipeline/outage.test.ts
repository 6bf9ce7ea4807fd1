// The RPC misbehaving: down for 60 s mid-burst, answering HTTP 503, behind
// the blocks already processed. Through a loopback proxy (proxy.ts).
import { afterAll, describe, expect, it } from 'vitest';

import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import type { MetaSchedulerError } from '../../src/metascheduler/errors.js';
import type { TxPipeline } from '../../src/txpipeline/pipeline.js';
import type { SubmitOutcome, TxEvent } from '../../src/txpipeline/types.js';
import { TcpProxy } from './proxy.js';
import {
  captureLogger, chainNonce, chainTxsFrom, metric, mineAndPoll, openPipeline, openTestDb, recordEvents, refOf, tmpDir, transfer, txRows, waitFor,
} from './helpers.js';

const tmp = tmpDir();
afterAll(() => tmp.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('txpipeline with an unreliable RPC', () => {
  it('survives the RPC being down for 60 s mid-burst: failed broadcasts are retried, nothing lost or doubled', async () => {
    const anvil = await startAnvil({ blockTime: 1 });
    const proxy = await TcpProxy.start(anvil.port);
    const db = openTestDb(tmp.dir, 'down.db');
    const log = captureLogger('info');
    let p: TxPipeline<MetaSchedulerError> | undefined;
    try {
      const opened = await openPipeline(anvil, db, { rpcUrl: proxy.url, confirmations: 2, pollMs: 200, rpcTimeoutMs: 5000, maxCatchUpBlocks: 30, logger: log.logger });
      p = opened.p;
      const pipe = p;
      const { registry } = opened;
      const evs = recordEvents(pipe, 'burst');
      pipe.start();

      const COUNT = 1000;
      const CHUNK = 50;
      const todo = Array.from({ length: COUNT }, (_, i) => i);
      const accepted = new Map<number, number>(); // ref -> tx id
      let retries = 0;
      let downAt: number | undefined;
      let storedWhileDown = 0;
      let isDown = false;
      let healthDuringOutage: ReturnType<TxPipeline['health']> | undefined;
      // The owner: submits in chunks, re-queues what came back `retry`.
      const owner = (async () => {
        while (todo.length) {
          const refs = todo.splice(0, CHUNK);
          const cutHere = downAt === undefined && accepted.size >= 300;
          const outs: SubmitOutcome[] = await pipe.submit(refs.map((r) => transfer('burst', r)), {
            onSigned: (_req, _tx, i) => {
              // Inside the SQLite transaction storing this chunk: the RPC goes away before its broadcast.
              if (cutHere && i === 0) {
                downAt = Date.now();
                isDown = true;
                void proxy.down();
              }
              if (isDown) storedWhileDown++;
            },
          });
          outs.forEach((o, k) => {
            if (o.ok) accepted.set(refs[k]!, o.txId);
            else if ('retry' in o) {
              retries++;
              todo.push(refs[k]!);
            } else throw new Error(`unexpected revert: ${o.revert.message}`);
          });
          if (outs.some((o) => !o.ok)) await sleep(500);
        }
      })();

      await waitFor('the outage to start', () => downAt !== undefined, 60_000);
      await sleep(30_000);
      healthDuringOutage = pipe.health();
      await sleep(Math.max(0, downAt! + 60_000 - Date.now()));
      await proxy.up();
      isDown = false;
      await owner;
      await waitFor('all confirmed', () => evs.filter((e) => e.type === 'confirmed').length >= COUNT, 120_000);

      expect(storedWhileDown).toBe(CHUNK); // that chunk was stored, its broadcast failed
      expect(retries).toBeGreaterThan(0); // submits during the outage took nothing
      expect(healthDuringOutage?.ok).toBe(false);
      expect(healthDuringOutage?.error).toMatch(/network/);
      expect(await metric(registry, 'gridlink_tx_rpc_errors_total', { class: 'network' })).toBeGreaterThan(0);
      expect(await metric(registry, 'gridlink_tx_rebroadcast_total')).toBeGreaterThanOrEqual(CHUNK);
      expect(log.lines.some((l) => String(l.msg).includes('far behind'))).toBe(true); // 60 blocks > maxCatchUpBlocks: jumped

      const rows = txRows(db);
      expect(rows).toHaveLength(COUNT);
      expect(rows.map((r) => r.nonce)).toEqual(rows.map((_, i) => i));
      expect(rows.every((r) => r.state === 'confirmed')).toBe(true);
      const onChain = await chainTxsFrom(anvil, pipe.address);
      expect(onChain.map((t) => refOf(t.input)).sort((a, b) => a - b)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      expect(await chainNonce(anvil, pipe.address)).toBe(COUNT);
      const confirmed = evs.filter((e): e is Extract<TxEvent, { type: 'confirmed' }> => e.type === 'confirmed');
      expect(new Set(confirmed.map((e) => e.tx.id)).size).toBe(COUNT);
      expect(pipe.health().ok).toBe(true);
    } finally {
      await p?.stop();
      db.close();
      await proxy.stop();
      await anvil.stop();
    }
  }, 240_000);

  it('HTTP 503 from the RPC: submits answer retry and take nothing; health reports it; recovers', async () => {
    const anvil = await startAnvil();
    const proxy = await TcpProxy.start(anvil.port);
    const db = openTestDb(tmp.dir, '503.db');
    const { p, registry } = await openPipeline(anvil, db, { rpcUrl: proxy.url, confirmations: 1 });
    try {
      const evs = recordEvents(p, 't');
      await p.poll();
      expect(p.health().ok).toBe(true);
      proxy.http503();
      // (the first request may still hit a connection the proxy just killed: network)
      await waitFor('a 503', async () => {
        await p.poll();
        return /^server/.test(p.health().error ?? '');
      }, 10_000);
      expect(p.health()).toMatchObject({ ok: false });
      const outs = await p.submit([transfer('t', 1), transfer('t', 2)]);
      expect(outs.every((o) => !o.ok && 'retry' in o)).toBe(true);
      expect(txRows(db)).toHaveLength(0);
      expect(await metric(registry, 'gridlink_tx_rpc_errors_total', { class: 'server' })).toBeGreaterThan(0);
      await proxy.up();
      const again = await p.submit([transfer('t', 1), transfer('t', 2)]);
      expect(again.map((o) => o.ok && o.nonce)).toEqual([0, 1]);
      await waitFor('confirmed', async () => {
        await anvil.mine();
        await p.poll();
        return evs.filter((e) => e.type === 'confirmed').length === 2;
      }, 20_000);
      expect(p.health().ok).toBe(true);
    } finally {
      await p.stop();
      db.close();
      await proxy.stop();
      await anvil.stop();
    }
  });

  it('an RPC behind the processed blocks is waited for, not taken for a reorg', async () => {
    const a = await startAnvil();
    const b = await startAnvil(); // same chain id, a shorter chain: a lagging replica behind a load balancer
    const proxy = await TcpProxy.start(a.port);
    const db = openTestDb(tmp.dir, 'behind.db');
    const log = captureLogger('info');
    const { p, registry } = await openPipeline(a, db, { rpcUrl: proxy.url, confirmations: 3, logger: log.logger });
    try {
      await a.setAutomine(false);
      const evs = recordEvents(p, 't');
      await mineAndPoll(a, p, 10);
      const [o] = await p.submit([transfer('t', 1)]);
      if (!o?.ok) throw new Error('submit failed');
      await mineAndPoll(a, p, 1);
      expect(evs.map((e) => e.type)).toEqual(['mined']);
      const processed = p.head()!;
      const blocks = db.prepare('SELECT * FROM chain_blocks ORDER BY number').all();

      proxy.switchUpstream(b.port);
      for (let i = 0; i < 5; i++) await p.poll();
      expect(p.head()).toBe(processed);
      expect(p.health()).toMatchObject({ ok: false, head: processed });
      expect(p.health().error).toMatch(/behind/);
      expect(p.health().lagBlocks).toBeLessThan(0);
      expect(evs.map((e) => e.type)).toEqual(['mined']); // no 'unmined'
      expect(db.prepare('SELECT * FROM chain_blocks ORDER BY number').all()).toEqual(blocks);
      expect(txRows(db)[0]!.state).toBe('mined');
      expect(await metric(registry, 'gridlink_tx_unmined_total')).toBe(0);

      proxy.switchUpstream(a.port);
      await mineAndPoll(a, p, 2);
      expect(evs.map((e) => e.type)).toEqual(['mined', 'confirmed']);
      expect(p.health().ok).toBe(true);
      expect(log.lines.some((l) => String(l.msg).includes('RPC is behind'))).toBe(true);
    } finally {
      await p.stop();
      db.close();
      await proxy.stop();
      await a.stop();
      await b.stop();
    }
  });
});

// kill -9 of a process running the pipeline in the middle of a burst, then
// reopen on the same database: every transaction mined exactly once, no gap.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import { TcpProxy } from './proxy.js';
import type { TxEvent } from '../../src/txpipeline/types.js';
import { chainNonce, chainTxsFrom, openPipeline, openTestDb, recordEvents, refOf, tmpDir, transfer, txRows, waitFor } from './helpers.js';
import { ACCOUNT_MODES, closeSigners, remoteSignerSettings } from './accounts.js';

const CHILD = fileURLToPath(new URL('./burst-child.ts', import.meta.url));
const COUNT = 600;

let anvil: Anvil;
const tmp = tmpDir();

beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 });
});
afterAll(async () => {
  await closeSigners();
  await anvil?.stop();
  tmp.cleanup();
});

describe.each(ACCOUNT_MODES)('txpipeline crash recovery (%s)', (via) => {
  it('kill -9 mid-burst, reopen: every transaction mined exactly once, nonces without a gap', async () => {
    // Each mode its own account and database: nonces counted from 0.
    const acct = anvil.accounts[via === 'local key' ? 0 : 1]!;
    const dir = path.join(tmp.dir, via.replace(' ', '-'));
    mkdirSync(dir);
    const signer = via === 'remote signer' ? await remoteSignerSettings(acct.privateKey) : undefined;
    // The child reaches anvil through a proxy that delays its requests by 2 s: a chunk is stored
    // (committed) well before its broadcast reaches the node, and the kill lands in between.
    const proxy = await TcpProxy.start(anvil.port);
    proxy.delayMs = 2000;
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ dir, rpcUrl: proxy.url, privateKey: acct.privateKey, count: COUNT, chunk: 40, parallel: 3, ...(signer ? { signer } : {}) })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      await waitFor('a few chunks submitted', () => (out.match(/^chunk /gm)?.length ?? 0) >= 3 || child.exitCode !== null, 90_000, 5);
      const signed = out.match(/^signed /gm)?.length ?? 0;
      await waitFor('another chunk signed', () => (out.match(/^signed /gm)?.length ?? 0) > signed || child.exitCode !== null, 30_000, 1);
      expect(child.exitCode, err).toBeNull();
      await new Promise((r) => setTimeout(r, 400)); // committed by now (only the commit followed the line); its broadcast is still in the proxy
    } finally {
      child.kill('SIGKILL');
      await exited;
      await proxy.stop();
    }
    expect(out).not.toContain('submitted'); // killed mid-burst

    const db = openTestDb(dir);
    const before = txRows(db);
    expect(before.length).toBeGreaterThan(0);
    expect(before.length).toBeLessThan(COUNT);
    // allocation, signing and insert are one transaction: the stored nonces have no hole
    expect(before.map((r) => r.nonce)).toEqual(before.map((_, i) => i));

    const unknown = (await Promise.all(before.map(async (r) => {
      const h = (db.prepare('SELECT hash FROM tx_attempts WHERE tx_id = ?').get(r.id) as { hash: string }).hash;
      return (await anvil.request('eth_getTransactionByHash', [h])) === null;
    }))).filter(Boolean).length;
    expect(unknown).toBeGreaterThan(0); // stored, signed, never broadcast: the reopen must send them
    const { p } = await openPipeline(anvil, db, { via, privateKey: acct.privateKey, confirmations: 1 });
    const evs = recordEvents(p, 'burst');
    p.start();
    // The owner re-plans what the dead process never stored.
    const stored = new Set(before.map((r) => Number(r.ref)));
    const missing = Array.from({ length: COUNT }, (_, i) => i).filter((i) => !stored.has(i));
    const outs = await p.submit(missing.map((i) => transfer('burst', i)));
    expect(outs.every((o) => o.ok)).toBe(true);
    await waitFor('all confirmed', () => txRows(db).every((r) => r.state === 'confirmed') && p.inFlight() === 0, 90_000);

    const rows = txRows(db);
    expect(rows).toHaveLength(COUNT);
    expect(rows.map((r) => r.nonce)).toEqual(rows.map((_, i) => i));
    const onChain = await chainTxsFrom(anvil, acct.address);
    expect(onChain).toHaveLength(COUNT);
    const refs = onChain.map((t) => refOf(t.input)).sort((a, b) => a - b);
    expect(refs).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    expect(await chainNonce(anvil, acct.address)).toBe(COUNT);
    // every row's mined hash is the one on chain for its nonce
    const byNonce = new Map(onChain.map((t) => [t.nonce, t.hash.toLowerCase()]));
    for (const r of rows) expect(r.mined_hash).toBe(byNonce.get(r.nonce));
    // events after the reopen: each confirmed once
    const confirmed = evs.filter((e): e is Extract<TxEvent, { type: 'confirmed' }> => e.type === 'confirmed');
    expect(new Set(confirmed.map((e) => e.tx.id)).size).toBe(confirmed.length);
    await p.stop();
    db.close();
  });
});

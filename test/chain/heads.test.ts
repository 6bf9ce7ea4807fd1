// The process's one new-head subscription (src/chain/heads.ts): every
// subscriber gets each head, and close() leaves no handle behind, whether the
// socket is open, still opening, or never opened (the supervisor with
// chain.wsUrl once stayed up after SIGTERM on a leftover socket's keep-alive).
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HeadSubscription } from '../../src/chain/heads.js';
import { freePort } from '../../harness/cluster/ports.js';
import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import { captureLogger } from '../txpipeline/helpers.js';
import { exitOf, PROMPT_EXIT_MS } from '../helpers/sigterm.js';

let anvil: Anvil;
beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 });
});
afterAll(async () => {
  await anvil?.stop();
});

const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
const settle = () => new Promise((r) => setTimeout(r, 200));

describe('HeadSubscription', () => {
  it('two subscribers started together share it; after close() the process ends by itself', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'heads-child.ts'), anvil.wsUrl], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let closedAt = 0;
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (!closedAt && out.includes('closed')) closedAt = Date.now();
    });
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const e = await exitOf(child);
    clearTimeout(t);
    expect(e, out).toEqual({ code: 0, signal: null });
    expect(out).toMatch(/^heads [1-9]\d* [1-9]\d*$/m);
    expect(Date.now() - closedAt).toBeLessThan(PROMPT_EXIT_MS);
  });

  it('each head reaches every subscriber; an unsubscribed one gets no more', async () => {
    const base = sockets();
    const heads = new HeadSubscription(anvil.wsUrl, captureLogger('warn').logger);
    const a: bigint[] = [];
    const b: bigint[] = [];
    heads.onHead((n) => a.push(n));
    const offB = heads.onHead((n) => b.push(n));
    heads.start();
    const deadline = Date.now() + 10_000;
    while (b.length < 1 && Date.now() < deadline) await settle();
    offB();
    const bAt = b.length;
    while (a.length < bAt + 2 && Date.now() < deadline) await settle();
    expect(b.length).toBe(bAt);
    expect(a.length).toBeGreaterThanOrEqual(bAt + 2);
    expect(a[a.length - 1]! > a[0]!).toBe(true);
    expect(sockets()).toBe(base + 1);
    await heads.close();
    await settle();
    expect(sockets()).toBe(base);
  });

  it('closed while the socket is still opening, or never reachable: nothing left open', async () => {
    const base = sockets();
    const opening = new HeadSubscription(anvil.wsUrl, captureLogger('warn').logger);
    opening.start();
    await opening.close();
    const log = captureLogger('warn');
    const nowhere = new HeadSubscription(`ws://127.0.0.1:${await freePort()}`, log.logger);
    nowhere.start();
    await settle();
    await nowhere.close();
    await settle();
    expect(sockets()).toBe(base);
    expect(JSON.stringify(log.lines)).toMatch(/cannot open the WebSocket for new heads; polling only/);
  });
});

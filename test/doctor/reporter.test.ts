import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, describe, expect, it } from 'vitest';

import { checkReporter, ingestUrl } from '../../src/doctor/reporter.js';
import { configInput, ctxOf } from './helpers.js';

const servers: Server[] = [];
async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}
afterAll(() => servers.forEach((s) => s.closeAllConnections?.() ?? s.close()));

const ctxFor = (port: number) => ctxOf({ input: configInput({ ingest: { listen: { host: '127.0.0.1', port }, storeDir: '/tmp/x' } }), callTimeoutMs: 500 });

describe('reporter check', () => {
  it('maps a wildcard listen address to loopback', () => {
    expect(ingestUrl({ host: '0.0.0.0', port: 7390 })).toBe('http://127.0.0.1:7390');
    expect(ingestUrl({ host: '::', port: 7390 })).toBe('http://[::1]:7390');
  });

  it('ok on 200, fail on 503, on a server that never answers and on a closed port', async () => {
    const good = await serve((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end('{"ok":true}'));
    expect(await checkReporter(ctxFor(good), new AbortController().signal)).toMatchObject({ status: 'ok', detail: `http://127.0.0.1:${good}/healthz answered 200` });
    const sick = await serve((_req, res) => res.writeHead(503).end('{"ok":false,"error":"disk"}'));
    expect((await checkReporter(ctxFor(sick), new AbortController().signal)).detail).toMatch(/answered 503: .*disk/);
    const hung = await serve(() => undefined);
    const r = await checkReporter(ctxFor(hung), new AbortController().signal);
    expect(r).toMatchObject({ status: 'fail', detail: `http://127.0.0.1:${hung}/healthz: no answer within 0.5 s` });
    const closed = await serve(() => undefined);
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 50));
    expect((await checkReporter(ctxFor(closed), new AbortController().signal)).detail).toMatch(/ECONNREFUSED/);
  });

  it('is skipped without a configuration', async () => {
    expect(await checkReporter(ctxOf(), new AbortController().signal)).toMatchObject({ status: 'skip' });
  });
});

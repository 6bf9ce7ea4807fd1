// Both HTTP clients behind the relay's Transport classify every kind of
// answer the same way (protocol.ts), time out, stop, and keep one connection.
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { AUTH_HEADER, INGEST_PATH } from '../../src/relay/protocol.js';
import { createTransport } from '../../src/relay/choose-transport.js';
import type { HttpClientKind, Transport } from '../../src/relay/transport.js';

let server: Server | undefined;
let transport: Transport | undefined;
afterEach(async () => {
  await transport?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
  transport = undefined;
});

interface Seen {
  path?: string;
  auth?: string;
  body?: string;
  sockets: Set<unknown>;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; seen: Seen }> {
  const seen: Seen = { sockets: new Set() };
  server = createServer((req, res) => {
    seen.sockets.add(req.socket);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.path = req.url;
      seen.auth = req.headers[AUTH_HEADER] as string;
      seen.body = Buffer.concat(chunks).toString();
      handler(req, res);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/base/`, seen };
}

const body = new TextEncoder().encode('{"version":1}');
const answer = (status: number, text: string) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
};

describe.each(['undici', 'node'] as HttpClientKind[])('transport over %s', (httpClient) => {
  it('posts the body with the auth header to <base>/v1/events and reads a 200 IngestResult', async () => {
    const { url, seen } = await serve(answer(200, JSON.stringify({ stored: 1, duplicates: 0, rejected: [] })));
    transport = createTransport(url, { requestTimeoutMs: 2000, httpClient });
    expect(await transport.post(body, 'munge CRED')).toEqual({ kind: 'stored', result: { stored: 1, duplicates: 0, rejected: [] } });
    expect(seen.path).toBe(`/base${INGEST_PATH}`);
    expect(seen.auth).toBe('munge CRED');
    expect(seen.body).toBe('{"version":1}');
  });

  it('classifies 400, 413, 401, 500 and a 200 without an IngestResult', async () => {
    const plan = [
      [400, 'bad batch', 'invalid'],
      [413, 'too big', 'too-large'],
      [401, 'replayed', 'retry'],
      [500, 'disk full', 'retry'],
      [200, '<html>', 'retry'],
    ] as const;
    let i = 0;
    const { url, seen } = await serve((req, res) => answer(plan[i]![0], plan[i++]![1])(req, res));
    transport = createTransport(url, { requestTimeoutMs: 2000, httpClient });
    for (const [, , kind] of plan) expect((await transport.post(body, 'a')).kind).toBe(kind);
    expect(seen.sockets.size).toBe(1); // one keep-alive connection for every batch
  });

  it('retries when nothing listens, and when the reporter does not answer in time', async () => {
    transport = createTransport('http://127.0.0.1:9/', { requestTimeoutMs: 2000, httpClient });
    const refused = await transport.post(body, 'a');
    expect(refused).toMatchObject({ kind: 'retry', detail: expect.stringMatching(/ECONNREFUSED/) });
    await transport.close();
    const { url } = await serve(() => {}); // never answers
    transport = createTransport(url, { requestTimeoutMs: 300, httpClient });
    const t0 = Date.now();
    const slow = await transport.post(body, 'a');
    expect(slow).toMatchObject({ kind: 'retry', detail: expect.stringMatching(/no answer within 300 ms|timeout/) });
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('gives up at once when the relay stops', async () => {
    const { url } = await serve(() => {});
    transport = createTransport(url, { requestTimeoutMs: 10_000, httpClient });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    expect(await transport.post(body, 'a', ac.signal)).toMatchObject({ kind: 'retry', detail: expect.stringMatching(/relay stopping/) });
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

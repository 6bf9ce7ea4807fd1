// A remote signer on loopback for the tests: an HTTPS server (certificates
// from a throwaway openssl CA, harness/directory/certs.ts) in front of an anvil
// whose dev accounts are unlocked, so it answers eth_signTransaction and
// eth_sign as web3signer does. It can require a client certificate, be taken
// down and brought up again on the same port, and delay its answers.
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';

import { makeTestCa, type TestCa } from '../../harness/directory/certs.js';

export interface SignerProxy {
  url: string;
  ca: TestCa;
  /** A client certificate the proxy accepts. */
  client: { certFile: string; keyFile: string };
  /** JSON-RPC requests answered. */
  answered: number;
  /** Delay before each answer. */
  delayMs: number;
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSignerProxy(target: string, o: { dir: string; requireClientCert?: boolean }): Promise<SignerProxy> {
  const ca = makeTestCa(path.join(o.dir, 'ca'), 'signer CA');
  const server = ca.issue('signer', { ipSans: ['127.0.0.1'], dnsNames: ['localhost'] });
  const client = ca.issue('client', { dnsNames: ['gridlink-supervisor'] });
  const sockets = new Set<Socket>();
  let srv: Server | undefined;
  let port = 0;
  const state = { answered: 0, delayMs: 0 };

  const listen = async () => {
    const s = createServer(
      {
        key: readFileSync(server.keyFile),
        cert: readFileSync(server.certFile),
        ca: readFileSync(ca.caFile),
        requestCert: o.requireClientCert ?? false,
        rejectUnauthorized: o.requireClientCert ?? false,
      },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          void (async () => {
            if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
            try {
              const r = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) });
              const body = await r.text();
              state.answered++;
              res.writeHead(r.status, { 'content-type': 'application/json' }).end(body);
            } catch {
              res.writeHead(502).end();
            }
          })();
        });
      },
    );
    s.on('connection', (c: Socket) => {
      sockets.add(c);
      c.once('close', () => sockets.delete(c));
    });
    s.on('tlsClientError', () => {});
    s.listen(port, '127.0.0.1');
    await once(s, 'listening');
    port = (s.address() as { port: number }).port;
    srv = s;
  };
  const down = async () => {
    const s = srv;
    srv = undefined;
    if (!s) return;
    const closed = new Promise<void>((r) => s.close(() => r()));
    for (const c of sockets) c.destroy();
    await closed;
  };
  await listen();
  return {
    url: `https://127.0.0.1:${port}`,
    ca,
    client,
    get answered() {
      return state.answered;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(v: number) {
      state.delayMs = v;
    },
    down,
    up: listen,
    stop: down,
  } as SignerProxy;
}

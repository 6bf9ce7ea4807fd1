// ops-server.ts - the small HTTP endpoint operators scrape: GET /metrics
// (Prometheus text from a prom-client registry) and, when a health check is
// given, GET /healthz (200 {"ok":true,...} or 503 {"ok":false,"error":...}).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Registry } from 'prom-client';

export interface Health {
  ok: boolean;
  error?: string | undefined;
  [k: string]: unknown;
}

export interface OpsServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export function serveOps(opts: { registry: Registry; host: string; port: number; health?: () => Promise<Health> | Health }): Promise<OpsServer> {
  const { registry, health } = opts;
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else if (path === '/healthz' && health) {
      Promise.resolve()
        .then(health)
        .catch((err: Error): Health => ({ ok: false, error: err.message }))
        .then((h) => {
          const body = JSON.stringify(h, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
          res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(body);
        });
    } else res.writeHead(404).end(health ? 'see /metrics and /healthz\n' : 'see /metrics\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve metrics on ${opts.host}:${opts.port}: ${err.message}`)));
    server.listen(opts.port, opts.host, () => {
      const a = server.address() as AddressInfo;
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve({
        url: `http://${host}:${a.port}`,
        server,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

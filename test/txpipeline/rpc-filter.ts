// An HTTP JSON-RPC proxy that answers chosen methods with "method not found"
// (a node without eth_getBlockReceipts, say) and counts calls per method.
import { createServer, type Server } from 'node:http';

interface RpcReq {
  id: unknown;
  method: string;
}

export class RpcFilter {
  readonly calls = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(upstream: string, refuse: string[]): Promise<RpcFilter> {
    const refused = new Set(refuse);
    let self: RpcFilter | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RpcReq | RpcReq[];
          const items = Array.isArray(body) ? body : [body];
          for (const it of items) self!.calls.set(it.method, (self!.calls.get(it.method) ?? 0) + 1);
          const pass = items.filter((it) => !refused.has(it.method));
          let answers: Array<{ id: unknown }> = [];
          if (pass.length) {
            const r = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pass) });
            answers = (await r.json()) as Array<{ id: unknown }>;
          }
          const out = items.map((it) =>
            refused.has(it.method)
              ? { jsonrpc: '2.0', id: it.id, error: { code: -32601, message: `the method ${it.method} does not exist/is not available` } }
              : answers.find((a) => a.id === it.id),
          );
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(Array.isArray(body) ? out : out[0]));
        })().catch((err: unknown) => {
          res.statusCode = 502;
          res.end(String(err));
        });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const a = server.address();
    const port = a && typeof a === 'object' ? a.port : 0;
    self = new RpcFilter(server, `http://127.0.0.1:${port}`);
    return self;
  }

  count(method: string): number {
    return this.calls.get(method) ?? 0;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

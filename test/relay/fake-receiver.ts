// fake-receiver.ts - a protocol-faithful stand-in for the reporter's ingest
// endpoint (src/relay/protocol.ts), scriptable per request.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { mungeDecode } from '../../src/native/munge.js';
import { PipelineOrder } from '../../src/reporter/ingest/pipeline-order.js';
import {
  AUTH_HEADER,
  INGEST_PATH,
  bodyDigestHex,
  eventBatchSchema,
  hmacSignature,
  wireEventSchema,
  type IngestResult,
  type WireEvent,
} from '../../src/relay/protocol.js';

export interface ReceivedRequest {
  at: number;
  path: string;
  auth: string | undefined;
  body: Buffer;
  /** Set when the body parsed as an EventBatch. */
  batch?: { spoolId: string; host: string; daemon: string; pipeline?: { round: string; index: number }; records: unknown[] };
  status?: number;
  authOk?: boolean;
}

/** What to do with one request: answer normally ('ingest'), or a scripted answer. */
export type Script =
  | 'ingest'
  | { status: number; body?: string }
  | { hangMs: number }
  /** Wait, then ingest normally. */
  | { delayMs: number }
  | { rejectIndexes: number[]; reason: string };

export interface FakeReceiverOptions {
  /** Called for each POST; default always 'ingest'. */
  script?: (req: ReceivedRequest, n: number) => Script;
  /** Verify X-Gridlink-Auth: munge (decode + digest), hmac (key), or not at all. */
  verify?: { kind: 'munge' } | { kind: 'hmac'; keyId: string; key: Buffer } | { kind: 'none' };
}

export class FakeReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Stored records in arrival order, deduplicated by (spoolId, seq). */
  readonly stored: WireEvent[] = [];
  readonly #seen = new Set<string>();
  /** As the reporter does: a pipelined batch is stored only after the one before it in its round. */
  readonly #order = new PipelineOrder();
  duplicates = 0;
  #server: Server | undefined;
  #opts: FakeReceiverOptions;
  port = 0;

  constructor(opts: FakeReceiverOptions = {}) {
    this.#opts = opts;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setScript(script: FakeReceiverOptions['script']): void {
    this.#opts.script = script;
  }

  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** Closes the listener and every connection (the relay then sees ECONNREFUSED). */
  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const turn: { settle?: (storable: boolean) => void } = {};
    let status = 0;
    try {
      status = await this.#answer(req, res, turn);
    } finally {
      turn.settle?.(status === 200 || status === 400);
    }
  }

  async #answer(req: IncomingMessage, res: ServerResponse, turn: { settle?: (storable: boolean) => void }): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const rec: ReceivedRequest = { at: Date.now(), path: req.url ?? '', auth: req.headers[AUTH_HEADER] as string | undefined, body };
    this.requests.push(rec);
    const answer = (status: number, payload: unknown): number => {
      rec.status = status;
      if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end(typeof payload === 'string' ? payload : JSON.stringify(payload));
      return status;
    };
    if (req.method !== 'POST' || rec.path !== INGEST_PATH) return answer(404, { error: 'not found' });
    try {
      const parsed = eventBatchSchema.safeParse(JSON.parse(body.toString('utf8')));
      if (parsed.success) rec.batch = parsed.data;
    } catch {
      /* not JSON */
    }
    // Bodies are read in the order they arrived: the place in the round is taken at once.
    const ticket = rec.batch ? this.#order.take(rec.batch.pipeline) : undefined;
    if (ticket && !('refuse' in ticket)) turn.settle = ticket.settle;
    rec.authOk = await this.#verify(rec);
    const script = this.#opts.script?.(rec, this.requests.length) ?? 'ingest';
    if (typeof script === 'object' && 'hangMs' in script) {
      await new Promise((r) => setTimeout(r, script.hangMs));
      return answer(503, { error: 'too late' });
    }
    if (typeof script === 'object' && 'delayMs' in script) await new Promise((r) => setTimeout(r, script.delayMs));
    if (typeof script === 'object' && 'status' in script) return answer(script.status, script.body ?? { error: `scripted ${script.status}` });
    if (!rec.authOk) return answer(401, { error: 'bad credential' });
    if (!rec.batch) return answer(400, { error: 'not an EventBatch' });
    if (ticket && 'refuse' in ticket) return answer(503, { error: 'out_of_order' });
    if (ticket?.before && !(await ticket.before)) return answer(503, { error: 'earlier_batch_failed' });
    const reject = typeof script === 'object' && 'rejectIndexes' in script ? script : undefined;
    const result: IngestResult = { stored: 0, duplicates: 0, rejected: [] };
    rec.batch.records.forEach((r, index) => {
      const ok = wireEventSchema.safeParse(r);
      const seq = (r as { seq?: string }).seq;
      if (!ok.success || reject?.rejectIndexes.includes(index)) {
        result.rejected.push({ index, seq, reason: ok.success ? reject!.reason : ok.error.message });
        return;
      }
      const key = `${rec.batch!.spoolId}:${ok.data.seq}`;
      if (this.#seen.has(key)) {
        result.duplicates++;
        this.duplicates++;
      } else {
        this.#seen.add(key);
        this.stored.push(ok.data);
        result.stored++;
      }
    });
    return answer(200, result);
  }

  async #verify(rec: ReceivedRequest): Promise<boolean> {
    const v = this.#opts.verify ?? { kind: 'none' };
    if (v.kind === 'none') return true;
    const auth = rec.auth ?? '';
    if (v.kind === 'munge') {
      if (!auth.startsWith('munge ')) return false;
      try {
        const d = await mungeDecode(auth.slice(6));
        return d.uid === 0 && d.payload.toString() === bodyDigestHex(rec.body);
      } catch {
        return false;
      }
    }
    const m = /^hmac-sha256 ([^:]+):(\d+):([0-9a-f]+):([0-9a-f]{64})$/.exec(auth);
    if (!m || m[1] !== v.keyId) return false;
    if (Math.abs(Date.now() / 1000 - Number(m[2])) > 300) return false;
    return hmacSignature(v.key, m[1], Number(m[2]), m[3]!, bodyDigestHex(rec.body)) === m[4];
  }
}

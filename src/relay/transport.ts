// transport.ts - POST one batch body to the reporter over one keep-alive
// connection, and classify the answer the way protocol.ts defines it.
//
// Two HTTP clients behind one Transport: undici (the default, here) and Node's
// own http/https (http_client=node, transport-node.ts), which the embedded
// runtime uses: undici compiles its WebAssembly HTTP parser when it loads,
// ~11 MB of RSS in every slurmctld and slurmd (bench/relay.ts). undici is
// imported only when chosen; choose-transport.ts picks one.
import type { Dispatcher } from 'undici';

import { AUTH_HEADER, INGEST_PATH, ingestResultSchema, type IngestResult } from './protocol.js';

export type HttpClientKind = 'undici' | 'node';

export type Answer =
  /** 200 IngestResult: ack the batch, quarantine `rejected`. */
  | { kind: 'stored'; result: IngestResult }
  /** 400: the batch is not valid: quarantine it whole, ack. */
  | { kind: 'invalid'; detail: string }
  /** 413: halve the batch. */
  | { kind: 'too-large'; detail: string }
  /** Anything else: nothing is known stored; rewind, back off, retry. */
  | { kind: 'retry'; status?: number; detail: string; hint: string };

export interface Transport {
  /** Calls made before this one are sent before it on the connection (several may be on their way at once). */
  post(body: Uint8Array, auth: string, signal?: AbortSignal): Promise<Answer>;
  /**
   * Drops the connection with every request on it or queued (their posts
   * answer 'retry'; none is sent again); the next post opens a new one.
   */
  reset?(): Promise<void>;
  close(): Promise<void>;
}

const MAX_ANSWER_BYTES = 1 << 20;

export function ingestUrl(reporterUrl: string): URL {
  const u = new URL(reporterUrl);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${INGEST_PATH}`;
  u.search = '';
  u.hash = '';
  return u;
}

export interface TransportOptions {
  requestTimeoutMs: number;
  /** Requests pipelined on the connection (default 1). */
  pipelining?: number;
  /** Default undici. */
  httpClient?: HttpClientKind;
}

/**
 * One undici Client (one keep-alive connection) for the reporter's origin,
 * made at the first POST; up to `pipelining` requests on it at once (marked
 * idempotent, which undici requires to pipeline a POST: the reporter stores a
 * record once however often it is sent; and not blocking, or undici would
 * wait for each answer's headers before sending the next).
 */
export function createUndiciTransport(reporterUrl: string, opts: { requestTimeoutMs: number; pipelining?: number }): Transport {
  const url = ingestUrl(reporterUrl);
  // One promise, so concurrent first posts share one Client and keep their order.
  let client: Promise<Dispatcher> | undefined;
  const getClient = (): Promise<Dispatcher> =>
    (client ??= import('undici').then(
      ({ Client }) =>
        new Client(url.origin, {
          keepAliveTimeout: 30_000,
          headersTimeout: opts.requestTimeoutMs,
          bodyTimeout: opts.requestTimeoutMs,
          connectTimeout: Math.min(opts.requestTimeoutMs, 10_000),
          pipelining: opts.pipelining ?? 1,
        }),
    ));
  const drop = async (): Promise<void> => {
    const c = client;
    client = undefined;
    await (await c)?.destroy().catch(() => {});
  };
  const path = url.pathname;

  async function post(body: Uint8Array, auth: string, signal?: AbortSignal): Promise<Answer> {
    return withDeadline(url, opts.requestTimeoutMs, signal, async (abort) => {
      const res = await (await getClient()).request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', [AUTH_HEADER]: auth },
        body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        idempotent: true,
        blocking: false,
        signal: abort,
      });
      return classify(res.statusCode, await readLimited(res.body), url.href);
    });
  }

  return { post, reset: drop, close: drop };
}

export async function readLimited(body: AsyncIterable<Buffer> & { destroy?: () => void }): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > MAX_ANSWER_BYTES) {
      body.destroy?.();
      break;
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function snippet(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 300 ? `${t.slice(0, 300)}...` : t;
}

export function classify(status: number, text: string, where: string): Answer {
  if (status === 200) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const r = ingestResultSchema.safeParse(parsed);
    if (r.success) return { kind: 'stored', result: r.data };
    return {
      kind: 'retry',
      status,
      detail: `200 without an IngestResult body: ${snippet(text)}`,
      hint: `${where} is not a gridlink ingest endpoint, or a different version: check the reporter URL and version`,
    };
  }
  if (status === 400) return { kind: 'invalid', detail: snippet(text) || 'bad request' };
  if (status === 413) return { kind: 'too-large', detail: snippet(text) || 'payload too large' };
  if (status === 401 || status === 403)
    return {
      kind: 'retry',
      status,
      detail: snippet(text),
      hint: 'the reporter refused the credential: check that this host shares the munge key with the reporter host (munge -n | ssh REPORTER unmunge) and that the relay runs as root or SlurmUser, or that the HMAC key file and key id match the reporter\'s, and that clocks agree within 300 s',
    };
  if (status >= 500)
    return { kind: 'retry', status, detail: snippet(text), hint: 'the reporter could not store the batch: see the reporter\'s log (disk full? database down?)' };
  return {
    kind: 'retry',
    status,
    detail: snippet(text),
    hint: `unexpected HTTP ${status} from ${where}: check the reporter URL (it must be the reporter's base URL; the relay appends ${INGEST_PATH})`,
  };
}

/**
 * Runs one request under the relay's stop signal and a deadline, combined by
 * hand (AbortSignal.any is Node >= 20.3; the embedded runtime is Node 18).
 * A request that got no HTTP answer becomes a retry.
 */
export async function withDeadline(url: URL, timeoutMs: number, signal: AbortSignal | undefined, request: (abort: AbortSignal) => Promise<Answer>): Promise<Answer> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  const onStop = () => ac.abort(new Error('relay stopping'));
  signal?.addEventListener('abort', onStop, { once: true });
  if (signal?.aborted) onStop();
  try {
    return await request(ac.signal);
  } catch (err) {
    const reason = ac.signal.aborted ? (ac.signal.reason as Error) : (err as Error);
    return { kind: 'retry', detail: describeNetError(reason), hint: `check that the reporter at ${url.origin} is up and reachable from this host` };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onStop);
  }
}

export function describeNetError(err: Error): string {
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return `timeout: ${err.message}`;
  return code ? `${code}: ${err.message}` : err.message;
}

// transport.ts - POST one batch body to the reporter over a keep-alive undici
// Client, and classify the answer the way protocol.ts defines it.
import { Client, errors as undiciErrors } from 'undici';

import { AUTH_HEADER, INGEST_PATH, ingestResultSchema, type IngestResult } from './protocol.js';

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
  post(body: Uint8Array, auth: string, signal?: AbortSignal): Promise<Answer>;
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

/** One Client (one keep-alive connection) for the reporter's origin. */
export function createTransport(reporterUrl: string, opts: { requestTimeoutMs: number }): Transport {
  const url = ingestUrl(reporterUrl);
  const client = new Client(url.origin, {
    keepAliveTimeout: 30_000,
    headersTimeout: opts.requestTimeoutMs,
    bodyTimeout: opts.requestTimeoutMs,
    connectTimeout: Math.min(opts.requestTimeoutMs, 10_000),
  });
  const path = url.pathname;

  async function post(body: Uint8Array, auth: string, signal?: AbortSignal): Promise<Answer> {
    // AbortSignal.any is Node >= 20.3: combine the stop signal and the timeout by hand (Node 18).
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`no answer within ${opts.requestTimeoutMs} ms`)), opts.requestTimeoutMs);
    const onStop = () => ac.abort(new Error('relay stopping'));
    signal?.addEventListener('abort', onStop, { once: true });
    if (signal?.aborted) onStop();
    try {
      const res = await client.request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', [AUTH_HEADER]: auth },
        body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        signal: ac.signal,
      });
      const text = await readLimited(res.body);
      return classify(res.statusCode, text, url.href);
    } catch (err) {
      const reason = ac.signal.aborted ? (ac.signal.reason as Error) : (err as Error);
      return { kind: 'retry', detail: describeNetError(reason), hint: `check that the reporter at ${url.origin} is up and reachable from this host` };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onStop);
    }
  }

  return {
    post,
    async close() {
      await client.destroy().catch(() => {});
    },
  };
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy?: () => void }): Promise<string> {
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

function describeNetError(err: Error): string {
  const code = (err as { code?: string }).code;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) return `timeout: ${err.message}`;
  return code ? `${code}: ${err.message}` : err.message;
}

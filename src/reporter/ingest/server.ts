// server.ts - the reporter's ingest endpoint (node:http):
//   POST /v1/events   an EventBatch from a relay (src/relay/protocol.ts)
//   GET  /healthz     200 while the store can take writes, else 503
// Order of work for a batch: size limit, auth header syntax (both before the
// body is read), body read with the limit and hashed, credential verified
// against the body's digest, then JSON and schema, then each record on its
// own, then one append: handed to the store's writer thread, which commits
// it with the batches that arrive meanwhile (one SQLite transaction,
// synchronous=FULL); the answer is sent once that commit returned, and the
// event loop serves other requests meanwhile. A writer that dies stops the
// server (fatal log; `closed` resolves with the reason).
//
// A relay pipelines its batches (src/relay/relay.ts): a batch of a round is
// handed to the store only once the one before it in the round was answered,
// and only if that one was stored (./pipeline-order.ts); its parsing and
// checks overlap the commit before it. The batches of a connection take
// their place in that order in the order they arrived.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isUtf8 } from 'node:buffer';

import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';

import { mungeDecode } from '../../native/munge.js';
import { AUTH_HEADER, HMAC_MAX_SKEW_S, INGEST_PATH, type IngestResult, type WireEvent } from '../../relay/protocol.js';
import { parseEventBatch, parseWireEvent } from '../../relay/wire-parse.js';
import { formatZodIssues } from '../../util/zod-issues.js';
import { Authenticator, type AuthFailure, type MungeDecodeFn } from './auth.js';
import type { IngestConfig } from './config.js';
import { createIngestMetrics, type IngestMetrics } from './metrics.js';
import { NonceCache } from './nonces.js';
import { observeSpool } from './spool-metrics.js';
import { PipelineOrder } from './pipeline-order.js';
import { EventStore, StoreWriteError, seqProblem } from './store.js';
import type { Migration } from '../../state/migrations.js';

function migrationsOf(deps: IngestServerDeps): readonly Migration[] {
  if (!deps.migrations) throw new Error('ingest: pass a store, or the state database\'s migrations to open one (src/compose/state-schema.ts)');
  return deps.migrations;
}

export interface IngestServerDeps {
  logger?: Logger;
  /**
   * A store on the process's open state database (`new EventStore(db)`);
   * the HMAC nonces go to the same database. When given, stop() ends its
   * writer thread (the server is its only writer) and leaves the database
   * open (the caller owns it); otherwise the server opens `<storeDir>/gridlink.db`
   * with `migrations`.
   */
  store?: EventStore;
  /** The state database's versions (src/compose/state-schema.ts), when the server opens the store itself. */
  migrations?: readonly Migration[];
  registry?: Registry;
  /** Defaults to the addon's munge decode (libmunge). */
  mungeDecode?: MungeDecodeFn;
  /** Unix seconds, for the HMAC timestamp window; injectable for tests. */
  now?: () => number;
}

export interface IngestServer {
  /** e.g. http://127.0.0.1:7390 (the URL a relay is given, without the path). */
  url: string;
  host: string;
  port: number;
  store: EventStore;
  registry: Registry;
  metrics: IngestMetrics;
  /** Stops accepting, lets requests in flight finish (up to graceMs), ends the store's writer, closes the store if it opened it. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves once the server stopped: undefined after stop(), the reason when it stopped itself (the store's writer died). */
  closed: Promise<Error | undefined>;
}

type BatchResult = 'ok' | 'bad_request' | 'unauthorized' | 'forbidden' | 'too_large' | 'unavailable' | 'error';

const resultOf = (status: number): BatchResult =>
  status === 200
    ? 'ok'
    : status === 400
      ? 'bad_request'
      : status === 401
        ? 'unauthorized'
        : status === 403
          ? 'forbidden'
          : status === 413
            ? 'too_large'
            : status === 503
              ? 'unavailable'
              : 'error';

type BodyRead = { ok: true; body: Buffer; sha256: string } | { ok: false; why: 'too_large' | 'aborted' };

function readBody(req: IncomingMessage, max: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const hash = createHash('sha256');
    let n = 0;
    let done = false;
    const finish = (r: BodyRead): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(r);
    };
    const onData = (c: Buffer): void => {
      n += c.length;
      if (n > max) return finish({ ok: false, why: 'too_large' });
      hash.update(c);
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => finish({ ok: true, body: Buffer.concat(chunks, n), sha256: hash.digest('hex') }));
    req.once('error', () => finish({ ok: false, why: 'aborted' }));
    req.once('close', () => finish({ ok: false, why: 'aborted' }));
  });
}

export async function startIngestServer(config: IngestConfig, deps: IngestServerDeps = {}): Promise<IngestServer> {
  const log = deps.logger ?? pino({ name: 'gridlink-ingest' });
  const registry = deps.registry ?? new Registry();
  const metrics = createIngestMetrics(registry);
  for (const w of config.warnings) log.warn(w);
  const store = deps.store ?? EventStore.open(config.storeDir, { logger: log, migrations: migrationsOf(deps) });
  const ownsStore = !deps.store;
  const nowS = deps.now ?? ((): number => Math.floor(Date.now() / 1000));
  // HMAC nonces are kept in the events' database, so a request captured
  // before a restart stays refused.
  let nonces: NonceCache | undefined;
  if (config.hmacKeys.size > 0) {
    try {
      nonces = NonceCache.open(store.db, HMAC_MAX_SKEW_S, nowS());
    } catch (err) {
      if (ownsStore) await store.close();
      throw new Error(`ingest: cannot open the HMAC nonces in ${store.path}: ${(err as Error).message} (is the database writable?)`);
    }
  }
  const auth = new Authenticator({
    allowedUids: config.allowedUids,
    munge: config.munge,
    hmacKeys: config.hmacKeys,
    mungeDecode: deps.mungeDecode ?? mungeDecode,
    now: nowS,
    ...(nonces ? { nonces } : {}),
  });

  let closing = false;
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const data = Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(data.length),
      ...(closing ? { connection: 'close' } : {}),
      ...headers,
    });
    res.end(data);
  };

  /**
   * Answers before the body was read: the connection is closed after the
   * answer instead of reading a body we do not want.
   */
  const sendEarly = (res: ServerResponse, status: number, body: unknown): void => {
    send(res, status, body, { connection: 'close' });
  };

  const order = new PipelineOrder();
  /** Per connection: resolves once the last request on it took its place in its round (or ended before). */
  const placedOnSocket = new WeakMap<Socket, Promise<void>>();

  async function handleEvents(
    req: IncomingMessage,
    res: ServerResponse,
    expectContinue: boolean,
    turn: { after: Promise<void> | undefined; placed(): void; settle?: (storable: boolean) => void },
  ): Promise<number> {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const contentLength = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    const refuse = (status: number, reason: string, detail: string, early: boolean, extra: object = {}): number => {
      log.warn({ remote, status, reason, detail, contentLength, ...extra }, 'ingest: request refused');
      (early ? sendEarly : send)(res, status, { error: reason, message: detail });
      return status;
    };
    const refuseAuth = (f: AuthFailure, early: boolean): number => {
      metrics.authFailures.inc({ reason: f.reason });
      const extra = { ...(f.mode ? { mode: f.mode } : {}), ...(f.uid !== undefined ? { uid: f.uid } : {}), ...(f.keyId ? { keyId: f.keyId } : {}) };
      return refuse(f.status, f.reason, f.detail, early, extra);
    };

    if (contentLength !== undefined && contentLength > config.maxBodyBytes) {
      return refuse(413, 'too_large', `body of ${contentLength} bytes exceeds ${config.maxBodyBytes}; send smaller batches`, true);
    }
    const parsedAuth = auth.parseHeader(req.headers[AUTH_HEADER]);
    if ('ok' in parsedAuth) return refuseAuth(parsedAuth, true);

    if (expectContinue) res.writeContinue();
    const read = await readBody(req, config.maxBodyBytes);
    if (!read.ok) {
      if (read.why === 'aborted') {
        log.warn({ remote, contentLength }, 'ingest: client went away before sending the whole body');
        return 499;
      }
      return refuse(413, 'too_large', `body exceeds ${config.maxBodyBytes} bytes; send smaller batches`, true);
    }

    const verdict = await auth.verify(parsedAuth, read.sha256);
    if (!verdict.ok) return refuseAuth(verdict, false);
    const who = verdict.mode === 'munge' ? { mode: 'munge', uid: verdict.uid } : { mode: 'hmac', keyId: verdict.keyId };

    if (!isUtf8(read.body)) return refuse(400, 'bad_json', 'body is not valid UTF-8 JSON', false, who);
    let json: unknown;
    try {
      json = JSON.parse(read.body.toString('utf8'));
    } catch (err) {
      return refuse(400, 'bad_json', `body is not JSON: ${(err as Error).message}`, false, who);
    }
    const batch = parseEventBatch(json);
    if (!batch.success) return refuse(400, 'bad_batch', `not an EventBatch: ${formatZodIssues(batch.error.issues, 3)}`, false, who);
    await turn.after;
    const ticket = order.take(batch.data.pipeline);
    turn.placed();
    if ('refuse' in ticket) return refuse(503, 'out_of_order', ticket.refuse, false, who);
    turn.settle = ticket.settle;

    const valid: WireEvent[] = [];
    const rejected: IngestResult['rejected'] = [];
    batch.data.records.forEach((r, index) => {
      const ev = parseWireEvent(r);
      if (ev.success) {
        // The wire allows any u64; the store keeps seqs up to 2^63-1 (SQLite INTEGER).
        const problem = seqProblem(ev.data.seq);
        if (problem) rejected.push({ index, seq: ev.data.seq, reason: problem });
        else valid.push(ev.data);
      } else {
        const seq = typeof r === 'object' && r !== null && typeof (r as { seq?: unknown }).seq === 'string' ? (r as { seq: string }).seq : undefined;
        rejected.push({ index, ...(seq !== undefined ? { seq: seq.slice(0, 64) } : {}), reason: formatZodIssues(ev.error.issues, 3) });
      }
    });
    if (ticket.before && !(await ticket.before)) {
      return refuse(
        503,
        'earlier_batch_failed',
        'the batch before this one in its round was not stored, so this one was not either (a spool is stored in order); the relay sends it again from its ack position',
        false,
        who,
      );
    }
    const b = batch.data;
    let stored = 0;
    let duplicates = 0;
    if (valid.length > 0) {
      try {
        ({ stored, duplicates } = await store.append({ spoolId: b.spoolId, host: b.host, daemon: b.daemon, events: valid }));
      } catch (err) {
        const detail = err instanceof StoreWriteError ? err.message : `unexpected store error: ${(err as Error).message}`;
        log.error({ remote, spoolId: b.spoolId, records: valid.length, err }, 'ingest: batch not stored');
        send(res, 503, { error: 'store_failed', message: `${detail}; nothing stored, retry` });
        return 503;
      }
    }
    observeSpool(metrics.spool, b, valid, rejected);
    metrics.records.inc({ outcome: 'stored' }, stored);
    metrics.records.inc({ outcome: 'duplicate' }, duplicates);
    metrics.records.inc({ outcome: 'rejected' }, rejected.length);
    if (rejected.length > 0) {
      log.warn({ remote, spoolId: b.spoolId, host: b.host, daemon: b.daemon, rejected: rejected.slice(0, 20), ...who }, 'ingest: malformed records rejected');
    }
    log.debug({ remote, spoolId: b.spoolId, host: b.host, stored, duplicates, rejected: rejected.length, ...who }, 'ingest: batch accepted');
    const result: IngestResult = { stored, duplicates, rejected };
    send(res, 200, result);
    return 200;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' });
      const failure = store.failure;
      return send(res, failure ? 503 : 200, { ok: !failure, ...(failure ? { error: failure.message } : {}), records: store.counts().records });
    }
    if (path !== INGEST_PATH) return sendEarly(res, 404, { error: 'not_found', message: `POST ${INGEST_PATH} is the only endpoint` });
    if (req.method !== 'POST') return send(res, 405, { error: 'method_not_allowed', message: `use POST ${INGEST_PATH}` }, { allow: 'POST', connection: 'close' });
    const end = metrics.requestSeconds.startTimer();
    let placed!: () => void;
    const turn: Parameters<typeof handleEvents>[3] = { after: placedOnSocket.get(req.socket), placed: () => placed() };
    const mine = new Promise<void>((resolve) => (placed = resolve));
    // The next request on the connection waits for this one and every one before it.
    placedOnSocket.set(req.socket, turn.after ? Promise.all([turn.after, mine]).then(() => {}) : mine);
    let status = 500;
    try {
      status = await handleEvents(req, res, expectContinue, turn);
    } catch (err) {
      log.error({ err }, 'ingest: unexpected error');
      if (!res.headersSent) send(res, 500, { error: 'internal', message: 'internal error; see the reporter log' });
    } finally {
      placed();
      turn.settle?.(status === 200 || status === 400);
      if (status !== 499) {
        metrics.batches.inc({ result: resultOf(status) });
        end({ result: resultOf(status) });
      }
    }
  }

  const server: Server = createServer({ requestTimeout: config.requestTimeoutMs, headersTimeout: Math.min(config.requestTimeoutMs, 20_000) });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => void handle(req, res, false));
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => void handle(req, res, true));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code !== 'ECONNRESET' && socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? ' (another reporter running? pick another --listen port)' : err.code === 'EACCES' ? ' (ports below 1024 need root)' : '';
      reject(new Error(`ingest: cannot listen on ${config.host}:${config.port}: ${err.message}${hint}`));
    });
    server.listen(config.port, config.host, () => resolve());
  }).catch(async (err: unknown) => {
    await nonces?.close();
    if (ownsStore) await store.close();
    throw err;
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${hostForUrl}:${addr.port}`;
  log.info({ url, allowedUids: [...config.allowedUids], munge: config.munge !== null, hmacKeys: [...config.hmacKeys.keys()], store: store.path }, 'ingest: listening');

  let stopping: Promise<void> | undefined;
  let stoppedBy: Error | undefined;
  let resolveClosed!: (why: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((resolve) => (resolveClosed = resolve));
  const stop = (graceMs = 10_000): Promise<void> =>
    (stopping ??= (async () => {
      try {
        closing = true; // answers in flight close their connection
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await done;
        clearInterval(idle);
        clearTimeout(timer);
        await nonces?.close();
        await store.close();
        log.info({ url }, 'ingest: stopped');
      } finally {
        resolveClosed(stoppedBy);
      }
    })());
  void store.broken.then((err) => {
    if (stopping) return;
    stoppedBy = err;
    log.fatal({ err, url }, 'ingest: stopping: the event store cannot store batches (the relays keep theirs and retry); restart the reporter');
    void stop(2000);
  });

  return { url, host: addr.address, port: addr.port, store, registry, metrics, stop, closed };
}

// transport.ts - JSON-RPC over HTTPS to a remote signer (web3signer, Clef):
// one undici Agent carrying the TLS settings (the CA that must have issued
// the signer's certificate, an optional client certificate and key for
// mTLS), one POST per call with a deadline, and every failure turned into a
// RemoteSignerError whose kind says whether waiting can help ('unreachable')
// or the operator must change something (the others). Messages name the
// signer's URL and the setting to fix; never a key.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

import { Agent, request } from 'undici';

export type RemoteSignerErrorKind =
  /** Connection refused or reset, a timeout, HTTP 5xx/429: the signer is down or slow; wait and retry. */
  | 'unreachable'
  /** The TLS handshake failed: an unknown CA, a wrong host name, a client certificate refused or missing. */
  | 'tls'
  /** The signer answered and refused (a JSON-RPC error, HTTP 4xx): e.g. it does not hold the account. */
  | 'refused'
  /** It answered something that is not what was asked (another address, another transaction, not JSON-RPC). */
  | 'mismatch';

export class RemoteSignerError extends Error {
  override readonly name = 'RemoteSignerError';
  constructor(
    readonly kind: RemoteSignerErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface SignerTransportOptions {
  /** https://host:port[/path] (http:// only to a loopback address). */
  url: string;
  /** PEM file of the CA that issued the signer's certificate (default: the system's roots). */
  caFile?: string | undefined;
  /** PEM client certificate and its key, for a signer that requires mutual TLS. */
  certFile?: string | undefined;
  keyFile?: string | undefined;
  /** Deadline of one call (default 10 000 ms). */
  timeoutMs?: number | undefined;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO',
]);

const MAX_ANSWER_BYTES = 1 << 20;

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/** The URL, checked: https, or http to a loopback address only (the key's signatures must not cross a network in clear). */
export function signerUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RemoteSignerError('refused', `remote signer: ${JSON.stringify(url)} is not a URL: give chain.signer.url as https://host:port`);
  }
  if (u.protocol === 'https:') return u;
  if (u.protocol === 'http:' && isLoopback(u.hostname)) return u;
  throw new RemoteSignerError('refused', `remote signer: ${u.origin} is not https: serve the signer over TLS (chain.signer.caFile names its CA); plain http is accepted only on a loopback address`);
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new RemoteSignerError('tls', `remote signer: cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

/** The innermost error with a code (undici wraps socket errors). */
function codeOf(err: unknown): { code: string | undefined; message: string } {
  let e = err as { code?: string; message?: string; cause?: unknown } | undefined;
  let message = (e?.message ?? String(err)).split('\n')[0]!;
  for (let i = 0; e && i < 5; i++) {
    if (e.code && e.code !== 'UND_ERR_SOCKET' && e.code !== 'UND_ERR_CONNECT') return { code: e.code, message: (e.message ?? message).split('\n')[0]! };
    if (e.code) message = (e.message ?? message).split('\n')[0]!;
    e = e.cause as typeof e;
  }
  return { code: (err as { code?: string } | undefined)?.code, message };
}

export class SignerTransport {
  readonly url: URL;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly opts: SignerTransportOptions;
  private id = 0;

  constructor(o: SignerTransportOptions) {
    this.opts = o;
    this.url = signerUrl(o.url);
    if ((o.certFile === undefined) !== (o.keyFile === undefined)) {
      throw new RemoteSignerError('tls', 'remote signer: chain.signer.certFile and chain.signer.keyFile go together (the client certificate and its key): set both or neither');
    }
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.agent = new Agent({
      connect: {
        rejectUnauthorized: true,
        ...(o.caFile ? { ca: readPem(o.caFile, 'the CA file (chain.signer.caFile)') } : {}),
        ...(o.certFile ? { cert: readPem(o.certFile, 'the client certificate (chain.signer.certFile)') } : {}),
        ...(o.keyFile ? { key: readPem(o.keyFile, 'the client key (chain.signer.keyFile)') } : {}),
        timeout: this.timeoutMs,
      },
      keepAliveTimeout: 30_000,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      connections: 8,
    });
  }

  /** One JSON-RPC call; the result, or a RemoteSignerError. */
  async call(method: string, params: unknown[]): Promise<unknown> {
    const where = `remote signer ${this.url.origin}`;
    const body = JSON.stringify({ jsonrpc: '2.0', id: ++this.id, method, params });
    let status: number;
    let text: string;
    try {
      const res = await request(this.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.statusCode;
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const c of res.body as AsyncIterable<Buffer>) {
        n += c.length;
        if (n > MAX_ANSWER_BYTES) throw new RemoteSignerError('mismatch', `${where}: answer to ${method} larger than ${MAX_ANSWER_BYTES} bytes: is chain.signer.url the signer's JSON-RPC endpoint?`);
        chunks.push(c);
      }
      text = Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      throw this.networkError(err, method);
    }
    if (status >= 500 || status === 429 || status === 408) {
      throw new RemoteSignerError('unreachable', `${where}: HTTP ${status} to ${method}: the signer is overloaded or failing; waiting for it`);
    }
    let msg: { result?: unknown; error?: { code?: number; message?: string } };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      throw new RemoteSignerError(status >= 400 ? 'refused' : 'mismatch', `${where}: HTTP ${status} to ${method} with a body that is not JSON-RPC: is chain.signer.url the signer's JSON-RPC endpoint (web3signer: its eth1 port; Clef: --http)?`);
    }
    if (msg.error) {
      throw new RemoteSignerError('refused', `${where} refused ${method}: ${msg.error.message ?? 'no message'} (code ${String(msg.error.code)})`);
    }
    if (status >= 400) throw new RemoteSignerError('refused', `${where}: HTTP ${status} to ${method}: check the signer's access rules for this host`);
    if (!('result' in msg)) throw new RemoteSignerError('mismatch', `${where}: answer to ${method} has neither result nor error: is chain.signer.url the signer's JSON-RPC endpoint?`);
    return msg.result;
  }

  private networkError(err: unknown, method: string): RemoteSignerError {
    if (err instanceof RemoteSignerError) return err;
    const where = `remote signer ${this.url.origin}`;
    const { code, message } = codeOf(err);
    const name = (err as Error | undefined)?.name;
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new RemoteSignerError('unreachable', `${where}: no answer to ${method} within ${this.timeoutMs} ms: the signer is slow or down; waiting for it`, { cause: err });
    }
    if (code && (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || /CERT/.test(code))) {
      const fix = /CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|HANDSHAKE_FAILURE/.test(code)
        ? 'the signer refused this host\'s client certificate (or none was given): set chain.signer.certFile and chain.signer.keyFile to a certificate the signer trusts'
        : code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? `the signer's certificate does not name ${this.url.hostname}: use the host name its certificate was issued for in chain.signer.url`
          : `the signer's certificate is not issued by ${this.opts.caFile ? `the CA in chain.signer.caFile (${this.opts.caFile})` : 'a CA this host trusts'}: set chain.signer.caFile to the CA that issued it`;
      return new RemoteSignerError('tls', `${where}: TLS failed (${code}: ${message}): ${fix}`, { cause: err });
    }
    // A TLS 1.3 server that requires a client certificate closes the connection right after the
    // handshake; without one configured that is the likely cause (a signer restarting refuses connections).
    if ((code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') && this.url.protocol === 'https:' && !this.opts.certFile) {
      return new RemoteSignerError('tls', `${where} closed the connection for ${method} (${message}): it probably requires a client certificate; set chain.signer.certFile and chain.signer.keyFile`, { cause: err });
    }
    return new RemoteSignerError('unreachable', `${where}: cannot reach it for ${method} (${code ?? name ?? 'error'}: ${message}); waiting for it`, { cause: err });
  }

  /** Ends the connections at once (a request to a hung signer must not hold up a shutdown). */
  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

// connection.ts - one authenticated, encrypted LDAP session to the directory
// (ldapts), opened on first use and opened again after it breaks. Never sends
// the bind password or any operation in clear: ldaps:// or StartTLS first,
// the certificate verified against the configured CA (unless the operator
// set `insecure`, which warns at every start). ldapts would silently
// reconnect a dropped session (for ldap://, in clear) without the bind; each
// client here gets a socket factory that works once, so a dropped session
// fails its operation and is replaced by a new, verified, bound one.
import { readFileSync, statSync } from 'node:fs';
import { connect as netConnect, Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

import { Client, InvalidCredentialsError } from 'ldapts';
import type { Logger } from 'pino';

import { classifyDirectoryError, DirectoryError } from './errors.js';

export interface DirectoryConnectionOptions {
  url: string;
  caFile?: string | undefined;
  insecure: boolean;
  bindDn: string;
  /** Read for every new session, so a corrected file needs no restart. */
  bindPasswordFile: string;
  readBindPassword: () => string;
  timeoutMs: number;
  connectTimeoutMs: number;
}

/** The operations of ldapts' Client the connector uses. */
export type LdapClient = Pick<Client, 'search' | 'add' | 'modify' | 'del'>;

/** After a refused bind, no new bind with the same password file for this long (a password policy may lock the account). */
const BIND_REFUSED_PAUSE_MS = 30_000;

/** A socket that fails at once: the second connection of a client, which ldapts would open unbound. */
function refusedSocket(): Socket {
  const s = new Socket();
  process.nextTick(() => s.destroy(Object.assign(new Error('dropped LDAP session not reopened in place (it would be unbound)'), { code: 'ECONNRESET' })));
  return s;
}

export class DirectoryConnection {
  /** The current session (connecting or open); one at a time. `client` is set once it is open. */
  private session: { opening: Promise<Client>; client?: Client } | undefined;
  private readonly host: string;
  private refusedBind: { until: number; mtimeMs: number; error: DirectoryError } | undefined;

  constructor(
    private readonly opts: DirectoryConnectionOptions,
    private readonly log: Logger,
  ) {
    this.host = new URL(opts.url).hostname.replace(/^\[|\]$/g, '');
    this.tlsOptions(); // an unreadable CA file is a configuration error: say so at start
    if (opts.insecure) this.log.warn({ url: opts.url }, 'ldap: insecure is set: the directory\'s certificate is NOT verified; anyone on the path can read the bind password and forge users. Use only for a throw-away test directory');
  }

  /**
   * Read for every new session, so a CA the operator replaced is used
   * without a restart. `host` (not servername: an IP must not be sent as SNI)
   * is the name the certificate must carry; for StartTLS tls.connect gets
   * the existing socket.
   */
  private tlsOptions(): ConnectionOptions {
    let ca: Buffer | undefined;
    if (this.opts.caFile) {
      try {
        ca = readFileSync(this.opts.caFile);
      } catch (err) {
        throw new DirectoryError('certificate', `cannot read the directory's CA file ${this.opts.caFile}: ${(err as Error).message}`, true);
      }
    }
    return { host: this.host, rejectUnauthorized: !this.opts.insecure, ...(ca ? { ca } : {}), minVersion: 'TLSv1.2' };
  }

  private passwordMtime(): number {
    try {
      return statSync(this.opts.bindPasswordFile).mtimeMs;
    } catch {
      return 0;
    }
  }

  private async open(): Promise<Client> {
    const { url, timeoutMs, connectTimeoutMs, bindDn } = this.opts;
    const refused = this.refusedBind;
    if (refused && Date.now() < refused.until && this.passwordMtime() === refused.mtimeMs) throw refused.error;
    const tls = this.tlsOptions();
    const ldaps = url.startsWith('ldaps:');
    let connects = 0;
    const client = new Client({
      url,
      timeout: timeoutMs,
      connectTimeout: connectTimeoutMs,
      // tlsOptions only for ldaps://: given to an ldap:// client, ldapts' StartTLS upgrade fails (measured with ldapts 8.2).
      ...(ldaps ? { tlsOptions: tls } : {}),
      createConnection: ((port: number, host: string) => (connects++ === 0 ? netConnect(port, host) : refusedSocket())) as never,
      createSecureConnection: ((...args: unknown[]) =>
        // the StartTLS upgrade passes one options object (the existing socket): always allowed
        args.length === 1 ? tlsConnect(args[0] as ConnectionOptions) : connects++ === 0 ? tlsConnect(args[0] as number, args[1] as string, args[2] as ConnectionOptions) : refusedSocket()) as never,
    });
    try {
      if (!ldaps) {
        try {
          await withDeadline(client.startTLS({ ...tls }), connectTimeoutMs, 'StartTLS');
        } catch (err) {
          throw classifyDirectoryError(err, { url, bindDn, op: 'StartTLS' });
        }
      }
      const mtimeMs = this.passwordMtime();
      try {
        await client.bind(bindDn, this.opts.readBindPassword());
      } catch (err) {
        if (err instanceof InvalidCredentialsError) {
          const error = classifyDirectoryError(err, { url, bindDn, op: `bind as ${bindDn}` });
          this.refusedBind = { until: Date.now() + BIND_REFUSED_PAUSE_MS, mtimeMs, error };
          this.log.error({ url, bindDn, retryInS: BIND_REFUSED_PAUSE_MS / 1000 }, 'ldap: bind refused; not binding again until the password file changes or 30 s passed');
        }
        throw err;
      }
      this.refusedBind = undefined;
      return client;
    } catch (err) {
      void client.unbind().catch(() => undefined);
      throw classifyDirectoryError(err, { url, bindDn, op: `connect and bind as ${bindDn}` });
    }
  }

  /** The open session, or a new one; concurrent callers share one opening. */
  private async client(): Promise<Client> {
    for (;;) {
      const current = this.session;
      if (!current) {
        const next: { opening: Promise<Client>; client?: Client } = { opening: this.open() };
        this.session = next;
        next.opening.then(
          (c) => {
            next.client = c;
          },
          () => {
            if (this.session === next) this.session = undefined;
          },
        );
        return next.opening;
      }
      const c = await current.opening.catch(() => undefined);
      if (c?.isConnected) return c;
      if (!c) return current.opening; // its opening failed just now: this caller gets that failure too
      // Dropped: replaced once (by whoever comes first), then everyone uses the replacement.
      if (this.session === current) {
        this.session = undefined;
        void c.unbind().catch(() => undefined);
      }
    }
  }

  /**
   * Runs `fn` on the bound session. A broken connection is retried once on a
   * new session (the operations the connector sends are idempotent or
   * checked); any failure comes back as a DirectoryError.
   */
  async run<T>(op: string, fn: (c: LdapClient) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let c: Client;
      try {
        c = await this.client();
      } catch (err) {
        throw classifyDirectoryError(err, { url: this.opts.url, bindDn: this.opts.bindDn, op });
      }
      try {
        return await fn(c);
      } catch (err) {
        const e = classifyDirectoryError(err, { url: this.opts.url, bindDn: this.opts.bindDn, op });
        if (e.kind === 'unreachable') this.drop(c);
        if (e.kind === 'unreachable' && attempt === 0) continue;
        // Keep the original ldapts error reachable for callers that branch on a result code.
        throw err instanceof DirectoryError ? err : Object.assign(e, { ldapError: err });
      }
    }
  }

  /** Forgets `c` if it is the current session. */
  private drop(c: Client): void {
    if (this.session?.client === c) this.session = undefined;
    void c.unbind().catch(() => undefined);
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    const c = await s?.opening.catch(() => undefined);
    await c?.unbind().catch(() => undefined);
  }
}

/** The ldapts error behind a DirectoryError from `run`, to test its result code. */
export const ldapErrorOf = (e: unknown): unknown => (e as { ldapError?: unknown })?.ldapError;

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(Object.assign(new Error(`${what}: connection timeout after ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

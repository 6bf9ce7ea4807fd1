// connection.ts - one authenticated, encrypted LDAP session to the directory
// (ldapts), opened on first use and opened again after it breaks. Never sends
// the bind password or any operation in clear: ldaps:// or StartTLS first,
// the certificate verified against the configured CA (unless the operator
// set `insecure`, which warns at every start). ldapts would silently
// reconnect a dropped StartTLS session in clear and without the bind, so a
// session that is no longer connected is thrown away, never reused.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

import { Client } from 'ldapts';
import type { Logger } from 'pino';

import { classifyDirectoryError, DirectoryError } from './errors.js';

export interface DirectoryConnectionOptions {
  url: string;
  caFile?: string | undefined;
  insecure: boolean;
  bindDn: string;
  bindPassword: string;
  timeoutMs: number;
  connectTimeoutMs: number;
}

/** The part of ldapts' Client the connector uses (tests may wrap it to count calls). */
export type LdapClient = Pick<Client, 'search' | 'add' | 'modify' | 'del' | 'compare'>;

export class DirectoryConnection {
  private session: Promise<Client> | undefined;
  private readonly host: string;

  constructor(
    private readonly o: DirectoryConnectionOptions,
    private readonly log: Logger,
  ) {
    this.host = new URL(o.url).hostname.replace(/^\[|\]$/g, '');
    this.tlsOptions(); // an unreadable CA file is a configuration error: say so at start
    if (o.insecure) this.log.warn({ url: o.url }, 'ldap: insecure is set: the directory\'s certificate is NOT verified; anyone on the path can read the bind password and forge users. Use only for a throw-away test directory');
  }

  /**
   * Read for every new session, so a CA the operator replaced is used
   * without a restart. `host` (not servername: an IP must not be sent as SNI)
   * is the name the certificate must carry; for StartTLS tls.connect gets
   * the existing socket.
   */
  private tlsOptions(): ConnectionOptions {
    let ca: Buffer | undefined;
    if (this.o.caFile) {
      try {
        ca = readFileSync(this.o.caFile);
      } catch (err) {
        throw new DirectoryError('certificate', `cannot read the directory's CA file ${this.o.caFile}: ${(err as Error).message}`, true);
      }
    }
    return { host: this.host, rejectUnauthorized: !this.o.insecure, ...(ca ? { ca } : {}), minVersion: 'TLSv1.2' };
  }

  get url(): string {
    return this.o.url;
  }

  private async open(): Promise<Client> {
    const { url, timeoutMs, connectTimeoutMs, bindDn } = this.o;
    const tls = this.tlsOptions();
    const ldaps = url.startsWith('ldaps:');
    // tlsOptions only for ldaps://: given to an ldap:// client, ldapts' StartTLS upgrade fails (measured with ldapts 8.2).
    const client = new Client({ url, timeout: timeoutMs, connectTimeout: connectTimeoutMs, strictDN: true, ...(ldaps ? { tlsOptions: tls } : {}) });
    try {
      if (!ldaps) await withDeadline(client.startTLS({ ...tls }), connectTimeoutMs, 'StartTLS');
      await client.bind(bindDn, this.o.bindPassword);
      return client;
    } catch (err) {
      void client.unbind().catch(() => undefined);
      throw classifyDirectoryError(err, { url, bindDn, op: `connect and bind as ${bindDn}` });
    }
  }

  private async client(): Promise<Client> {
    if (this.session) {
      const c = await this.session.catch(() => undefined);
      if (c?.isConnected) return c;
      this.session = undefined;
      if (c) void c.unbind().catch(() => undefined);
    }
    const p = this.open();
    this.session = p;
    p.catch(() => {
      if (this.session === p) this.session = undefined;
    });
    return p;
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
        throw classifyDirectoryError(err, { url: this.o.url, bindDn: this.o.bindDn, op });
      }
      try {
        return await fn(c);
      } catch (err) {
        const e = classifyDirectoryError(err, { url: this.o.url, bindDn: this.o.bindDn, op });
        if (e.kind === 'unreachable' && attempt === 0) {
          this.drop(c);
          continue;
        }
        // Keep the original ldapts error reachable for callers that branch on a result code.
        throw err instanceof DirectoryError ? err : Object.assign(e, { ldapError: err });
      }
    }
  }

  private drop(c: Client): void {
    void this.session?.then((s) => {
      if (s === c) this.session = undefined;
    });
    void c.unbind().catch(() => undefined);
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    const c = await s?.catch(() => undefined);
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

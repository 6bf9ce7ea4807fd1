// users-sync-server.ts - the supervisor's side of src/userdb/sync-protocol.ts: an
// HTTP server (users.gridlink.sync.listen) that hands each authenticated
// relay the users database file when it is behind, and remembers which
// version each host holds, so that a customer's job is submitted only once
// the hosts that resolve it have it (waitForHosts).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Authenticator } from '../reporter/ingest/auth.js';
import { USERS_SYNC_PATH, USERS_VERSION_HEADER, usersPullSchema } from '../userdb/sync-protocol.js';

const MAX_BODY = 4096;

export interface HostVersion {
  version: number;
  at: number;
}

export interface UsersSyncServerOptions {
  authenticator: Authenticator;
  /** The users database file served. */
  path: string;
  /** The version that file holds (the publisher's `written`). */
  version: () => number;
  host: string;
  port: number;
  /** Each authenticated request: the host it names and the version it holds (HostReports.record). */
  onReport?: (host: string, version: number) => void;
  log?: { warn(o: object, msg: string): void };
}

export class UsersSyncServer {
  /** The version each host said it held at its last request. */
  readonly hosts = new Map<string, HostVersion>();
  private readonly waiters = new Set<() => void>();
  /** Requests held until a newer version (long poll). */
  private readonly held = new Set<() => void>();
  private stopping = false;
  private server: Server | undefined;
  url = '';

  constructor(private readonly opts: UsersSyncServerOptions) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.server = server;
    const a = server.address() as AddressInfo;
    this.url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const h of [...this.held]) h();
    for (const w of this.waiters) w();
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  /**
   * Resolves once every host of `hosts` holds `version` or a later one;
   * rejects after `timeoutMs` naming the hosts behind and the version each holds.
   */
  async waitForHosts(hosts: readonly string[], version: number, timeoutMs: number): Promise<void> {
    const behind = () => hosts.filter((h) => (this.hosts.get(h)?.version ?? 0) < version);
    if (behind().length === 0) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (behind().length > 0) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        const b = behind().map((h) => `${h} (${this.hosts.has(h) ? `version ${this.hosts.get(h)!.version}` : 'never asked'})`);
        reject(new Error(`hosts still behind users database version ${version} after ${timeoutMs} ms: ${b.join(', ')}; check their relays (users_url) and munge`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  private answer(res: ServerResponse, status: number, body: string | Buffer = '', headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream', ...headers });
    res.end(body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.url !== USERS_SYNC_PATH || req.method !== 'POST') return this.answer(res, 404, `only POST ${USERS_SYNC_PATH}\n`);
      const auth = this.opts.authenticator.parseHeader(req.headers['x-gridlink-auth']);
      if ('ok' in auth) return this.answer(res, auth.status, `${auth.detail}\n`);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of req) {
        size += (c as Buffer).length;
        if (size > MAX_BODY) return this.answer(res, 413, 'body too large\n');
        chunks.push(c as Buffer);
      }
      const body = Buffer.concat(chunks);
      const ok = await this.opts.authenticator.verify(auth, createHash('sha256').update(body).digest('hex'));
      if (!ok.ok) {
        this.opts.log?.warn({ reason: ok.reason, detail: ok.detail }, 'users sync: request refused');
        return this.answer(res, ok.status, `${ok.detail}\n`);
      }
      let pull;
      try {
        pull = usersPullSchema.parse(JSON.parse(body.toString('utf8')));
      } catch (err) {
        return this.answer(res, 400, `not a users pull request: ${(err as Error).message}\n`);
      }
      this.report(pull.host, pull.have);
      if (pull.have >= this.opts.version() && pull.waitMs) await this.newerThan(pull.have, pull.waitMs, res);
      const current = this.opts.version();
      const header = { [USERS_VERSION_HEADER]: String(current) };
      if (res.destroyed || this.stopping) return void res.destroy();
      if (pull.have >= current) return this.answer(res, 204, '', header);
      // Only what a host says it holds counts: the relay asks again as soon as the file is in place.
      return this.answer(res, 200, await readFile(this.opts.path), header);
    } catch (err) {
      if (!res.headersSent) this.answer(res, 503, `users database unavailable: ${(err as Error).message}\n`);
      else res.destroy();
    }
  }

  /** The publisher wrote a new version: answers the requests held for one. */
  versionWritten(): void {
    for (const h of [...this.held]) h();
  }

  /** Resolves when a version above `have` is written, `ms` passes, the client goes away or the server stops. */
  private newerThan(have: number, ms: number, res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.held.delete(check);
        res.off('close', done);
        resolve();
      };
      const check = () => {
        if (this.opts.version() > have || this.stopping) done();
      };
      const timer = setTimeout(done, ms);
      res.once('close', done);
      this.held.add(check);
    });
  }

  private report(host: string, version: number): void {
    try {
      this.opts.onReport?.(host, version);
    } catch (err) {
      this.opts.log?.warn({ host, err: (err as Error).message }, 'users sync: the host\'s report was not recorded');
    }
    const prev = this.hosts.get(host);
    this.hosts.set(host, { version, at: Date.now() });
    if (!prev || prev.version !== version) for (const w of [...this.waiters]) w();
  }
}

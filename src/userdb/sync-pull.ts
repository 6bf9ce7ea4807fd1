// sync-pull.ts - a host's side of src/userdb/sync-protocol.ts, run by the
// relay (embedded in slurmctld/slurmd, or `gridlink relay`): asks the
// supervisor for the users database, saying which version this host holds,
// and waits there (long poll, up to waitMs) for a newer one, so a new
// customer reaches the host as soon as the supervisor writes it; a newer file
// is checked (a cdb of the gridlink layout holding the version announced) and
// renamed into place atomically, where the NSS module reads it; then it asks
// again at once, which reports the new version. After a failure it waits
// intervalMs before asking again.
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

import { writeFileAtomic } from '../util/atomic-file.js';
import { usersDbVersionOf } from './format.js';
import { readUsersDbVersion } from './publisher.js';
import { USERS_SYNC_PATH, USERS_VERSION_HEADER, type UsersPull } from './sync-protocol.js';

export interface UsersPullOptions {
  /** The supervisor's users sync URL (users.gridlink.sync.listen), e.g. http://supervisor:7391 */
  url: string;
  /** X-Gridlink-Auth for a body (src/relay/auth.ts createAuthenticator: munge like the events). */
  authenticate: (body: Uint8Array) => Promise<string>;
  /** Where the NSS module reads it: /var/lib/gridlink/nss/users.cdb */
  path: string;
  host: string;
  /** Pause after a failed request (default 2000 ms). */
  intervalMs?: number;
  /** How long the supervisor may hold a request until a newer version exists (default 25 s; 0: no waiting, poll every intervalMs). */
  waitMs?: number;
  /** Deadline of one request beyond waitMs (default 30 s). */
  timeoutMs?: number;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export interface UsersPuller {
  /** One request now, not held (and one more after an install); resolves with the version held after it. */
  pullOnce(): Promise<number>;
  stop(): void;
}

export function startUsersPull(o: UsersPullOptions): UsersPuller {
  const interval = o.intervalMs ?? 2000;
  const waitMs = o.waitMs ?? 25_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastError = '';
  const inFlight = new Set<ClientRequest>();

  const request = async (have: number, wait: number): Promise<{ status: number; version: number; body: Buffer }> => {
    const pull: UsersPull = { host: o.host, have, ...(wait > 0 ? { waitMs: wait } : {}) };
    const body = Buffer.from(JSON.stringify(pull));
    const auth = await o.authenticate(body);
    // stop() may have come while the credential was made: no request after it (it would be held, then install a file)
    if (stopped) throw new Error('users database pull stopped');
    const deadline = wait + (o.timeoutMs ?? 30_000);
    // node:http, not fetch: undici would cost the slurmctld/slurmd it is embedded in ~11 MB (src/relay/embedded.ts)
    const url = new URL(USERS_SYNC_PATH, o.url);
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-gridlink-auth': auth }, timeout: deadline },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            inFlight.delete(req);
            const data = Buffer.concat(chunks);
            const status = res.statusCode ?? 0;
            if (status !== 200 && status !== 204) return reject(new Error(`${status} ${data.toString('utf8').trim().slice(0, 300)}`));
            resolve({ status, version: Number(res.headers[USERS_VERSION_HEADER]), body: data });
          });
        },
      );
      inFlight.add(req);
      req.on('timeout', () => req.destroy(new Error(`no answer from ${url.href} in ${deadline} ms`)));
      req.on('error', (err) => {
        inFlight.delete(req);
        reject(err);
      });
      req.end(body);
    });
  };

  /** One exchange: asks (held up to `wait`), installs a newer file and reports it. */
  const exchange = async (wait: number): Promise<number> => {
    const have = (await readUsersDbVersion(o.path)) ?? 0;
    const r = await request(have, wait);
    if (r.status === 204) return have;
    const got = usersDbVersionOf(r.body);
    if (got === undefined || got !== r.version) throw new Error(`the supervisor sent a users database that is not version ${r.version} of the gridlink layout (${r.body.length} bytes): not installed`);
    if (stopped) return have; // a stopped puller changes nothing on this host
    await writeFileAtomic(o.path, r.body, 0o644);
    o.log?.info({ version: got, bytes: r.body.length, previous: have }, 'users database installed');
    await request(got, 0); // report it at once: the supervisor submits the jobs waiting for it
    return got;
  };

  const loop = async () => {
    if (stopped) return;
    let pause = 0;
    try {
      await exchange(waitMs);
      lastError = '';
      if (waitMs === 0) pause = interval;
    } catch (err) {
      const msg = (err as Error).message;
      if (!stopped && msg !== lastError) o.log?.warn({ err: msg, url: o.url }, 'users database not pulled (retrying)');
      lastError = msg;
      pause = interval;
    }
    if (!stopped) timer = setTimeout(() => void loop(), pause);
  };
  void loop();
  return {
    pullOnce: () => exchange(0),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const r of inFlight) r.destroy();
      inFlight.clear();
    },
  };
}

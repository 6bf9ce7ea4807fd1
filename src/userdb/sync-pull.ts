// sync-pull.ts - a host's side of src/userdb/sync-protocol.ts, run by the
// relay (embedded in slurmctld/slurmd, or `gridlink relay`): asks the
// supervisor for the users database every intervalMs, saying which version
// this host holds; a newer file is checked (a cdb of the gridlink layout
// holding the version announced) and renamed into place atomically, where the
// NSS module reads it; then it asks again at once, to report the new version.
import { request as httpRequest } from 'node:http';
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
  intervalMs?: number;
  timeoutMs?: number;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export interface UsersPuller {
  /** One request now (and one more after an install); resolves with the version held after it. */
  pullOnce(): Promise<number>;
  stop(): void;
}

export function startUsersPull(o: UsersPullOptions): UsersPuller {
  const interval = o.intervalMs ?? 2000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastError = '';

  const request = async (have: number): Promise<{ status: number; version: number; body: Buffer }> => {
    const pull: UsersPull = { host: o.host, have };
    const body = Buffer.from(JSON.stringify(pull));
    const auth = await o.authenticate(body);
    // node:http, not fetch: undici would cost the slurmctld/slurmd it is embedded in ~11 MB (src/relay/embedded.ts)
    const url = new URL(USERS_SYNC_PATH, o.url);
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-gridlink-auth': auth }, timeout: o.timeoutMs ?? 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const data = Buffer.concat(chunks);
            const status = res.statusCode ?? 0;
            if (status !== 200 && status !== 204) return reject(new Error(`${status} ${data.toString('utf8').trim().slice(0, 300)}`));
            resolve({ status, version: Number(res.headers[USERS_VERSION_HEADER]), body: data });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from ${url.href} in ${o.timeoutMs ?? 30_000} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  };

  const pullOnce = async (): Promise<number> => {
    const have = (await readUsersDbVersion(o.path)) ?? 0;
    const r = await request(have);
    if (r.status === 204) return have;
    const got = usersDbVersionOf(r.body);
    if (got === undefined || got !== r.version) throw new Error(`the supervisor sent a users database that is not version ${r.version} of the gridlink layout (${r.body.length} bytes): not installed`);
    await writeFileAtomic(o.path, r.body, 0o644);
    o.log?.info({ version: got, bytes: r.body.length, previous: have }, 'users database installed');
    await request(got); // report it at once: the supervisor submits the jobs waiting for it
    return got;
  };

  const loop = async () => {
    if (stopped) return;
    try {
      await pullOnce();
      lastError = '';
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== lastError) o.log?.warn({ err: msg, url: o.url }, 'users database not pulled (retrying)');
      lastError = msg;
    }
    if (!stopped) timer = setTimeout(() => void loop(), interval);
  };
  void loop();
  return {
    pullOnce,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

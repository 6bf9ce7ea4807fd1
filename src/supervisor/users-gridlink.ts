// users-gridlink.ts - resolver "gridlink": no directory server. The
// customer's uid and gid are handed out by this process, in the state
// database (src/userdb/store.ts), and every host resolves them through the
// gridlink NSS module (libnss_gridlink.so.2, `passwd: files gridlink`),
// which reads the users database file this process writes
// (src/userdb/publisher.ts). A customer is submitted only once the file
// holding it is written, and, when `hostsReady` is given, once the hosts
// that resolve users hold that version.
import type { Address } from 'viem';

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

import { mungeDecode } from '../native/munge.js';
import { HMAC_MAX_SKEW_S } from '../relay/protocol.js';
import { Authenticator, type MungeDecodeFn } from '../reporter/ingest/auth.js';
import { NonceCache } from '../reporter/ingest/nonces.js';
import type { Db } from '../state/db.js';
import { hostIds } from '../userdb/host-ids.js';
import { HostReports } from '../userdb/host-reports.js';
import { UsersDbPublisher } from '../userdb/publisher.js';
import { UserIdsExhaustedError, UserStore } from '../userdb/store.js';
import { registerUsersSyncMetrics } from './users-sync-metrics.js';
import { UsersSyncServer } from './users-sync-server.js';
import { customerUserName, UserResolveError, type CustomerUser, type UserResolver } from './users.js';

export interface GridlinkResolverOptions {
  store: UserStore;
  publisher: UsersDbPublisher;
  minUid: number;
  /** Resolves once the hosts that will resolve the user hold a version >= `version`; throws UserResolveError otherwise. */
  hostsReady?: (user: CustomerUser, version: number) => Promise<void>;
}

export function createGridlinkResolver(o: GridlinkResolverOptions): UserResolver {
  return {
    kind: 'gridlink',
    async resolve(customer: Address): Promise<CustomerUser> {
      const name = customerUserName(customer);
      let row;
      try {
        row = o.store.ensure(name);
      } catch (err) {
        if (err instanceof UserIdsExhaustedError) throw new UserResolveError(err.message, false);
        throw new UserResolveError(`cannot hand ${name} a uid in the state database (${(err as Error).message}); retrying`, true);
      }
      if (row.uid < o.minUid || row.gid === 0) throw new UserResolveError(`${name} has uid ${row.uid} gid ${row.gid} in the state database: a grid job never runs as a system user (minimum uid ${o.minUid})`, false);
      let version = row.dbVersion;
      if (version === undefined || version > o.publisher.written) {
        try {
          await o.publisher.publish();
        } catch (err) {
          throw new UserResolveError(`cannot write the users database file (${(err as Error).message}): check users.gridlink.dbPath is writable by the supervisor; retrying`, true);
        }
        version = o.store.get(name)?.dbVersion;
        if (version === undefined) throw new UserResolveError(`${name} is not in the users database file just written; retrying`, true);
      }
      const user: CustomerUser = { name, uid: row.uid, gid: row.gid, home: row.home };
      if (o.hostsReady) await o.hostsReady(user, version);
      return user;
    },
  };
}

export interface GridlinkUsersConfig {
  minUid: number;
  gridlink: {
    dbPath: string;
    firstUid: number;
    maxUid: number;
    homeRoot: string;
    shell: string;
    enumerate?: boolean;
    sync?: { listen?: { host: string; port: number } | undefined; hosts: string[]; waitMs: number };
  };
}

export interface GridlinkResolverDeps {
  /**
   * Who may pull the users database: the ingest's authentication (src/reporter/ingest/config.ts
   * IngestConfig), so a relay pulls with what it sends its events with: munge by uid 0 or SlurmUser
   * (munge null: disabled), or HMAC with one of the ingest's keys. Default: munge, uid 0 only.
   */
  auth?: { allowedUids: ReadonlySet<number>; munge: { socket?: string } | null; hmacKeys: ReadonlyMap<string, Buffer> };
  log?: Logger;
  mungeDecode?: MungeDecodeFn;
  /** /metrics: the version written and each host's (users-sync-metrics.ts). */
  registry?: Registry;
}

export type GridlinkResolver = UserResolver & {
  publisher: UsersDbPublisher;
  store: UserStore;
  sync: UsersSyncServer | undefined;
  /** The hosts that pulled the users database and those users.gridlink.sync.hosts lists, in the state database. */
  hostReports: HostReports;
  close(): Promise<void>;
};

/** The resolver of the configuration, its users database file written (again) before it returns, and its sync server started when configured. */
export async function startGridlinkResolver(users: GridlinkUsersConfig, db: Db, deps: GridlinkResolverDeps = {}): Promise<GridlinkResolver> {
  const g = users.gridlink;
  const store = new UserStore(db, { firstUid: g.firstUid, maxUid: g.maxUid, homeRoot: g.homeRoot, taken: hostIds() });
  let sync: UsersSyncServer | undefined;
  const publisher = new UsersDbPublisher({ store, path: g.dbPath, minUid: users.minUid, shell: g.shell, enumerate: g.enumerate ?? false, onWritten: () => sync?.versionWritten() });
  try {
    await publisher.start();
  } catch (err) {
    throw new Error(`cannot write the users database file ${g.dbPath} (${(err as Error).message}): the supervisor must be able to create it (run it as root, or give users.gridlink.dbPath a directory it owns)`);
  }
  const hosts = g.sync?.hosts ?? [];
  const hostReports = new HostReports(db);
  hostReports.setListed(hosts);
  if (deps.registry) registerUsersSyncMetrics(deps.registry, { written: () => publisher.written, hosts: hostReports });
  if (g.sync?.listen) {
    const a = deps.auth ?? { allowedUids: new Set([0]), munge: {}, hmacKeys: new Map<string, Buffer>() };
    const authenticator = new Authenticator({
      allowedUids: a.allowedUids,
      munge: a.munge,
      hmacKeys: a.hmacKeys,
      mungeDecode: deps.mungeDecode ?? mungeDecode,
      // HMAC nonces beside the ingest's, in the state database: a pull captured before a restart stays refused
      ...(a.hmacKeys.size > 0 ? { nonces: NonceCache.open(db, HMAC_MAX_SKEW_S, Math.floor(Date.now() / 1000)) } : {}),
    });
    sync = new UsersSyncServer({ authenticator, path: g.dbPath, version: () => publisher.written, host: g.sync.listen.host, port: g.sync.listen.port, onReport: (h, v) => hostReports.record(h, v), ...(deps.log ? { log: deps.log } : {}) });
    await sync.start();
    deps.log?.info({ url: sync.url, hosts: g.sync.hosts }, 'users database served to the relays');
  }
  if (hosts.length && !sync) throw new Error('users.gridlink.sync.hosts needs users.gridlink.sync.listen: the hosts\' relays pull the users database from there');
  const hostsReady =
    sync && hosts.length
      ? async (u: CustomerUser, version: number) => {
          try {
            await sync.waitForHosts(hosts, version, g.sync!.waitMs);
          } catch (err) {
            throw new UserResolveError(`${u.name} (uid ${u.uid}) is not yet known on every host that resolves it: ${(err as Error).message}`, true);
          }
        }
      : undefined;
  return {
    ...createGridlinkResolver({ store, publisher, minUid: users.minUid, ...(hostsReady ? { hostsReady } : {}) }),
    publisher,
    store,
    sync,
    hostReports,
    close: async () => {
      await sync?.stop();
    },
  };
}

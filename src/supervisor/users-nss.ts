// users-nss.ts - the customer's user from the host's NSS (`getent passwd`):
// files, SSSD or nslcd, as nsswitch.conf says. The name is the lower-case
// address; the user must exist (gridlink's LDAP connector, or the operator,
// creates it) and be a regular account (uid >= minUid), else the job is not
// submitted.
import { execFile } from 'node:child_process';
import type { Address } from 'viem';

import { customerUserName, MIN_CUSTOMER_UID, UserResolveError, type CustomerUser, type UserResolver } from './users.js';

export interface NssResolverOptions {
  /** Lowest uid a customer may have (default 1000). */
  minUid?: number;
  /** Expected primary gid (the cluster-users group), when set. */
  gid?: number;
  timeoutMs?: number;
  /** How long a found user is remembered (default 30 s; 0: never). A burst of one customer's jobs then costs one lookup; SSSD caches longer anyway. */
  cacheMs?: number;
}

function getent(name: string, timeoutMs: number): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('getent', ['passwd', name], { timeout: timeoutMs, encoding: 'utf8' }, (e, out, err) => {
      const code = e ? (typeof (e as { code?: unknown }).code === 'number' ? ((e as { code: number }).code) : -1) : 0;
      resolve({ code, out, err: err || (e ? e.message : '') });
    });
  });
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** getent passwd KEY (a name or a uid): the entry, undefined when NSS has none; UserResolveError (retryable) when NSS could not answer. */
async function passwdEntry(key: string, timeoutMs: number): Promise<PasswdEntry | undefined> {
  const r = await getent(key, timeoutMs);
  // getent: 2 = not found; anything else non-zero = NSS could not answer.
  if (r.code === 2) return undefined;
  if (r.code !== 0) throw new UserResolveError(`NSS lookup of ${key} failed (${r.err.trim() || `getent exit ${r.code}`}): check nsswitch.conf and SSSD`, true);
  const f = r.out.trim().split('\n')[0]!.split(':');
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!f[0] || !Number.isInteger(uid) || !Number.isInteger(gid)) throw new UserResolveError(`NSS returned a malformed entry for ${key}`, true);
  return { name: f[0], uid, gid, home: f[5] ?? '' };
}

/** One user from NSS by name; undefined when NSS says there is none. */
export async function lookupUser(name: string, timeoutMs = 10_000): Promise<PasswdEntry | undefined> {
  const e = await passwdEntry(name, timeoutMs);
  if (e && e.name !== name) throw new UserResolveError(`NSS returned an entry named ${e.name} for ${name}`, true);
  return e;
}

/** Who NSS says owns `uid` (files first, then SSSD: the account SLURM and the kernel's checks see). */
export function lookupUid(uid: number, timeoutMs = 10_000): Promise<PasswdEntry | undefined> {
  return passwdEntry(String(uid), timeoutMs);
}

export function createNssResolver(o: NssResolverOptions = {}): UserResolver {
  const minUid = o.minUid ?? MIN_CUSTOMER_UID;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const cacheMs = o.cacheMs ?? 30_000;
  const cache = new Map<string, { user: CustomerUser; until: number }>();
  /** Lookups in progress: a burst of one customer's claims waits for one getent. */
  const inFlight = new Map<string, Promise<CustomerUser>>();
  const resolveName = async (name: string, customer: Address): Promise<CustomerUser> => {
    const u = await lookupUser(name, timeoutMs);
    if (!u) throw new UserResolveError(`no Linux user ${name} for customer ${customer}: create it (gridlink ldap-connector, or useradd) so that every node resolves it`, true);
    const { uid, gid, home } = u;
    if (uid < minUid || gid === 0) throw new UserResolveError(`user ${name} has uid ${uid} gid ${gid}: a grid job never runs as a system user or group (minimum uid ${minUid})`, false);
    if (o.gid !== undefined && gid !== o.gid) throw new UserResolveError(`user ${name} has primary gid ${gid}, not the cluster-users group ${o.gid}`, false);
    if (!home.startsWith('/')) throw new UserResolveError(`user ${name} has no absolute home directory`, false);
    const user = { name, uid, gid, home };
    if (cacheMs > 0) cache.set(name, { user, until: Date.now() + cacheMs });
    return user;
  };
  return {
    kind: 'nss',
    resolve(customer: Address): Promise<CustomerUser> {
      let name: string;
      try {
        name = customerUserName(customer);
      } catch (err) {
        return Promise.reject(err);
      }
      const hit = cache.get(name);
      if (hit && hit.until > Date.now()) return Promise.resolve(hit.user);
      if (cache.size > 10_000) cache.clear();
      let p = inFlight.get(name);
      if (!p) {
        p = resolveName(name, customer).finally(() => inFlight.delete(name));
        inFlight.set(name, p);
      }
      return p;
    },
  };
}

// users-ldap.ts - the customer's user from gridlink's LDAP connector: created
// (or finished) in the directory on first use, then awaited in this host's
// NSS, because SLURM resolves the user by name and uid through NSS (SSSD) on
// the submit host, the controller and the node. A user the directory has but
// NSS does not show yet is not submitted: the claim is kept and retried, so a
// job never pends on "getpwuid failed" and never runs as anyone else.
import type { Address } from 'viem';

import { DirectoryError, type LdapConnector } from '../ldap/index.js';
import { lookupUid, lookupUser, type PasswdEntry } from './users-nss.js';
import { customerUserName, UserResolveError, type CustomerUser, type UserResolver } from './users.js';

export interface LdapResolverOptions {
  connector: LdapConnector;
  /** Lowest uid a customer may have. */
  minUid: number;
  /** How long to wait for this host's NSS to show a user the directory has (0: do not check NSS). */
  nssWaitMs: number;
  /** NSS lookups by name and by uid (tests may replace them). */
  lookup?: (name: string) => Promise<PasswdEntry | undefined>;
  lookupUid?: (uid: number) => Promise<PasswdEntry | undefined>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createLdapResolver(o: LdapResolverOptions): UserResolver {
  const lookup = o.lookup ?? ((name: string) => lookupUser(name));
  const byUid = o.lookupUid ?? ((uid: number) => lookupUid(uid));
  /** Users already seen in NSS with the directory's uid (NSS does not forget a user it has shown). */
  const seen = new Set<string>();

  const waitForNss = async (u: CustomerUser): Promise<void> => {
    if (o.nssWaitMs <= 0 || seen.has(`${u.name}:${u.uid}`)) return;
    const deadline = Date.now() + o.nssWaitMs;
    let last: PasswdEntry | undefined;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      last = await lookup(u.name);
      if (last && last.uid === u.uid && last.gid === u.gid) {
        // The uid must be the customer's alone: a local account (files come first) or another directory's user with it would share its files.
        const owner = await byUid(u.uid);
        if (owner && owner.name !== u.name) {
          throw new UserResolveError(`uid ${u.uid} of ${u.name} belongs to ${owner.name} in this host's NSS (a local account or another directory): the job would run with that account's files; give one of them another uid`, false);
        }
        if (seen.size > 100_000) seen.clear();
        seen.add(`${u.name}:${u.uid}`);
        return;
      }
      if (Date.now() + delay > deadline) break;
      await sleep(delay);
    }
    if (last) {
      throw new UserResolveError(
        `NSS on this host resolves ${u.name} to uid ${last.uid} gid ${last.gid}, the directory says uid ${u.uid} gid ${u.gid}: a stale SSSD cache or a local user of that name; run sss_cache -E (or remove the local user)`,
        true,
      );
    }
    throw new UserResolveError(
      `${u.name} (uid ${u.uid}) is in the directory but NSS on this host does not resolve it after ${o.nssWaitMs} ms: check that SSSD here points at the directory (getent passwd ${u.name}); a name looked up before it existed stays negative for entry_negative_timeout unless sss_cache -E`,
      true,
    );
  };

  return {
    kind: 'ldap',
    async resolve(customer: Address): Promise<CustomerUser> {
      customerUserName(customer); // refuses a non-address before any LDAP call
      let user: CustomerUser;
      try {
        const d = await o.connector.ensureUser(customer);
        user = { name: d.name, uid: d.uid, gid: d.gid, home: d.home };
      } catch (err) {
        if (err instanceof DirectoryError) throw new UserResolveError(err.message, err.retryable);
        throw err;
      }
      if (user.uid < o.minUid || user.gid === 0) throw new UserResolveError(`the directory gives ${user.name} uid ${user.uid} gid ${user.gid}: a grid job never runs as a system user (minimum uid ${o.minUid})`, false);
      await waitForNss(user);
      return user;
    },
  };
}

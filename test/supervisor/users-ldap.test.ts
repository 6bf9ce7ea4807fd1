// The supervisor's LDAP resolver with a fake connector and a fake NSS: a user
// the directory has is returned only once this host's NSS shows it with the
// same uid and gid; every failure is a UserResolveError saying what to do,
// retryable unless the customer can never have a user.
import { describe, expect, it } from 'vitest';

import { DirectoryError, type DirectoryUser, type LdapConnector } from '../../src/ldap/index.js';
import { createLdapResolver } from '../../src/supervisor/users-ldap.js';
import { UserResolveError } from '../../src/supervisor/users.js';
import type { PasswdEntry } from '../../src/supervisor/users-nss.js';

const A = '0x52908400098527886e0f7030069857d2e4169ee7';
const user: DirectoryUser = { name: A, uid: 200001, gid: 59001, home: `/shared/home/${A}`, dn: `uid=${A},ou=People,dc=x`, created: true };

function fakeConnector(result: DirectoryUser | Error): LdapConnector & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    ensureUser: (a: string) => {
      calls.push(a);
      return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
    },
    check: () => Promise.reject(new Error('unused')),
    close: () => Promise.resolve(),
  };
}

/** NSS that answers from a script of results, one per lookup (the last repeats). */
function fakeNss(answers: Array<PasswdEntry | undefined>) {
  let n = 0;
  const lookup = (name: string) => {
    expect(name).toBe(A);
    return Promise.resolve(answers[Math.min(n++, answers.length - 1)]);
  };
  return { lookup, count: () => n };
}

const err = async (p: Promise<unknown>) => (await p.then(() => undefined, (e: unknown) => e)) as UserResolveError;

describe('createLdapResolver', () => {
  it('returns the directory\'s user once NSS shows it (after two misses)', async () => {
    const nss = fakeNss([undefined, undefined, { name: A, uid: 200001, gid: 59001, home: user.home }]);
    const r = createLdapResolver({ connector: fakeConnector(user), minUid: 1000, nssWaitMs: 5_000, lookup: nss.lookup, lookupUid: () => Promise.resolve({ name: A, uid: 200001, gid: 59001, home: user.home }) });
    expect(await r.resolve(A)).toEqual({ name: A, uid: 200001, gid: 59001, home: user.home });
    expect(nss.count()).toBe(3);
    await r.resolve(A); // seen once: NSS is not asked again
    expect(nss.count()).toBe(3);
  });

  it('NSS never shows it: a retryable error naming SSSD and sss_cache', async () => {
    const r = createLdapResolver({ connector: fakeConnector(user), minUid: 1000, nssWaitMs: 300, lookup: fakeNss([undefined]).lookup });
    const e = await err(r.resolve(A));
    expect(e).toBeInstanceOf(UserResolveError);
    expect(e.retryable).toBe(true);
    expect(e.message).toMatch(/is in the directory but NSS on this host does not resolve it after 300 ms: check that SSSD here points at the directory/);
  });

  it('NSS shows another uid (a local user of that name, a stale cache): retryable, says which', async () => {
    const r = createLdapResolver({ connector: fakeConnector(user), minUid: 1000, nssWaitMs: 200, lookup: fakeNss([{ name: A, uid: 60001, gid: 59000, home: '/tmp/x' }]).lookup });
    const e = await err(r.resolve(A));
    expect(e.retryable).toBe(true);
    expect(e.message).toMatch(/resolves .* to uid 60001 gid 59000, the directory says uid 200001 gid 59001/);
  });

  it('the uid belongs to another account in NSS: refused for good, naming it', async () => {
    const nss = fakeNss([{ name: A, uid: 200001, gid: 59001, home: user.home }]);
    const r = createLdapResolver({ connector: fakeConnector(user), minUid: 1000, nssWaitMs: 200, lookup: nss.lookup, lookupUid: () => Promise.resolve({ name: 'backup', uid: 200001, gid: 34, home: '/var/backups' }) });
    const e = await err(r.resolve(A));
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/uid 200001 of .* belongs to backup in this host's NSS/);
  });

  it('directory errors keep their words and retryability; a system uid is refused for good', async () => {
    const down = new DirectoryError('unreachable', 'the LDAP directory ldap://x is unreachable (ECONNREFUSED)', true);
    const e1 = await err(createLdapResolver({ connector: fakeConnector(down), minUid: 1000, nssWaitMs: 0 }).resolve(A));
    expect([e1.retryable, e1.message]).toEqual([true, down.message]);
    const e2 = await err(createLdapResolver({ connector: fakeConnector({ ...user, uid: 0 }), minUid: 1000, nssWaitMs: 0 }).resolve(A));
    expect(e2.retryable).toBe(false);
    expect(e2.message).toMatch(/never runs as a system user/);
  });

  it('a hostile address never reaches the connector', async () => {
    const c = fakeConnector(user);
    const e = await err(createLdapResolver({ connector: c, minUid: 1000, nssWaitMs: 0 }).resolve(`${A.slice(0, 41)}*` as never));
    expect(e.retryable).toBe(false);
    expect(c.calls).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';

import { checkLdap, splitFix } from '../../src/doctor/ldap.js';
import { checkSbatch } from '../../src/doctor/sbatch.js';
import { DirectoryError } from '../../src/ldap/errors.js';
import { configInput, ctxOf } from './helpers.js';

const ldap = {
  url: 'ldap://127.0.0.1:1',
  caFile: '/etc/ssl/ca.pem',
  bindDn: 'cn=admin',
  bindPasswordFile: '/etc/pw',
  server: '389ds' as const,
  usersDn: 'ou=People,dc=t',
  group: { dn: 'cn=g,dc=t', gidNumber: 5000 },
  homeRoot: '/home',
  uidNumbers: { min: 10000, max: 20000 },
};

describe('ldap check', () => {
  it('is "not configured" with the nss resolver', async () => {
    expect(await checkLdap(ctxOf({ input: configInput() }))).toMatchObject({ status: 'skip', detail: 'not configured (users.resolver is nss)' });
  });

  it('passes the connector check, fails with its message split into what and fix, and caps its deadlines', async () => {
    const ctx = ctxOf({ input: configInput({ users: { resolver: 'ldap', ldap } }), callTimeoutMs: 3000 });
    let timeouts: number[] = [];
    const r = await checkLdap(ctx, async (c) => ((timeouts = [c.timeoutMs, c.connectTimeoutMs]), { usersDn: c.usersDn, group: c.group.dn, members: 2 }));
    expect(r).toMatchObject({ status: 'ok', detail: expect.stringMatching(/TLS verified, bound as cn=admin; ou=People,dc=t and cn=g,dc=t \(2 members\)/) });
    expect(timeouts).toEqual([3000, 3000]);
    const bad = await checkLdap(ctx, async () => {
      throw new DirectoryError('unreachable', 'the LDAP directory ldap://127.0.0.1:1 is unreachable (ECONNREFUSED) during StartTLS: check that it runs and that url points at it', true);
    });
    expect(bad).toMatchObject({ status: 'fail', detail: 'the LDAP directory ldap://127.0.0.1:1 is unreachable (ECONNREFUSED) during StartTLS', fix: 'check that it runs and that url points at it' });
    expect(splitFix('no fix here')).toEqual(['no fix here', undefined]);
  });
});

describe('sbatch check', () => {
  it('passes when the service answers, fails when it does not (the real client, nothing listening)', async () => {
    const ctx = ctxOf({ input: configInput(), callTimeoutMs: 1500 });
    expect(await checkSbatch(ctx, async () => undefined)).toMatchObject({ status: 'ok', detail: '127.0.0.1:1 answered (plaintext)' });
    const r = await checkSbatch(ctx);
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/127\.0\.0\.1:1/);
  });
});

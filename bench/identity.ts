// identity.ts - `npm run bench -- identity`: the LDAP connector on a private
// 389ds and a private OpenLDAP, side by side in one run, one SSSD serving
// both to this host's NSS.
//   users_per_s_389ds / users_per_s_openldap: complete users (entry,
//     membership, home) created per second by one connector, 16 at a time.
//   first_resolve_ms: from ensureUser's return to the first getent of that
//     user that succeeds through SSSD (median of 20 users per server).
import { execFile } from 'node:child_process';

import { pino } from 'pino';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';

import { start389ds, startOpenLdap, startSssd, type DirectoryServer } from '../harness/directory/index.js';
import { createLdapConnector } from '../src/ldap/index.js';
import { inParallel } from '../src/util/in-parallel.js';
import { ldapConfigFor } from '../test/identity/fixtures.js';
import { mergeResults, printTable, type Row } from './results.js';

const USERS = 500;
const CONCURRENCY = 16;
const RESOLVE_SAMPLES = 20;

const addresses = (n: number) => Array.from({ length: n }, () => privateKeyToAddress(generatePrivateKey()));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const getent = (name: string) => new Promise<boolean>((r) => execFile('getent', ['passwd', name], (e) => r(!e)));

async function measure(dir: DirectoryServer): Promise<{ usersPerS: number; firstResolveMs: number; p90ResolveMs: number }> {
  const c = createLdapConnector({ config: ldapConfigFor(dir), log: pino({ level: 'warn' }) });
  const todo = addresses(USERS);
  const t0 = performance.now();
  await inParallel(todo, CONCURRENCY, async (a) => void (await c.ensureUser(a)));
  const usersPerS = USERS / ((performance.now() - t0) / 1000);
  const resolve: number[] = [];
  for (const a of addresses(RESOLVE_SAMPLES)) {
    await c.ensureUser(a);
    const t = performance.now();
    while (!(await getent(a.toLowerCase()))) await new Promise((r) => setTimeout(r, 5));
    resolve.push(performance.now() - t);
  }
  await c.close();
  const sorted = [...resolve].sort((a, b) => a - b);
  return { usersPerS, firstResolveMs: median(resolve), p90ResolveMs: sorted[Math.floor(sorted.length * 0.9)]! };
}

export async function runIdentityBench(): Promise<void> {
  const [ds, ol] = await Promise.all([start389ds(), startOpenLdap()]);
  const sssd = await startSssd({ domains: [ds, ol] });
  try {
    const r389 = await measure(ds);
    const rol = await measure(ol);
    const rows: Row[] = [
      { server: '389ds (DNA)', users_per_s: r389.usersPerS, first_resolve_ms_p50: r389.firstResolveMs, first_resolve_ms_p90: r389.p90ResolveMs },
      { server: 'openldap (CAS counter)', users_per_s: rol.usersPerS, first_resolve_ms_p50: rol.firstResolveMs, first_resolve_ms_p90: rol.p90ResolveMs },
    ];
    printTable(`identity: ${USERS} users per server, ${CONCURRENCY} at a time; first getent through SSSD after creation (${RESOLVE_SAMPLES} users)`, rows);
    mergeResults({
      users_per_s_389ds: Math.round(r389.usersPerS * 10) / 10,
      users_per_s_openldap: Math.round(rol.usersPerS * 10) / 10,
      first_resolve_ms: Math.round(Math.max(r389.firstResolveMs, rol.firstResolveMs) * 10) / 10, // the slower server's median
    });
  } finally {
    await sssd.stop();
    await Promise.all([ds.stop(), ol.stop()]);
  }
}

// nss-sssd.ts - the SSSD source of `npm run bench -- nss` (bench/nss.ts): a
// private OpenLDAP holding the bench's customers (posixAccount, the same names
// and uids as the gridlink users database), loaded offline with slapadd (100,000
// entries in seconds, where as many LDAP adds take minutes), and this host's
// SSSD serving it, with caches that keep every user for the whole run.
// SSSD is one per host: its start waits for the host's SSSD lock
// (harness/directory/sssd.ts), and an SSSD no lock accounts for (a test or a
// devnet of an older checkout) is waited for, then the part is skipped.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { SSSD_LOCK_PATH, sssdResponderPid, startOpenLdap, startSssd, type DirectoryServer, type Sssd } from '../harness/directory/index.js';
import { inParallel } from '../src/util/in-parallel.js';
import { holderAlive, readLockHolder } from '../src/util/pid-lock.js';
import { descendants } from '../src/util/proc.js';
import { runCommand } from '../src/util/run-command.js';

export interface BenchUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  gecos: string;
}

export interface SssdSource {
  /** sssd_nss, the NSS responder: its wake-ups during the timed calls say whether they reached it. */
  responderPid(): number;
  /**
   * The first lookup of each name (getent passwd, PREWARM_PROCS at a time):
   * each goes through sssd_nss and sssd_be to LDAP and fills SSSD's caches.
   * Returns the seconds it took.
   */
  prewarm(names: string[]): Promise<number>;
  stop(): Promise<void>;
}

/** A day: nothing expires during a run (the warm pass of 100,000 users takes minutes). */
const CACHE_S = 86_400;
/** A passwd record takes ~200 bytes of the memory cache; 64 MB holds 100,000 users with room (SSSD's default 8 MB does not). */
const MEMCACHE_PASSWD_MB = 64;

/**
 * sssd_be answers one request at a time, ~2.5 ms of CPU per new user
 * (the LDAP search, then its cache database writes): a few lookups in flight
 * keep it busy, more only queue. On this shared machine the daemons and the
 * lookups run at nice -15 (as nss_bench does) or the pass takes 4x longer.
 */
const PREWARM_PROCS = 8;
const PREWARM_BATCH = 200;
const NICE = '-15';

function usersLdif(usersDn: string, users: BenchUser[]): string {
  return users
    .map((u) =>
      [
        `dn: uid=${u.name},${usersDn}`,
        'objectClass: top',
        'objectClass: account',
        'objectClass: posixAccount',
        `uid: ${u.name}`,
        `cn: ${u.name}`,
        `uidNumber: ${u.uid}`,
        `gidNumber: ${u.gid}`,
        `homeDirectory: ${u.home}`,
        `loginShell: ${u.shell}`,
        `gecos: ${u.gecos}`,
        '',
      ].join('\n'),
    )
    .join('\n');
}

/** SSSD processes running now, as `pgrep -a` lists them. */
async function runningSssd(): Promise<string> {
  const r = await runCommand('pgrep', ['-a', '^sssd'], { allowFail: true });
  return r.stdout.trim();
}

/**
 * Waits up to `waitMs` while an SSSD runs that no live holder of the host's
 * SSSD lock accounts for (startSssd would kill it). Returns why the part must
 * be skipped, or undefined when SSSD is free or held under the lock (startSssd
 * then waits for the lock itself).
 */
export async function sssdBusy(waitMs: number): Promise<string | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const running = await runningSssd();
    const holder = readLockHolder(SSSD_LOCK_PATH);
    if (!running || (holder && holderAlive(holder))) return undefined;
    if (Date.now() >= deadline) return `an SSSD runs that no live process holds the lock ${SSSD_LOCK_PATH} for (a test or devnet run?):\n${running}`;
    await new Promise((r) => setTimeout(r, 5_000));
  }
}

/** OpenLDAP holding `users` and this host's SSSD serving it; `users`' uids must lie in [uidMin, uidMax]. */
export async function startSssdSource(dir: string, users: BenchUser[], uidMin: number, uidMax: number, log: (s: string) => void): Promise<SssdSource> {
  const ldif = join(dir, 'users.ldif');
  const usersDn = 'ou=People,dc=gridlink,dc=test';
  writeFileSync(ldif, usersLdif(usersDn, users));
  let t = performance.now();
  const ldap: DirectoryServer = await startOpenLdap({ bulkLdif: ldif, uidRange: { min: uidMin, max: uidMax }, startTimeoutMs: 60_000 });
  if (ldap.usersDn !== usersDn) throw new Error(`nss bench: the directory's users are under ${ldap.usersDn}, not ${usersDn}`);
  log(`openldap: ${users.length} users loaded (slapadd) and serving in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  let sssd: Sssd;
  try {
    t = performance.now();
    sssd = await startSssd({
      domains: [ldap],
      entryCacheTimeoutS: CACHE_S,
      memcacheTimeoutS: CACHE_S,
      memcachePasswdMb: MEMCACHE_PASSWD_MB,
      // the first lookups write each user into SSSD's cache db: without a sync each on this shared disk
      cacheNoFsync: true,
      lockWaitMs: 600_000,
      startTimeoutMs: 60_000,
    });
    log(`sssd: answering in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } catch (e) {
    await ldap.stop();
    throw e;
  }
  const daemons = (): number[] => [...descendants([sssd.pid()!]), sssd.pid()!, ldap.pid()!].filter((p) => p !== undefined);
  return {
    prewarm: async (names) => {
      const t0 = performance.now();
      await runCommand('renice', ['-n', NICE, '-p', ...daemons().map(String)]);
      const batches: string[][] = [];
      for (let i = 0; i < names.length; i += PREWARM_BATCH) batches.push(names.slice(i, i + PREWARM_BATCH));
      await inParallel(batches, PREWARM_PROCS, async (b) => {
        const r = await runCommand('nice', ['-n', NICE, 'getent', 'passwd', ...b], { allowFail: true, timeoutMs: 600_000 });
        if (r.code !== 0) throw new Error(`nss bench: getent passwd through SSSD failed (${r.signal ?? `exit ${r.code}`}) for some of ${b[0]} ...: ${r.stderr.trim()}`);
      });
      return (performance.now() - t0) / 1000;
    },
    responderPid: () => {
      const monitor = sssd.pid();
      const nss = monitor === undefined ? undefined : sssdResponderPid(monitor);
      if (nss === undefined) throw new Error('nss bench: sssd_nss is not running');
      return nss;
    },
    stop: async () => {
      await sssd.stop();
      await ldap.stop();
    },
  };
}

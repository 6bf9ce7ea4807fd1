// The host's SSSD lock (harness/directory/sssd.ts, SSSD_LOCK_PATH): while
// another live process holds it, startSssd waits, then fails naming the
// holder, and touches no SSSD meanwhile (the holder's keeps running). Starts
// no SSSD and no directory: the lock is taken for a `sleep` child, so the
// start gives up before doing anything.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { SSSD_LOCK_PATH, startSssd, type DirectoryServer } from '../../harness/directory/index.js';
import { readLockHolder, tryLock } from '../../src/util/pid-lock.js';
import { listPids, procComm, procStartTime } from '../../src/util/proc.js';

const sssdPids = () => listPids().filter((p) => (procComm(p) ?? '').startsWith('sssd')).sort();

/** Only what sssdConf reads: startSssd refuses before it would reach the server. */
const fakeServer = {
  kind: 'openldap',
  url: 'ldap://127.0.0.1:9',
  ldapsUrl: 'ldaps://127.0.0.1:10',
  suffix: 'dc=gridlink,dc=test',
  bindDn: 'cn=admin,dc=gridlink,dc=test',
  bindPassword: 'unused',
  bindPasswordFile: '/nonexistent',
  caFile: '/nonexistent',
  usersDn: 'ou=People,dc=gridlink,dc=test',
  groupsDn: 'ou=Groups,dc=gridlink,dc=test',
  group: { dn: 'cn=g,ou=Groups,dc=gridlink,dc=test', cn: 'g', gidNumber: 59_002 },
  uidRange: { min: 300_000, max: 399_999 },
  baseDir: '/nonexistent',
  logFile: '/nonexistent',
  pid: () => undefined,
  stopServer: async () => undefined,
  startServer: async () => undefined,
  stop: async () => undefined,
} satisfies DirectoryServer;

let holder: ChildProcess | undefined;
afterEach(() => {
  holder?.kill('SIGKILL');
  // the lock our child held goes with it (a stale one would be replaced anyway)
  if (holder?.pid !== undefined && readLockHolder(SSSD_LOCK_PATH)?.pid === holder.pid) rmSync(SSSD_LOCK_PATH, { force: true });
});

it('startSssd waits for the live holder of the host SSSD lock, then fails naming it, touching no SSSD', async (ctx) => {
  holder = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((r) => holder!.once('spawn', r));
  const pid = holder.pid!;
  const taken = tryLock(SSSD_LOCK_PATH, { pid, start: procStartTime(pid) }, { mode: 0o644 });
  if (!taken.taken) {
    ctx.skip(`the host's SSSD lock is held by PID ${taken.holder?.pid} (a test, benchmark or devnet using SSSD now)`);
    return;
  }
  const before = sssdPids();
  const t0 = Date.now();
  await expect(startSssd({ domains: [fakeServer], lockWaitMs: 1_000 })).rejects.toThrow(new RegExp(`held by PID ${pid} \\(lock ${SSSD_LOCK_PATH}, waited 1000 ms\\)`));
  expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
  expect(sssdPids()).toEqual(before);
  expect(readLockHolder(SSSD_LOCK_PATH)?.pid).toBe(pid);
});

// sssd.ts - SSSD for NSS on this host, pointed at a test directory, for the
// tests of the LDAP users resolver.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { spawnDaemon, stopDaemon, type Daemon } from '../cluster/daemon.js';
import { holderAlive, releaseLock, selfHolder, tryLock } from '../../src/util/pid-lock.js';
import { descendants, listPids, procComm, signalAll, waitForExit } from '../../src/util/proc.js';
import { runCommand } from '../../src/util/run-command.js';
import { logTail, writeSecret, type DirectoryServer } from './types.js';

/**
 * SSSD for NSS on this host. Its sockets (/var/lib/sss/pipes), caches
 * (/var/lib/sss/db, /var/lib/sss/mc) and pid file (/run/sssd.pid) are fixed at
 * build time: ONE SSSD per host, so a start replaces whatever SSSD runs,
 * once it holds the host's SSSD lock (SSSD_LOCK_PATH): while another live
 * process (a test, the devnet, a benchmark) holds it, a start waits
 * (`lockWaitMs`), then fails naming the holder.
 */
export interface Sssd {
  confFile: string;
  /** Where the daemon's log goes (sssd.log: the monitor's and every child's stderr). */
  logDir: string;
  pid(): number | undefined;
  /** `sss_cache -E`: every cached user and group is looked up again on next use. */
  clearCache(): Promise<void>;
  stop(): Promise<void>;
  /** SIGUSR2: a domain marked offline (its server was down) retries now instead of at its offline timer. */
  goOnline(): void;
  /** Milliseconds from start until NSS answered through it (measured, for reports). */
  firstResolveMs?: number;
}

export interface StartSssdOptions {
  /** In this order: a name in several domains resolves from the first. */
  domains: DirectoryServer[];
  /** Default: a fresh mkdtemp under /tmp, removed by stop(). */
  baseDir?: string;
  /** How long a resolved user or group is served from the cache, default 60 s. */
  entryCacheTimeoutS?: number;
  /**
   * Once a server was unreachable, SSSD serves that domain from cache and
   * retries only after this many seconds (SSSD's default is 60 plus up to 30
   * random, doubling to an hour). Default 2: a 'directory down, then up'
   * test sees new users seconds after the server is back.
   */
  offlineTimeoutS?: number;
  /** Until every domain's group resolves through NSS, default 30 s. */
  startTimeoutMs?: number;
  /** SSSD debug_level for every section, default 3 (errors, including TLS and bind failures). */
  debugLevel?: number;
  /**
   * [nss] memcache_timeout: how long a record stays valid in the memory-mapped
   * cache (/var/lib/sss/mc) that answers getpwnam/getpwuid inside the calling
   * process, without asking sssd_nss. Default SSSD's, 300 s.
   */
  memcacheTimeoutS?: number;
  /** [nss] memcache_size_passwd in MB, default SSSD's 8 (too small for 100,000 users: older records are dropped). */
  memcachePasswdMb?: number;
  /**
   * The cache databases (/var/lib/sss/db) written without fsync (tdb's
   * TDB_NO_FSYNC): a user's first lookup then costs SSSD's work, not the
   * disk's sync latency (tens of ms a user on a busy disk). For benchmarks
   * only: a crash could leave a damaged cache. Default false.
   */
  cacheNoFsync?: boolean;
  /** How long to wait while another live process holds the host's SSSD (SSSD_LOCK_PATH), default 120 s. */
  lockWaitMs?: number;
}

/** The host's SSSD lock: the PID of the process whose startSssd runs it (src/util/pid-lock.ts). */
export const SSSD_LOCK_PATH = '/tmp/gridlink-sssd.lock';

/** Takes SSSD_LOCK_PATH, waiting up to `waitMs` for a live holder to stop its SSSD. */
async function acquireSssdLock(waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const r = tryLock(SSSD_LOCK_PATH, { ...selfHolder(), what: 'sssd' }, { mode: 0o644 });
    if (r.taken || (r.holder && r.holder.pid === process.pid && holderAlive(r.holder))) return;
    if (r.holder && Date.now() >= deadline) {
      throw new Error(`startSssd: the host's SSSD is held by PID ${r.holder.pid} (lock ${SSSD_LOCK_PATH}, waited ${waitMs} ms): one SSSD per host`);
    }
    await new Promise((wake) => setTimeout(wake, 250));
  }
}

const SSS_DIR = '/var/lib/sss';
const PID_FILE = '/run/sssd.pid';
const SSSD_COMMS: ReadonlySet<string> = new Set(['sssd', 'sssd_be', 'sssd_nss', 'sssd_pam', 'sssd_pac', 'sssd_sudo', 'sssd_autofs', 'sssd_ssh', 'sssd_ifp']);

/** Domain names are unique per server: kind plus LDAP port. */
export function sssdDomainName(s: DirectoryServer): string {
  return `${s.kind}-${new URL(s.url).port}`;
}

export function sssdConf(
  o: Required<Pick<StartSssdOptions, 'domains' | 'entryCacheTimeoutS' | 'debugLevel' | 'offlineTimeoutS'>> &
    Pick<StartSssdOptions, 'memcacheTimeoutS' | 'memcachePasswdMb'>,
): string {
  const names = o.domains.map(sssdDomainName);
  if (new Set(names).size !== names.length) throw new Error(`startSssd: the same server twice in domains (${names.join(', ')})`);
  const lines = [
    '[sssd]',
    'config_file_version = 2',
    'services = nss',
    `domains = ${names.join(', ')}`,
    `debug_level = ${o.debugLevel}`,
    '',
    '[nss]',
    `debug_level = ${o.debugLevel}`,
    // A name asked for before the connector created it must not stay
    // "unknown" for the default 15 s.
    'entry_negative_timeout = 1',
    ...(o.memcacheTimeoutS !== undefined ? [`memcache_timeout = ${o.memcacheTimeoutS}`] : []),
    ...(o.memcachePasswdMb !== undefined ? [`memcache_size_passwd = ${o.memcachePasswdMb}`] : []),
    '',
  ];
  o.domains.forEach((s, i) => {
    // min_id/max_id filter users AND groups: widen the range to the group's gid.
    const minId = Math.min(s.uidRange.min, s.group.gidNumber);
    const maxId = Math.max(s.uidRange.max, s.group.gidNumber);
    lines.push(
      `[domain/${names[i]}]`,
      `debug_level = ${o.debugLevel}`,
      'id_provider = ldap',
      'auth_provider = none',
      'ldap_schema = rfc2307',
      `ldap_uri = ${s.url}`,
      'ldap_id_use_start_tls = true',
      'ldap_tls_reqcert = demand',
      `ldap_tls_cacert = ${s.caFile}`,
      `ldap_search_base = ${s.suffix}`,
      `ldap_user_search_base = ${s.usersDn}`,
      `ldap_group_search_base = ${s.groupsDn}`,
      `ldap_default_bind_dn = ${s.bindDn}`,
      'ldap_default_authtok_type = password',
      `ldap_default_authtok = ${s.bindPassword}`,
      // Never chase a referral to some other server: one directory per domain.
      'ldap_referrals = false',
      // id_provider=ldap implies sudo and autofs lookups too: off, nobody asked.
      'sudo_provider = none',
      'autofs_provider = none',
      `min_id = ${minId}`,
      `max_id = ${maxId}`,
      'enumerate = false',
      'cache_credentials = false',
      `entry_cache_timeout = ${o.entryCacheTimeoutS}`,
      'use_fully_qualified_names = false',
      `offline_timeout = ${o.offlineTimeoutS}`,
      `offline_timeout_max = ${o.offlineTimeoutS}`,
      'offline_timeout_random_offset = 0',
      '',
    );
  });
  return lines.join('\n');
}

function sssdPids(): number[] {
  return listPids().filter((p) => SSSD_COMMS.has(procComm(p) ?? ''));
}

/** The NSS responder (sssd_nss) of the SSSD whose monitor is `monitorPid`, if running. */
export function sssdResponderPid(monitorPid: number): number | undefined {
  return descendants([monitorPid]).find((p) => procComm(p) === 'sssd_nss');
}

/**
 * Every SSSD on the host goes: the monitor first (it stops its responders
 * and providers), then SIGKILL for anything left, e.g. an sssd_be whose
 * monitor died by SIGKILL.
 */
async function stopAnySssd(): Promise<void> {
  const monitors = sssdPids().filter((p) => procComm(p) === 'sssd');
  if (monitors.length > 0) {
    signalAll(monitors, 'SIGTERM');
    if (!(await waitForExit(monitors, 10_000))) signalAll(monitors, 'SIGKILL');
  }
  const rest = sssdPids();
  if (rest.length > 0) {
    signalAll(rest, 'SIGKILL');
    await waitForExit(rest, 5_000);
  }
  rmSync(PID_FILE, { force: true });
}

/**
 * The cache db and the memory-mapped NSS cache (mc): users of an earlier
 * directory instance (same names, other uids) must never answer.
 */
function wipeCaches(): void {
  for (const sub of ['db', 'mc']) {
    const dir = path.join(SSS_DIR, sub);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) rmSync(path.join(dir, f), { recursive: true, force: true });
  }
}

/** Name, uid, gid and home of each name NSS knows; one getent per 200 names. */
export async function getentPasswd(names: string[]): Promise<Map<string, { uid: number; gid: number; home: string }>> {
  const out = new Map<string, { uid: number; gid: number; home: string }>();
  for (let i = 0; i < names.length; i += 200) {
    // Exit 2 means "some key not found": those names are simply absent.
    const r = await runCommand('getent', ['passwd', ...names.slice(i, i + 200)], { allowFail: true, timeoutMs: 60_000 });
    if (r.code !== 0 && r.code !== 2) throw new Error(`getent passwd failed (${r.signal ?? `exit ${r.code}`}): ${r.stderr.trim()}`);
    for (const line of r.stdout.split('\n')) {
      const f = line.split(':');
      if (f.length < 7) continue;
      out.set(f[0]!, { uid: Number(f[2]), gid: Number(f[3]), home: f[5]! });
    }
  }
  return out;
}

async function getentGroup(key: string): Promise<boolean> {
  const r = await runCommand('getent', ['group', key], { allowFail: true, timeoutMs: 10_000 });
  return r.code === 0 && r.stdout.trim().length > 0;
}

/**
 * SSSD logs the cause (e.g. "ldap_install_tls failed") once, then repeats
 * "SSSD is offline" and SELinux notices for every lookup: the log tail alone
 * hides it. These are the distinct lines that name a failure.
 */
export function sssdLogProblems(file: string, max = 15): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').slice(-512 * 1024);
  } catch {
    return '';
  }
  const noise = /SELINUX|SELinux|getpeercon|SSSD is offline|cache_req_common_process_dp_reply|getAccountInfo/;
  const cause = /tls|certificate|bind|No available servers|unable|failed|error|invalid|refused/i;
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (noise.test(line) || !cause.test(line)) continue;
    const key = line.replace(/^\([^)]*\):\s*/, '');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(line);
    if (out.length >= max) break;
  }
  return out.length > 0 ? `\n--- failures logged in ${file} ---\n${out.join('\n')}` : '';
}

/** Ready = NSS answers through SSSD for every domain (each group by its gid). */
async function waitResolves(d: Daemon, domains: DirectoryServer[], timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(domains.map((s) => String(s.group.gidNumber)));
  for (;;) {
    for (const gid of [...pending]) if (await getentGroup(gid)) pending.delete(gid);
    if (pending.size === 0) return;
    if (!d.running()) {
      const r = await d.exited;
      throw new Error(`sssd exited during start (${r.signal ?? `exit ${r.code}`})${sssdLogProblems(logFile)}${logTail(logFile, 15)}`);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `sssd: group gid(s) ${[...pending].join(', ')} do not resolve through NSS after ${timeoutMs} ms${sssdLogProblems(logFile)}${logTail(logFile, 10)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

let current: Sssd | undefined;

export async function startSssd(o: StartSssdOptions): Promise<Sssd> {
  if (o.domains.length === 0) throw new Error('startSssd: no domains');
  const t0 = Date.now();
  await current?.stop();

  const created = o.baseDir === undefined;
  // sssd refuses a config readable by others; it also holds the bind passwords.
  const conf = sssdConf({
    domains: o.domains,
    entryCacheTimeoutS: o.entryCacheTimeoutS ?? 60,
    debugLevel: o.debugLevel ?? 3,
    offlineTimeoutS: o.offlineTimeoutS ?? 2,
    ...(o.memcacheTimeoutS !== undefined ? { memcacheTimeoutS: o.memcacheTimeoutS } : {}),
    ...(o.memcachePasswdMb !== undefined ? { memcachePasswdMb: o.memcachePasswdMb } : {}),
  });
  await acquireSssdLock(o.lockWaitMs ?? 120_000);
  let base: string, confFile: string, logFile: string, daemon: Daemon;
  try {
    await stopAnySssd();
    wipeCaches();
    base = o.baseDir ?? mkdtempSync('/tmp/gridlink-sssd-');
    mkdirSync(base, { recursive: true });
    chmodSync(base, 0o755);
    confFile = path.join(base, 'sssd.conf');
    logFile = path.join(base, 'sssd.log');
    writeSecret(confFile, conf);

    // -i: in the foreground, so the PID is ours and the kernel sends it SIGTERM
    // if we die (SSSD stays root); --logger=stderr: the monitor and the
    // children it forks all write to logFile instead of /var/log/sssd.
    daemon = await spawnDaemon({
      name: 'sssd',
      cmd: '/usr/sbin/sssd',
      args: ['-i', '--logger=stderr', '-c', confFile],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', ...(o.cacheNoFsync ? { TDB_NO_FSYNC: '1' } : {}) },
      cwd: base,
      outFile: logFile,
      parentDeathSignal: 'SIGTERM',
    });
  } catch (e) {
    releaseLock(SSSD_LOCK_PATH);
    throw e;
  }

  const kill = async (): Promise<void> => {
    const children = descendants([daemon.pid]);
    await stopDaemon(daemon, 10_000);
    // Responders and providers exit with the monitor; make sure.
    signalAll(children, 'SIGKILL');
    await waitForExit(children, 5_000);
    rmSync(PID_FILE, { force: true });
    releaseLock(SSSD_LOCK_PATH);
  };
  let stopped = false;
  const sssd: Sssd = {
    confFile,
    logDir: base,
    pid: () => (daemon.running() ? daemon.pid : undefined),
    goOnline: () => {
      if (daemon.running()) signalAll([daemon.pid], 'SIGUSR2');
    },
    clearCache: async () => {
      await runCommand('sss_cache', ['-E'], { timeoutMs: 30_000 });
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await kill();
      if (current === sssd) current = undefined;
      if (created) rmSync(base, { recursive: true, force: true });
    },
  };
  current = sssd;
  try {
    await waitResolves(daemon, o.domains, o.startTimeoutMs ?? 30_000, logFile);
  } catch (e) {
    // Keep the base dir: its log explains the failure.
    await kill().catch(() => undefined);
    current = undefined;
    throw new Error(`${(e as Error).message}
(config ${confFile})`);
  }
  sssd.firstResolveMs = Date.now() - t0;
  return sssd;
}

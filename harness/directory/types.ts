// types.ts - what the test directories (389 DS, OpenLDAP) share: the server a
// test gets and the options it starts one with.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Client } from 'ldapts';
import type { Daemon } from '../cluster/daemon.js';
import { findByEnv, isAlive, procEnv, procStartTime, signalAll, waitForExit } from '../../src/util/proc.js';
import { tailFile } from '../../src/util/run-command.js';

export type DirectoryKind = '389ds' | 'openldap';

/** A private LDAP server on loopback, populated with the identity feature's skeleton. */
export interface DirectoryServer {
  kind: DirectoryKind;
  /** 'ldap://127.0.0.1:PORT'; StartTLS works on it. */
  url: string;
  /** 'ldaps://127.0.0.1:PORT2'. */
  ldapsUrl: string;
  /** Default 'dc=gridlink,dc=test'. */
  suffix: string;
  /** Full rights on the suffix (389ds: cn=Directory Manager; openldap: the database's rootdn). */
  bindDn: string;
  bindPassword: string;
  /** The password without a trailing newline, mode 0600. */
  bindPasswordFile: string;
  /** PEM CA that verifies the server certificate (IP SAN 127.0.0.1, DNS localhost). */
  caFile: string;
  /** 'ou=People,<suffix>', created. */
  usersDn: string;
  /** 'ou=Groups,<suffix>', created. */
  groupsDn: string;
  /** The posixGroup the connector puts users into (memberUid), created. */
  group: { dn: string; cn: string; gidNumber: number };
  /**
   * 389ds: its DNA plugin gives a posixAccount under usersDn added with
   * uidNumber '-1' the next free number in this range. openldap: no DNA, the
   * connector allocates itself; the harness only reports the range.
   */
  uidRange: { min: number; max: number };
  baseDir: string;
  /** Milliseconds from the start call until the server answered (measured, for reports). */
  startMs?: number;
  /** 389ds: milliseconds per start step (prepare, dscreate, tls, config, start, skeleton). */
  startSteps?: Record<string, number>;
  /** 389ds: the instance name (slapd-<serverId>). */
  serverId?: string;
  /** The server's own log (389ds: the errors log; openldap: slapd's stderr at loglevel stats). */
  logFile: string;
  pid(): number | undefined;
  /** Stop the daemon, keep its data (to test 'directory down'). */
  stopServer(): Promise<void>;
  /** Start it again on the same ports with the same data. */
  startServer(): Promise<void>;
  /** Stop and remove everything (idempotent). */
  stop(): Promise<void>;
}

export interface StartDirectoryOptions {
  /** Default: a fresh mkdtemp under /tmp (mode 0755). Removed by stop(). */
  baseDir?: string;
  suffix?: string;
  group?: { cn?: string; gidNumber?: number };
  uidRange?: { min: number; max: number };
  /** Until the server answers a bind, default 30 s. */
  startTimeoutMs?: number;
}

export const DEFAULT_SUFFIX = 'dc=gridlink,dc=test';
export const DEFAULT_GROUP_CN = 'gridlink-customers';

// ---------------------------------------------------------------------------
// What both servers share. It lives here because the directory module is
// these six files; nothing below is exported from index.ts.


export interface Resolved {
  suffix: string;
  usersDn: string;
  groupsDn: string;
  group: { dn: string; cn: string; gidNumber: number };
  uidRange: { min: number; max: number };
  startTimeoutMs: number;
}

/** The DirectoryServer fields that come straight from the resolved options. */
export function layoutOf(r: Resolved): Pick<Resolved, 'suffix' | 'usersDn' | 'groupsDn' | 'group' | 'uidRange'> {
  return { suffix: r.suffix, usersDn: r.usersDn, groupsDn: r.groupsDn, group: r.group, uidRange: r.uidRange };
}

export function resolveOptions(
  o: StartDirectoryOptions,
  defaults: { gidNumber: number; uidRange: { min: number; max: number } },
): Resolved {
  const suffix = o.suffix ?? DEFAULT_SUFFIX;
  const uidRange = o.uidRange ?? defaults.uidRange;
  if (!Number.isInteger(uidRange.min) || !Number.isInteger(uidRange.max) || uidRange.min < 1000 || uidRange.max < uidRange.min) {
    throw new Error(`directory: bad uidRange ${JSON.stringify(uidRange)} (integers, 1000 <= min <= max)`);
  }
  const cn = o.group?.cn ?? DEFAULT_GROUP_CN;
  const groupsDn = `ou=Groups,${suffix}`;
  return {
    suffix,
    usersDn: `ou=People,${suffix}`,
    groupsDn,
    group: { dn: `cn=${cn},${groupsDn}`, cn, gidNumber: o.group?.gidNumber ?? defaults.gidNumber },
    uidRange,
    startTimeoutMs: o.startTimeoutMs ?? 30_000,
  };
}

/**
 * The base dir: the caller's, or a fresh one under /tmp. 0755 so the
 * daemons' unprivileged users (dirsrv, openldap) can traverse it.
 */
export function makeBaseDir(kind: DirectoryKind, baseDir?: string): string {
  const dir = baseDir ?? mkdtempSync(`/tmp/gridlink-${kind}-`);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  return dir;
}

/** URL-safe, no characters that need quoting in an .inf, LDIF or sssd.conf. */
export function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

export function writeSecret(file: string, content: string): void {
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600); // the mode option does not change an existing file
}

/** The rdn value of the suffix's first component ('gridlink' for dc=gridlink,dc=test). */
function suffixTop(suffix: string): { attr: string; value: string } {
  const m = /^\s*([A-Za-z]+)\s*=\s*([^,]+)/.exec(suffix);
  if (!m) throw new Error(`directory: cannot parse suffix '${suffix}'`);
  return { attr: m[1]!.toLowerCase(), value: m[2]!.trim() };
}

export type Entry = { dn: string; attrs: Record<string, string[]> };

/** The suffix entry itself (only OpenLDAP needs it from us; dscreate makes its own). */
export function suffixEntry(suffix: string): Entry {
  const top = suffixTop(suffix);
  if (top.attr === 'dc') return { dn: suffix, attrs: { objectClass: ['top', 'domain'], dc: [top.value] } };
  if (top.attr === 'o') return { dn: suffix, attrs: { objectClass: ['top', 'organization'], o: [top.value] } };
  throw new Error(`directory: suffix '${suffix}' must start with dc= or o=`);
}

/** ou=People, ou=Groups and the customers' posixGroup. */
export function skeletonEntries(r: Resolved): Entry[] {
  return [
    { dn: r.usersDn, attrs: { objectClass: ['top', 'organizationalUnit'], ou: ['People'] } },
    { dn: r.groupsDn, attrs: { objectClass: ['top', 'organizationalUnit'], ou: ['Groups'] } },
    {
      dn: r.group.dn,
      attrs: { objectClass: ['top', 'posixGroup'], cn: [r.group.cn], gidNumber: [String(r.group.gidNumber)] },
    },
  ];
}

export function toLdif(entries: Entry[]): string {
  return entries
    .map((e) => [`dn: ${e.dn}`, ...Object.entries(e.attrs).flatMap(([k, vs]) => vs.map((v) => `${k}: ${v}`))].join('\n'))
    .join('\n\n')
    .concat('\n');
}

/**
 * A bound-ready client: ldaps:// with the CA, or ldap:// upgraded by StartTLS.
 * ldapts 8 treats ANY tlsOptions as "connect with TLS" even on ldap://, so
 * for StartTLS the CA goes to startTLS(), never to the constructor.
 */
export async function ldapConnect(url: string, caFile: string, timeoutMs = 5_000): Promise<Client> {
  const tls = { ca: [readFileSync(caFile)], rejectUnauthorized: true };
  const ldaps = url.startsWith('ldaps://');
  const c = new Client({ url, timeout: timeoutMs, connectTimeout: timeoutMs, ...(ldaps ? { tlsOptions: tls } : {}) });
  if (!ldaps) {
    try {
      await c.startTLS(tls);
    } catch (e) {
      await c.unbind().catch(() => undefined);
      throw e;
    }
  }
  return c;
}

/** One simple bind over TLS, then unbind. Throws what the server or the socket said. */
export async function tryBind(url: string, dn: string, password: string, caFile: string): Promise<void> {
  const c = await ldapConnect(url, caFile, 2_000);
  try {
    await c.bind(dn, password);
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

export function logTail(file: string, lines = 25): string {
  const t = tailFile(file, lines);
  return t ? `\n--- last lines of ${file} ---\n${t}` : `\n(${file} is empty or missing)`;
}

/**
 * Ready = a bind as the root DN works on the ldap:// AND the ldaps:// port
 * (both listeners open together, but only a bind proves the backend is up).
 * Fails fast if the daemon exits, with the log tail.
 */
export async function waitReady(
  what: string,
  d: Daemon,
  s: { url: string; ldapsUrl: string; bindDn: string; bindPassword: string; caFile: string },
  timeoutMs: number,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (!d.running()) {
      const r = await d.exited;
      throw new Error(`${what} exited during start (${r.signal ?? `exit ${r.code}`})${logTail(logFile)}`);
    }
    try {
      await tryBind(s.url, s.bindDn, s.bindPassword, s.caFile);
      await tryBind(s.ldapsUrl, s.bindDn, s.bindPassword, s.caFile);
      return;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`${what} not answering a bind after ${timeoutMs} ms (last: ${last})${logTail(logFile)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// --- never leave a server behind ----------------------------------------------

/**
 * Both servers drop root (slapd -u openldap, ns-slapd as dirsrv), and the
 * kernel clears PR_SET_PDEATHSIG on that credential change: the parent-death
 * signal spawnDaemon sets does NOT reach them. Two nets instead: an 'exit'
 * hook for the daemons of this process, and, at every start, a sweep that
 * kills servers whose owning test process is gone (killed by SIGKILL or a
 * vitest timeout, where no hook runs). The owner is marked in the daemon's
 * environment, which survives setuid, so servers of a concurrent test run
 * (another live process) are never touched.
 */
export const OWNER_ENV = 'GRIDLINK_DIRECTORY_OWNER';
/** Set only when the harness made the base dir (mkdtemp): the sweep removes it too. */
export const BASE_ENV = 'GRIDLINK_DIRECTORY_BASE';
const SERVER_COMMS: ReadonlySet<string> = new Set(['slapd', 'ns-slapd']);
const live = new Set<Daemon>();
let hooked = false;

function ownerMark(pid: number): string | undefined {
  const t = procStartTime(pid);
  return t === undefined ? undefined : `${pid}:${t}`;
}

/** Environment for a server daemon: a minimal PATH, our owner mark, and the base dir if ours to delete. */
export function daemonEnv(ownBaseDir?: string): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    [OWNER_ENV]: ownerMark(process.pid) ?? String(process.pid),
    ...(ownBaseDir ? { [BASE_ENV]: ownBaseDir } : {}),
  };
}

export function track(d: Daemon): void {
  live.add(d);
  void d.exited.then(() => live.delete(d));
  if (hooked) return;
  hooked = true;
  process.on('exit', () => signalAll([...live].filter((x) => x.running()).map((x) => x.pid), 'SIGTERM'));
}

/** Kills directory servers left by test processes that no longer exist. Returns their PIDs. */
export async function reapOrphans(): Promise<number[]> {
  const orphans = findByEnv(SERVER_COMMS, OWNER_ENV).filter((pid) => {
    const mark = procEnv(pid).get(OWNER_ENV) ?? '';
    const owner = Number(mark.split(':')[0]);
    return !isAlive(owner) || (mark.includes(':') && ownerMark(owner) !== mark);
  });
  if (orphans.length === 0) return [];
  const dirs = orphans.map((pid) => procEnv(pid).get(BASE_ENV)).filter((d): d is string => !!d && d.startsWith('/tmp/gridlink-'));
  signalAll(orphans, 'SIGTERM');
  if (!(await waitForExit(orphans, 10_000))) signalAll(orphans, 'SIGKILL');
  await waitForExit(orphans, 5_000);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  return orphans;
}

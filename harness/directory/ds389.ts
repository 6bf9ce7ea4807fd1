// ds389.ts - a private 389 Directory Server on loopback for the LDAP tests
// (dscreate, TLS, the identity feature's skeleton).
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnDaemon, stopDaemon, type Daemon } from '../cluster/daemon.js';
import { freePorts } from '../cluster/ports.js';
import { runCommand } from '../../src/util/run-command.js';
import { makeTestCa } from './certs.js';
import {
  daemonEnv,
  reapOrphans,
  track,
  ldapConnect,
  logTail,
  makeBaseDir,
  randomPassword,
  resolveOptions,
  skeletonEntries,
  waitReady,
  writeSecret,
  type DirectoryServer,
  type Resolved,
  type StartDirectoryOptions, layoutOf } from './types.js';

/**
 * 389-ds-base without systemd, everything under one base dir.
 *
 * dscreate is the supported way to build an instance (template dse.ldif,
 * schema copy, NSS database, backend, suffix entry) and the slow part: it
 * starts the server, configures it over LDAPI and stops it again (~4-5 s,
 * most of it the server's own shutdown). Everything we add on top is done
 * OFFLINE in dse.ldif and the NSS database before our first start, so the
 * server starts once more, with TLS, DNA and indexes already in place: no
 * extra restart.
 */

const SYSTEM_DEFAULTS_INF = '/usr/share/dirsrv/inf/defaults.inf';
const DEFAULT_UID_RANGE = { min: 200_000, max: 299_999 };
const DEFAULT_GID = 59_001;
const BACKEND = 'userroot';
const ROOT_DN = 'cn=Directory Manager';
/** The nickname dscreate's cn=RSA,cn=encryption,cn=config already names. */
const SERVER_CERT_NICK = 'Server-Cert';
const EQ_INDEXES = ['objectClass', 'uid', 'uidNumber', 'gidNumber', 'memberUid', 'cn'];
const DNA_PLUGIN_DN = 'cn=Distributed Numeric Assignment Plugin,cn=plugins,cn=config';

interface Layout {
  base: string;
  serverId: string;
  configDir: string; // also the NSS cert dir
  pidFile: string;
  logDir: string;
  errorsLog: string;
  outFile: string;
}

function layout(base: string, serverId: string): Layout {
  const inst = `slapd-${serverId}`;
  const logDir = path.join(base, 'log', inst);
  return {
    base,
    serverId,
    configDir: path.join(base, 'etc', 'dirsrv', inst),
    pidFile: path.join(base, 'run', `${inst}.pid`),
    logDir,
    errorsLog: path.join(logDir, 'errors'),
    outFile: path.join(base, 'ns-slapd.out'),
  };
}

// --- instance creation (dscreate) -------------------------------------------

/**
 * lib389 reads its paths from $PREFIX/share/dirsrv/inf/defaults.inf: a copy
 * of the system one with systemd off and every writable path under `base`.
 * db_home_dir moves off /dev/shm too (lib389 does that itself only when it
 * detects a container).
 */
function defaultsInf(base: string): string {
  const i = '{instance_name}';
  const set: Record<string, string> = {
    with_systemd: '0',
    tmp_dir: `${base}/tmp`,
    sysconf_dir: `${base}/etc`,
    initconfig_dir: `${base}/etc/default`,
    config_dir: `${base}/etc/dirsrv/slapd-${i}`,
    local_state_dir: `${base}/var`,
    run_dir: `${base}/run`,
    ldapi: `${base}/run/slapd-${i}.socket`,
    pid_file: `${base}/run/slapd-${i}.pid`,
    inst_dir: `${base}/lib/slapd-${i}`,
    tmpfiles_d: `${base}/tmpfiles.d`,
    schema_dir: `${base}/etc/dirsrv/slapd-${i}/schema`,
    cert_dir: `${base}/etc/dirsrv/slapd-${i}`,
    lock_dir: `${base}/lock/slapd-${i}`,
    log_dir: `${base}/log/slapd-${i}`,
    access_log: `${base}/log/slapd-${i}/access`,
    audit_log: `${base}/log/slapd-${i}/audit`,
    error_log: `${base}/log/slapd-${i}/errors`,
    security_log: `${base}/log/slapd-${i}/security`,
    db_dir: `${base}/db/slapd-${i}/db`,
    db_home_dir: `${base}/db/slapd-${i}/db`,
    backup_dir: `${base}/db/slapd-${i}/bak`,
    ldif_dir: `${base}/db/slapd-${i}/ldif`,
  };
  const seen = new Set<string>();
  const out = readFileSync(SYSTEM_DEFAULTS_INF, 'utf8')
    .split('\n')
    .map((line) => {
      const m = /^(\w+)\s*=/.exec(line);
      const key = m?.[1];
      if (key === undefined || !(key in set)) return line;
      seen.add(key);
      return `${key} = ${set[key]}`;
    });
  const missing = Object.keys(set).filter((k) => !seen.has(k));
  // A key we do not know of would silently keep a system path: refuse instead.
  if (missing.length > 0) throw new Error(`389ds: ${SYSTEM_DEFAULTS_INF} lacks ${missing.join(', ')} (389-ds-base version changed?)`);
  return out.join('\n');
}

/**
 * lib389 creates the leaf dirs itself but with umask 007 parents owned by
 * root: ns-slapd (user dirsrv) then cannot reach them. Pre-create them owned
 * by dirsrv; the schema and config templates come from /etc/dirsrv.
 */
async function prepareTree(base: string): Promise<void> {
  mkdirSync(path.join(base, 'share', 'dirsrv', 'inf'), { recursive: true });
  writeFileSync(path.join(base, 'share', 'dirsrv', 'inf', 'defaults.inf'), defaultsInf(base));
  mkdirSync(path.join(base, 'etc'), { mode: 0o755 }); // traversable by dirsrv
  const owned = ['db', 'lock', 'log', 'run', 'tmp', 'etc/dirsrv'].map((d) => path.join(base, d));
  for (const d of owned) mkdirSync(d, { mode: 0o770 });
  cpSync('/etc/dirsrv/schema', path.join(base, 'etc', 'dirsrv', 'schema'), { recursive: true });
  cpSync('/etc/dirsrv/config', path.join(base, 'etc', 'dirsrv', 'config'), { recursive: true });
  await runCommand('chown', ['-R', 'dirsrv:dirsrv', ...owned]);
}

function instanceInf(l: Layout, r: Resolved, ports: { port: number; tlsPort: number }, password: string): string {
  return [
    '[general]',
    'full_machine_name = localhost',
    'strict_host_checking = False',
    // dscreate stops the server at the end either way (start = True only
    // restarts it, daemonized); we start it ourselves, in the foreground.
    'start = False',
    '[slapd]',
    `instance_name = ${l.serverId}`,
    `port = ${ports.port}`,
    `secure_port = ${ports.tlsPort}`,
    `root_dn = ${ROOT_DN}`,
    `root_password = ${password}`,
    // Its self-signed certificate names only 'localhost'; ours has the IP SAN.
    'self_sign_cert = False',
    `[backend-${BACKEND}]`,
    `suffix = ${r.suffix}`,
    'create_suffix_entry = True',
    '',
  ].join('\n');
}

async function dscreate(l: Layout, inf: string): Promise<void> {
  const infFile = path.join(l.base, 'instance.inf');
  writeSecret(infFile, inf); // holds the root password in clear
  const log = path.join(l.base, 'dscreate.log');
  try {
    // /usr/sbin/dscreate directly: its #! is /usr/bin/python3 with lib389;
    // a python3 earlier on PATH (pyenv) lacks the Debian modules.
    const res = await runCommand('/usr/sbin/dscreate', ['-v', 'from-file', infFile], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', PREFIX: l.base, LANG: 'C.UTF-8' },
      cwd: l.base,
      timeoutMs: 180_000,
      allowFail: true,
    });
    writeFileSync(log, res.stdout + res.stderr);
    if (res.code !== 0) {
      throw new Error(`389ds: dscreate of ${l.serverId} failed (${res.signal ?? `exit ${res.code}`})${logTail(log)}${logTail(l.errorsLog, 15)}`);
    }
  } finally {
    rmSync(infFile, { force: true });
  }
}

/**
 * The CA and server key (openssl, synchronous, ~0.2 s of RSA key generation)
 * are made while dscreate runs: it is a child process, so it keeps going
 * while our event loop is blocked.
 */
async function dscreateWithCerts(l: Layout, inf: string, tlsDir: string): Promise<{ ca: string; cert: string; key: string }> {
  const created = dscreate(l, inf);
  created.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
  try {
    const ca = makeTestCa(tlsDir, 'gridlink 389ds CA');
    const server = ca.issue('server', { ipSans: ['127.0.0.1'], dnsNames: ['localhost'] });
    await created;
    return { ca: ca.caFile, cert: server.certFile, key: server.keyFile };
  } catch (e) {
    await created.catch(() => undefined); // never leave dscreate running behind an error
    throw e;
  }
}

// --- offline configuration ---------------------------------------------------

/** The server certificate and its CA into the instance's NSS database. */
async function importCertificates(l: Layout, tls: { ca: string; cert: string; key: string }): Promise<void> {
  const db = `sql:${l.configDir}`;
  const nssPw = path.join(l.configDir, 'pwdfile.txt'); // written by dscreate
  const p12 = path.join(l.base, 'tls', 'server.p12');
  const p12Pw = path.join(l.base, 'tls', 'server.p12.pw');
  writeSecret(p12Pw, randomPassword());
  await runCommand('openssl', ['pkcs12', '-export', '-in', tls.cert, '-inkey', tls.key, '-name', SERVER_CERT_NICK, '-out', p12, '-passout', `file:${p12Pw}`]);
  await runCommand('pk12util', ['-i', p12, '-d', db, '-k', nssPw, '-w', p12Pw]);
  await runCommand('certutil', ['-A', '-d', db, '-f', nssPw, '-n', 'gridlink-test-ca', '-t', 'CT,,', '-a', '-i', tls.ca]);
  rmSync(p12, { force: true });
  // certutil/pk12util ran as root; the server reads the database as dirsrv.
  await runCommand('chown', ['-R', 'dirsrv:dirsrv', l.configDir]);
}

/** dse.ldif as entries of unfolded lines: edited only while the server is down. */
class DseLdif {
  private readonly entries: string[][];
  constructor(private readonly file: string) {
    this.entries = readFileSync(file, 'utf8')
      .replace(/\n /g, '') // unfold continuation lines
      .split(/\n\s*\n/)
      .map((b) => b.split('\n').filter((x) => x.length > 0))
      .filter((b) => b.length > 0);
  }
  private find(dn: string): string[] | undefined {
    const want = `dn: ${dn}`.toLowerCase();
    return this.entries.find((e) => e[0]?.toLowerCase() === want);
  }
  has(dn: string): boolean {
    return this.find(dn) !== undefined;
  }
  /** Replace every value of `attr` by `value` (adds the attribute if absent). */
  replace(dn: string, attr: string, value: string): void {
    const e = this.find(dn);
    if (!e) throw new Error(`389ds: ${this.file} has no entry ${dn}`);
    const prefix = `${attr.toLowerCase()}:`;
    const kept = e.filter((line, i) => i === 0 || !line.toLowerCase().startsWith(prefix));
    e.splice(0, e.length, ...kept, `${attr}: ${value}`);
  }
  values(dn: string, attr: string): string[] {
    const prefix = `${attr.toLowerCase()}:`;
    return (this.find(dn) ?? []).filter((l) => l.toLowerCase().startsWith(prefix)).map((l) => l.slice(prefix.length).trim());
  }
  add(dn: string, attrs: Record<string, string[]>): void {
    if (this.has(dn)) throw new Error(`389ds: ${dn} already in ${this.file}`);
    this.entries.push([`dn: ${dn}`, ...Object.entries(attrs).flatMap(([k, vs]) => vs.map((v) => `${k}: ${v}`))]);
  }
  save(): void {
    writeFileSync(this.file, `${this.entries.map((e) => e.join('\n')).join('\n\n')}\n`);
  }
}

/**
 * TLS on, the DNA plugin on with a uidNumber range for ou=People, and the
 * equality indexes SSSD and the connector rely on (389ds ships most of them;
 * we add what is missing rather than trusting a default list).
 */
async function configureOffline(l: Layout, r: Resolved): Promise<void> {
  const file = path.join(l.configDir, 'dse.ldif');
  const dse = new DseLdif(file);
  dse.replace('cn=config', 'nsslapd-security', 'on');
  dse.replace(DNA_PLUGIN_DN, 'nsslapd-pluginEnabled', 'on');
  dse.add(`cn=uidNumber,${DNA_PLUGIN_DN}`, {
    objectClass: ['top', 'extensibleObject'],
    cn: ['uidNumber'],
    dnaType: ['uidNumber'],
    // An entry added with uidNumber -1 gets the next number (also 'the connector asked for one').
    dnaMagicRegen: ['-1'],
    dnaFilter: ['(objectClass=posixAccount)'],
    dnaScope: [r.usersDn],
    dnaNextValue: [String(r.uidRange.min)],
    dnaMaxValue: [String(r.uidRange.max)],
  });
  const indexBase = `cn=index,cn=${BACKEND},cn=ldbm database,cn=plugins,cn=config`;
  for (const attr of EQ_INDEXES) {
    const dn = `cn=${attr.toLowerCase()},${indexBase}`;
    if (!dse.has(dn)) {
      dse.add(dn, { objectClass: ['top', 'nsIndex'], cn: [attr.toLowerCase()], nsSystemIndex: ['false'], nsIndexType: ['eq'] });
    } else if (!dse.values(dn, 'nsIndexType').some((v) => v.toLowerCase() === 'eq')) {
      dse.replace(dn, 'nsIndexType', 'eq'); // empty database: nothing to reindex
    }
  }
  dse.save();
  await runCommand('chown', ['dirsrv:dirsrv', file]);
}

/** ou=People, ou=Groups and the group, online (dscreate made only the suffix entry). */
async function addSkeleton(s: { url: string; caFile: string; bindDn: string; bindPassword: string }, r: Resolved): Promise<void> {
  const c = await ldapConnect(s.url, s.caFile);
  try {
    await c.bind(s.bindDn, s.bindPassword);
    for (const e of skeletonEntries(r)) await c.add(e.dn, e.attrs);
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

// --- the server ---------------------------------------------------------------

export async function start389ds(o: StartDirectoryOptions = {}): Promise<DirectoryServer> {
  const t0 = Date.now();
  await reapOrphans();
  const r = resolveOptions(o, { gidNumber: DEFAULT_GID, uidRange: DEFAULT_UID_RANGE });
  // Unique per start: nothing (ldapi socket, NSS db, logs) can collide with another instance.
  const l = layout(makeBaseDir('389ds', o.baseDir), `gl${randomBytes(4).toString('hex')}`);
  const [port, tlsPort] = (await freePorts(2)) as [number, number];
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = `ldaps://127.0.0.1:${tlsPort}`;
  const bindPassword = randomPassword();
  const bindPasswordFile = path.join(l.base, 'bind.pw');
  writeSecret(bindPasswordFile, bindPassword);
  const tlsDir = path.join(l.base, 'tls');
  const ready = { url, ldapsUrl, bindDn: ROOT_DN, bindPassword, caFile: path.join(tlsDir, 'ca.crt') };

  let daemon: Daemon | undefined;
  let removed = false;
  const startServer = async (): Promise<void> => {
    if (daemon?.running()) return;
    // -d 0 keeps ns-slapd in the foreground (its PID is ours and it gets
    // SIGTERM if we die) without debug output; it still writes errorsLog.
    daemon = await spawnDaemon({
      name: 'ns-slapd',
      cmd: '/usr/sbin/ns-slapd',
      args: ['-D', l.configDir, '-i', l.pidFile, '-d', '0'],
      env: daemonEnv(o.baseDir === undefined ? l.base : undefined),
      cwd: l.base,
      outFile: l.outFile,
      parentDeathSignal: 'SIGTERM', // until it drops root, see track()
    });
    track(daemon);
    await waitReady(`389ds ${l.serverId} (${l.base})`, daemon, ready, r.startTimeoutMs, l.errorsLog);
  };
  const stopServer = async (): Promise<void> => {
    // The backend flushes on SIGTERM; 30 s before SIGKILL (measured: ~1.5 s).
    if (daemon) await stopDaemon(daemon, 30_000);
  };

  const timings: Record<string, number> = {};
  const step = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const v = await f();
    timings[name] = Date.now() - t;
    return v;
  };
  try {
    await step('prepare', () => prepareTree(l.base));
    const tls = await step('dscreate', () => dscreateWithCerts(l, instanceInf(l, r, { port, tlsPort }, bindPassword), tlsDir));
    await step('tls', () => importCertificates(l, tls));
    await step('config', () => configureOffline(l, r));
    await step('start', startServer);
    await step('skeleton', () => addSkeleton(ready, r));
  } catch (e) {
    await stopServer();
    throw new Error(`389ds in ${l.base}: ${(e as Error).message}`);
  }
  return {
    kind: '389ds',
    ...ready,
    ...layoutOf(r),
    bindPasswordFile,
    baseDir: l.base,
    logFile: l.errorsLog,
    startMs: Date.now() - t0,
    startSteps: timings,
    serverId: l.serverId,
    pid: () => (daemon?.running() ? daemon.pid : undefined),
    stopServer,
    startServer,
    stop: async () => {
      await stopServer();
      if (!removed && existsSync(l.base)) rmSync(l.base, { recursive: true, force: true });
      removed = true;
    },
  };
}

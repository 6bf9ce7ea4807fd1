// openldap.ts - a private OpenLDAP (slapd) on loopback for the LDAP tests, with
// TLS and the identity feature's skeleton.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnDaemon, stopDaemon, type Daemon } from '../cluster/daemon.js';
import { freePorts } from '../cluster/ports.js';
import { runCommand } from '../../src/util/run-command.js';
import { makeTestCa } from './certs.js';
import {
  daemonEnv,
  reapOrphans,
  track,
  makeBaseDir,
  randomPassword,
  resolveOptions,
  skeletonEntries,
  suffixEntry,
  toLdif,
  waitReady,
  writeSecret,
  type DirectoryServer,
  type Resolved,
  type StartDirectoryOptions, layoutOf } from './types.js';

/**
 * OpenLDAP (Debian's slapd, whose system instance is never configured) as a
 * private server: cn=config and the initial entries are loaded offline with
 * slapadd, then slapd runs in the foreground as user openldap on loopback.
 * Start to first bind: a few hundred ms, most of it RSA key generation.
 */

const SCHEMAS = ['core', 'cosine', 'nis', 'inetorgperson'];
/** Equality indexes for what SSSD and the connector search by. */
const EQ_INDEXES = ['objectClass', 'uid', 'uidNumber', 'gidNumber', 'memberUid', 'cn'];
const DEFAULT_UID_RANGE = { min: 300_000, max: 399_999 };
const DEFAULT_GID = 59_002;

interface Layout {
  base: string;
  configDir: string;
  dataDir: string;
  runDir: string;
  tlsDir: string;
  logFile: string;
}

function layout(base: string): Layout {
  return {
    base,
    configDir: path.join(base, 'slapd.d'),
    dataDir: path.join(base, 'data'),
    runDir: path.join(base, 'run'),
    tlsDir: path.join(base, 'tls'),
    logFile: path.join(base, 'slapd.log'),
  };
}

function configLdif(l: Layout, r: Resolved, tls: { ca: string; cert: string; key: string }, rootDn: string, rootPwHash: string): string {
  return [
    'dn: cn=config',
    'objectClass: olcGlobal',
    'cn: config',
    `olcPidFile: ${path.join(l.runDir, 'slapd.pid')}`,
    `olcArgsFile: ${path.join(l.runDir, 'slapd.args')}`,
    `olcTLSCACertificateFile: ${tls.ca}`,
    `olcTLSCertificateFile: ${tls.cert}`,
    `olcTLSCertificateKeyFile: ${tls.key}`,
    '',
    'dn: cn=module{0},cn=config',
    'objectClass: olcModuleList',
    'cn: module{0}',
    'olcModulePath: /usr/lib/ldap',
    'olcModuleLoad: back_mdb',
    '',
    'dn: cn=schema,cn=config',
    'objectClass: olcSchemaConfig',
    'cn: schema',
    '',
    ...SCHEMAS.flatMap((s) => [`include: file:///etc/ldap/schema/${s}.ldif`, '']),
    'dn: olcDatabase={-1}frontend,cn=config',
    'objectClass: olcDatabaseConfig',
    'objectClass: olcFrontendConfig',
    'olcDatabase: {-1}frontend',
    '',
    'dn: olcDatabase={0}config,cn=config',
    'objectClass: olcDatabaseConfig',
    'olcDatabase: {0}config',
    '',
    'dn: olcDatabase={1}mdb,cn=config',
    'objectClass: olcDatabaseConfig',
    'objectClass: olcMdbConfig',
    'olcDatabase: {1}mdb',
    `olcDbDirectory: ${l.dataDir}`,
    `olcSuffix: ${r.suffix}`,
    // The rootdn bypasses every ACL: the bindDn with full rights.
    `olcRootDN: ${rootDn}`,
    `olcRootPW: ${rootPwHash}`,
    // A sparse file: room for many users without the 10 MiB default filling up.
    'olcDbMaxSize: 1073741824',
    ...EQ_INDEXES.map((a) => `olcDbIndex: ${a} eq`),
    // Nothing for anonymous (the default would let anyone read everything).
    'olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none',
    'olcAccess: {1}to * by users read by * none',
    '',
  ].join('\n');
}

export interface OpenLdapOptions extends StartDirectoryOptions {
  /**
   * An LDIF file of more entries under the suffix (e.g. 100,000 users under
   * ou=People), loaded offline with `slapadd -q` after the skeleton, before
   * slapd first starts: seconds where as many adds over LDAP take minutes.
   */
  bulkLdif?: string;
}

/** The LDIF is kept in the base dir: it documents what was loaded. */
async function slapadd(args: string[], ldif: string, file: string, l: Layout): Promise<void> {
  writeFileSync(file, ldif);
  await runCommand('slapadd', [...args, '-F', l.configDir, '-l', file], { timeoutMs: 30_000 });
}

/** cn=config and the initial entries, offline (slapadd), before slapd first starts. */
async function initialize(l: Layout, r: Resolved, rootDn: string, passwordFile: string, bulkLdif?: string): Promise<string> {
  for (const d of [l.configDir, l.dataDir, l.runDir]) mkdirSync(d, { recursive: true, mode: 0o750 });
  const ca = makeTestCa(l.tlsDir, 'gridlink openldap CA');
  const server = ca.issue('server', { ipSans: ['127.0.0.1'], dnsNames: ['localhost'] });
  const hash = (await runCommand('slappasswd', ['-h', '{SSHA}', '-T', passwordFile])).stdout.trim();
  const config = configLdif(l, r, { ca: ca.caFile, cert: server.certFile, key: server.keyFile }, rootDn, hash);
  await slapadd(['-n0'], config, path.join(l.base, 'config.ldif'), l);
  await slapadd(['-b', r.suffix], toLdif([suffixEntry(r.suffix), ...skeletonEntries(r)]), path.join(l.base, 'data.ldif'), l);
  // -q: no consistency checks while loading (the file is generated), the indexes are still built
  if (bulkLdif) await runCommand('slapadd', ['-q', '-b', r.suffix, '-F', l.configDir, '-l', bulkLdif], { timeoutMs: 600_000 });
  // slapd drops to the openldap user, which must own its files and read the key.
  await runCommand('chown', ['-R', 'openldap:openldap', l.configDir, l.dataDir, l.runDir, server.keyFile]);
  return ca.caFile;
}

export async function startOpenLdap(o: OpenLdapOptions = {}): Promise<DirectoryServer> {
  const t0 = Date.now();
  await reapOrphans();
  const r = resolveOptions(o, { gidNumber: DEFAULT_GID, uidRange: DEFAULT_UID_RANGE });
  const l = layout(makeBaseDir('openldap', o.baseDir));
  const [port, tlsPort] = (await freePorts(2)) as [number, number];
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = `ldaps://127.0.0.1:${tlsPort}`;
  const bindDn = `cn=admin,${r.suffix}`;
  const bindPassword = randomPassword();
  const bindPasswordFile = path.join(l.base, 'bind.pw');
  writeSecret(bindPasswordFile, bindPassword);

  let daemon: Daemon | undefined;
  let removed = false;
  let caFile: string;
  try {
    caFile = await initialize(l, r, bindDn, bindPasswordFile, o.bulkLdif);
  } catch (e) {
    throw new Error(`openldap in ${l.base}: ${(e as Error).message}`);
  }
  const ready = { url, ldapsUrl, bindDn, bindPassword, caFile };

  const startServer = async (): Promise<void> => {
    if (daemon?.running()) return;
    // -d keeps slapd in the foreground (its PID is ours, and it gets SIGTERM
    // if we die); 'stats' logs connections and operations to logFile.
    daemon = await spawnDaemon({
      name: 'slapd',
      cmd: 'slapd',
      args: ['-F', l.configDir, '-h', `${url}/ ${ldapsUrl}/`, '-u', 'openldap', '-g', 'openldap', '-d', 'stats'],
      env: daemonEnv(o.baseDir === undefined ? l.base : undefined),
      cwd: l.base,
      outFile: l.logFile,
      parentDeathSignal: 'SIGTERM', // until it drops root, see track()
    });
    track(daemon);
    await waitReady(`openldap slapd (${l.base})`, daemon, ready, r.startTimeoutMs, l.logFile);
  };
  const stopServer = async (): Promise<void> => {
    if (daemon) await stopDaemon(daemon, 15_000);
  };

  try {
    await startServer();
  } catch (e) {
    await stopServer();
    throw e;
  }
  return {
    kind: 'openldap',
    ...ready,
    ...layoutOf(r),
    bindPasswordFile,
    baseDir: l.base,
    logFile: l.logFile,
    startMs: Date.now() - t0,
    pid: () => (daemon?.running() ? daemon.pid : undefined),
    stopServer,
    startServer,
    stop: async () => {
      await stopServer();
      if (!removed) rmSync(l.base, { recursive: true, force: true });
      removed = true;
    },
  };
}

// fixtures.ts - the identity tests' shared pieces: the connector's
// configuration for a harness directory, fresh customer addresses, and the
// connector CLI as a child process (one process: kill -9 reaches it).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'ldapts';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';

import type { DirectoryServer } from '../../harness/directory/index.js';
import { ldapConfigSchema, type LdapConfig, type LdapConfigInput } from '../../src/ldap/index.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';
import { packageRoot } from '../../src/native/index.js';

export { cliEntry };

/** mkdtemp makes 0700 directories: customers must traverse the one above their home. */
export function traversable(d: string): string {
  chmodSync(d, 0o755);
  return d;
}

/** The connector's configuration for `dir`, homes under a fresh root. */
export function ldapConfigFor(dir: DirectoryServer, o: Partial<LdapConfigInput> = {}): LdapConfig {
  const homeRoot = o.homeRoot ?? join(traversable(mkdtempSync(join(tmpdir(), `gl-homes-${dir.kind}-`))), 'homes');
  return ldapConfigSchema.parse({
    url: dir.url,
    caFile: dir.caFile,
    bindDn: dir.bindDn,
    bindPasswordFile: dir.bindPasswordFile,
    server: dir.kind,
    usersDn: dir.usersDn,
    group: { dn: dir.group.dn, gidNumber: dir.group.gidNumber },
    homeRoot,
    uidNumbers: { min: dir.uidRange.min, max: dir.uidRange.max },
    ...o,
  });
}

/** A configuration file for `gridlink ldap-connector` ({"ldap": ...}). */
export function connectorConfigFile(config: LdapConfig): string {
  const d = mkdtempSync(join(tmpdir(), 'gl-connector-'));
  const f = join(d, 'connector.json');
  writeFileSync(f, JSON.stringify({ ldap: config }));
  return f;
}

/** n addresses nobody has used (random keys), checksummed as wallets print them. */
export function freshAddresses(n: number): string[] {
  return Array.from({ length: n }, () => privateKeyToAddress(generatePrivateKey()));
}

/** An admin session on `dir` (StartTLS, CA verified) for checking what the connector wrote. */
export async function adminClient(dir: DirectoryServer): Promise<Client> {
  const { readFileSync } = await import('node:fs');
  const tlsOptions = { ca: readFileSync(dir.caFile), host: '127.0.0.1' };
  const c = new Client({ url: dir.url }); // no tlsOptions here: ldapts' StartTLS then fails
  await c.startTLS(tlsOptions);
  await c.bind(dir.bindDn, dir.bindPassword);
  return c;
}

export interface EntryView {
  uid: number;
  gid: number;
  home: string;
}

/** Every posixAccount under usersDn, by login. */
export async function posixAccounts(dir: DirectoryServer): Promise<Map<string, EntryView>> {
  const c = await adminClient(dir);
  try {
    const r = await c.search(dir.usersDn, { scope: 'one', filter: '(objectClass=posixAccount)', attributes: ['uid', 'uidNumber', 'gidNumber', 'homeDirectory'], paged: { pageSize: 500 } });
    return new Map(r.searchEntries.map((e) => [String(e.uid), { uid: Number(e.uidNumber), gid: Number(e.gidNumber), home: String(e.homeDirectory) }]));
  } finally {
    await c.unbind();
  }
}

/** The memberUid values of the cluster-users group. */
export async function groupMembers(dir: DirectoryServer): Promise<Set<string>> {
  const c = await adminClient(dir);
  try {
    const r = await c.search(dir.group.dn, { scope: 'base', attributes: ['memberUid'] });
    const v = r.searchEntries[0]?.memberUid;
    return new Set(v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
  } finally {
    await c.unbind();
  }
}

/** `gridlink ldap-connector ARGS`, in one process. */
export function connectorCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [...cliEntry(), 'ldap-connector', ...args], {
    cwd: packageRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function collect(p: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  p.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

export function tempFile(name: string, content: string): string {
  const d = mkdtempSync(join(tmpdir(), 'gl-identity-'));
  mkdirSync(d, { recursive: true });
  const f = join(d, name);
  writeFileSync(f, content);
  return f;
}

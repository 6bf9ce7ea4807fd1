// users.ts - check `users`: with users.resolver "gridlink", this host's
// nsswitch.conf asks the gridlink module for passwd and group, the module is
// installed, and this host's users database file is whole and, where the
// state database is on this host (the supervisor's), at its version; there,
// a warning names the hosts of users.gridlink.sync.hosts that never pulled it
// or not lately, and hosts that pull it but are not listed.
// "not configured" with another resolver.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

import { openStateDb } from '../compose/state-store.js';
import { stateDbPath } from '../state/db.js';
import { usersDbVersionOf } from '../userdb/format.js';
import { describeSyncHostsReview, HostReports, reviewSyncHosts, type HostReport } from '../userdb/host-reports.js';
import { fail, noConfig, ok, skip, warn, type DoctorContext, type Check, type Outcome } from './types.js';

export interface UsersCheckPaths {
  nsswitch?: string;
  /** Where glibc finds NSS modules. */
  moduleDirs?: readonly string[];
}

const MODULE = 'libnss_gridlink.so.2';
const DEFAULT_MODULE_DIRS = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/lib64', '/usr/lib', '/lib'];

/** The sources nsswitch.conf gives `db` ("passwd", "group"); undefined without a line. */
export function nsswitchSources(text: string, db: string): string[] | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^([a-z_]+)\s*:\s*(.*)$/.exec(line);
    if (m && m[1] === db) return m[2]!.split(/\s+/).filter((w) => w && !w.startsWith('['));
  }
  return undefined;
}

/**
 * The first of `file` and its directories that another user cannot read
 * (the file, o+r) or pass (a directory, o+x), with its mode; undefined when
 * everyone can. A customer's own processes (a job's `id`, su) resolve names
 * through the module as that customer.
 */
export function closedToOthers(file: string): string | undefined {
  const mode = (p: string) => statSync(p).mode & 0o7777;
  if (!(mode(file) & 0o004)) return `${file} (mode ${mode(file).toString(8).padStart(4, '0')})`;
  for (let d = dirname(file); ; d = dirname(d)) {
    if (!(mode(d) & 0o001)) return `${d} (mode ${mode(d).toString(8).padStart(4, '0')})`;
    if (d === dirname(d)) return undefined;
  }
}

export async function checkUsers(ctx: DoctorContext, paths: UsersCheckPaths = {}): Promise<Outcome> {
  if (!ctx.config) return noConfig(ctx);
  const { resolver, gridlink } = ctx.config.users;
  if (resolver !== 'gridlink') return skip(`not configured (users.resolver is ${resolver})`);
  const nsswitch = paths.nsswitch ?? '/etc/nsswitch.conf';
  let text: string;
  try {
    text = readFileSync(nsswitch, 'utf8');
  } catch (err) {
    return fail(`cannot read ${nsswitch}: ${(err as Error).message}`);
  }
  for (const db of ['passwd', 'group']) {
    const sources = nsswitchSources(text, db) ?? [];
    if (!sources.includes('gridlink')) return fail(`${nsswitch}: "${db}: ${sources.join(' ')}" does not ask gridlink`, `add gridlink after files: "${db}: files gridlink" (docs/nss-gridlink.md)`);
  }
  const dir = (paths.moduleDirs ?? DEFAULT_MODULE_DIRS).find((d) => existsSync(`${d}/${MODULE}`));
  if (!dir) return fail(`${MODULE} is not installed`, 'install the gridlink package (it ships the module in /usr/lib/x86_64-linux-gnu)');
  let file: Buffer;
  try {
    file = readFileSync(gridlink.dbPath);
  } catch (err) {
    return fail(`${gridlink.dbPath}: ${(err as Error).message}: every customer is "not found" on this host`, 'check this host\'s relay (users_url) or, on the supervisor\'s host, that the supervisor runs');
  }
  const have = usersDbVersionOf(file);
  if (have === undefined) return fail(`${gridlink.dbPath} is not a gridlink users database (damaged): every customer is "not found" on this host`, 'remove it: the relay, or the supervisor at its start, writes it again');
  const closed = closedToOthers(gridlink.dbPath);
  if (closed)
    return fail(
      `${gridlink.dbPath} is closed to other users at ${closed}: a customer's own processes (its job's \`id\`, su) find no names`,
      'let every user read the file and pass its directories (chmod o+r the file, o+x the directories; the .deb makes /var/lib/gridlink and its nss/ 0755)',
    );
  const store = stateDbPath(ctx.config.ingest.storeDir);
  if (!existsSync(store)) return ok(`${nsswitch} asks gridlink, ${dir}/${MODULE}; ${gridlink.dbPath} at version ${have} (the state database is not on this host: gridlink users sync --check on the supervisor's)`);
  let want: number;
  let reports: HostReport[];
  const now = ctx.now?.() ?? Date.now();
  try {
    const db = openStateDb(store, { readonly: true });
    try {
      want = Number((db.prepare("SELECT value FROM meta WHERE key = 'userdb.version'").get() as { value: string } | undefined)?.value ?? 0);
      reports = new HostReports(db).all();
    } finally {
      db.close();
    }
  } catch (err) {
    return fail(`cannot read the state database ${store}: ${(err as Error).message}`);
  }
  if (have !== want) return fail(`${gridlink.dbPath} is at version ${have}, the state database at ${want}`, 'restart the supervisor (it writes the file of its version at start) and check it can write users.gridlink.dbPath');
  const okLine = `${nsswitch} asks gridlink, ${dir}/${MODULE}; ${gridlink.dbPath} at the state database's version ${have}`;
  // the hosts that pull it, as the supervisor recorded their requests, against this configuration's list
  const listed = gridlink.sync.hosts;
  // (a host behind at this instant is usually one taking the newest version: not a warning)
  const problems = describeSyncHostsReview({ ...reviewSyncHosts(listed, reports, want, now), behind: [] }, now);
  if (problems.length) return warn(`${okLine}; ${problems.join('; ')}`, 'gridlink users sync --check --store <ingest.storeDir> lists every host');
  return ok(`${okLine}${listed.length ? `; the ${listed.length} hosts of users.gridlink.sync.hosts pulled it lately` : ''}`);
}

export const usersCheck: Check = { name: 'users', needs: ['config'], run: (ctx) => checkUsers(ctx) };

// users.ts - `gridlink users`: the customers' users of users.resolver
// "gridlink", for the operator. Reads the state database read-only (beside a
// running supervisor) and this host's users database file.
//   list            every customer: address, uid, gid, first version holding it
//   show ADDRESS    one customer, and what this host's file says of it
//   sync --check    this host's file against the state database's version (exit 1 when behind),
//                   and the hosts that pull it against users.gridlink.sync.hosts (exit 1 when a
//                   listed host never pulled; a host pulling but not listed is named)
import { readFileSync } from 'node:fs';

import { Command } from 'commander';

import { openStateDb } from '../compose/state-store.js';
import { stateDbPath, type Db } from '../state/db.js';
import { cdbGet } from '../userdb/cdb.js';
import { DEFAULT_USERS_DB_PATH, usersDbVersionOf } from '../userdb/format.js';
import { describeSyncHostsReview, HostReports, reviewSyncHosts } from '../userdb/host-reports.js';
import { customerLogin } from '../util/customer-login.js';

interface Row {
  name: string;
  uid: number;
  gid: number;
  db_version: number | null;
}

const storeOption = ['--store <dir>', "the supervisor's store directory (ingest.storeDir of its configuration)"] as const;
const dbOption = ['--db <file>', "this host's users database file", DEFAULT_USERS_DB_PATH] as const;

function withDb<T>(store: string, fn: (db: Db) => T): T {
  const db = openStateDb(stateDbPath(store), { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function readFile(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

const stateVersion = (db: Db) => Number((db.prepare("SELECT value FROM meta WHERE key = 'userdb.version'").get() as { value: string } | undefined)?.value ?? 0);

export function usersCommand(): Command {
  const cmd = new Command('users').description('the customers\' Linux users of users.resolver "gridlink" (uids handed out by the supervisor, the users database file)');
  cmd
    .command('list')
    .description('every customer: address, uid, gid and the first users database version holding it')
    .requiredOption(...storeOption)
    .option('--json', 'one JSON object per line')
    .action((o: { store: string; json?: boolean }) => {
      withDb(o.store, (db) => {
        const rows = db.prepare('SELECT name, uid, gid, db_version FROM gridlink_users ORDER BY uid').all() as Row[];
        if (o.json) {
          for (const r of rows) process.stdout.write(`${JSON.stringify({ address: r.name, uid: r.uid, gid: r.gid, version: r.db_version })}\n`);
          return;
        }
        process.stdout.write(`${rows.length} customers, users database version ${stateVersion(db)}\n`);
        for (const r of rows) process.stdout.write(`${r.name}  uid ${r.uid}  gid ${r.gid}  version ${r.db_version ?? '-'}\n`);
      });
    });
  cmd
    .command('show')
    .description('one customer: its uid and gid, and what this host\'s users database file holds of it')
    .argument('<address>', 'the customer\'s 0x address')
    .requiredOption(...storeOption)
    .option(...dbOption)
    .action((address: string, o: { store: string; db: string }) => {
      const name = customerLogin(address);
      withDb(o.store, (db) => {
        const r = db.prepare('SELECT name, uid, gid, db_version FROM gridlink_users WHERE name = ?').get(name) as Row | undefined;
        if (!r) {
          process.stdout.write(`${name}: no user (it gets one at its first job)\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`${name}: uid ${r.uid}, gid ${r.gid}, first in users database version ${r.db_version ?? '- (not written yet)'}\n`);
        const file = readFile(o.db);
        const rec = file ? cdbGet(file, Buffer.from(`p:${name}`))[0] : undefined;
        process.stdout.write(rec ? `${o.db} (version ${usersDbVersionOf(file!) ?? '?'}): ${rec.toString('utf8').split('\0').join(':')}\n` : `${o.db}: does not hold it${file ? '' : ' (no file)'}\n`);
      });
    });
  cmd
    .command('sync')
    .description('compare this host\'s users database file with the state database (the supervisor rewrites its own at every start; the relays keep the others)')
    .requiredOption('--check', 'only check (the only mode): exit 1 when this host\'s file is behind, missing or damaged, or a host of users.gridlink.sync.hosts never pulled')
    .requiredOption(...storeOption)
    .option(...dbOption)
    .action((o: { store: string; db: string }) => {
      const [want, reports] = withDb(o.store, (db) => [stateVersion(db), new HostReports(db).all()] as const);
      const file = readFile(o.db);
      const have = file ? usersDbVersionOf(file) : undefined;
      if (have === want) process.stdout.write(`${o.db}: version ${have}, up to date\n`);
      else {
        process.stdout.write(
          `${o.db}: ${file ? (have === undefined ? 'not a gridlink users database (damaged)' : `version ${have}`) : 'missing'}, the state database is at version ${want}: ${have !== undefined && have > want ? 'a file from another state database' : 'check this host\'s relay (users_url) or restart the supervisor on its own host'}\n`,
        );
        process.exitCode = 1;
      }
      // the hosts, as the supervisor recorded their requests and its users.gridlink.sync.hosts
      const now = Date.now();
      const listed = reports.filter((r) => r.listed).map((r) => r.host);
      for (const r of reports.filter((h) => h.listed || h.lastSeen !== undefined))
        process.stdout.write(
          `host ${r.host}: ${r.listed ? 'listed' : 'not listed'}, ${r.lastSeen === undefined ? 'never pulled' : `version ${r.version ?? 0}${(r.version ?? 0) >= want ? ' (current)' : ''}, last request ${new Date(r.lastSeen).toISOString()}`}\n`,
        );
      const review = reviewSyncHosts(listed, reports, want, now);
      for (const l of describeSyncHostsReview(review, now)) process.stdout.write(`${l}\n`);
      if (review.neverSeen.length) process.exitCode = 1;
    });
  return cmd;
}

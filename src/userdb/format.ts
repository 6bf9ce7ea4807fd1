// format.ts - what the users database file holds: the keys and values the
// NSS module (native/nss/nss_gridlink.c, whose header comment has the same
// layout) looks up. A cdb file (cdb.ts), values are fields separated by NUL
// bytes, numbers in decimal ASCII:
//
//   "!gridlink-users"  -> FORMAT "\0" version "\0" minUid
//   "!gridlink-flags"  -> flag words separated by ',' (only "enumerate" so far);
//                         absent: none. A record of its own, not a fourth header
//                         field: modules built before it refuse a header of more
//                         than three fields, and ignore a key they do not know.
//   "p:" + name        -> name "\0" uid "\0" gid "\0" gecos "\0" home "\0" shell
//   "u:" + uid         -> name                 (then "p:" + name)
//   "g:" + name        -> name "\0" gid "\0" members (comma-separated)
//   "G:" + gid         -> name                 (then "g:" + name)
//
// Every customer has a private group: its name and gid are the user's name
// and uid. version grows by one each time the file gains users; a host holds
// every user up to the version it reports.
import { buildCdb, cdbGet } from './cdb.js';

/** The layout number inside the file; the module refuses another one (not found, logged). */
export const USERS_DB_FORMAT = 1;
export const VERSION_KEY = '!gridlink-users';
export const FLAGS_KEY = '!gridlink-flags';
export const DEFAULT_USERS_DB_PATH = '/var/lib/gridlink/nss/users.cdb';
export const CUSTOMER_NAME_RE = /^0x[0-9a-f]{40}$/;

export interface UserDbEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  gecos: string;
}

export interface UsersDbContents {
  version: number;
  minUid: number;
  /** The module lists every customer (getent passwd / group without a name); default off. */
  enumerate?: boolean;
  users: Iterable<UserDbEntry>;
}

const enc = (s: string) => Buffer.from(s, 'utf8');
const fields = (...f: Array<string | number>) => enc(f.map(String).join('\0'));

/** A text field of a passwd entry: no NUL, ':' or newline (getent and every parser of /etc/passwd split on them). */
function checkField(what: string, v: string): void {
  if (/[\0:\n]/.test(v)) throw new Error(`${what} ${JSON.stringify(v)} contains a NUL, ':' or newline`);
}

/** The cdb records of one database. Throws on an entry the module would refuse (it refuses them too, whatever the file holds). */
export function* usersDbRecords(c: UsersDbContents): Generator<readonly [Buffer, Buffer]> {
  yield [enc(VERSION_KEY), fields(USERS_DB_FORMAT, c.version, c.minUid)];
  if (c.enumerate) yield [enc(FLAGS_KEY), enc('enumerate')];
  for (const u of c.users) {
    if (!CUSTOMER_NAME_RE.test(u.name)) throw new Error(`user name ${JSON.stringify(u.name)} is not a lower-case 0x address`);
    if (!Number.isInteger(u.uid) || u.uid < c.minUid || u.uid > 0xfffffffe) throw new Error(`uid ${u.uid} of ${u.name} is out of range (minimum ${c.minUid})`);
    if (!Number.isInteger(u.gid) || u.gid < 1 || u.gid > 0xfffffffe) throw new Error(`gid ${u.gid} of ${u.name} is out of range`);
    if (!u.home.startsWith('/')) throw new Error(`home ${JSON.stringify(u.home)} of ${u.name} is not absolute`);
    for (const [what, v] of [['home', u.home], ['shell', u.shell], ['gecos', u.gecos]] as const) checkField(what, v);
    yield [enc(`p:${u.name}`), fields(u.name, u.uid, u.gid, u.gecos, u.home, u.shell)];
    yield [enc(`u:${u.uid}`), enc(u.name)];
    yield [enc(`g:${u.name}`), fields(u.name, u.gid, u.name)];
    yield [enc(`G:${u.gid}`), enc(u.name)];
  }
}

export function buildUsersDb(c: UsersDbContents): Buffer {
  return buildCdb(usersDbRecords(c));
}

/** The version inside a users database file's bytes; undefined when it is not one of this layout. */
export function usersDbVersionOf(file: Buffer): number | undefined {
  try {
    const v = cdbGet(file, Buffer.from(VERSION_KEY))[0]?.toString('utf8').split('\0');
    return v && v[0] === String(USERS_DB_FORMAT) && /^\d+$/.test(v[1] ?? '') ? Number(v[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a users database file's bytes let the module enumerate (its "!gridlink-flags" record holds "enumerate"). */
export function usersDbEnumerates(file: Buffer): boolean {
  try {
    return (cdbGet(file, Buffer.from(FLAGS_KEY))[0]?.toString('utf8').split(',') ?? []).includes('enumerate');
  } catch {
    return false;
  }
}

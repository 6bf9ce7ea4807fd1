// connector.ts - turns a customer's Ethereum address into a complete Linux
// user in the directory: a posixAccount (uid = the lower-case address, a
// uidNumber nobody else has, the cluster-users gidNumber, a home under
// homeRoot), its memberUid in the cluster-users group, and its home directory
// on disk. Idempotent and safe to kill at any instant: the entry is created
// by one LDAP add (all attributes or nothing), and every later step is
// checked and finished again on the next call, so a user is either absent
// or completed by whoever asks next. Several connectors may run at once.
import { join } from 'node:path';

import { AlreadyExistsError, Attribute, Change, DN, EqualityFilter, AndFilter, TypeOrValueExistsError } from 'ldapts';
import type { Logger } from 'pino';

import { CustomerAddressError, customerLogin } from '../util/customer-login.js';
import { readSecretFile, SecretFileError } from '../util/secret-file.js';
import { counterDnOf, type LdapConfig } from './config.js';
import { DirectoryConnection, ldapErrorOf } from './connection.js';
import { DirectoryError } from './errors.js';
import { ensureHome } from './home.js';
import { counterUidNumbers, dnaUidNumbers, type UidNumberSource } from './uid-numbers.js';

export interface DirectoryUser {
  /** The lower-case 0x address: the login name. */
  name: string;
  uid: number;
  gid: number;
  home: string;
  dn: string;
  /** true when this connector added the entry (concurrent calls for one user share one creation). */
  created: boolean;
}

/** Steps of one creation, in order; a test hook may stop the process at any of them. */
export type CreationStep = 'searched' | 'uid-allocated' | 'entry-added' | 'member-added' | 'home-created';

export interface ConnectorOptions {
  config: LdapConfig;
  log: Logger;
  /** Tests: called after each step of a creation (e.g. to kill the process there). */
  onStep?: (step: CreationStep, name: string) => void;
}

export interface LdapConnector {
  /** The customer's complete user, created or finished as needed. Throws DirectoryError. */
  ensureUser(address: string): Promise<DirectoryUser>;
  /** Checks the connection, the bind and that usersDn and the group exist. */
  check(): Promise<{ usersDn: string; group: string; members: number }>;
  close(): Promise<void>;
}

/** The bind password; read for every new session, so a corrected file needs no restart. */
export function readBindPassword(config: LdapConfig): string {
  try {
    // 0600 or 0400, owned by whoever runs the connector: the password lets anyone create users.
    return readSecretFile(config.bindPasswordFile, { what: 'LDAP bind password', modes: [0o600, 0o400], maxBytes: 1024 }).toString('utf8').replace(/\r?\n$/, '');
  } catch (err) {
    if (err instanceof SecretFileError) throw new DirectoryError('bind', err.message, true);
    throw err;
  }
}

export function createLdapConnector(o: ConnectorOptions): LdapConnector {
  const { config: c, log } = o;
  const conn = new DirectoryConnection(
    {
      url: c.url,
      caFile: c.caFile,
      insecure: c.insecure,
      bindDn: c.bindDn,
      bindPasswordFile: c.bindPasswordFile,
      readBindPassword: () => readBindPassword(c),
      timeoutMs: c.timeoutMs,
      connectTimeoutMs: c.connectTimeoutMs,
    },
    log,
  );
  readBindPassword(c); // a missing or unsafe password file is a configuration error: say so at start
  const uidNumbers: UidNumberSource =
    c.server === '389ds'
      ? dnaUidNumbers(c.uidNumbers.dnaMagic)
      : counterUidNumbers({ conn, counterDn: counterDnOf(c), usersDn: c.usersDn, min: c.uidNumbers.min, max: c.uidNumbers.max });
  const step = (s: CreationStep, name: string) => o.onStep?.(s, name);
  const cache = new Map<string, { user: DirectoryUser; until: number }>();
  const inFlight = new Map<string, Promise<DirectoryUser>>();

  const userDn = (name: string) => new DN({ uid: name }).toString() + ',' + c.usersDn;

  interface Entry {
    dn: string;
    uid: number;
    gid: number;
    home: string;
  }

  const dnaMissing = (dn: string, removed: boolean) =>
    new DirectoryError(
      'conflict',
      `${dn} ${removed ? 'was added' : 'has'} uidNumber ${c.uidNumbers.dnaMagic}, the DNA magic value, and the server kept it: the 389ds DNA plugin is not configured for uidNumber of posixAccount entries under ${c.usersDn} (dnaMagicRegen ${c.uidNumbers.dnaMagic}); configure it${removed ? ' (the entry was removed again)' : ', then delete this entry'}`,
      false,
    );

  /** The entry of `name`, checked against the configuration; undefined when absent; 'magic' when its uidNumber is DNA's magic value. */
  const find = async (name: string): Promise<Entry | 'magic' | undefined> => {
    const r = await conn.run(`search ${c.usersDn} for uid=${name}`, (l) =>
      l.search(c.usersDn, {
        scope: 'one',
        filter: new AndFilter({ filters: [new EqualityFilter({ attribute: 'objectClass', value: 'posixAccount' }), new EqualityFilter({ attribute: 'uid', value: name })] }),
        attributes: ['uidNumber', 'gidNumber', 'homeDirectory'],
        sizeLimit: 2,
      }),
    );
    if (r.searchEntries.length === 0) return undefined;
    if (r.searchEntries.length > 1) throw new DirectoryError('conflict', `${r.searchEntries.length} entries under ${c.usersDn} have uid=${name}: remove all but one`, false);
    const e = r.searchEntries[0]!;
    const uid = Number(e.uidNumber);
    const gid = Number(e.gidNumber);
    const home = String(e.homeDirectory ?? '');
    if (String(e.uidNumber) === c.uidNumbers.dnaMagic) return 'magic';
    if (!Number.isSafeInteger(uid) || uid < c.uidNumbers.min || uid > c.uidNumbers.max) {
      throw new DirectoryError('conflict', `${e.dn} has uidNumber ${JSON.stringify(e.uidNumber)}, outside uidNumbers ${c.uidNumbers.min}-${c.uidNumbers.max}: a grid job never runs as it; fix the entry`, false);
    }
    if (gid !== c.group.gidNumber) throw new DirectoryError('conflict', `${e.dn} has gidNumber ${JSON.stringify(e.gidNumber)}, not the cluster-users group's ${c.group.gidNumber}: fix the entry`, false);
    const expected = join(c.homeRoot, name);
    if (home !== expected) throw new DirectoryError('conflict', `${e.dn} has homeDirectory ${JSON.stringify(home)}, not ${expected}: fix the entry (homes live under homeRoot)`, false);
    return { dn: e.dn, uid, gid, home };
  };

  const add = async (name: string, address: string): Promise<boolean> => {
    const uidNumber = await uidNumbers.next();
    step('uid-allocated', name);
    const dn = userDn(name);
    try {
      await conn.run(`add ${dn}`, (l) =>
        l.add(dn, {
          objectClass: ['top', 'account', 'posixAccount'],
          uid: name,
          cn: name,
          uidNumber,
          gidNumber: String(c.group.gidNumber),
          homeDirectory: join(c.homeRoot, name),
          loginShell: c.loginShell,
          gecos: `gridlink customer ${address}`,
          description: `gridlink customer ${address}`,
        }),
      );
      return true;
    } catch (err) {
      if (ldapErrorOf(err) instanceof AlreadyExistsError) return false; // another connector added it first
      throw err;
    }
  };

  const isMember = async (name: string): Promise<boolean> => {
    // A base search needs only the read and search rights the connector has anyway (a compare is a right of its own in 389ds).
    const r = await conn.run(`look for memberUid ${name} in ${c.group.dn}`, (l) =>
      l.search(c.group.dn, { scope: 'base', filter: new EqualityFilter({ attribute: 'memberUid', value: name }), attributes: ['1.1'] }),
    );
    return r.searchEntries.length > 0;
  };

  /**
   * memberUid in the group: added only when missing, and read back after
   * the add (under concurrent modifies of the group one 389ds run showed a
   * member missing after every add had succeeded; the read-back makes the
   * connector independent of why). One connector changes the group one user
   * at a time (groupTurn): every customer's add modifies that one entry, the
   * case a directory serves worst when many arrive at once (with four
   * connectors of 16 users in flight each, 389ds 2.3 lost members in two of
   * many test runs, once a value it had already answered a read-back with);
   * users' own entries are still created concurrently.
   */
  let groupTurn: Promise<unknown> = Promise.resolve();
  const addMember = (name: string): Promise<void> => {
    const turn = groupTurn.then(() => addMemberNow(name));
    groupTurn = turn.catch(() => undefined);
    return turn;
  };
  const addMemberNow = async (name: string): Promise<void> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await isMember(name)) return;
      if (attempt > 0) log.warn({ user: name, group: c.group.dn, attempt }, 'ldap: memberUid missing after an add that succeeded; adding it again');
      try {
        await conn.run(`add memberUid ${name} to ${c.group.dn}`, (l) =>
          l.modify(c.group.dn, [new Change({ operation: 'add', modification: new Attribute({ type: 'memberUid', values: [name] }) })]),
        );
      } catch (err) {
        if (!(ldapErrorOf(err) instanceof TypeOrValueExistsError)) throw err; // already a member: checked next round
      }
    }
    if (await isMember(name)) return;
    throw new DirectoryError('ldap', `${c.group.dn} does not keep memberUid ${name} after 5 adds: check the directory's logs`, true);
  };

  /** Another posixAccount with the same uidNumber (an operator's manual entry, or two providers of a replicated directory allocating at once). */
  const uidShared = async (e: Entry): Promise<boolean> => {
    const r = await conn.run(`look for other entries with uidNumber ${e.uid}`, (l) =>
      l.search(c.usersDn, { scope: 'sub', filter: new EqualityFilter({ attribute: 'uidNumber', value: String(e.uid) }), attributes: ['1.1'], sizeLimit: 2 }),
    );
    return r.searchEntries.length > 1;
  };

  const remove = (dn: string) => conn.run(`delete ${dn}`, (l) => l.del(dn));

  /** Adds the entry of `name` (or finds another connector's); returns it complete in the directory. */
  const create = async (name: string, address: string): Promise<{ entry: Entry; created: boolean }> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const created = await add(name, address);
      step('entry-added', name);
      const entry = await find(name);
      if (entry === 'magic') {
        if (!created) throw dnaMissing(userDn(name), false);
        await remove(userDn(name));
        throw dnaMissing(userDn(name), true);
      }
      if (!entry) {
        throw new DirectoryError('conflict', `an entry ${userDn(name)} exists but is not a posixAccount the bind DN can read: remove it (or grant read rights under ${c.usersDn}), then the job is retried`, false);
      }
      if (created && (await uidShared(entry))) {
        // Ours is the newest: give the number back and take another.
        log.error({ user: name, uidNumber: entry.uid }, 'ldap: uidNumber already held by another entry (a replicated directory with several writable providers, or a manual entry); taking another');
        await remove(entry.dn);
        continue;
      }
      if (created) log.info({ user: name, uidNumber: entry.uid, dn: entry.dn }, 'ldap: customer user created');
      return { entry, created };
    }
    throw new DirectoryError('conflict', `three uidNumbers for ${name} were each already held by another entry: point url at a single writable provider (and consider slapo-unique / 389ds attribute uniqueness on uidNumber)`, false);
  };

  const ensure = async (name: string, address: string): Promise<DirectoryUser> => {
    let found = await find(name);
    step('searched', name);
    if (found === 'magic') throw dnaMissing(userDn(name), false);
    let created = false;
    if (!found) ({ entry: found, created } = await create(name, address));
    else if (await uidShared(found)) {
      throw new DirectoryError('conflict', `${found.dn} shares uidNumber ${found.uid} with another entry under ${c.usersDn}: the two users could read each other's files; give one of them a new uidNumber`, false);
    }
    await addMember(name);
    step('member-added', name);
    const home = ensureHome(c.homeRoot, name, found.uid, found.gid);
    step('home-created', name);
    return { name, uid: found.uid, gid: found.gid, home, dn: found.dn, created };
  };

  return {
    ensureUser(address: string): Promise<DirectoryUser> {
      let name: string;
      try {
        name = customerLogin(address);
      } catch (err) {
        const msg = err instanceof CustomerAddressError ? err.message : String(err);
        return Promise.reject(new DirectoryError('address', msg, false, { cause: err }));
      }
      const hit = cache.get(name);
      if (hit && hit.until > Date.now()) return Promise.resolve({ ...hit.user, created: false });
      if (cache.size > 10_000) cache.clear();
      let p = inFlight.get(name);
      if (!p) {
        p = ensure(name, address)
          .then((u) => {
            if (c.cacheMs > 0) cache.set(name, { user: u, until: Date.now() + c.cacheMs });
            return u;
          })
          .finally(() => inFlight.delete(name));
        inFlight.set(name, p);
      }
      return p;
    },

    async check() {
      const users = await conn.run(`read ${c.usersDn}`, (l) => l.search(c.usersDn, { scope: 'base', attributes: ['objectClass'] }));
      if (users.searchEntries.length !== 1) throw new DirectoryError('missing', `${c.usersDn} (usersDn) does not exist on ${c.url}`, false);
      const g = await conn.run(`read ${c.group.dn}`, (l) => l.search(c.group.dn, { scope: 'base', attributes: ['gidNumber', 'memberUid'] }));
      const ge = g.searchEntries[0];
      if (!ge) throw new DirectoryError('missing', `the group ${c.group.dn} does not exist on ${c.url}`, false);
      if (Number(ge.gidNumber) !== c.group.gidNumber) throw new DirectoryError('conflict', `the group ${c.group.dn} has gidNumber ${JSON.stringify(ge.gidNumber)}, the configuration says ${c.group.gidNumber}`, false);
      const members = ge.memberUid === undefined ? 0 : Array.isArray(ge.memberUid) ? ge.memberUid.length : 1;
      return { usersDn: c.usersDn, group: c.group.dn, members };
    },

    close: () => conn.close(),
  };
}

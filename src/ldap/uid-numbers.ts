// uid-numbers.ts - where a new customer's uidNumber comes from, without two
// customers ever getting the same one, whatever number of connectors run.
//  - 389ds: its DNA plugin. The entry is added with uidNumber = the magic
//    value and the server replaces it inside the add; nothing to do here but
//    write the magic value.
//  - OpenLDAP: a counter entry whose uidNumber is the next free value, taken
//    with one modify that deletes the value read and adds value + 1. The
//    server applies both or neither: when another connector took the value
//    first, the delete fails (noSuchAttribute) and we read again. A value
//    taken and then not used (a crash before the add) is a gap, never a
//    duplicate; a value some entry already holds (an operator's manual
//    add) is skipped.
import { Attribute, Change, NoSuchAttributeError, NoSuchObjectError, AlreadyExistsError, EqualityFilter } from 'ldapts';

import type { DirectoryConnection } from './connection.js';
import { ldapErrorOf } from './connection.js';
import { DirectoryError } from './errors.js';

export interface UidNumberSource {
  /** The uidNumber value to write in the new entry (389ds: the magic value). */
  next(): Promise<string>;
}

/** 389ds: the DNA plugin assigns inside the add. */
export function dnaUidNumbers(magic: string): UidNumberSource {
  return { next: () => Promise.resolve(magic) };
}

export interface CounterOptions {
  conn: DirectoryConnection;
  counterDn: string;
  usersDn: string;
  min: number;
  max: number;
  /** Compare-and-swap attempts before giving up (each lost race is one). */
  maxAttempts?: number;
}

const jitter = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(5 * 2 ** attempt, 200)));

/** OpenLDAP (or any server without DNA): the counter entry, compare-and-swap. */
export function counterUidNumbers(o: CounterOptions): UidNumberSource {
  const { conn, counterDn } = o;
  const maxAttempts = o.maxAttempts ?? 200;

  const read = async (): Promise<number | undefined> => {
    try {
      const r = await conn.run(`read the uidNumber counter ${counterDn}`, (c) => c.search(counterDn, { scope: 'base', attributes: ['uidNumber'] }));
      const v = Number(r.searchEntries[0]?.uidNumber);
      if (!Number.isSafeInteger(v)) throw new DirectoryError('conflict', `the uidNumber counter ${counterDn} holds ${JSON.stringify(r.searchEntries[0]?.uidNumber)}, not one number: fix or delete it`, false);
      return v;
    } catch (err) {
      if (ldapErrorOf(err) instanceof NoSuchObjectError) return undefined;
      throw err;
    }
  };

  const create = async (): Promise<void> => {
    try {
      // device + extensibleObject: standard schema only (core), and not a posixAccount, so no NSS client ever lists it.
      await conn.run(`create the uidNumber counter ${counterDn}`, (c) =>
        c.add(counterDn, { objectClass: ['top', 'device', 'extensibleObject'], cn: rdnValue(counterDn), uidNumber: String(o.min), description: 'gridlink: the next free customer uidNumber' }),
      );
    } catch (err) {
      if (ldapErrorOf(err) instanceof AlreadyExistsError) return; // another connector made it
      throw err;
    }
  };

  const taken = async (uid: number): Promise<boolean> => {
    const r = await conn.run(`look for uidNumber ${uid}`, (c) =>
      c.search(o.usersDn, { scope: 'sub', filter: new EqualityFilter({ attribute: 'uidNumber', value: String(uid) }), attributes: ['uid'], sizeLimit: 1 }),
    );
    return r.searchEntries.length > 0;
  };

  return {
    async next(): Promise<string> {
      for (let attempt = 0; attempt < maxAttempts; attempt++) {
        const cur = await read();
        if (cur === undefined) {
          await create();
          continue;
        }
        if (cur < o.min) throw new DirectoryError('conflict', `the uidNumber counter ${counterDn} is at ${cur}, below uidNumbers.min ${o.min}: set it to ${o.min} or above`, false);
        if (cur > o.max) throw new DirectoryError('exhausted', `every uidNumber from ${o.min} to ${o.max} is used (counter ${counterDn} at ${cur}): raise uidNumbers.max`, false);
        try {
          await conn.run(`take uidNumber ${cur} from ${counterDn}`, (c) =>
            c.modify(counterDn, [
              new Change({ operation: 'delete', modification: new Attribute({ type: 'uidNumber', values: [String(cur)] }) }),
              new Change({ operation: 'add', modification: new Attribute({ type: 'uidNumber', values: [String(cur + 1)] }) }),
            ]),
          );
        } catch (err) {
          if (ldapErrorOf(err) instanceof NoSuchAttributeError) {
            await jitter(attempt); // lost the race: someone took `cur`
            continue;
          }
          throw err;
        }
        if (await taken(cur)) continue; // held by an entry the counter did not hand out
        return String(cur);
      }
      throw new DirectoryError('ldap', `could not take a uidNumber from ${counterDn} in ${maxAttempts} attempts (too many connectors racing); retry`, true);
    },
  };
}

/** The value of a DN's first RDN ("cn=x,ou=y" -> "x"). */
function rdnValue(dn: string): string {
  const m = /^[^=]+=((?:\\.|[^,\\])*)/.exec(dn);
  return (m?.[1] ?? dn).replace(/\\(.)/g, '$1');
}

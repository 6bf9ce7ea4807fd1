// publisher.ts - writes the users database file (format.ts) from the state
// database (store.ts), atomically (src/util/atomic-file.ts): a reader, the
// NSS module, sees one whole version or the one before. Writes are
// coalesced: the users added while a file is being written go into the next
// one, so a burst of 1,000 new customers costs a few files, not 1,000.
//
// Version N of the file is exactly the users whose db_version <= N (and the
// flags it was written with: a change of flags takes a version of its own,
// store.versionForFlags), so it can be written again, identical, at any
// time: start() rewrites the file of the current version (a crash after the state database assigned a version and
// before its file was renamed into place left the older file).
import { readFile } from 'node:fs/promises';

import { removeStaleTemps, writeFileAtomic } from '../util/atomic-file.js';
import { buildUsersDb, usersDbVersionOf } from './format.js';
import type { UserStore } from './store.js';

export interface PublisherOptions {
  store: UserStore;
  /** The users database file (the NSS module's: /var/lib/gridlink/nss/users.cdb). */
  path: string;
  minUid: number;
  shell: string;
  /** The NSS module may list every customer (users.gridlink.enumerate). */
  enumerate?: boolean;
  /** Called after each version is in place (propagation, metrics). */
  onWritten?: (version: number, bytes: number) => void;
}

export class UsersDbPublisher {
  /** The version the file on disk holds (0: none written by this process yet). */
  written = 0;
  private chain: Promise<number> = Promise.resolve(0);
  private queued: Promise<number> | undefined;

  constructor(private readonly opts: PublisherOptions) {}

  /** Removes temporary files a crash left and writes the file of the current version (the next one when the flags changed since it was written: users.gridlink.enumerate turned on or off). */
  async start(): Promise<number> {
    await removeStaleTemps(this.opts.path);
    const v = this.opts.store.versionForFlags(this.opts.enumerate ? 'enumerate' : '');
    await this.write(v);
    return v;
  }

  /** Gives every user without a version the next one and writes its file; resolves with the version written (it holds every user added before the call). */
  publish(): Promise<number> {
    if (this.queued) return this.queued;
    const p = this.chain
      .catch(() => 0)
      .then(async () => {
        this.queued = undefined;
        const v = this.opts.store.nextVersion();
        if (v !== this.written) await this.write(v);
        return v;
      });
    this.queued = p;
    this.chain = p;
    return p;
  }

  private async write(version: number): Promise<void> {
    const data = buildUsersDb({ version, minUid: this.opts.minUid, enumerate: this.opts.enumerate ?? false, users: this.opts.store.usersUpTo(version).map((u) => ({ ...u, shell: this.opts.shell, gecos: 'gridlink customer' })) });
    await writeFileAtomic(this.opts.path, data, 0o644);
    this.written = version;
    this.opts.onWritten?.(version, data.length);
  }
}

/** The version a users database file holds; undefined when it is missing or not one. */
export async function readUsersDbVersion(path: string): Promise<number | undefined> {
  try {
    return usersDbVersionOf(await readFile(path));
  } catch {
    return undefined;
  }
}

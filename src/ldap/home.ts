// home.ts - a customer's home directory: HOMEROOT/<login>, owned by the
// customer's uid and gid, mode 0700, before any job of theirs is submitted.
// SLURM creates no homes. Safe against a crash at any instant and against
// other connectors doing the same: mkdir is atomic, and a home left by a crash
// between mkdir and chown (still root's, empty) is finished on the next call.
// A home owned by anyone else is never taken over: that is someone's data.
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';

import { DirectoryError } from './errors.js';

const MODE = 0o700;

function stat(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function fail(home: string, what: string, err: unknown): never {
  const code = (err as NodeJS.ErrnoException).code;
  const hint = code === 'EPERM' || code === 'EACCES' ? ': the home root must be writable by this (root) process; on NFS export it with no_root_squash to this host' : '';
  throw new DirectoryError('home', `cannot ${what} ${home} (${(err as Error).message})${hint}`, true, { cause: err });
}

/**
 * A customer's job must reach its home: every directory above it needs
 * search permission for others (SLURM opens the job's output there as the
 * customer, and fails the job otherwise).
 */
function checkTraversable(root: string): void {
  for (let d = root; ; d = dirname(d)) {
    const st = stat(d);
    if (st && (st.mode & 0o001) === 0) {
      throw new DirectoryError('home', `customers cannot reach their homes under ${root}: ${d} has mode 0${(st.mode & 0o777).toString(8)} (no search permission for others); chmod o+x ${d}`, true);
    }
    if (d === dirname(d)) return;
  }
}

/** Creates or finishes HOMEROOT/login for uid:gid; returns its path. */
export function ensureHome(root: string, login: string, uid: number, gid: number): string {
  const home = join(root, login);
  try {
    // Every user must traverse the root: 0755 whatever the umask (systemd units run with 0077).
    const first = mkdirSync(root, { recursive: true, mode: 0o755 });
    if (first) for (let d = root; d.length >= first.length; d = dirname(d)) chmodSync(d, 0o755);
  } catch (err) {
    fail(root, 'create the home root', err);
  }
  checkTraversable(root);
  let st = stat(home);
  if (!st) {
    try {
      mkdirSync(home, { mode: MODE });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') fail(home, 'create', err);
    }
    st = stat(home)!;
  }
  if (st.isSymbolicLink() || !st.isDirectory()) throw new DirectoryError('conflict', `${home} exists and is not a directory: move it away, then the job is retried`, false);
  if (st.uid !== uid) {
    const unfinished = st.uid === (process.getuid?.() ?? 0) && readdirSync(home).length === 0;
    if (!unfinished) throw new DirectoryError('conflict', `${home} belongs to uid ${st.uid}, not to the customer's uid ${uid}: it is left alone; move it away or chown it, then the job is retried`, false);
  }
  try {
    if (st.uid !== uid || st.gid !== gid) chownSync(home, uid, gid);
    if ((st.mode & 0o7777) !== MODE) chmodSync(home, MODE);
  } catch (err) {
    fail(home, `give uid ${uid} gid ${gid} mode 0700 to`, err);
  }
  return home;
}

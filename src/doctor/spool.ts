// spool.ts - check `spool`: each spool directory the plugins are configured
// with is a directory the daemon's user can write, on a writable
// filesystem. Mode bits are compared for a non-root user; root bypasses
// them, so a probe file is also created and removed (this catches a
// read-only mount, a full or immutable directory). Run doctor as root: it
// probes for the daemon.
import { execFileSync } from 'node:child_process';
import { closeSync, lstatSync, openSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';

import { perSpool } from './slurm.js';
import type { Check, DoctorContext, Outcome } from './types.js';

export interface UserIds {
  uid: number;
  gids: number[];
}

/** uid and groups of `user` (name or number) through NSS; undefined when unknown. */
export function userIds(user: string): UserIds | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8', timeout: 5000 }).trim());
    const gids = execFileSync('id', ['-G', user], { encoding: 'utf8', timeout: 5000 }).trim().split(/\s+/).map(Number);
    return { uid, gids };
  } catch {
    return undefined;
  }
}

/** Whether `who` may create files in a directory with stat `st` (write and search bits of the class it falls in). */
export function modeAllowsWrite(st: Pick<Stats, 'uid' | 'gid' | 'mode'>, who: UserIds): boolean {
  if (who.uid === 0) return true;
  const bits = st.uid === who.uid ? (st.mode >> 6) & 7 : who.gids.includes(st.gid) ? (st.mode >> 3) & 7 : st.mode & 7;
  return (bits & 3) === 3;
}

export interface SpoolProbe {
  lstat(path: string): Pick<Stats, 'uid' | 'gid' | 'mode' | 'isDirectory'> | undefined;
  /** Creates and removes a file in dir; throws the errno error. */
  probe(dir: string): void;
  userIds(user: string): UserIds | undefined;
}

export const realProbe: SpoolProbe = {
  lstat: (p) => {
    try {
      return lstatSync(p);
    } catch {
      return undefined;
    }
  },
  probe: (dir) => {
    const f = join(dir, `.gridlink-doctor-${process.pid}`);
    const fd = openSync(f, 'wx', 0o600);
    try {
      writeSync(fd, 'probe\n');
    } finally {
      closeSync(fd);
      unlinkSync(f);
    }
  },
  userIds,
};

const octal = (m: number) => `0${(m & 0o7777).toString(8)}`;

function checkDir(dir: string, user: string, daemon: string, io: SpoolProbe): string | { problem: string; fix: string } {
  const st = io.lstat(dir);
  if (!st) {
    const parent = io.lstat(dirname(dir));
    if (parent?.isDirectory()) return `${dir} not created yet (the ${daemon} plugin creates it at its first event)`;
    return { problem: `${dir} does not exist`, fix: `mkdir -p ${dir} && chown ${user} ${dir} && chmod 700 ${dir}` };
  }
  if (!st.isDirectory()) return { problem: `${dir} is not a directory`, fix: `move it away and mkdir ${dir} (owner ${user}, mode 0700), or point spool= at a directory` };
  const who = io.userIds(user);
  if (!who) return { problem: `${daemon}'s user ${user} is unknown on this host`, fix: `create the user or fix SlurmUser/SlurmdUser in slurm.conf` };
  if (!modeAllowsWrite(st, who)) return { problem: `${dir} (owner uid ${st.uid}, mode ${octal(st.mode)}) is not writable by ${user}, whom ${daemon} runs as`, fix: `chown ${user} ${dir} && chmod 700 ${dir}` };
  try {
    io.probe(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return { problem: `${dir} is on a read-only filesystem`, fix: `remount it read-write or point spool= at a writable filesystem` };
    if (code === 'ENOSPC' || code === 'EDQUOT') return { problem: `${dir}: no space left`, fix: 'free space on its filesystem (the plugins refuse events when the spool cannot grow)' };
    if (code === 'EACCES' || code === 'EPERM') {
      const me = process.getuid?.() ?? 0;
      return me === 0
        ? { problem: `${dir} refuses new files even to root (${code})`, fix: `lsattr -d ${dir} (chattr -i), or check its mount and security policy` }
        : { problem: `${dir} cannot be probed as uid ${me}`, fix: 'run gridlink doctor as root, so it can probe the spool as the daemons would' };
    }
    return { problem: `${dir}: cannot create a file: ${(err as Error).message}`, fix: `fix ${dir}` };
  }
  return `${dir} writable by ${user}`;
}

export function checkSpools(ctx: DoctorContext, io: SpoolProbe = realProbe): Outcome {
  return perSpool(ctx, ({ daemon, options }, s) => {
    // The slurmd spool is written by slurmd and by slurmstepd in the prolog and epilog, which run as root.
    const user = daemon === 'slurmctld' ? s.slurmUser : s.slurmdUser;
    const r = checkDir(options.spool, user, daemon, io);
    return typeof r === 'string' ? r : { problem: `${daemon} spool ${r.problem}`, fix: r.fix };
  });
}

export const spoolCheck: Check = { name: 'spool', run: async (ctx) => checkSpools(ctx) };

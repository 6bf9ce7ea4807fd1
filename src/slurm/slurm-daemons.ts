// slurm-daemons.ts - the slurmctld and slurmd processes running on this host,
// from /proc: the slurm.conf each runs with and the shared objects it maps.
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

import { DEFAULT_SLURM_CONF } from './slurm-conf.js';

export interface SlurmDaemon {
  pid: number;
  name: 'slurmctld' | 'slurmd';
  /** The slurm.conf it runs with (-f, else $SLURM_CONF, else the default). */
  conf: string;
  /** Base names of the shared objects it maps (e.g. "jobcomp_provider.so"). */
  objects: Set<string>;
}

const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/** The slurmctld and slurmd processes on this host, from /proc. */
export function listSlurmDaemons(proc = '/proc'): SlurmDaemon[] {
  const out: SlurmDaemon[] = [];
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const p of pids) {
    try {
      const comm = readFileSync(join(proc, p, 'comm'), 'utf8').trim();
      if (comm !== 'slurmctld' && comm !== 'slurmd') continue;
      const argv = readFileSync(join(proc, p, 'cmdline'), 'utf8').split('\0');
      const f = argv.indexOf('-f');
      let conf = f >= 0 ? argv[f + 1] : undefined;
      if (!conf) {
        const env = readFileSync(join(proc, p, 'environ'), 'utf8').split('\0');
        conf = env.find((e) => e.startsWith('SLURM_CONF='))?.slice('SLURM_CONF='.length);
      }
      const objects = new Set<string>();
      for (const line of readFileSync(join(proc, p, 'maps'), 'utf8').split('\n')) {
        const path = line.split(/\s+/).slice(5).join(' ');
        if (path.includes('.so')) objects.add(path.slice(path.lastIndexOf('/') + 1));
      }
      out.push({ pid: Number(p), name: comm, conf: real(conf || DEFAULT_SLURM_CONF), objects });
    } catch {
      // gone, or not ours to read
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** The daemons running with `conf`. */
export function daemonsOf(conf: string, all: readonly SlurmDaemon[]): SlurmDaemon[] {
  const c = real(conf);
  return all.filter((d) => d.conf === c);
}

// output-file.ts - where a job's output is on a devnet (the provider's side on
// this machine): the supervisor's slurm.output pattern (default
// {home}/slurm-%j.out) with the customer's home (NSS, as SLURM resolves it)
// and the SLURM job id filled in. On a real grid the file is on the
// provider's cluster: outputElsewhere says so.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import type { Address } from 'viem';

/** The supervisor's default (src/supervisor/config.ts slurm.output). */
export const DEFAULT_OUTPUT_PATTERN = '{home}/slurm-%j.out';

/** The passwd entry of `uid` through NSS (SSSD for directory users): its name and home. */
export function passwdEntry(uid: number): { name: string; home: string } | null {
  try {
    const f = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8', timeout: 5000 }).trim().split(':');
    return f.length >= 6 ? { name: f[0]!, home: f[5]! } : null;
  } catch {
    return null;
  }
}

/**
 * users.resolver "gridlink": the passwd entry of the customer the supervisor
 * handed a uid out to (`name`, from its state database), its home under
 * users.gridlink.homeRoot of its JSON config; null with another resolver. For
 * a host whose own NSS does not ask the module (the devnet resolves customers
 * only inside its mount namespace).
 */
export function gridlinkPasswdEntry(configFile: string | undefined, name: string | null): { name: string; home: string } | null {
  if (name === null || configFile === undefined) return null;
  try {
    const users = (JSON.parse(readFileSync(configFile, 'utf8')) as { users?: { resolver?: unknown; gridlink?: { homeRoot?: unknown } } }).users;
    if (users?.resolver !== 'gridlink') return null;
    const homeRoot = typeof users.gridlink?.homeRoot === 'string' ? users.gridlink.homeRoot : '/home';
    return { name, home: `${homeRoot.replace(/\/+$/, '')}/${name}` };
  } catch {
    return null;
  }
}

/** slurm.output of the supervisor's JSON config (the default when it is absent or unreadable). */
export function outputPattern(configFile: string | undefined): string {
  if (!configFile) return DEFAULT_OUTPUT_PATTERN;
  try {
    const c = JSON.parse(readFileSync(configFile, 'utf8')) as { slurm?: { output?: unknown } };
    return typeof c.slurm?.output === 'string' ? c.slurm.output : DEFAULT_OUTPUT_PATTERN;
  } catch {
    return DEFAULT_OUTPUT_PATTERN;
  }
}

/** The pattern filled in as the supervisor and SLURM do: {home}, %j (job id), %u (user), %x (job name: the grid job id), %N (node), %%. */
export function outputPath(pattern: string, job: { slurmJobId: number; home: string; user: string; name: string; node?: string | null }): string {
  return pattern.replaceAll('{home}', job.home).replace(/%(%|j|A|u|x|N)/g, (_, c: string) =>
    c === '%' ? '%' : c === 'j' || c === 'A' ? String(job.slurmJobId) : c === 'u' ? job.user : c === 'x' ? job.name : (job.node ?? '%N'),
  );
}

/** The sentence for a job whose output this machine cannot read. */
export const outputElsewhere = (provider: Address | null): string =>
  `the job's output is written on its provider's cluster${provider ? ` (provider ${provider})` : ''}, by default to slurm-<SLURM job id>.out in your home there; this grid publishes no logs to customers: ask the provider, or have the script send its results somewhere you can read`;

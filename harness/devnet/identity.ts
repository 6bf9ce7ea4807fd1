// identity.ts - who the devnet's customers are. `gridlink` (the default,
// users.resolver "gridlink"): no directory server; the supervisor hands out
// uids and writes the users database, and every process that resolves
// customers runs in a mount namespace whose nsswitch.conf is "files gridlink"
// (harness/nss/namespace.ts; this host's own NSS is not changed): the devnet's
// daemon and everything it starts (the supervisor, the sbatch service, ...)
// in one, reading the supervisor's own file; slurmctld and each slurmd in a
// namespace of their own inside it, reading the copy their embedded relay
// pulls (users_url), as separate hosts would. `ldap` (`--directory ldap`): a
// private 389ds and this host's SSSD, users created in the directory.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { buildNss, inNssNamespace, NSS_DB_DIR, shQuote, writeNsswitch } from '../nss/namespace.js';

export const DIRECTORIES = ['gridlink', 'ldap'] as const;
export type DevnetDirectory = (typeof DIRECTORIES)[number];

export const nssDir = (dir: string): string => join(dir, 'nss');
/** The supervisor's users database directory (NSS_DB_DIR in the devnet's namespace). */
export const supervisorDbDir = (dir: string): string => join(nssDir(dir), 'supervisor');
/** The users database directory of the SLURM daemon whose relay names itself `host` (NSS_DB_DIR in its namespace). */
export const hostDbDir = (dir: string, host: string): string => join(nssDir(dir), 'hosts', host);

/** `cmd` run in the devnet's namespace (its files written, the module built). */
export function devnetNamespace(dir: string, cmd: string[]): string[] {
  buildNss();
  mkdirSync(supervisorDbDir(dir), { recursive: true, mode: 0o755 });
  mkdirSync(join(nssDir(dir), 'hosts'), { recursive: true, mode: 0o755 });
  const nsswitch = writeNsswitch(nssDir(dir), 'files gridlink');
  return inNssNamespace(nsswitch, supervisorDbDir(dir), cmd, { installModule: true });
}

/**
 * The argv prefix that runs a command in the mount namespace of live process
 * `pid`, in its working directory (the package root: -w), as nsenter execs it
 * (the PID stays).
 */
export const enterNamespace = (pid: number): string[] => ['nsenter', '-t', String(pid), '-m', '-w', '--'];

/**
 * The cluster's wrapper for slurmctld (inside the devnet's namespace): a
 * namespace of its own whose users database directory is its relay's copy
 * (the relay names itself by the host name, as on a controller host).
 */
export function ctldWrapper(dir: string, host: string): string[] {
  const d = hostDbDir(dir, host);
  mkdirSync(d, { recursive: true, mode: 0o755 });
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount --bind ${shQuote(d)} ${NSS_DB_DIR} && exec "$@"`, 'sh'];
}

/**
 * The wrapper for each slurmd (`slurmd -D -N NODE ...`): a namespace of its
 * own whose users database directory is its relay's copy, and whose
 * plugstack.conf gives its embedded relay the node's name (host=NODE), so
 * that each node reports the version it holds under its own name, as a node
 * of its own would.
 */
export function slurmdWrapper(dir: string, plugstackConf: string): string[] {
  const hosts = join(nssDir(dir), 'hosts');
  const script = [
    '[ "$3" = -N ] || { echo "devnet slurmd wrapper: expected slurmd -D -N NODE, got $*" >&2; exit 2; }',
    `d=${shQuote(hosts)}/"$4"`,
    'mkdir -p -m 0755 "$d"',
    `sed "s#spank_provider.so #spank_provider.so host=$4 #" ${shQuote(plugstackConf)} > "$d.plugstack.conf"`,
    `mount --bind "$d.plugstack.conf" ${shQuote(plugstackConf)}`,
    `mount --bind "$d" ${NSS_DB_DIR}`,
    'exec "$@"',
  ].join(' && ');
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh'];
}

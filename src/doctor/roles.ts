// roles.ts - which parts of a gridlink cluster this host is, so that doctor
// checks what concerns it and only that: the controller (slurmctld and
// jobcomp/provider's spool), a compute node (slurmd and spank/provider's
// spool), the supervisor (its configuration, key, chain, reporter, sbatch).
// Given with --role, or found here: a daemon running with this slurm.conf,
// or slurm.conf naming this host (SlurmctldHost, NodeName/NodeHostname:
// a daemon that should run here and does not is then a failure), and
// --config for the supervisor. A host with no role found is checked as
// every SLURM role (a single-host installation).
import { hostname as osHostname } from 'node:os';

import type { SlurmSetup } from '../slurm/slurm-conf.js';
import { daemonsOf, listSlurmDaemons, type SlurmDaemon } from '../slurm/slurm-daemons.js';
import { ROLES, type DoctorContext, type Role } from './types.js';

export const ROLE_DAEMON = { controller: 'slurmctld', compute: 'slurmd' } as const;
export type SlurmDaemonName = SlurmDaemon['name'];

export interface HostRoles {
  /** Each role of this host and why it is one ("--role", "slurmctld (pid 12) runs here", ...). */
  roles: Map<Role, string>;
  /** The SLURM daemons whose plugin, spool, drain and runtime checks concern this host. */
  slurm: Set<SlurmDaemonName>;
  /** No role was given or found: every SLURM check runs, as on a single host. */
  unknown: boolean;
  host: string;
  /** The daemons running here with this slurm.conf. */
  daemons: SlurmDaemon[];
}

/** Parses --role's comma-separated list. */
export function parseRoles(v: string): Role[] {
  const roles = v.split(',').map((r) => r.trim()).filter(Boolean);
  const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (bad.length > 0 || roles.length === 0) throw new Error(`--role takes ${ROLES.join(', ')} (comma-separated), got ${JSON.stringify(v)}`);
  return [...new Set(roles)] as Role[];
}

const short = (h: string) => h.split('.')[0]!.toLowerCase();

function find(ctx: DoctorContext, setup: SlurmSetup | undefined, daemons: SlurmDaemon[], host: string): Map<Role, string> {
  const roles = new Map<Role, string>();
  for (const role of ['controller', 'compute'] as const) {
    const name = ROLE_DAEMON[role];
    const mine = daemons.filter((d) => d.name === name);
    if (mine.length > 0) roles.set(role, `${name} (pid${mine.length > 1 ? 's' : ''} ${mine.map((d) => d.pid).join(', ')}) runs here`);
    else if (setup) {
      const named = role === 'controller' ? setup.controllerHosts : setup.nodeHosts;
      if (named.some((h) => short(h) === host)) roles.set(role, `${setup.conf} names ${host} ${role === 'controller' ? 'SlurmctldHost' : 'a node'}`);
    }
  }
  if (ctx.config || ctx.configError) roles.set('supervisor', '--config given');
  return roles;
}

const memo = new WeakMap<object, HostRoles>();

/** This host's roles (memoised per doctor run); `setup`: slurm.conf as slurmSetupOf read it. */
export function hostRolesOf(ctx: DoctorContext, setup: SlurmSetup | undefined): HostRoles {
  const m = memo.get(ctx);
  if (m) return m;
  const host = short(ctx.hostname ?? osHostname());
  const daemons = setup ? daemonsOf(setup.conf, (ctx.daemons ?? listSlurmDaemons)()) : [];
  const roles = ctx.roles ? new Map(ctx.roles.map((r) => [r, '--role'] as const)) : find(ctx, setup, daemons, host);
  const slurm = new Set<SlurmDaemonName>();
  for (const r of roles.keys()) if (r !== 'supervisor') slurm.add(ROLE_DAEMON[r]);
  const unknown = roles.size === 0;
  if (unknown) for (const d of Object.values(ROLE_DAEMON)) slurm.add(d);
  const out: HostRoles = { roles, slurm, unknown, host, daemons };
  memo.set(ctx, out);
  return out;
}

/** "the controller and a compute node", for messages. */
export function describeRoles(r: HostRoles): string {
  const name = { controller: 'the controller', compute: 'a compute node', supervisor: 'the supervisor' } as const;
  return [...r.roles.keys()].map((k) => name[k]).join(' and ');
}

/** Why the SLURM checks do not concern a host that is only the supervisor. */
export function notSlurmHost(r: HostRoles, conf: string): string {
  return `${r.host} is ${describeRoles(r)} only (no slurmctld or slurmd runs here and ${conf} names it neither SlurmctldHost nor a node): run doctor on the controller and on the compute nodes for this check`;
}

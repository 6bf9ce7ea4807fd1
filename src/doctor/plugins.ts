// plugins.ts - check `plugins`, for the SLURM roles of this host
// (roles.ts): on the controller slurm.conf loads jobcomp/provider, on a
// compute node plugstack.conf loads spank_provider.so, and the daemons
// running here have them
// (and gridlink_runtime.so when the relay is embedded) mapped: a daemon
// started before the configuration changed, or one that refused the plugin
// (another SLURM version: `gridlink plugins check`), runs without it.
// Verified on the devnet (SLURM 22.05/23.11): slurmctld maps
// jobcomp_provider.so, and every slurmd maps spank_provider.so itself (SPANK
// plugins are loaded in slurmd for slurm_spank_slurmd_init, where the
// embedded relay starts), both with gridlink_runtime.so and libnode.
import { join } from 'node:path';

import { DEFAULT_SPOOL_ROOT, type SlurmSetup } from '../slurm/slurm-conf.js';
import type { SlurmDaemon } from '../slurm/slurm-daemons.js';
import { describeRoles, hostRolesOf, notSlurmHost } from './roles.js';
import { slurmSetupOf, SLURM_CONF_FIX } from './slurm.js';
import { fail, ok, skip, type Check, type DoctorContext, type Outcome } from './types.js';

function wanted(s: SlurmSetup, d: SlurmDaemon['name']): string[] {
  if (d === 'slurmctld') return s.jobcomp ? ['jobcomp_provider.so', ...(s.jobcomp.runtime ? ['gridlink_runtime.so'] : [])] : [];
  return s.spank ? ['spank_provider.so', ...(s.spank.runtime ? ['gridlink_runtime.so'] : [])] : [];
}

export function checkPlugins(ctx: DoctorContext): Outcome {
  const s = slurmSetupOf(ctx);
  if (s instanceof Error) return fail(s.message, SLURM_CONF_FIX);
  const roles = hostRolesOf(ctx, s);
  if (roles.slurm.size === 0) return skip(notSlurmHost(roles, s.conf));
  const problems: string[] = [];
  const fixes: string[] = [];
  const dir = s.pluginDirs.find((p) => p.includes('gridlink')) ?? s.pluginDirs[0] ?? '/usr/lib/x86_64-linux-gnu/slurm-wlm';
  const reporter = ctx.config ? `http://${ctx.config.ingest.listen.host}:${ctx.config.ingest.listen.port}` : 'http://SUPERVISOR:7390';
  if (roles.slurm.has('slurmctld') && !s.jobcomp) {
    problems.push(`${s.conf} has JobCompType=${s.jobCompType ?? '(none)'}`);
    fixes.push(`add to ${s.conf}: JobCompType=jobcomp/provider and JobCompLoc=spool=${join(DEFAULT_SPOOL_ROOT, 'slurmctld')},reporter=${reporter}, then restart slurmctld`);
  }
  if (roles.slurm.has('slurmd') && !s.spank) {
    problems.push(s.plugstackError ? `cannot read ${s.plugstack} (${s.plugstackError})` : `${s.plugstack} has no spank_provider.so line`);
    fixes.push(`add to ${s.plugstack} (PlugStackConfig): required ${join(dir, 'spank_provider.so')} spool=${join(DEFAULT_SPOOL_ROOT, 'slurmd')} reporter=${reporter}, then restart every slurmd`);
  }
  const daemons = roles.daemons;
  const seen: string[] = [];
  for (const name of ['slurmctld', 'slurmd'] as const) {
    if (!roles.slurm.has(name)) continue;
    const mine = daemons.filter((d) => d.name === name);
    const role = name === 'slurmctld' ? 'controller' : 'compute';
    if (mine.length === 0 && !roles.unknown) {
      problems.push(`${name} does not run on this host (${roles.host}), which is ${role === 'controller' ? 'the controller' : 'a compute node'}: ${roles.roles.get(role)}`);
      fixes.push(`start ${name} with ${s.conf} (systemctl start ${name}; its log says why it stopped), or give this host's roles with --role`);
      continue;
    }
    const want = wanted(s, name);
    if (mine.length === 0 || want.length === 0) continue;
    const missing = mine.map((d) => ({ d, lacks: want.filter((o) => !d.objects.has(o)) })).filter((m) => m.lacks.length > 0);
    for (const m of missing) {
      problems.push(`${name} (pid ${m.d.pid}) has not loaded ${m.lacks.join(', ')}`);
      fixes.push(
        m.lacks.includes('gridlink_runtime.so') && m.lacks.length === 1
          ? `gridlink_runtime.so must sit next to the plugin and libnode be installed; see ${name}'s log for "gridlink runtime", then restart ${name}`
          : `restart ${name} to load the configuration above (its log says why a plugin was refused; \`gridlink plugins check\` compares SLURM versions)`,
      );
    }
    if (missing.length === 0) seen.push(`${name} (pid${mine.length > 1 ? 's' : ''} ${mine.map((d) => d.pid).join(', ')}) maps ${want.join(' + ')}`);
  }
  if (roles.unknown && daemons.length === 0) {
    problems.push(`neither slurmctld nor slurmd runs on this host (${roles.host}) with ${s.conf}, which names it neither SlurmctldHost nor a node`);
    fixes.push('run doctor on the controller and on a compute node, with the slurm.conf their daemons use (or give this host\'s roles with --role)');
  }
  if (problems.length > 0) return fail(problems.join('; '), [...new Set(fixes)].join('; '));
  return ok(`${roles.unknown ? '' : `${roles.host} is ${describeRoles(roles)}: `}${seen.join('; ')}`);
}

export const pluginsCheck: Check = { name: 'plugins', run: async (ctx) => checkPlugins(ctx) };

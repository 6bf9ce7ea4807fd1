// slurm.ts - what doctor's SLURM checks share: the slurm.conf setup of a
// doctor run (read once, src/slurm/slurm-conf.ts), the spools the plugins
// write, the relay holding a spool, and the per-spool outcome.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { readSlurmSetup, type PluginOptions, type SlurmSetup } from '../slurm/slurm-conf.js';
import { hostRolesOf, notSlurmHost } from './roles.js';
import { fail, ok, skip, type DoctorContext, type Outcome } from './types.js';

export const RELAY_LOCK = 'relay.lock'; // src/relay/spool-follower.ts RELAY_LOCK_FILE (not imported: that pulls in the whole relay)

/** The spool directories the plugins are configured with: [daemon, options]. */
export function spoolsOf(s: SlurmSetup): Array<{ daemon: 'slurmctld' | 'slurmd'; options: PluginOptions }> {
  const out: Array<{ daemon: 'slurmctld' | 'slurmd'; options: PluginOptions }> = [];
  if (s.jobcomp) out.push({ daemon: 'slurmctld', options: s.jobcomp });
  if (s.spank) out.push({ daemon: 'slurmd', options: s.spank });
  return out;
}

/** The process holding a spool's relay lock, when it is alive (PID and start time match). */
export function relayHolder(spool: string, proc = '/proc'): { pid: number; comm: string } | { stale: number } | undefined {
  let h: { pid?: unknown; start?: unknown };
  try {
    h = JSON.parse(readFileSync(join(spool, RELAY_LOCK), 'utf8')) as typeof h;
  } catch {
    return undefined;
  }
  if (typeof h.pid !== 'number') return undefined;
  try {
    const stat = readFileSync(join(proc, String(h.pid), 'stat'), 'utf8');
    const close = stat.lastIndexOf(')');
    const rest = stat.slice(close + 2).split(' ');
    const start = Number(rest[19]);
    if (rest[0] === 'Z' || (typeof h.start === 'number' && start !== h.start)) return { stale: h.pid };
    return { pid: h.pid, comm: stat.slice(stat.indexOf('(') + 1, close) };
  } catch {
    return { stale: h.pid };
  }
}

/** "the relay embedded in slurmctld (pid 12)" / "the standalone relay (pid 40, node)". */
export function describeRelay(h: { pid: number; comm: string }): string {
  return h.comm === 'slurmctld' || h.comm === 'slurmd' ? `the relay embedded in ${h.comm} (pid ${h.pid})` : `the standalone relay (pid ${h.pid}, ${h.comm})`;
}

/** Memoised readSlurmSetup per context. */
const setups = new WeakMap<object, { conf: string; setup: SlurmSetup | Error }>();
export function slurmSetupOf(ctx: { slurmConf: string }): SlurmSetup | Error {
  const m = setups.get(ctx);
  if (m && m.conf === ctx.slurmConf) return m.setup;
  let setup: SlurmSetup | Error;
  try {
    setup = readSlurmSetup(ctx.slurmConf);
  } catch (err) {
    setup = new Error(`cannot read slurm.conf ${ctx.slurmConf}: ${(err as Error).message}`);
  }
  setups.set(ctx, { conf: ctx.slurmConf, setup });
  return setup;
}

export const SLURM_CONF_FIX = 'give the cluster\'s slurm.conf with --slurm-conf FILE (or $SLURM_CONF)';

/** A spool's verdict: a line for the ok detail, or what is wrong and its fix. */
export type SpoolVerdict = string | { problem: string; fix: string };

/**
 * Runs `each` on every configured spool of a daemon of this host's roles
 * (roles.ts: the controller's jobcomp spool, a compute node's SPANK spool)
 * and folds the verdicts into one outcome (the spool, drain and runtime
 * checks): ok with every line, or fail with every problem and every fix. A
 * slurm.conf that cannot be read fails; no gridlink plugin configured, or
 * none of this host's, skips.
 */
export function perSpool(
  ctx: DoctorContext,
  each: (spool: { daemon: 'slurmctld' | 'slurmd'; options: PluginOptions }, setup: SlurmSetup) => SpoolVerdict,
): Outcome {
  const s = slurmSetupOf(ctx);
  if (s instanceof Error) return fail(s.message, SLURM_CONF_FIX);
  const all = spoolsOf(s);
  if (all.length === 0) return skip('no gridlink plugin configured (see the plugins check)');
  const roles = hostRolesOf(ctx, s);
  if (roles.slurm.size === 0) return skip(notSlurmHost(roles, s.conf));
  const spools = all.filter((x) => roles.slurm.has(x.daemon));
  if (spools.length === 0) return skip(`no gridlink plugin of ${[...roles.slurm].join(' or ')} configured (see the plugins check)`);
  const good: string[] = [];
  const problems: string[] = [];
  const fixes: string[] = [];
  for (const spool of spools) {
    const v = each(spool, s);
    if (typeof v === 'string') good.push(v);
    else {
      problems.push(v.problem);
      fixes.push(v.fix);
    }
  }
  return problems.length > 0 ? fail(problems.join('; '), fixes.join('; ')) : ok(good.join('; '));
}

// slurm.ts - what doctor's SLURM checks read: slurm.conf (JobCompType,
// JobCompLoc, PlugStackConfig, SlurmUser), plugstack.conf (the spank line),
// the plugins' options as native/gl_options.c parses them, and the running
// slurmctld/slurmd processes with the shared objects they map.
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

import { fail, ok, skip, type Outcome } from './types.js';

/** GL_DEFAULT_SPOOL_ROOT of native/gl_options.h. */
export const DEFAULT_SPOOL_ROOT = '/var/spool/gridlink';
export const DEFAULT_SLURM_CONF = '/etc/slurm/slurm.conf';
export const RELAY_LOCK = 'relay.lock'; // src/relay/relay.ts RELAY_LOCK_FILE (not imported: that pulls in the whole relay)

/** A plugin's options, as native/gl_options.c reads them. */
export interface PluginOptions {
  spool: string;
  /** gl_options_want_runtime: runtime=embedded, or reporter= set and not runtime=off. */
  runtime: boolean;
  reporter?: string;
  log?: string;
}

/** JobCompLoc (a bare absolute path is the spool; else key=value split on commas and spaces) or the plugstack arguments. */
export function parsePluginOptions(args: readonly string[], daemon: 'slurmctld' | 'slurmd', bareIsSpool: boolean): PluginOptions {
  const o: PluginOptions = { spool: join(DEFAULT_SPOOL_ROOT, daemon), runtime: false };
  let runtime = '';
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq < 0) {
      if (bareIsSpool && a.startsWith('/')) o.spool = a;
      continue;
    }
    const k = a.slice(0, eq);
    const v = a.slice(eq + 1);
    if (k === 'spool') o.spool = v;
    else if (k === 'runtime') runtime = v;
    else if (k === 'reporter') o.reporter = v;
    else if (k === 'log') o.log = v;
  }
  o.runtime = runtime === 'embedded' || (runtime !== 'off' && o.reporter !== undefined);
  return o;
}

export interface SlurmSetup {
  conf: string;
  /** slurm.conf keys, lower-cased, last one wins (Include files are not followed). */
  keys: Map<string, string>;
  jobCompType: string | undefined;
  /** Options of jobcomp/provider; undefined when JobCompType is another plugin. */
  jobcomp: PluginOptions | undefined;
  plugstack: string;
  /** The plugstack.conf line loading spank_provider.so, when there is one. */
  spankLine: string | undefined;
  spank: PluginOptions | undefined;
  /** Why plugstack.conf could not be read. */
  plugstackError?: string;
  slurmUser: string;
  slurmdUser: string;
  pluginDirs: string[];
}

/** slurm.conf's key=value lines (case-insensitive keys; comments and NodeName/PartitionName lines kept as keys too). */
export function parseSlurmConf(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m) keys.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  return keys;
}

/** Reads slurm.conf and plugstack.conf; throws when slurm.conf cannot be read. */
export function readSlurmSetup(conf: string): SlurmSetup {
  const keys = parseSlurmConf(readFileSync(conf, 'utf8'));
  const jobCompType = keys.get('jobcomptype');
  const loc = keys.get('jobcomploc');
  const jobcomp = jobCompType === 'jobcomp/provider' ? parsePluginOptions(loc ? loc.split(/[,\s]+/).filter(Boolean) : [], 'slurmctld', true) : undefined;
  let plugstack = keys.get('plugstackconfig') ?? join(dirname(conf), 'plugstack.conf');
  if (!isAbsolute(plugstack)) plugstack = join(dirname(conf), plugstack);
  let spankLine: string | undefined;
  let spank: PluginOptions | undefined;
  let plugstackError: string | undefined;
  try {
    for (const raw of readFileSync(plugstack, 'utf8').split('\n')) {
      const words = raw.replace(/#.*$/, '').trim().split(/\s+/).filter(Boolean);
      if ((words[0] === 'required' || words[0] === 'optional') && words[1]?.endsWith('spank_provider.so')) {
        spankLine = words.join(' ');
        spank = parsePluginOptions(words.slice(2), 'slurmd', false);
      }
    }
  } catch (err) {
    plugstackError = (err as Error).message;
  }
  return {
    conf,
    keys,
    jobCompType,
    jobcomp,
    plugstack,
    spankLine,
    spank,
    ...(plugstackError ? { plugstackError } : {}),
    slurmUser: keys.get('slurmuser') ?? 'root',
    slurmdUser: keys.get('slurmduser') ?? 'root',
    pluginDirs: (keys.get('plugindir') ?? '/usr/lib/x86_64-linux-gnu/slurm-wlm').split(':').filter(Boolean),
  };
}

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
 * Runs `each` on every configured spool and folds the verdicts into one
 * outcome (the spool, drain and runtime checks): ok with every line, or fail
 * with every problem and every fix. A slurm.conf that cannot be read fails;
 * no gridlink plugin configured skips.
 */
export function perSpool(
  ctx: { slurmConf: string },
  each: (spool: { daemon: 'slurmctld' | 'slurmd'; options: PluginOptions }, setup: SlurmSetup) => SpoolVerdict,
): Outcome {
  const s = slurmSetupOf(ctx);
  if (s instanceof Error) return fail(s.message, SLURM_CONF_FIX);
  const spools = spoolsOf(s);
  if (spools.length === 0) return skip('no gridlink plugin configured (see the plugins check)');
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

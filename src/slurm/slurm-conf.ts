// slurm-conf.ts - what a slurm.conf says, as SLURM reads it: its key=value
// lines, and the setup gridlink's plugins get from it (JobCompType and
// JobCompLoc, PlugStackConfig and the spank_provider.so line, the plugins'
// options as native/gl_options.c parses them, SlurmUser, PluginDir). Read by
// `gridlink doctor` and `gridlink plugins check`.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

import { expandHostlist } from './hostlist.js';

/** GL_DEFAULT_SPOOL_ROOT of native/gl_options.h. */
export const DEFAULT_SPOOL_ROOT = '/var/spool/gridlink';
export const DEFAULT_SLURM_CONF = '/etc/slurm/slurm.conf';
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
  /** Host names of the controllers (every SlurmctldHost line, ControlMachine, BackupController). */
  controllerHosts: string[];
  /** Host names of the compute nodes (each NodeName line's NodeName and NodeHostname, expanded). */
  nodeHosts: string[];
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

/** The hosts slurm.conf gives the controller and the compute nodes (every line, not only the last one of a key). */
export function slurmConfHosts(text: string): { controllerHosts: string[]; nodeHosts: string[] } {
  const controllerHosts: string[] = [];
  const nodeHosts: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^(SlurmctldHost|ControlMachine|BackupController)\s*=\s*([^\s(]+)/i.exec(line);
    if (m) controllerHosts.push(m[2]!);
    if (!/^NodeName\s*=/i.test(line)) continue;
    const fields = new Map([...line.matchAll(/(\w+)\s*=\s*(\S+)/g)].map((f) => [f[1]!.toLowerCase(), f[2]!]));
    const name = fields.get('nodename');
    if (!name || name.toUpperCase() === 'DEFAULT') continue;
    for (const expr of [name, fields.get('nodehostname')]) {
      if (!expr) continue;
      try {
        nodeHosts.push(...expandHostlist(expr));
      } catch {
        // a hostlist SLURM would refuse names no host
      }
    }
  }
  return { controllerHosts, nodeHosts };
}

/** Reads slurm.conf and plugstack.conf; throws when slurm.conf cannot be read. */
export function readSlurmSetup(conf: string): SlurmSetup {
  const text = readFileSync(conf, 'utf8');
  const keys = parseSlurmConf(text);
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
    ...slurmConfHosts(text),
  };
}

/** The first word of a key's value (a path list or plugin name: what follows it is not part of it). */
export function slurmConfWord(keys: ReadonlyMap<string, string>, key: string): string | undefined {
  return keys.get(key)?.split(/\s+/)[0];
}

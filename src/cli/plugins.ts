// plugins.ts - `gridlink plugins check`: is each installed SLURM plugin built
// for the SLURM that will load it? A plugin serves exactly one SLURM version
// (docs/slurm-versions.md): slurmctld refuses a jobcomp plugin of another
// major.minor.micro and slurmd a SPANK plugin of another major.minor, and a
// daemon restarted with such a plugin runs without it (or, for a required
// SPANK plugin, drains its node). This reads the version each plugin file was
// built for (its plugin_version symbol, what SLURM's loader compares) and the
// installed daemons' (`slurmctld -V`, `slurmd -V`), before anything restarts.

import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { Command } from 'commander';

import { parseSlurmConf, slurmConfWord } from '../slurm/slurm-conf.js';

/** What a SLURM plugin file says about itself. */
export interface PluginInfo {
  file: string;
  /** plugin_type, e.g. "jobcomp/provider" or "spank". */
  type: string;
  /** plugin_version, e.g. 0x180b05. */
  versionNumber: number;
  /** "24.11.5" */
  version: string;
}

/** SLURM_VERSION_NUMBER as SLURM prints it: 22.05.8. */
export function formatSlurmVersion(n: number): string {
  return `${(n >> 16) & 0xff}.${String((n >> 8) & 0xff).padStart(2, '0')}.${n & 0xff}`;
}

/** "slurm 24.11.5" -> 0x180b05 */
export function parseSlurmVersion(s: string): number | undefined {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(s);
  return m ? (Number(m[1]) << 16) | (Number(m[2]) << 8) | Number(m[3]) : undefined;
}

/**
 * The exported symbols `names` of an ELF64 little-endian shared object (what
 * dlsym finds): each symbol's bytes in the file. Throws on anything else.
 */
export function readElfSymbols(file: string, names: readonly string[]): Map<string, Buffer> {
  const b = readFileSync(file);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF file`);
  if (b[4] !== 2 || b[5] !== 1) throw new Error(`${file}: only 64-bit little-endian ELF is supported`);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const sections = Array.from({ length: shnum }, (_, i) => {
    const o = shoff + i * shentsize;
    return {
      type: b.readUInt32LE(o + 4),
      addr: Number(b.readBigUInt64LE(o + 0x10)),
      offset: Number(b.readBigUInt64LE(o + 0x18)),
      size: Number(b.readBigUInt64LE(o + 0x20)),
      link: b.readUInt32LE(o + 0x28),
      entsize: Number(b.readBigUInt64LE(o + 0x38)),
    };
  });
  const SHT_DYNSYM = 11;
  const SHT_NOBITS = 8;
  const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
  if (!dynsym) throw new Error(`${file} has no dynamic symbol table: not a SLURM plugin`);
  const strtab = sections[dynsym.link]!;
  const out = new Map<string, Buffer>();
  for (let o = dynsym.offset; o + 24 <= dynsym.offset + dynsym.size; o += dynsym.entsize || 24) {
    const nameOff = strtab.offset + b.readUInt32LE(o);
    const name = b.toString('latin1', nameOff, b.indexOf(0, nameOff));
    const shndx = b.readUInt16LE(o + 6);
    if (!names.includes(name) || shndx === 0 || shndx >= sections.length) continue;
    const sec = sections[shndx]!;
    const size = Number(b.readBigUInt64LE(o + 16));
    if (sec.type === SHT_NOBITS) continue;
    const at = Number(b.readBigUInt64LE(o + 8)) - sec.addr + sec.offset;
    out.set(name, b.subarray(at, at + size));
  }
  return out;
}

/** plugin_type and plugin_version of a SLURM plugin file. */
export function readPluginInfo(file: string): PluginInfo {
  const syms = readElfSymbols(file, ['plugin_type', 'plugin_version']);
  const ver = syms.get('plugin_version');
  const type = syms.get('plugin_type');
  if (!ver || ver.length < 4) throw new Error(`${file} exports no plugin_version: not a SLURM plugin`);
  const versionNumber = ver.readUInt32LE(0);
  const t = type ? type.toString('latin1').replace(/\0.*$/s, '') : '?';
  return { file, type: t, versionNumber, version: formatSlurmVersion(versionNumber) };
}

/** SLURM's own rule (src/common/plugin.c): SPANK plugins match major.minor, every other plugin major.minor.micro. */
export function pluginFits(p: PluginInfo, slurmVersionNumber: number): boolean {
  const mask = p.type === 'spank' ? 0xffff00 : 0xffffff;
  return (p.versionNumber & mask) === (slurmVersionNumber & mask);
}

export interface InstalledDaemon {
  name: 'slurmctld' | 'slurmd';
  path: string;
  versionNumber: number;
  version: string;
}

function isExecutable(f: string): boolean {
  try {
    accessSync(f, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The installed slurmctld and slurmd (in `sbinDir`, else on PATH, else /usr/sbin) and their versions. */
export function installedDaemons(sbinDir?: string): InstalledDaemon[] {
  const dirs = sbinDir ? [sbinDir] : [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  const out: InstalledDaemon[] = [];
  for (const name of ['slurmctld', 'slurmd'] as const) {
    const file = dirs.map((d) => path.join(d, name)).find(isExecutable);
    if (!file) continue;
    let text = '';
    try {
      text = execFileSync(file, ['-V'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw new Error(`${file} -V failed (${(e as Error).message.split('\n')[0]}): check that this SLURM installation works`);
    }
    const n = parseSlurmVersion(text);
    if (n === undefined) throw new Error(`${file} -V printed ${JSON.stringify(text.trim())}, not a version`);
    out.push({ name, path: file, versionNumber: n, version: formatSlurmVersion(n) });
  }
  return out;
}

/** The plugin files a slurm.conf makes the daemons load: jobcomp/<x> from PluginDir and every plugstack.conf entry. */
export function configuredPlugins(slurmConfPath: string): { file: string; daemon: 'slurmctld' | 'slurmd'; missing?: boolean }[] {
  const conf = parseSlurmConf(readFileSync(slurmConfPath, 'utf8'));
  const pluginDirs = (slurmConfWord(conf, 'plugindir') ?? '').split(':').filter(Boolean);
  const out: { file: string; daemon: 'slurmctld' | 'slurmd'; missing?: boolean }[] = [];
  const jobComp = slurmConfWord(conf, 'jobcomptype');
  if (jobComp && jobComp !== 'jobcomp/none') {
    const so = `${jobComp.replace('/', '_')}.so`;
    const file = pluginDirs.map((d) => path.join(d, so)).find((f) => existsSync(f));
    // Without PluginDir the daemon's compiled-in dir is used: name the file so the operator can pass it with --plugin.
    out.push(file ? { file, daemon: 'slurmctld' } : { file: path.join(pluginDirs[0] ?? '<PluginDir>', so), daemon: 'slurmctld', missing: true });
  }
  const stack = slurmConfWord(conf, 'plugstackconfig') ?? path.join(path.dirname(slurmConfPath), 'plugstack.conf');
  if (existsSync(stack)) {
    for (const raw of readFileSync(stack, 'utf8').split('\n')) {
      const f = raw.replace(/#.*$/, '').trim().split(/\s+/);
      if (f.length < 2 || !/^(required|optional)$/.test(f[0]!)) continue; // include lines: pass those files with --plugin
      const so = f[1]!;
      const file = so.startsWith('/') ? so : (pluginDirs.map((d) => path.join(d, so)).find((x) => existsSync(x)) ?? so);
      out.push(existsSync(file) ? { file, daemon: 'slurmd' } : { file, daemon: 'slurmd', missing: true });
    }
  }
  return out;
}

export interface CheckLine {
  file: string;
  daemon: 'slurmctld' | 'slurmd';
  ok: boolean;
  /** Built for, or undefined when the file could not be read. */
  builtFor?: string;
  installed?: string;
  message: string;
}

/** How to rebuild for the SLURM whose daemon is at `daemonPath`. */
export function rebuildHint(d: InstalledDaemon): string {
  const prefix = path.dirname(path.dirname(d.path));
  const system = prefix === '/usr' || prefix === '/usr/local';
  const flags = system ? '' : ` -DSLURM_PREFIX=${prefix} -DSLURM_SOURCE=<source tree or slurm-${d.version}.tar.xz>`;
  return `rebuild the plugins for SLURM ${d.version}: cmake -S <gridlink checkout> -B build-plugins${flags} && cmake --build build-plugins (docs/slurm-versions.md), install them, then restart ${d.name}`;
}

export function checkPlugins(files: { file: string; daemon?: 'slurmctld' | 'slurmd'; missing?: boolean }[], daemons: InstalledDaemon[]): CheckLine[] {
  return files.map(({ file, daemon, missing }): CheckLine => {
    let info: PluginInfo;
    const guess = daemon ?? 'slurmd';
    if (missing) return { file, daemon: guess, ok: false, message: `${file} is configured but does not exist: install it (or fix PluginDir / plugstack.conf)` };
    try {
      info = readPluginInfo(file);
    } catch (e) {
      return { file, daemon: guess, ok: false, message: `cannot read ${file}: ${(e as Error).message}` };
    }
    const who = daemon ?? (info.type === 'spank' ? 'slurmd' : 'slurmctld');
    const d = daemons.find((x) => x.name === who) ?? daemons[0];
    if (!d) return { file, daemon: who, ok: false, builtFor: info.version, message: `${file} is built for SLURM ${info.version}, but no slurmctld or slurmd is installed to compare with (pass --sbin <dir>)` };
    const base = { file, daemon: d.name, builtFor: info.version, installed: d.version };
    if (pluginFits(info, d.versionNumber)) {
      return { ...base, ok: true, message: `${file} (${info.type}) is built for SLURM ${info.version}; ${d.name} is ${d.version}: ok` };
    }
    const rule = info.type === 'spank' ? 'major.minor' : 'major.minor.micro';
    return {
      ...base,
      ok: false,
      message: `${file} (${info.type}) is built for SLURM ${info.version} but ${d.name} (${d.path}) is ${d.version}; SLURM loads only a ${rule} match, so ${d.name} would refuse to load it: ${rebuildHint(d)}`,
    };
  });
}

interface CheckFlags {
  slurmConf?: string;
  plugin: string[];
  sbin?: string;
  json?: boolean;
}

export function pluginsCommand(): Command {
  const plugins = new Command('plugins').description('the SLURM plugins (jobcomp/provider, spank/provider) installed on this host');
  plugins
    .command('check')
    .description(
      'check that each installed SLURM plugin was built for the installed SLURM (plugin_version against `slurmctld -V` / `slurmd -V`); exit 1 and say what to rebuild if not. Run it after upgrading SLURM, before restarting the daemons',
    )
    .option('--slurm-conf <file>', 'slurm.conf whose JobCompType (in PluginDir) and plugstack.conf plugins to check (default: $SLURM_CONF or /etc/slurm/slurm.conf)')
    .option('--plugin <file>', 'a plugin file to check (repeatable); with --plugin only the files given are checked', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--sbin <dir>', 'where the installed slurmctld/slurmd are (default: PATH, then /usr/sbin)')
    .option('--json', 'print the result as JSON')
    .action((f: CheckFlags) => {
      const daemons = installedDaemons(f.sbin);
      let files: { file: string; daemon?: 'slurmctld' | 'slurmd'; missing?: boolean }[];
      if (f.plugin.length > 0) {
        files = f.plugin.map((file) => ({ file: path.resolve(file) }));
      } else {
        const conf = f.slurmConf ?? process.env.SLURM_CONF ?? '/etc/slurm/slurm.conf';
        if (!existsSync(conf)) throw new Error(`${conf} not found: pass --slurm-conf <file> or the plugin files with --plugin <file>`);
        files = configuredPlugins(conf);
        if (files.length === 0) throw new Error(`${conf} configures no jobcomp or SPANK plugin: nothing to check (pass --plugin <file>)`);
      }
      const lines = checkPlugins(files, daemons);
      const bad = lines.filter((l) => !l.ok);
      if (f.json) {
        process.stdout.write(JSON.stringify({ daemons, plugins: lines, ok: bad.length === 0 }, null, 2) + '\n');
      } else {
        for (const d of daemons) process.stdout.write(`installed: ${d.name} ${d.version} (${d.path})\n`);
        for (const l of lines) process.stdout.write(`${l.ok ? 'ok      ' : 'MISMATCH'} ${l.message}\n`);
        process.stdout.write(bad.length === 0 ? 'every plugin fits the installed SLURM\n' : `${bad.length} plugin(s) do not fit the installed SLURM: rebuild them before restarting the daemons\n`);
      }
      if (bad.length > 0) process.exitCode = 1;
    });
  return plugins;
}

// nss-harness.ts - the gridlink NSS module through glibc, without changing
// this host's NSS: the module is built into build-nss/ (native/nss), and the
// programs that ask glibc run in a mount namespace of their own (unshare -m)
// where /etc/nsswitch.conf, /var/lib/gridlink/nss and /etc/ld.so.cache (one
// that also lists build-nss/, so glibc's dlopen finds libnss_gridlink.so.2 as
// an installed module) are bind mounts of a test's files.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

export const NSS_DB_DIR = '/var/lib/gridlink/nss';
const root = join(import.meta.dirname, '../..');
export const nssBuildDir = join(root, 'build-nss');

let built = false;
/** Builds libnss_gridlink.so.2, the query program and the benchmark (cmake; quick when up to date). */
export function buildNss(): string {
  if (!built) {
    execFileSync('cmake', ['-S', join(root, 'native/nss'), '-B', nssBuildDir, '-DCMAKE_BUILD_TYPE=RelWithDebInfo'], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('cmake', ['--build', nssBuildDir, '-j2'], { stdio: ['ignore', 'ignore', 'pipe'] });
    built = true;
  }
  return nssBuildDir;
}

/** An nsswitch.conf (in `dir`) whose passwd and group are `sources`, e.g. "files gridlink". */
export function writeNsswitch(dir: string, sources: string): string {
  const f = join(dir, 'nsswitch.conf');
  writeFileSync(f, `passwd: ${sources}\ngroup: ${sources}\nshadow: files\nhosts: files\n`);
  return f;
}

/** The argv that runs `cmd` in a namespace where nsswitch.conf and the users database directory are these. */
export function inNssNamespace(nsswitch: string, dbDir: string, cmd: string[]): string[] {
  mkdirSync(NSS_DB_DIR, { recursive: true, mode: 0o755 }); // the mount point (the .deb creates it too)
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // The module is found as an installed one is, through the dynamic linker's cache: a cache of this
  // namespace's own that also holds build-nss/ (every process sees it, also those whose environment
  // SLURM rebuilds, such as slurmstepd's), no LD_LIBRARY_PATH.
  const cache = join(dirname(nsswitch), 'ld.so.cache');
  const conf = join(dirname(nsswitch), 'ld.so.conf');
  writeFileSync(conf, `include /etc/ld.so.conf.d/*.conf\n${nssBuildDir}\n`);
  const script = [
    `ldconfig -X -C ${q(cache)} -f ${q(conf)}`,
    `mount --bind ${q(cache)} /etc/ld.so.cache`,
    `mount --bind ${q(nsswitch)} /etc/nsswitch.conf`,
    `mount --bind ${q(dbDir)} ${NSS_DB_DIR}`,
    `exec ${cmd.map(q).join(' ')}`,
  ].join(' && ');
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script];
}

/** A running query program (native/nss/nss_gridlink_test.c): one line asked, one line answered. */
export interface NssQuerier {
  ask(line: string): Promise<string>;
  child: ChildProcess;
  close(): Promise<void>;
}

/** `env`: variables the query program gets (e.g. LD_PRELOAD). */
export function startQuerier(nsswitch: string, dbDir: string, env: Record<string, string> = {}): NssQuerier {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const [cmd, ...args] = inNssNamespace(nsswitch, dbDir, [...(vars.length ? ['env', ...vars] : []), join(buildNss(), 'nss_gridlink_test')]);
  const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(l: string) => void> = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  let exited: string | undefined;
  child.on('exit', (code, sig) => {
    exited = `the query program exited (${sig ?? code})`;
    for (const w of waiting.splice(0)) w(exited);
  });
  return {
    child,
    ask(line: string) {
      if (exited) return Promise.resolve(exited);
      return new Promise((res) => {
        waiting.push(res);
        child.stdin!.write(`${line}\n`);
      });
    },
    async close() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.stdin!.end();
      await done;
    },
  };
}

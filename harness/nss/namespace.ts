// namespace.ts - the gridlink NSS module through glibc without changing this
// host's NSS: the module is built into build-nss/ (native/nss), and the
// programs that must resolve customers run in a mount namespace of their own
// (unshare -m) where /etc/nsswitch.conf, /var/lib/gridlink/nss and
// /etc/ld.so.cache (one that also lists build-nss/, so glibc's dlopen finds
// libnss_gridlink.so.2 as an installed module) are bind mounts of the
// caller's files. The tests (test/userdb) and the devnet (harness/devnet,
// users.resolver "gridlink") use it; nothing here touches the host's own files
// but the empty mount point /var/lib/gridlink/nss.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The users database directory the module reads (compiled in: native/nss/CMakeLists.txt GRIDLINK_NSS_DB). */
export const NSS_DB_DIR = '/var/lib/gridlink/nss';
/** Where the .deb installs the module, and where `gridlink doctor` looks for it first. */
export const NSS_MODULE_DIR = '/usr/lib/x86_64-linux-gnu';
export const NSS_MODULE = 'libnss_gridlink.so.2';
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

/** Single-quoted for sh. */
export const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface NssNamespaceOptions {
  /**
   * Also show the module where an installed one is, NSS_MODULE_DIR (a
   * read-only overlay of a directory holding only the module over it, in this
   * namespace only): `gridlink doctor`'s users check then finds it.
   */
  installModule?: boolean;
}

/** The argv that runs `cmd` in a namespace where nsswitch.conf and the users database directory are these. */
export function inNssNamespace(nsswitch: string, dbDir: string, cmd: string[], o: NssNamespaceOptions = {}): string[] {
  mkdirSync(NSS_DB_DIR, { recursive: true, mode: 0o755 }); // the mount point (the .deb creates it too)
  // The module is found as an installed one is, through the dynamic linker's cache: a cache of this
  // namespace's own that also holds build-nss/ (every process sees it, also those whose environment
  // SLURM rebuilds, such as slurmstepd's), no LD_LIBRARY_PATH.
  const cache = join(dirname(nsswitch), 'ld.so.cache');
  const conf = join(dirname(nsswitch), 'ld.so.conf');
  writeFileSync(conf, `include /etc/ld.so.conf.d/*.conf\n${nssBuildDir}\n`);
  const mounts = [
    `ldconfig -X -C ${shQuote(cache)} -f ${shQuote(conf)}`,
    `mount --bind ${shQuote(cache)} /etc/ld.so.cache`,
    `mount --bind ${shQuote(nsswitch)} /etc/nsswitch.conf`,
    `mount --bind ${shQuote(dbDir)} ${NSS_DB_DIR}`,
  ];
  if (o.installModule) {
    const lower = join(dirname(nsswitch), 'module');
    mkdirSync(lower, { recursive: true, mode: 0o755 });
    copyFileSync(join(nssBuildDir, NSS_MODULE), join(lower, NSS_MODULE));
    mounts.push(`mount -t overlay overlay -o ro,lowerdir=${lower}:${NSS_MODULE_DIR} ${NSS_MODULE_DIR}`);
  }
  const script = [...mounts, `exec ${cmd.map(shQuote).join(' ')}`].join(' && ');
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script];
}

// The Debian package as an operator installs it: the .deb that
// scripts/build-deb.sh (the last step of scripts/setup.sh) made for this
// machine's SLURM, read with dpkg-deb and unpacked into a temporary
// directory, then run from there: the gridlink command on its pruned
// node_modules, better-sqlite3 from the package's tree, the plugins' runtime
// finding libnode beside it, the units and example configuration. Nothing is
// written in the checkout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepare, PREPARE_TIMEOUT_MS } from '../helpers/prepare.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The installed SLURM's version, as scripts/build-deb.sh and CMakeLists.txt read it. */
function installedSlurm(): string {
  const h = readFileSync('/usr/include/slurm/slurm_version.h', 'utf8');
  const hex = Number(/#define SLURM_VERSION_NUMBER\s+(0x[0-9a-fA-F]+)/.exec(h)![1]);
  return `${(hex >> 16) & 255}.${String((hex >> 8) & 255).padStart(2, '0')}.${hex & 255}`;
}
const slurm = installedSlurm();
const [sMaj, sMin, sMic] = slurm.split('.').map(Number) as [number, number, number];
const mm = `${sMaj}.${String(sMin).padStart(2, '0')}`;
/** The distribution release the package is named for, as scripts/build-deb.sh reads /etc/os-release: deb12, deb13. */
function debRelease(): string {
  const os = Object.fromEntries(
    readFileSync('/etc/os-release', 'utf8')
      .split('\n')
      .map((l) => /^(\w+)=("?)(.*)\2$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[3]]),
  ) as Record<string, string | undefined>;
  return (os.ID === 'debian' ? 'deb' : os.ID ?? 'linux') + (os.VERSION_ID ?? os.VERSION_CODENAME ?? '');
}
const debVersion = `${pkg.version}+slurm${slurm}~${debRelease()}`;
/** The libnode the build linked the runtime with (CMakeLists.txt writes it): soname, package, version, bundled. */
function linkedLibnode(): Record<string, string> {
  const f = path.join(repo, 'build-deb', 'cmake', 'LIBNODE');
  if (!existsSync(f)) return {};
  return Object.fromEntries(readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
const deb = path.join(repo, 'build-deb', `gridlink_${debVersion}_amd64.deb`);
const entry = '/usr/lib/gridlink/dist/relay/embedded.cjs';
const pluginDir = `usr/lib/gridlink/slurm-${slurm}`;

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd ?? tmpdir(), timeout: 30_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr: stderr || (err && typeof err.code !== 'number' ? err.message : '') });
    });
  });
}
async function ok(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe(`the Debian package (build-deb/gridlink_${debVersion}_amd64.deb)`, () => {
  let root: string;
  let listing: Map<string, string>; // path (no leading ./) -> the dpkg-deb -c line
  let control: Record<string, string>;

  beforeAll(async () => {
    await prepare('deb');
    if (!existsSync(deb)) throw new Error(`${deb} is missing after scripts/prepare-tests.sh deb: see build-tests/deb.log`);
    // tmpfs when there is one: unpacking 11,000 files to disk is most of this file's time on a busy machine
    root = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'gridlink-deb-'));
    const [contents, fields] = await Promise.all([ok('dpkg-deb', ['-c', deb]), ok('dpkg-deb', ['-f', deb]), ok('dpkg-deb', ['-x', deb, root])]);
    listing = new Map();
    for (const line of contents.split('\n').filter(Boolean)) {
      const m = / \.\/(.*?)\/?(?: -> .*)?$/.exec(line);
      if (m && m[1]) listing.set(m[1], line);
    }
    control = {};
    let key = '';
    for (const line of fields.split('\n')) {
      if (/^\s/.test(line) && key) control[key] += '\n' + line;
      else if (line.includes(':')) {
        key = line.slice(0, line.indexOf(':'));
        control[key] = line.slice(line.indexOf(':') + 1).trim();
      }
    }
  }, PREPARE_TIMEOUT_MS);
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('holds the application, the command, the plugins for this SLURM, the units and /etc/gridlink', () => {
    for (const p of [
      'usr/lib/gridlink/package.json',
      'usr/lib/gridlink/dist/cli/main.js',
      'usr/lib/gridlink/dist/relay/embedded.cjs',
      'usr/lib/gridlink/dist/sbatch/sbatch.proto',
      'usr/lib/gridlink/prebuilds/linux-x64/gridlink.node',
      'usr/lib/gridlink/prebuilds/linux-x64/gridlink_slurm.so',
      'usr/lib/gridlink/node_modules/better-sqlite3/package.json',
      'usr/lib/gridlink/node_modules/viem/package.json',
      'usr/bin/gridlink',
      `${pluginDir}/spank_provider.so`,
      `${pluginDir}/jobcomp_provider.so`,
      `${pluginDir}/gridlink_runtime.so`,
      'lib/systemd/system/gridlink-supervisor.service',
      'lib/systemd/system/gridlink-relay.service',
      'lib/systemd/system/gridlink-reporter.service',
      'lib/systemd/system/gridlink-ldap-connector.service',
      'etc/gridlink/supervisor.example.json',
      'etc/gridlink/reporter.example.json',
      'etc/gridlink/ldap-connector.example.json',
      'etc/gridlink/relay.example.env',
      'usr/share/doc/gridlink/README.md',
      'usr/share/doc/gridlink/slurm/slurm.conf.example',
      'usr/share/doc/gridlink/slurm/plugstack.conf.example',
      // users.resolver "gridlink": the NSS module where glibc finds it, and its page
      'usr/lib/x86_64-linux-gnu/libnss_gridlink.so.2',
      'usr/share/doc/gridlink/nss-gridlink.md',
    ]) {
      expect(listing.has(p), p).toBe(true);
    }
    expect(listing.get('usr/bin/gridlink')).toMatch(/^l.* -> \.\.\/lib\/gridlink\/dist\/cli\/main\.js$/);
    // exactly these four entries under the application's root, no sources, no lockfile, no maps
    const top = [...listing.keys()].filter((p) => /^usr\/lib\/gridlink\/[^/]+$/.test(p)).map((p) => p.slice('usr/lib/gridlink/'.length));
    expect(top.sort()).toEqual(['dist', 'node_modules', 'package.json', 'prebuilds', `slurm-${slurm}`].sort());
    expect([...listing.keys()].filter((p) => /^usr\/lib\/gridlink\/dist\/.*\.(map|tsbuildinfo)$/.test(p))).toEqual([]);
  });

  it('has the control fields: name, version, section, dependencies on this SLURM and on the linked libnode (or its libraries)', async () => {
    expect(control.Package).toBe('gridlink');
    expect(control.Version).toBe(debVersion);
    expect(control.Architecture).toBe('amd64');
    expect(control.Section).toBe('admin');
    expect(control.Maintainer).toBeTruthy();
    expect(control.Description!.split('\n').length).toBeGreaterThan(3);
    const depends = control.Depends!.split(',').map((d) => d.trim());
    expect(depends).toContain('nodejs (>= 20)');
    expect(depends).toContain('munge');
    expect(depends).toContain('libcdb1'); // tinycdb, which libnss_gridlink.so.2 reads its users database with
    // the libslurm the packaged SLURM module links, as Debian names it (libslurm.so.38 -> libslurm38), of this SLURM or later;
    // the spool and munge addon links none
    const soname = /libslurm\.so\.(\d+) =>/.exec(await ok('ldd', [path.join(root, 'usr/lib/gridlink/prebuilds/linux-x64/gridlink_slurm.so')]))![1];
    expect(await ok('ldd', [path.join(root, 'usr/lib/gridlink/prebuilds/linux-x64/gridlink.node')])).not.toMatch(/libslurm/);
    expect(depends).toContain(`libslurm${soname} (>= ${slurm})`);
    expect((await ok('dpkg-query', ['-W', '-f', '${Version}', `libslurm${soname}`])).startsWith(`${slurm}-`)).toBe(true);
    // the libnode the runtime links: packaged beside the plugins when it is not installed (Debian 12's
    // libnode108 conflicts with NodeSource's nodejs), then its dependencies are the package's; else itself
    const ln = linkedLibnode();
    expect(ln.soname).toMatch(/^libnode\.so\.\d+$/);
    if (ln.bundled === 'ON') {
      const libnodeDeps = /^Depends: (.*)$/m.exec(await ok('apt-cache', ['show', `${ln.package}=${ln.version}`]))![1]!;
      for (const d of libnodeDeps.split(',').map((s) => s.trim())) expect(depends, d).toContain(d);
    } else {
      expect(depends.some((d) => /^libnode\d+ \(>= /.test(d))).toBe(true);
    }
    // slurmctld loads a jobcomp plugin of its own major.minor.micro only, slurmd a SPANK plugin of its major.minor
    const breaks = control.Breaks!.split(',').map((d) => d.trim());
    expect(breaks).toEqual([
      `slurmctld (<< ${slurm})`,
      `slurmctld (>= ${mm}.${sMic + 1}~)`,
      `slurmd (<< ${mm}~)`,
      `slurmd (>= ${sMaj}.${String(sMin + 1).padStart(2, '0')}~)`,
    ]);
  });

  it('marks every file in /etc as a conffile and carries its maintainer scripts', async () => {
    const info = await ok('dpkg-deb', ['-I', deb]);
    expect(info).toMatch(/ conffiles /);
    expect(info).toMatch(/ postinst /);
    const conffiles = (await ok('dpkg-deb', ['-I', deb, 'conffiles'])).split('\n').filter(Boolean).sort();
    const etcFiles = [...listing.entries()].filter(([p, l]) => p.startsWith('etc/') && l.startsWith('-')).map(([p]) => '/' + p).sort();
    expect(etcFiles.length).toBeGreaterThanOrEqual(4);
    expect(conffiles).toEqual(etcFiles);
    const postinst = await ok('dpkg-deb', ['-I', deb, 'postinst']);
    await ok('sh', ['-n', '-c', postinst]);
    // the directories the units' ReadWritePaths name (ProtectSystem=strict refuses a missing one)
    for (const unit of readdirSync(path.join(root, 'lib/systemd/system'))) {
      const text = readFileSync(path.join(root, 'lib/systemd/system', unit), 'utf8');
      for (const m of text.matchAll(/^ReadWritePaths=(.*)$/gm)) for (const dir of m[1]!.split(/\s+/)) expect(postinst, `${unit}: ${dir}`).toContain(dir);
    }
  });

  it('/usr/bin/gridlink resolves to the command, which runs on the packaged node_modules', async () => {
    const bin = path.join(root, 'usr/bin/gridlink');
    expect(lstatSync(bin).isSymbolicLink()).toBe(true);
    expect(readlinkSync(bin)).toBe('../lib/gridlink/dist/cli/main.js');
    const target = realpathSync(bin);
    expect(target).toBe(path.join(realpathSync(root), 'usr/lib/gridlink/dist/cli/main.js'));
    expect(statSync(target).mode & 0o111).not.toBe(0);
    const [viaNode, viaLink] = await Promise.all([ok(process.execPath, [target, '--help']), ok(bin, ['--help'])]);
    for (const help of [viaNode, viaLink]) {
      expect(help).toMatch(/Usage: gridlink/);
      for (const cmd of ['supervisor', 'reporter', 'relay', 'ldap-connector', 'spool', 'plugins']) expect(help).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    }
  });

  it('loads better-sqlite3 (its compiled binary) and the addon from the package, not from the checkout', async () => {
    const app = path.join(root, 'usr/lib/gridlink');
    const out = await ok(
      process.execPath,
      ['-e', `const db = new (require('better-sqlite3'))(':memory:'); console.log(JSON.stringify({ at: require.resolve('better-sqlite3'), v: db.prepare('select sqlite_version() v').get().v }))`],
      { cwd: app },
    );
    const r = JSON.parse(out) as { at: string; v: string };
    expect(realpathSync(r.at).startsWith(realpathSync(app) + '/')).toBe(true);
    expect(r.v).toMatch(/^3\./);
    const addon = await ok(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(path.join(app, 'dist/native/index.js'))}); console.log(typeof m.loadAddon().formatVersion)`], { cwd: app });
    expect(addon.trim()).toBe('number');
  });

  it('ships production dependencies only', () => {
    const nm = path.join(root, 'usr/lib/gridlink/node_modules');
    const runtime = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies ?? {})]);
    // what the packaged packages themselves depend on (e.g. @types/node, of @types/better-sqlite3)
    const needed = new Set<string>();
    for (const e of readdirSync(nm)) {
      for (const name of e.startsWith('@') ? readdirSync(path.join(nm, e)).map((s) => `${e}/${s}`) : [e]) {
        const f = path.join(nm, name, 'package.json');
        if (!existsSync(f)) continue;
        const p = JSON.parse(readFileSync(f, 'utf8')) as Record<string, Record<string, string> | undefined>;
        for (const k of ['dependencies', 'optionalDependencies', 'peerDependencies']) for (const d of Object.keys(p[k] ?? {})) needed.add(d);
      }
    }
    const dev = Object.keys(pkg.devDependencies).filter((d) => !runtime.has(d));
    expect(dev).toEqual(expect.arrayContaining(['vitest', 'typescript']));
    expect(dev.filter((d) => !needed.has(d) && existsSync(path.join(nm, d)))).toEqual([]);
    for (const d of ['vitest', 'typescript', 'esbuild', 'tsx', 'solc', 'node-gyp']) expect(existsSync(path.join(nm, d)), d).toBe(false);
    expect(existsSync(path.join(nm, '.bin', 'vitest'))).toBe(false);
    // the application's own package.json: viem (the library's peer) is the application's dependency
    const installed = JSON.parse(readFileSync(path.join(root, 'usr/lib/gridlink/package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    expect(installed.devDependencies).toBeUndefined();
    expect(installed.dependencies!.viem).toBeTruthy();
  });

  it('the example configurations pass the package\'s own schemas', async () => {
    const etc = path.join(root, 'etc/gridlink');
    const checked = JSON.parse(
      await ok(path.join(root, 'usr/bin/gridlink'), ['supervisor', 'run', '--config', path.join(etc, 'supervisor.example.json'), '--check-config']),
    ) as { ingest: { storeDir: string } };
    expect(checked.ingest.storeDir).toBe('/var/lib/gridlink/supervisor');
    const dist = path.join(root, 'usr/lib/gridlink/dist');
    const script = `
      import fs from 'node:fs';
      const read = (f) => JSON.parse(fs.readFileSync(${JSON.stringify(etc)} + '/' + f, 'utf8'));
      const { parseChainReporterConfig } = await import(${JSON.stringify(path.join(dist, 'reporter/config.js'))});
      const { parseConnectorConfig } = await import(${JSON.stringify(path.join(dist, 'ldap/connector-config.js'))});
      parseChainReporterConfig(read('reporter.example.json'));
      parseConnectorConfig(read('ldap-connector.example.json'));
      console.log('valid');`;
    expect((await ok(process.execPath, ['--input-type=module', '-e', script])).trim()).toBe('valid');
  });

  it('gridlink_runtime.so finds the libnode it was built with (beside it, $ORIGIN, when packaged) and defaults to the packaged relay bundle', async () => {
    const runtime = path.join(root, pluginDir, 'gridlink_runtime.so');
    const dyn = await ok('readelf', ['-d', runtime]);
    const { soname, bundled } = linkedLibnode();
    expect(dyn).toMatch(/\(RUNPATH\)\s+Library runpath: \[\$ORIGIN\]$/m);
    expect(dyn).toContain(`Shared library: [${soname}]`);
    expect(listing.has(`${pluginDir}/${soname}`)).toBe(bundled === 'ON');
    const ldd = await ok('ldd', [runtime]);
    if (bundled === 'ON') expect(ldd).toContain(`${soname} => ${path.join(root, pluginDir, soname!)}`);
    expect(ldd).not.toMatch(/not found/);
    // the plugins' compiled-in default entry= is the packaged bundle (native/gl_runtime_loader.c)
    for (const so of ['spank_provider.so', 'jobcomp_provider.so']) {
      const bin = readFileSync(path.join(root, pluginDir, so)).toString('latin1');
      expect(bin, so).toContain(entry + '\0');
    }
    expect(existsSync(path.join(root, entry))).toBe(true);
  });

  it('has no path of the build checkout baked into the application, the plugins or the units', () => {
    const hits: string[] = [];
    const scan = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) scan(p);
        else if (e.isFile() && readFileSync(p).includes(repo + '/')) hits.push(path.relative(root, p));
      }
    };
    for (const d of ['usr/lib/gridlink/dist', 'usr/lib/gridlink/prebuilds', pluginDir, 'lib/systemd/system', 'etc/gridlink', 'usr/share/doc/gridlink']) scan(path.join(root, d));
    if (readFileSync(path.join(root, 'usr/lib/gridlink/package.json')).includes(repo + '/')) hits.push('usr/lib/gridlink/package.json');
    expect(hits).toEqual([]);
  });

  it('the units run /usr/bin/gridlink with configuration the package documents (systemd-analyze verify when installed)', async () => {
    const units = path.join(root, 'lib/systemd/system');
    const names = readdirSync(units).sort();
    expect(names).toEqual(['gridlink-ldap-connector.service', 'gridlink-relay.service', 'gridlink-reporter.service', 'gridlink-supervisor.service']);
    const rewritten = mkdtempSync(path.join(root, 'units-'));
    for (const n of names) {
      const text = readFileSync(path.join(units, n), 'utf8');
      expect(text, n).toMatch(/^ExecStart=\/usr\/bin\/gridlink /m);
      expect(text, n).not.toMatch(/cp contrib\//);
      for (const m of text.matchAll(/--config \/etc\/gridlink\/([\w-]+)\.json/g)) expect(existsSync(path.join(root, 'etc/gridlink', `${m[1]}.example.json`)), `${n}: ${m[0]}`).toBe(true);
      for (const m of text.matchAll(/^Documentation=file:\/\/(.*)$/gm)) expect(existsSync(path.join(root, m[1]!)), `${n}: ${m[1]}`).toBe(true);
      // the unpacked command stands in for /usr/bin/gridlink, which this machine may not have
      writeFileSync(path.join(rewritten, n), text.replaceAll('/usr/bin/gridlink', path.join(root, 'usr/bin/gridlink')));
    }
    const relay = readFileSync(path.join(units, 'gridlink-relay.service'), 'utf8');
    const env = readFileSync(path.join(root, 'etc/gridlink/relay.example.env'), 'utf8');
    for (const v of relay.matchAll(/\$\{?(GRIDLINK_\w+)\}?/g)) expect(env, v[1]).toMatch(new RegExp(`^${v[1]}=`, 'm'));
    if ((await run('sh', ['-c', 'command -v systemd-analyze'])).code === 0) {
      const r = await run('systemd-analyze', ['verify', '--man=no', ...names.map((n) => path.join(rewritten, n))]);
      expect(`${r.code}\n${r.stdout}${r.stderr}`).toBe('0\n');
    }
  });
});

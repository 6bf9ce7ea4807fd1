// structure.test.ts - the house rules of src/, checked on the import graph
// (static `import`/`export ... from` and dynamic `import()` of relative
// paths, read from the sources):
//   1. no import circles;
//   2. code that ships never imports a test or dev harness (harness/:
//      cluster, directory, containers, devnet; not even a type); they are
//      outside src/, so the build leaves them out, and package.json "files"
//      keeps a stale dist/<harness> out of the npm package too;
//   3. nothing under src/ imports from test/ or bench/;
//   4. src/txpipeline imports no contract (only chain/, state/, util/);
//   5. src/state imports no part above it (each part's schema is registered
//      by the composition root, src/compose/state-schema.ts);
//   6. layers: a directory of src/ imports only directories of lower layers
//      (LAYERS below, lowest first; docs/contributing.md says what goes
//      where). The package's entry points (index.ts) may re-export from any
//      shipped layer, and the harnesses may use anything shipped.
// The rules' known exceptions are listed below with the issue that removes
// them; a new violation fails, and so does a listed one that is gone (the
// list stays true).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

import { packageRoot } from '../src/native/index.js';

const SRC = join(packageRoot, 'src');
/** Test and dev harnesses: they start daemons, directories, containers, the devnet. */
const HARNESSES = ['launch', 'cluster', 'directory', 'containers', 'devnet', 'nss'];

/**
 * The shipped directories of src/ by layer, lowest first: foundations, then
 * the libraries (chain access, SLURM access, the Meta-Scheduler, the
 * transaction pipeline, ...), then the parts of the processes, then the
 * composition roots and the commands. Same layer, different directory: no
 * imports either way.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['native', 'state', 'chain'],
  ['slurm', 'signer', 'metascheduler', 'txpipeline'],
  ['sbatch', 'ldap', 'userdb'],
  ['relay'],
  ['reporter'],
  ['supervisor'],
  ['customer'],
  ['compose'],
  ['doctor'],
  ['cli'],
];
/** Imports against the layers still to remove: file -> directory imported, with the reason. */
const KNOWN_LAYER_EXCEPTIONS: readonly string[] = [];

/** Circles still to break (issue 21), each as its sorted member files. */
const KNOWN_CIRCLES: readonly string[][] = [];
/** Shipped file -> harness file imports still to remove (issue 21). */
const KNOWN_HARNESS_IMPORTS: readonly string[] = [];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (e.endsWith('.ts') && !e.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/** file (relative to src/) -> the relative files it imports (relative to packageRoot when outside src/). */
function importGraph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of tsFiles(SRC)) {
    const text = readFileSync(f, 'utf8');
    const deps = new Set<string>();
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec) continue;
      const abs = resolve(dirname(f), spec.replace(/\.js$/, '.ts'));
      deps.add(abs.startsWith(SRC + '/') ? relative(SRC, abs) : relative(packageRoot, abs));
    }
    g.set(relative(SRC, f), [...deps]);
  }
  return g;
}

/** Strongly connected components of more than one file, or a file importing itself (Tarjan). */
function circles(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || (g.get(v) ?? []).includes(v)) out.push(c.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** A path of the import graph in a harness (outside src/, relative to the package root). */
const isHarness = (f: string) => HARNESSES.some((h) => f.startsWith(`harness/${h}/`));

describe('the import graph of src/', () => {
  const g = importGraph();

  it('reads the graph (sanity: the CLI reaches the supervisor)', () => {
    expect(g.size).toBeGreaterThan(100);
    expect(g.get('cli/main.ts')).toContain('cli/supervisor.ts');
  });

  it('has no import circles but the known ones', () => {
    const found = circles(g).map((c) => c.join(' <-> '));
    expect(found).toEqual(KNOWN_CIRCLES.map((c) => [...c].sort().join(' <-> ')));
  });

  it('shipped code imports no test or dev harness', () => {
    const found: string[] = [];
    for (const [f, deps] of g) {
      if (isHarness(f)) continue;
      for (const d of deps) if (isHarness(d)) found.push(`${f} -> ${d}`);
    }
    expect(found.sort()).toEqual([...KNOWN_HARNESS_IMPORTS].sort());
  });

  it('the transaction pipeline knows no contract (calldata, function names and a revert decoder come from its owners)', () => {
    const found: string[] = [];
    for (const [f, deps] of g) {
      if (!f.startsWith('txpipeline/')) continue;
      for (const d of deps) if (!/^(txpipeline|chain|state|util)\//.test(d)) found.push(`${f} -> ${d}`);
    }
    expect(found).toEqual([]);
  });

  it('the state database registers no schema of its own: the parts\' schemas come from the composition root', () => {
    const found: string[] = [];
    for (const [f, deps] of g) {
      if (!f.startsWith('state/')) continue;
      for (const d of deps) if (!/^(state|util)\//.test(d)) found.push(`${f} -> ${d}`);
    }
    expect(found).toEqual([]);
  });

  it('the npm package ships no harness: package.json "files" leaves them out, and no export or bin is one', () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
      files: string[];
      exports: Record<string, string | Record<string, string>>;
      bin: Record<string, string>;
    };
    for (const h of HARNESSES) expect(pkg.files).toContain(`!dist/${h}/**`);
    const entries = [
      ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))),
      ...Object.values(pkg.bin),
    ];
    const inHarness = entries.filter((e) => HARNESSES.some((h) => e.replace(/^\.\//, '').startsWith(`dist/${h}/`)));
    expect(inHarness).toEqual([]);
  });

  it('each directory imports only lower layers (entry points and harnesses aside)', () => {
    const rank = new Map<string, number>();
    LAYERS.forEach((dirs, i) => dirs.forEach((d) => rank.set(d, i)));
    const dirOf = (f: string) => (f.includes('/') ? f.split('/')[0]! : '');
    const found = new Set<string>();
    for (const [f, deps] of g) {
      const from = dirOf(f);
      if (isHarness(f) || from === '' || f.endsWith('/index.ts')) continue;
      expect(rank.has(from), `src/${from}/ is in no layer of test/structure.test.ts: place it`).toBe(true);
      for (const d of deps) {
        const to = dirOf(d);
        if (to === from || d.startsWith('test/') || d.startsWith('bench/') || isHarness(d) || !rank.has(to)) continue;
        if (rank.get(to)! >= rank.get(from)!) found.add(`${f} -> ${to}`);
      }
    }
    expect([...found].sort()).toEqual([...KNOWN_LAYER_EXCEPTIONS].sort());
  });

  it('nothing in src/ imports from test/ or bench/', () => {
    const found: string[] = [];
    for (const [f, deps] of g) for (const d of deps) if (d.startsWith('test/') || d.startsWith('bench/')) found.push(`${f} -> ${d}`);
    expect(found).toEqual([]);
  });
});

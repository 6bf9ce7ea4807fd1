// prune-unreachable.mjs - remove from an application's node_modules every
// package its production dependencies do not need, whatever npm's prune kept:
// npm 9 keeps an optional peer dependency that is installed (viem's
// typescript), npm 10 does not. A package is needed when the application's
// dependencies/optionalDependencies name it, or a needed package names it in
// dependencies, optionalDependencies or a non-optional peerDependency,
// resolved the way Node does (nested node_modules first, then up the tree).
//
//   node scripts/prune-unreachable.mjs APP_DIR     prints what it removed
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import path from 'node:path';

const app = path.resolve(process.argv[2] ?? '.');
const root = path.join(app, 'node_modules');
const readPkg = (dir) => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));

/** Names a package needs at run time. */
function needs(pkg) {
  const optionalPeer = (n) => pkg.peerDependenciesMeta?.[n]?.optional === true;
  return [
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.optionalDependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}).filter((n) => !optionalPeer(n)),
  ];
}

/** Where Node finds `name` from a package at `from` (or the application). */
function resolve(from, name) {
  for (let dir = from; dir.startsWith(app); dir = path.dirname(dir)) {
    const cand = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(cand, 'package.json'))) return cand;
    if (dir === app) break;
  }
  return undefined;
}

const reached = new Set();
const queue = needs(readPkg(app)).map((n) => resolve(app, n)).filter(Boolean);
while (queue.length) {
  const dir = queue.pop();
  if (reached.has(dir)) continue;
  reached.add(dir);
  for (const n of needs(readPkg(dir))) {
    const d = resolve(dir, n);
    if (d && !reached.has(d)) queue.push(d);
  }
}

/** Every installed package directory under a node_modules directory (nested ones too). */
function* packages(nm) {
  if (!existsSync(nm)) return;
  for (const e of readdirSync(nm)) {
    if (e.startsWith('.')) continue;
    const names = e.startsWith('@') ? readdirSync(path.join(nm, e)).map((s) => path.join(e, s)) : [e];
    for (const n of names) {
      const dir = path.join(nm, n);
      if (!existsSync(path.join(dir, 'package.json'))) continue;
      yield dir;
      yield* packages(path.join(dir, 'node_modules'));
    }
  }
}

const removed = [];
for (const dir of [...packages(root)]) {
  if (!reached.has(dir) && existsSync(dir) && ![...reached].some((r) => r.startsWith(dir + path.sep))) {
    rmSync(dir, { recursive: true, force: true });
    removed.push(path.relative(root, dir));
  }
}
// .bin links whose package is gone
function dropDanglingBins(nm) {
  const bin = path.join(nm, '.bin');
  if (existsSync(bin)) {
    for (const e of readdirSync(bin)) {
      const p = path.join(bin, e);
      if (lstatSync(p).isSymbolicLink() && !existsSync(path.resolve(bin, readlinkSync(p)))) rmSync(p);
    }
  }
}
dropDanglingBins(root);
for (const dir of reached) dropDanglingBins(path.join(dir, 'node_modules'));
for (const r of removed) console.log(r);

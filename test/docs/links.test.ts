// Every relative link of the README, ARCHITECTURE.md and docs/*.md reaches
// a file of the checkout, and a link's #anchor a heading of its target (as
// GitHub makes anchors: lower case, punctuation dropped, spaces to hyphens);
// every path of the checkout they name in backquotes (`src/...ts`,
// `test/...`, `native/...`, `plugins/...`, `contrib/...`, `scripts/...`,
// `bench/...`) is there. The pages and the code move and get renamed; a dead
// link or path is a false statement.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

import { expect, it } from 'vitest';

import { packageRoot } from '../../src/native/index.js';

const pages = ['README.md', 'ARCHITECTURE.md', ...readdirSync(join(packageRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's heading anchor. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
  return new Set([...text.matchAll(/^#{1,6}\s+(.*)$/gm)].map((m) => anchor(m[1]!)));
}

it('makes anchors as GitHub does', () => {
  expect(anchor('Plugin options (both plugins)')).toBe('plugin-options-both-plugins');
  expect(anchor('9. Customers\' Linux users: NSS or LDAP')).toBe('9-customers-linux-users-nss-or-ldap');
  expect(anchor('The spool (`native/gl_spool.h`)')).toBe('the-spool-nativegl_spoolh');
});

it('every relative link of the README, ARCHITECTURE.md and docs/ reaches a file, and its anchor a heading there', () => {
  const dead: string[] = [];
  for (const page of pages) {
    const file = join(packageRoot, page);
    const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1]!;
      if (/^[a-z]+:/.test(link)) continue; // http:, https:, mailto:
      const [path, hash] = link.split('#') as [string, string | undefined];
      const target = path === '' ? file : join(dirname(file), path);
      if (!existsSync(target)) dead.push(`${page}: ${link} (no ${relative(packageRoot, target)})`);
      else if (hash !== undefined && target.endsWith('.md') && !anchors(target).has(hash)) dead.push(`${page}: ${link} (no heading #${hash})`);
    }
  }
  expect(dead).toEqual([]);
  expect(pages.length).toBeGreaterThan(15);
});

/** `src/x.ts`-like paths of the checkout named in backquotes (SLURM's own `src/common/*.c` are not ours: only .ts under src/). */
function repoPaths(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/`((?:src|test|native|plugins|contrib|scripts|bench)\/[A-Za-z0-9_./-]+)`/g)) {
    const p = m[1]!;
    if (p.startsWith('src/') && !/\.(ts|proto)$|\/$/.test(p)) continue;
    out.push(p);
  }
  return out;
}

/**
 * A path a clean clone has: committed (a file, or a directory holding one), or
 * one git ignores because a command writes it (bench/results.json, build
 * outputs) and the page says which. What is merely on this disk does not count:
 * a clean clone (CI) would not have it.
 */
function inCheckout(): (p: string) => boolean {
  const git = (args: string[]) => spawnSync('git', args, { cwd: packageRoot, encoding: 'utf8' });
  const ls = git(['ls-files']);
  if (ls.status !== 0) return (p) => existsSync(join(packageRoot, p)); // not a git checkout: the disk is all there is
  const files = new Set(ls.stdout.split('\n').filter(Boolean));
  const dirs = new Set([...files].flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
  return (p) => {
    const q = p.replace(/\/$/, '');
    return files.has(q) || dirs.has(q) || git(['check-ignore', '-q', q]).status === 0;
  };
}

it('every path of the checkout the README, ARCHITECTURE.md and docs/ name in backquotes is there', () => {
  const missing: string[] = [];
  const has = inCheckout();
  for (const page of pages) {
    const text = readFileSync(join(packageRoot, page), 'utf8');
    for (const p of repoPaths(text)) if (!has(p)) missing.push(`${page}: ${p}`);
  }
  expect(missing).toEqual([]);
  expect(repoPaths('`src/relay/relay.ts` `src/common/plugin.c` `test/x/y.test.ts`')).toEqual(['src/relay/relay.ts', 'test/x/y.test.ts']);
});

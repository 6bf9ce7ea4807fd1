// Every relative link of the README, ARCHITECTURE.md and docs/*.md reaches
// a file of the checkout, and a link's #anchor a heading of its target (as
// GitHub makes anchors: lower case, punctuation dropped, spaces to hyphens).
// The pages move and get renamed; a dead link is a false statement.
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

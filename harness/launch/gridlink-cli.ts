// gridlink-cli.ts - how the devnet, the tests and the benchmarks start the
// `gridlink` command in a process of their own: from the build
// (dist/cli/main.js) when it is at least as new as every source file, else
// from source through tsx's loader. Either way it is one node process, so its
// PID is the command's (SIGTERM and kill -9 reach it, not a launcher). The
// build starts in ~2 s of CPU, the source in ~6 (tsx compiles on every start;
// CI starts the CLI a few hundred times, with dist/ built at set-up).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../../src/native/addon.js';

/** The command's source entry point. */
export const cliSource = join(packageRoot, 'src', 'cli', 'main.ts');
/** The command as built (`npm run build:ts`), as the .deb and the npm package run it. */
export const cliBuilt = join(packageRoot, 'dist', 'cli', 'main.js');

/** The newest modification time under `dir`, in ms (0 when empty or missing). */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

let fresh: boolean | undefined;

/** dist/ was built after the last change to src/ (checked once per process: nothing here edits src/). */
export function builtIsFresh(): boolean {
  fresh ??= existsSync(cliBuilt) && newestUnder(join(packageRoot, 'src')) <= statSync(cliBuilt).mtimeMs;
  return fresh;
}

/** node's arguments before the command's own: the build when fresh, else the source with tsx. */
export const cliEntry = (): string[] => (builtIsFresh() ? [cliBuilt] : ['--import', 'tsx', cliSource]);

/** The whole argv of `gridlink ...args` (node first). */
export const gridlinkArgv = (...args: string[]): string[] => [process.execPath, ...cliEntry(), ...args];

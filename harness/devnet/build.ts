// build.ts - what the devnet needs built: the plugins and the embedded relay
// (one esbuild bundle of src/relay, run inside slurmctld and slurmd; rebuilt,
// in about a second, when src/ is newer). Everything else the devnet runs
// from source (tsx), so it never waits for a whole `npm run build:ts`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../../src/native/addon.js';

export const pluginDir = join(packageRoot, 'build-plugins');
const relayBundle = join(packageRoot, 'dist', 'relay', 'embedded.cjs');

export function ensureBuilt(onBuild?: () => void): void {
  for (const f of [join(pluginDir, 'jobcomp_provider.so'), join(pluginDir, 'spank_provider.so'), join(pluginDir, 'gridlink_runtime.so')])
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`bash scripts/setup.sh\` (or \`npm run build:plugins\`) first`);
  const newer = spawnSync('find', [join(packageRoot, 'src'), '-name', '*.ts', '-newer', relayBundle], { encoding: 'utf8' });
  if (existsSync(relayBundle) && newer.stdout.trim() === '') return;
  onBuild?.();
  const r = spawnSync('npm', ['run', '--silent', 'build:relay-bundle'], { cwd: packageRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build:relay-bundle failed (the embedded relay is bundled from src/relay):\n${r.stdout}${r.stderr}`);
}

// build.ts - what the devnet needs built: the plugins and the embedded relay
// (compiled JavaScript, run inside slurmctld and slurmd; rebuilt when src/ is newer).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../native/addon.js';

export const pluginDir = join(packageRoot, 'build-plugins');
const relayBundle = join(packageRoot, 'dist', 'relay', 'embedded.cjs');

export function ensureBuilt(onBuild?: () => void): void {
  for (const f of [join(pluginDir, 'jobcomp_provider.so'), join(pluginDir, 'spank_provider.so'), join(pluginDir, 'gridlink_runtime.so')])
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`bash scripts/setup.sh\` (or \`npm run build:plugins\`) first`);
  const newer = spawnSync('find', [join(packageRoot, 'src'), '-name', '*.ts', '-newer', relayBundle], { encoding: 'utf8' });
  if (existsSync(relayBundle) && newer.stdout.trim() === '') return;
  onBuild?.();
  const r = spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: packageRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build:ts failed (the embedded relay is built from src/):\n${r.stdout}${r.stderr}`);
}

// image.ts - the node image of the slurm-in-docker cluster (Dockerfile.slurm),
// built for one Debian release as an operator would get gridlink: from its
// .deb. The base comes from scripts/container-base.sh (debootstrap: no
// registry is reachable here; saved per release, loaded in seconds) and the
// packages from scripts/container-packages.sh. podman's layer cache keeps the
// SLURM layer between runs; only the .deb layer is rebuilt.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { packageRoot } from '../../src/native/addon.js';
import { podman } from './podman.js';

const execFileP = promisify(execFile);

/** The Debian releases the node image is built for (contrib/container/releases). */
export const SUITES = ['trixie', 'bookworm', 'sid'] as const;
export type Suite = (typeof SUITES)[number];

/** The node image of a release, as compose.yaml names it when run with that release. */
export const nodeImage = (suite: Suite) => `localhost/gridlink-node:${suite}`;

async function script(name: string, args: string[] = [], timeoutMs = 600_000): Promise<string> {
  try {
    const { stdout } = await execFileP('bash', [join(packageRoot, 'scripts', name), ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout.trim().split('\n').pop() ?? '';
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`scripts/${name} ${args.join(' ')} failed: ${(err.stderr || err.message).trim().slice(-2000)}`);
  }
}

export interface NodeImage {
  tag: string;
  suite: Suite;
  base: string;
  /** Seconds the build took (mostly the .deb layer when the SLURM layer is cached). */
  buildSeconds: number;
}

/**
 * Base image, packages, then `podman build -f Dockerfile.slurm` for one
 * release. The release's gridlink .deb must exist (scripts/prepare-tests.sh
 * containers / containers-trixie builds it); container-packages.sh says
 * what to run when it does not.
 */
export async function buildNodeImage(suite: Suite = 'trixie', tag = nodeImage(suite)): Promise<NodeImage> {
  const base = await script('container-base.sh', [suite]);
  await script('container-packages.sh', [suite]);
  const t0 = Date.now();
  await podman(['build', '--quiet', '-f', join(packageRoot, 'Dockerfile.slurm'), '--build-arg', `SUITE=${suite}`, '--build-arg', `BASE=${base}`, '-t', tag, packageRoot], { timeoutMs: 900_000 });
  const buildSeconds = (Date.now() - t0) / 1000;
  // Each new .deb leaves the previous image untagged (about 250 MB of its own
  // layers): remove dangling images so that repeated runs do not fill the
  // disk. Tagged images (the bases, these) and their shared layers stay.
  await podman(['image', 'prune', '-f'], { timeoutMs: 120_000 });
  return { tag, suite, base, buildSeconds };
}

// image.ts - the node image of the slurm-in-docker cluster (Dockerfile.slurm),
// built as an operator would get gridlink: from its .deb. The base comes from
// scripts/container-base.sh (debootstrap: no registry is reachable here) and
// the packages from scripts/container-packages.sh. podman's layer cache keeps
// the SLURM layer between runs; only the .deb layer is rebuilt.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { packageRoot } from '../native/addon.js';
import { podman } from './podman.js';

const execFileP = promisify(execFile);

export const BASE_IMAGE = 'localhost/gridlink-base:bookworm';
export const NODE_IMAGE = 'localhost/gridlink-node:latest';

async function script(name: string, args: string[] = [], timeoutMs = 600_000): Promise<string> {
  try {
    const { stdout } = await execFileP('bash', [join(packageRoot, 'scripts', name), ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout.trim().split('\n').pop() ?? '';
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`scripts/${name} failed: ${(err.stderr || err.message).trim().slice(-2000)}`);
  }
}

/** The gridlink .deb the image installs; throws with what to run when there is none. */
export function gridlinkDeb(): string {
  const dir = join(packageRoot, 'build-deb');
  const debs = existsSync(dir) ? readdirSync(dir).filter((f) => /^gridlink_.*\.deb$/.test(f)) : [];
  if (debs.length === 0) throw new Error('no build-deb/gridlink_*.deb: run `bash scripts/build-deb.sh` (part of scripts/setup.sh) first');
  return join(dir, debs.sort().pop()!);
}

export interface NodeImage {
  tag: string;
  base: string;
  /** Seconds the build took (mostly the .deb layer when the SLURM layer is cached). */
  buildSeconds: number;
}

/** Base image, packages, then `podman build -f Dockerfile.slurm`. */
export async function buildNodeImage(tag = NODE_IMAGE): Promise<NodeImage> {
  gridlinkDeb();
  const base = await script('container-base.sh', [BASE_IMAGE]);
  await script('container-packages.sh');
  const t0 = Date.now();
  await podman(['build', '--quiet', '-f', join(packageRoot, 'Dockerfile.slurm'), '--build-arg', `BASE=${base}`, '-t', tag, packageRoot], { timeoutMs: 900_000 });
  const buildSeconds = (Date.now() - t0) / 1000;
  // Each new .deb leaves the previous image untagged (about 250 MB of its own
  // layers): remove dangling images so that repeated runs do not fill the
  // disk. Tagged images (the base, this one) and their shared layers stay.
  await podman(['image', 'prune', '-f'], { timeoutMs: 120_000 });
  return { tag, base, buildSeconds };
}

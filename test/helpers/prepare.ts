// prepare.ts - a test's way to the artefacts only tests need (the .deb, the
// container base image and packages, the SLURM version matrix): it runs
// scripts/prepare-tests.sh for that piece, which waits for `npm test`'s
// background run of the same piece (one lock per piece) or builds it.
// Call it in a beforeAll with PREPARE_TIMEOUT_MS: a cold build takes minutes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { packageRoot } from '../../src/native/index.js';

/** A hook that may wait for a cold build: SLURM releases, debootstrap. */
export const PREPARE_TIMEOUT_MS = 30 * 60_000;

export type Piece = 'docker' | 'deb' | 'containers' | 'containers-trixie' | 'containers-sid' | 'nss-slurm' | `slurm-${string}`;

/** Resolves once `piece` is built; rejects with the script's output if it cannot be. */
export function prepare(piece: Piece): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', [join(packageRoot, 'scripts', 'prepare-tests.sh'), piece], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.once('error', reject);
    p.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`scripts/prepare-tests.sh ${piece} exited ${code}: run it by hand to see why\n${out.slice(-4000)}`)),
    );
  });
}

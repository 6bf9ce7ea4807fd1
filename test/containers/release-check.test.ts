// A Debian release whose SLURM moved on: scripts/container-deb.sh reads the
// SLURM version the release's packages now have (in the release's build
// container) and, when it is not the one contrib/container/releases names,
// stops in one line saying which it found, before building anything.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { checkPodman } from '../../harness/containers/podman.js';
import { packageRoot } from '../../src/native/addon.js';
import { skipReason } from '../helpers/skip-reason.js';
import { prepare, PREPARE_TIMEOUT_MS } from '../helpers/prepare.js';

const execFileP = promisify(execFile);
const engine = await checkPodman();

// trixie ships its SLURM; sid's image runs upstream 26.05.3 (upstream=), but sid's own SLURM is checked all the same.
const RELEASES = [
  { suite: 'trixie', debian: '13', ships: '24.11.5', piece: 'containers-trixie' },
  { suite: 'sid', debian: 'forky', ships: '26.05.5', piece: 'containers-sid' },
] as const;

describe.skipIf(!engine.ok)(`container-deb.sh and a release whose SLURM changed${skipReason(engine.ok, String(engine.reason ?? ''))}`, () => {
  it.each(RELEASES)('$suite: fails in one line naming the SLURM the release ships now', async ({ suite, debian, ships, piece }) => {
    await prepare(piece);
    const releases = readFileSync(join(packageRoot, 'contrib/container/releases'), 'utf8');
    const line = new RegExp(`^${suite}(\\s+${debian}\\s+)(\\S+)`, 'm');
    expect(releases.match(line)?.[2]).toBe(ships);
    const moved = join(mkdtempSync(join(tmpdir(), 'gl-releases-')), 'releases');
    writeFileSync(moved, releases.replace(line, `${suite}$1${ships}9`));
    const err = await execFileP('bash', [join(packageRoot, 'scripts/container-deb.sh'), suite], { env: { ...process.env, GRIDLINK_RELEASES: moved }, timeout: 600_000 }).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(err?.code).toBe(1);
    const last = err!.stderr!.trim().split('\n').pop();
    expect(last).toBe(`container-deb: Debian ${suite} now ships SLURM ${ships}, not ${ships}9: update ${moved} (and SLURM_TARBALLS) for it`);
  }, PREPARE_TIMEOUT_MS);
});

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

import { checkPodman } from '../../src/containers/podman.js';
import { packageRoot } from '../../src/native/addon.js';
import { skipReason } from '../helpers/skip-reason.js';
import { prepare, PREPARE_TIMEOUT_MS } from '../helpers/prepare.js';

const execFileP = promisify(execFile);
const engine = await checkPodman();

describe.skipIf(!engine.ok)(`container-deb.sh and a release whose SLURM changed${skipReason(engine.ok, String(engine.reason ?? ''))}`, () => {
  it('fails in one line naming the SLURM the release ships now', async () => {
    await prepare('containers-trixie');
    const releases = readFileSync(join(packageRoot, 'contrib/container/releases'), 'utf8');
    const trixie = releases.match(/^trixie\s+13\s+(\S+)$/m)?.[1];
    expect(trixie).toBe('24.11.5');
    const moved = join(mkdtempSync(join(tmpdir(), 'gl-releases-')), 'releases');
    writeFileSync(moved, releases.replace(/^trixie(\s+13\s+)\S+$/m, 'trixie$124.11.4'));
    const err = await execFileP('bash', [join(packageRoot, 'scripts/container-deb.sh'), 'trixie'], { env: { ...process.env, GRIDLINK_RELEASES: moved }, timeout: 600_000 }).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(err?.code).toBe(1);
    const last = err!.stderr!.trim().split('\n').pop();
    expect(last).toBe(`container-deb: Debian trixie now ships SLURM 24.11.5, not 24.11.4: update ${moved} (and SLURM_TARBALLS) for it`);
  }, PREPARE_TIMEOUT_MS);
});

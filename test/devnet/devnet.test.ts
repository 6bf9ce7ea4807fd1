// `npm run devnet -- --once`: the README's main command brings the whole
// system up, runs one job end to end and stops everything.
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';

import { packageRoot } from '../../src/native/index.js';

it('runs one job from the shims through the embedded relays to the reporter, with the chain up', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/devnet/main.ts', '--once'], { cwd: packageRoot, encoding: 'utf8', timeout: 150_000 });
  expect(r.status, r.stderr.slice(-2000)).toBe(0);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kindName: string; daemon: string; jobName?: string });
  expect(lines.map((l) => `${l.daemon}:${l.kindName}`)).toEqual(expect.arrayContaining(['slurmd:job_started', 'slurmctld:job_completed']));
  expect(r.stderr).toMatch(/chain up: Meta-Scheduler deployed, oracle running/);
  expect(r.stderr).toMatch(/events flowed/);
  expect(r.stderr).toMatch(/cluster stopped/);
}, 180_000);

// slurm-run.ts - runs test/userdb/slurm-entry.ts (a real 2-node cluster whose
// customers come from the gridlink users database) in a mount namespace whose
// nsswitch.conf is "files gridlink", and returns what it saw. Shared by
// slurm-jobs.test.ts (Debian's SLURM) and nss-slurm.test.ts (which hosts need
// the database, with and without SLURM's nss_slurm, on each release).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'vitest';

import { buildNss, inNssNamespace, writeNsswitch } from '../../harness/nss/namespace.js';

export interface Seen {
  memory: Record<string, Record<string, number> | undefined>;
  outsideHome?: { state: string; output: string };
  ctldLog: string[];
  nodes: string[];
  jobs: Array<{ name: string; uid: number; id: number; state: string; output: string; userId: string }>;
  unknownUid: { code: number; stderr: string };
  hostileName: { code: number; stderr: string };
  slurmdLog: string[];
}

/**
 * `without`: '' (every daemon has the database), 'slurmctld' or 'slurmd' (that daemon in a namespace of
 * its own whose NSS is "files" only), 'slurmd-nss_slurm' (the slurmds' NSS is "slurm files" and
 * LaunchParameters=enable_nss_slurm). `version`: 'system' (Debian's SLURM) or a matrix release.
 */
export async function runEntry(dir: string, homes: string, customers: number, without = '', version = 'system'): Promise<Seen> {
  buildNss();
  chmodSync(dir, 0o755); // the customers' jobs traverse it to their homes
  execFileSync('mkdir', ['-p', '-m', '0755', homes, join(dir, 'db')]);
  const nsswitch = writeNsswitch(dir, 'files gridlink');
  const entry = [process.execPath, '--import', 'tsx', join(import.meta.dirname, 'slurm-entry.ts'), dir, homes, String(customers), without, version];
  const [cmd, ...args] = inNssNamespace(nsswitch, join(dir, 'db'), entry);
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  expect(code).toBe(0);
  const result = stdout.split('\n').find((l) => l.startsWith('GLRESULT '));
  expect(result, stdout.slice(-3000)).toBeDefined();
  return JSON.parse(result!.slice('GLRESULT '.length)) as Seen;
}

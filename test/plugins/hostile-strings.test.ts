// Job names and comments are the job owner's: any bytes must be recorded
// exactly, and must never break the record or the ones after it.
import { afterAll, beforeAll, expect, it } from 'vitest';

import { completions, readSpool, startPluginCluster, waitFor, type PluginCluster } from './with-plugins.js';

let pc: PluginCluster;
beforeAll(async () => {
  pc = await startPluginCluster();
});
afterAll(async () => {
  await pc?.cluster.stop();
});

// printf formats: bash turns them into the exact bytes (argv can carry any byte but NUL).
const cases: { name: string; printf: string; bytes: Buffer }[] = [
  { name: 'newlines', printf: 'a\\nb\\r\\nc\\n', bytes: Buffer.from('a\nb\r\nc\n') },
  { name: 'quotes', printf: `"it's" \\\\ \`x\` $HOME`, bytes: Buffer.from(`"it's" \\ \`x\` $HOME`) },
  { name: 'invalid UTF-8', printf: 'ok\\xff\\xfe\\xc0\\xafend', bytes: Buffer.from([0x6f, 0x6b, 0xff, 0xfe, 0xc0, 0xaf, 0x65, 0x6e, 0x64]) },
  { name: 'fake frame', printf: 'GLEV\\x10\\x00\\x00\\x00GLEV', bytes: Buffer.from([...Buffer.from('GLEV'), 0x10, 0, 0, 0, ...Buffer.from('GLEV')]) },
];

it.each(cases)('records a $name job name and comment byte for byte', async ({ printf, bytes }) => {
  const c = pc.cluster;
  const r = await c.run('bash', [
    '-c',
    `n=$(printf '%s' "$1"; printf x); n=\${n%x}; printf '#!/bin/sh\\ntrue\\n' | sbatch --parsable --job-name="$n" --comment="$n"`,
    'bash',
    printf,
  ]);
  const id = Number.parseInt(r.stdout.trim(), 10);
  await c.waitJob(id);
  const ev = await waitFor('completion', () => completions(readSpool(pc.ctldSpool), id)[0]);
  expect(ev.bytes.jobName.toString('hex')).toBe(bytes.toString('hex'));
  expect(ev.bytes.comment.toString('hex')).toBe(bytes.toString('hex'));
});

it('records a 64 KiB comment intact, and the next job normally', async () => {
  const c = pc.cluster;
  const big = Buffer.alloc(64 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = 0x21 + (i % 90); // printable, no quotes issue via argv
  const id = await c.sbatch([`--comment=${big.toString('latin1')}`], 'true');
  await c.waitJob(id);
  const next = await c.sbatch(['--job-name=after-big'], 'true');
  await c.waitJob(next);
  const ev = await waitFor('completion', () => completions(readSpool(pc.ctldSpool), id)[0]);
  expect(ev.bytes.comment.length).toBe(big.length);
  expect(Buffer.compare(ev.bytes.comment, big)).toBe(0);
  const after = await waitFor('next completion', () => completions(readSpool(pc.ctldSpool), next)[0]);
  expect(after.jobName).toBe('after-big');
});

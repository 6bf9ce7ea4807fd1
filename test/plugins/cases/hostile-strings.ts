// Job names and comments are the job owner's: any bytes must be recorded
// exactly, and must never break the record or the ones after it.
import { expect, it } from 'vitest';

import type { PluginSubject } from '../subject.js';
import { completions, waitFor } from '../with-plugins.js';

// printf formats: bash turns them into the exact bytes (argv can carry any byte but NUL).
const cases: { name: string; printf: string; bytes: Buffer }[] = [
  { name: 'newlines', printf: 'a\\nb\\r\\nc\\n', bytes: Buffer.from('a\nb\r\nc\n') },
  { name: 'quotes', printf: `"it's" \\\\ \`x\` $HOME`, bytes: Buffer.from(`"it's" \\ \`x\` $HOME`) },
  { name: 'invalid UTF-8', printf: 'ok\\xff\\xfe\\xc0\\xafend', bytes: Buffer.from([0x6f, 0x6b, 0xff, 0xfe, 0xc0, 0xaf, 0x65, 0x6e, 0x64]) },
  { name: 'fake frame', printf: 'GLEV\\x10\\x01\\x01\\x01GLEV', bytes: Buffer.from([...Buffer.from('GLEV'), 0x10, 1, 1, 1, ...Buffer.from('GLEV')]) },
];

export function hostileStringCases(on: { readonly pc: PluginSubject }): void {
  it.each(cases)('records a $name job name and comment byte for byte', async ({ printf, bytes }) => {
    const c = on.pc.cluster;
    const r = await c.run('bash', [
      '-c',
      `n=$(printf "$1"; printf x); n=\${n%x}; printf '#!/bin/sh\\ntrue\\n' | sbatch --parsable --job-name="$n" --comment="$n"`,
      'bash',
      printf,
    ]);
    const id = Number.parseInt(r.stdout.trim(), 10);
    // (scontrol's one-line output cannot be parsed when the name holds a newline:
    // wait on the record itself)
    const ev = await waitFor('completion', () => completions(on.pc.ctldEvents(), id)[0]);
    expect(ev.stateName).toBe('COMPLETED');
    expect(ev.bytes.jobName.toString('hex')).toBe(bytes.toString('hex'));
    expect(ev.bytes.comment.toString('hex')).toBe(bytes.toString('hex'));
  });

  // slurmctld refuses a name or comment over 1024 bytes at submit (job_mgr.c,
  // _test_strlen), so the longest strings a job can carry are recorded here;
  // 64 KiB and 1 MiB strings through the same encoder are in test/native.
  it('records a name and comment of the 1024-byte maximum intact, and refuses 64 KiB at submit', async () => {
    const c = on.pc.cluster;
    const max = Buffer.alloc(1024);
    for (let i = 0; i < max.length; i++) max[i] = 0x21 + (i % 90);
    const s = max.toString('latin1');
    const id = await c.sbatch([`--job-name=${s}`, `--comment=${s}`], 'true');
    await c.waitJob(id);
    const next = await c.sbatch(['--job-name=after-max'], 'true');
    await c.waitJob(next);
    const ev = await waitFor('completion', () => completions(on.pc.ctldEvents(), id)[0]);
    expect(Buffer.compare(ev.bytes.comment, max)).toBe(0);
    expect(Buffer.compare(ev.bytes.jobName, max)).toBe(0);
    const after = await waitFor('next completion', () => completions(on.pc.ctldEvents(), next)[0]);
    expect(after.jobName).toBe('after-max');
    await expect(c.sbatch([`--comment=${'y'.repeat(64 * 1024)}`], 'true')).rejects.toThrow(/too long/);
  });
}

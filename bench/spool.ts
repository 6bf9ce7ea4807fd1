// spool.ts - the spool suite: hot paths of both plugins beside /dev/null.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { packageRoot } from '../src/native/addon.js';
import { mergeResults, printTable } from './results.js';

interface Stat {
  p50_us: number;
  p99_us: number;
  max_us: number;
}

export function runSpoolBench(calls = 10_000): void {
  const bin = join(packageRoot, 'build-plugins', 'spool_hotpath');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build:plugins\` first`);
  // The spool lives where a real one would: on disk, not tmpfs, when /var/tmp is disk.
  const dir = mkdtempSync(join(existsSync('/var/tmp') ? '/var/tmp' : tmpdir(), 'gl-bench-'));
  try {
    const out = JSON.parse(execFileSync(bin, [dir, String(calls)], { encoding: 'utf8' })) as Record<string, Stat> & {
      calls: number;
      frame_bytes: number;
    };
    const base = out.devnull!;
    const file = out.file_append!;
    const row = (name: string, what: string, s: Stat) => ({
      path: name,
      what,
      'p50 us': s.p50_us,
      'p99 us': s.p99_us,
      'p99 / devnull': s.p99_us / base.p99_us,
      'p99 / file append': s.p99_us / file.p99_us,
    });
    printTable(`spool hot paths: ${out.calls} calls, ${out.frame_bytes}-byte records (target: p99 <= 20 us)`, [
      row('jobcomp', 'job_record_t -> event, encode, lock, append', out.jobcomp!),
      row('prolog', 'env -> event, encode, lock, append', out.prolog!),
      row('prolog_with_open', 'whole SPANK entry: options, open, append, close', out.prolog_with_open!),
      row('devnull', 'baseline: same bytes, write(2) to /dev/null', base),
      row('file_append', 'baseline: same bytes, O_APPEND regular file', file),
    ]);
    mergeResults({
      jobcomp_p50_us: out.jobcomp!.p50_us,
      jobcomp_p99_us: out.jobcomp!.p99_us,
      prolog_p99_us: out.prolog!.p99_us,
      prolog_with_open_p99_us: out.prolog_with_open!.p99_us,
      devnull_p99_us: base.p99_us,
      file_append_p99_us: file.p99_us,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

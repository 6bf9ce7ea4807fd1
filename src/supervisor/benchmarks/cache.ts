// cache.ts - benchmark results are expensive (up to an hour of the whole
// partition): the caller stores them with a fingerprint of the hardware and
// settings they were measured with, and asks here whether to measure again.
// Pure functions, no I/O.
import { createHash } from 'node:crypto';
import type { SlurmNode } from '../../slurm/backend.js';
import type { Label } from './label-names.js';

/** What a stored result was measured on and with. */
export interface BenchmarkFingerprintInput {
  /** The partition's nodes (name, CPUs, memory, GPUs count; state is ignored). */
  nodes: readonly Pick<SlurmNode, 'name' | 'cpus' | 'realMemoryMB' | 'gpus'>[];
  /** Settings that change the figures: nodes benchmarked, memory fraction, fio size and directory, quick mode, ... */
  settings: Record<string, string | number | boolean>;
}

/** A stable hex digest: node order and settings key order do not matter. */
export function benchmarkFingerprint(f: BenchmarkFingerprintInput): string {
  const nodes = [...f.nodes].map((n) => `${n.name}|${n.cpus}|${n.realMemoryMB}|${n.gpus}`).sort();
  const settings = Object.keys(f.settings)
    .sort()
    .map((k) => `${k}=${JSON.stringify(f.settings[k])}`);
  return createHash('sha256').update(JSON.stringify({ v: 1, nodes, settings })).digest('hex');
}

export interface StoredBenchmarks {
  fingerprint: string;
  /** When the results were measured, epoch ms. */
  measuredAtMs: number;
  labels: readonly Label[];
}

export type RerunDecision = { rerun: false; reason: string } | { rerun: true; reason: string };

/**
 * Whether to run the benchmarks again: nothing stored, other hardware or
 * settings (fingerprint differs), results older than `maxAgeDays` (0: always
 * rerun), a measurement time in the future (clock was wrong), or stored
 * results without any label (every benchmark failed last time).
 */
export function shouldRerunBenchmarks(stored: StoredBenchmarks | undefined, current: { fingerprint: string; nowMs: number; maxAgeDays: number }): RerunDecision {
  if (!stored) return { rerun: true, reason: 'no stored benchmark results' };
  if (stored.fingerprint !== current.fingerprint) return { rerun: true, reason: 'the hardware or the benchmark settings changed since the last measurement' };
  if (stored.labels.length === 0) return { rerun: true, reason: 'the last measurement produced no label' };
  const age = current.nowMs - stored.measuredAtMs;
  if (age < 0) return { rerun: true, reason: 'the stored measurement is dated in the future (clock changed)' };
  const maxMs = current.maxAgeDays * 86_400_000;
  if (age >= maxMs) return { rerun: true, reason: `the stored results are ${(age / 86_400_000).toFixed(1)} days old (max ${current.maxAgeDays})` };
  return { rerun: false, reason: `stored results from ${new Date(stored.measuredAtMs).toISOString()} are current` };
}

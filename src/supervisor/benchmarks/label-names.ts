// labels.ts - the benchmark label names and how their values are written, in
// one place. Values are plain decimal strings (no exponent, no unit, no
// thousands separator), rounded to about 3 significant digits (whole numbers
// from 1000 up): benchmark figures vary more than that between runs, and a
// label that changes at every rerun would force a new registration each time.
//
// Units: GFLOPS = 10^9 floating-point operations per second; GB/s and MB/s
// are decimal (10^9 and 10^6 bytes per second), as hpcc and STREAM report
// them; IOPS are operations per second.
import type { Label } from '../../metascheduler/types.js';

export type { Label };

export const BENCHMARK_LABELS = {
  /** HPL (hpcc's HPL_Tflops x 1000): the whole job, every node benchmarked. */
  hplGflops: 'benchmark.hpl.gflops',
  /** STREAM Triad per node: hpcc's StarSTREAM_Triad (per rank, all ranks at once) x ranks per node. */
  streamTriadGBps: 'benchmark.stream.triad.gbps',
  /** STREAM Triad of one rank running alone (SingleSTREAM_Triad). */
  streamTriadSingleGBps: 'benchmark.stream.triad.single.gbps',
  /** DGEMM of one rank running alone (SingleDGEMM_Gflops): one core's floating-point speed. */
  dgemmSingleGflops: 'benchmark.dgemm.single.gflops',
  /** MPI ping-pong between ranks: the worst pair's latency (MaxPingPongLatency_usec), microseconds. */
  mpiLatencyUs: 'benchmark.mpi.latency.us',
  /** MPI ping-pong: the worst pair's bandwidth (MinPingPongBandwidth_GBytes), GB/s. */
  mpiBandwidthGBps: 'benchmark.mpi.bandwidth.gbps',
  /** fio sequential read, 1 MiB blocks, O_DIRECT unless disabled: MB/s. */
  fioSeqReadMBps: 'benchmark.fio.seqread.mbps',
  /** fio sequential write, 1 MiB blocks: MB/s. */
  fioSeqWriteMBps: 'benchmark.fio.seqwrite.mbps',
  /** fio random read, 4 KiB blocks, queue depth 16: IOPS. */
  fioRandReadIops: 'benchmark.fio.randread.iops',
} as const;

export type BenchmarkLabelKey = (typeof BENCHMARK_LABELS)[keyof typeof BENCHMARK_LABELS];

/** Every key this module produces, e.g. to drop stale benchmark labels before merging new ones. */
export const ALL_BENCHMARK_LABEL_KEYS: readonly BenchmarkLabelKey[] = Object.values(BENCHMARK_LABELS);

/** The prefix shared by every benchmark label. */
export const BENCHMARK_LABEL_PREFIX = 'benchmark.';

/**
 * A measurement as a label value: about 3 significant digits, whole numbers
 * from 1000 up, never an exponent ("6.06", "72.6", "0.346", "60235").
 * Throws on NaN, infinities and negative numbers: no benchmark yields them.
 */
export function formatMetric(x: number): string {
  if (!Number.isFinite(x) || x < 0) throw new RangeError(`not a benchmark figure: ${x}`);
  if (x === 0) return '0';
  if (x >= 1000) return String(Math.round(x));
  // Digits after the point for 3 significant digits (at most 12: 1e-10 GFLOPS is 0).
  const decimals = Math.min(12, Math.max(0, 2 - Math.floor(Math.log10(x))));
  const s = x.toFixed(decimals);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** One label; undefined (no label) when the figure is missing or not a usable number. */
export function metricLabel(key: BenchmarkLabelKey, x: number | undefined): Label | undefined {
  if (x === undefined || !Number.isFinite(x) || x < 0) return undefined;
  return { key, value: formatMetric(x) };
}

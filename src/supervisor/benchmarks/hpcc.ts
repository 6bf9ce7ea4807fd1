// hpcc.ts - the HPC Challenge benchmark (Debian's `hpcc`: HPL, STREAM,
// DGEMM, MPI latency/bandwidth, ...) as one SLURM batch job, and the parser
// of its result file.
//
// How it runs. hpcc reads `hpccinf.txt` from its working directory and
// APPENDS its results to `hpccoutf.txt` there; the job script makes a fresh
// run directory, writes the input, removes any old result and starts hpcc
// with OpenMPI's `mpirun` inside the allocation: mpirun takes the nodes and
// slots from SLURM's environment (ras/slurm) and starts its daemons through
// srun (plm/slurm), so no hostfile and no ssh are needed, and no
// --allow-run-as-root: the job runs as an unprivileged benchmark user.
// `srun --mpi=pmix hpcc` is not used: on Debian 12 SLURM's mpi/pmix plugin
// cannot load libpmix unless libpmix-dev is installed ("can not load PMIx
// library" in slurmd's log), and Debian's OpenMPI has no PMI-2 component.
// srun (under mpirun) must find slurm.conf: pass SLURM_CONF in the job
// environment when it is not at the default path.
//
// Sizing. Full mode: one rank per CPU of each node, the job asks for each
// node's memory, and HPL's matrix (8 N^2 bytes) takes `memoryFraction` of
// the job's memory; hpcc sizes its other tests from that N. Quick mode (for
// tests): one rank per node (each rank gets the node's CPUs), N = 1000.
import type { Label } from '../../metascheduler/types.js';
import { BENCHMARK_LABELS, metricLabel } from './label-names.js';
import { shq } from '../../slurm/sbatch-input.js';
import { BenchmarkOutputError, tailLines } from './output.js';

/** HPL blocking factor of full runs (a common choice for OpenBLAS-class BLAS); N is a multiple of it. */
export const HPCC_NB = 128;
/** Quick mode: Debian's example input (N=1000, NB=80), seconds on one core. */
export const HPCC_QUICK_N = 1000;
export const HPCC_QUICK_NB = 80;

export interface HpccSizing {
  /** HPL matrix order. */
  n: number;
  nb: number;
  /** Process grid, p x q = ranks, p <= q. */
  p: number;
  q: number;
}

/** The most square p x q grid of `ranks` processes with p <= q (HPL prefers p slightly smaller than q). */
export function processGrid(ranks: number): { p: number; q: number } {
  if (!Number.isInteger(ranks) || ranks < 1) throw new RangeError(`ranks must be a positive integer, got ${ranks}`);
  let p = Math.floor(Math.sqrt(ranks));
  while (ranks % p !== 0) p--;
  return { p, q: ranks / p };
}

/**
 * HPL's N for a job with `memoryMB` in all (every node's share added up):
 * the matrix (8 N^2 bytes) takes `fraction` of it, N rounded down to a
 * multiple of `nb` (at least `nb`).
 */
export function hpccProblemSize(memoryMB: number, fraction: number, nb = HPCC_NB): number {
  if (!(memoryMB > 0) || !(fraction > 0 && fraction < 1)) throw new RangeError(`need memoryMB > 0 and 0 < fraction < 1, got ${memoryMB}, ${fraction}`);
  const n = Math.sqrt((fraction * memoryMB * 1024 * 1024) / 8);
  return Math.max(nb, Math.floor(n / nb) * nb);
}

export function hpccSizing(o: { ranks: number; memoryMB: number; memoryFraction: number; quick: boolean }): HpccSizing {
  const { p, q } = processGrid(o.ranks);
  if (o.quick) return { n: HPCC_QUICK_N, nb: HPCC_QUICK_NB, p, q };
  return { n: hpccProblemSize(o.memoryMB, o.memoryFraction), nb: HPCC_NB, p, q };
}

/** hpccinf.txt: Debian's example input (/usr/share/doc/hpcc/examples/_hpccinf.txt) with one N, NB and grid. */
export function hpccInput(s: HpccSizing): string {
  const row = (v: string | number, what: string) => `${String(v).padEnd(12)} ${what}`;
  return [
    'HPLinpack benchmark input file',
    'Innovative Computing Laboratory, University of Tennessee (written by gridlink)',
    row('HPL.out', 'output file name (if any)'),
    row(8, 'device out (6=stdout,7=stderr,file)'),
    row(1, '# of problems sizes (N)'),
    row(s.n, 'Ns'),
    row(1, '# of NBs'),
    row(s.nb, 'NBs'),
    row(0, 'PMAP process mapping (0=Row-,1=Column-major)'),
    row(1, '# of process grids (P x Q)'),
    row(s.p, 'Ps'),
    row(s.q, 'Qs'),
    row('16.0', 'threshold'),
    row(1, '# of panel fact'),
    row(2, 'PFACTs (0=left, 1=Crout, 2=Right)'),
    row(1, '# of recursive stopping criterium'),
    row(4, 'NBMINs (>= 1)'),
    row(1, '# of panels in recursion'),
    row(2, 'NDIVs'),
    row(1, '# of recursive panel fact.'),
    row(1, 'RFACTs (0=left, 1=Crout, 2=Right)'),
    row(1, '# of broadcast'),
    row(1, 'BCASTs (0=1rg,1=1rM,2=2rg,3=2rM,4=Lng,5=LnM)'),
    row(1, '# of lookahead depth'),
    row(1, 'DEPTHs (>=0)'),
    row(2, 'SWAP (0=bin-exch,1=long,2=mix)'),
    row(64, 'swapping threshold'),
    row(0, 'L1 in (0=transposed,1=no-transposed) form'),
    row(0, 'U  in (0=transposed,1=no-transposed) form'),
    row(1, 'Equilibration (0=no,1=yes)'),
    row(8, 'memory alignment in double (> 0)'),
    '##### This line (no. 32) is ignored (it serves as a separator). ######',
    row(0, 'Number of additional problem sizes for PTRANS'),
    row('1200 10000 30000', 'values of N'),
    row(0, 'number of additional blocking sizes for PTRANS'),
    row('40 9 8 13 13 20 16 32 64', 'values of NB'),
    '',
  ].join('\n');
}

export interface HpccScriptOptions {
  /** Created by the job; hpccinf.txt and hpccoutf.txt live here. */
  runDir: string;
  sizing: HpccSizing;
  /** Default 'hpcc' (found in the job's PATH on every node). */
  binary?: string;
  /** Default 'mpirun' (OpenMPI). */
  mpirun?: string;
}

/** The batch script: bash, exits with mpirun's status. */
export function hpccJobScript(o: HpccScriptOptions): string {
  const binary = o.binary ?? 'hpcc';
  const mpirun = o.mpirun ?? 'mpirun';
  return [
    '#!/bin/bash',
    '# gridlink benchmark: HPC Challenge (hpcc) under OpenMPI mpirun, one rank per task of this allocation.',
    'set -u',
    `run_dir=${shq(o.runDir)}`,
    `hpcc_bin=${shq(binary)}`,
    `mpirun_bin=${shq(mpirun)}`,
    'mkdir -p "$run_dir" && cd "$run_dir" || { echo "gridlink-bench: cannot create or enter $run_dir as $(id -un): give the benchmark user write access to the work directory" >&2; exit 2; }',
    'for b in "$hpcc_bin" "$mpirun_bin"; do',
    '  command -v "$b" >/dev/null 2>&1 || { echo "gridlink-bench: $b not found on $(hostname) (PATH=$PATH): install it on every compute node (Debian: apt-get install hpcc openmpi-bin) or configure its path" >&2; exit 127; }',
    'done',
    // hpcc appends to an existing result file.
    'rm -f hpccoutf.txt',
    "cat > hpccinf.txt <<'GRIDLINK_HPCCINF'",
    hpccInput(o.sizing).trimEnd(),
    'GRIDLINK_HPCCINF',
    'echo "gridlink-bench: hpcc N=' + o.sizing.n + ' NB=' + o.sizing.nb + ' grid ' + o.sizing.p + 'x' + o.sizing.q + ' on $SLURM_JOB_NODELIST ($SLURM_NTASKS ranks)"',
    '"$mpirun_bin" --bind-to none -np "$SLURM_NTASKS" "$hpcc_bin"',
    'rc=$?',
    'echo "gridlink-bench: mpirun exited with status $rc"',
    'exit $rc',
    '',
  ].join('\n');
}

export interface HpccResult {
  /** MPI ranks of the run (CommWorldProcs). */
  ranks: number;
  hplN?: number;
  hplGflops?: number;
  /** Per rank, all ranks running STREAM at once (GB/s). */
  starStreamTriadGBps?: number;
  /** One rank alone (GB/s). */
  singleStreamTriadGBps?: number;
  singleDgemmGflops?: number;
  maxPingPongLatencyUs?: number;
  minPingPongBandwidthGBps?: number;
  /** Figures left out and why (e.g. HPL failed its residual check). */
  problems: string[];
}

const BANNER = 'This is the DARPA/DOE HPC Challenge Benchmark';

/** `Key=Value` lines of the last complete summary section. */
export function hpccSummary(text: string): Map<string, string> {
  const start = text.lastIndexOf('Begin of Summary section.');
  const end = text.indexOf('End of Summary section.', start);
  if (start < 0 || end < 0) {
    throw new BenchmarkOutputError(
      'hpcc',
      `hpccoutf.txt has no complete summary section: hpcc did not finish (killed, out of time or memory, or an MPI error); its last lines:\n${tailLines(text, 8)}`,
    );
  }
  const out = new Map<string, string>();
  for (const line of text.slice(start, end).split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

/** The text of one named section of the (last) run, '' if absent. */
function section(run: string, name: string): string {
  const b = run.lastIndexOf(`Begin of ${name} section.`);
  if (b < 0) return '';
  const e = run.indexOf(`End of ${name} section.`, b);
  return e < 0 ? '' : run.slice(b, e);
}

/** A positive finite number, else undefined. */
function positive(v: string | undefined): number | undefined {
  if (v === undefined || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) return undefined;
  const x = Number(v);
  return Number.isFinite(x) && x > 0 ? x : undefined;
}

/**
 * The figures of the LAST run in an hpccoutf.txt (hpcc appends). Throws
 * BenchmarkOutputError when there is no complete run or no usable figure;
 * a single failed test only drops its figures (listed in `problems`).
 */
export function parseHpccOutput(text: string): HpccResult {
  const at = text.lastIndexOf(BANNER);
  if (at < 0) throw new BenchmarkOutputError('hpcc', `not an hpcc result file (no "${BANNER}" banner); it starts with:\n${text.slice(0, 300)}`);
  const run = text.slice(at);
  const s = hpccSummary(run);
  const problems: string[] = [];
  const ranks = Number(s.get('CommWorldProcs'));
  if (!Number.isInteger(ranks) || ranks < 1) throw new BenchmarkOutputError('hpcc', 'summary has no CommWorldProcs: the result file is damaged');

  const r: HpccResult = { ranks, problems };
  // HPL: only a run whose residual check passed counts.
  const hpl = section(run, 'HPL');
  const failed = /(\d+)\s+tests completed and failed residual checks/.exec(hpl);
  const passed = /(\d+)\s+tests completed and passed residual checks/.exec(hpl);
  const tflops = positive(s.get('HPL_Tflops'));
  if (!hpl || !passed) problems.push('HPL: no finished HPL section');
  else if (Number(failed?.[1] ?? 0) > 0 || Number(passed[1]) < 1) problems.push('HPL: the solution failed its residual check (wrong result: memory errors, a broken BLAS or MPI?)');
  else if (tflops === undefined) problems.push(`HPL: no usable HPL_Tflops (${s.get('HPL_Tflops') ?? 'missing'})`);
  else {
    r.hplGflops = tflops * 1000;
    r.hplN = positive(s.get('HPL_N'));
  }
  // STREAM: every rank's arrays must validate.
  const star = section(run, 'StarSTREAM');
  const nodesWithError = /Node\(s\) with error (\d+)/.exec(star);
  if (!star || !nodesWithError) problems.push('STREAM: no finished StarSTREAM section');
  else if (Number(nodesWithError[1]) > 0 || /Failed Validation/i.test(star)) problems.push(`STREAM: ${nodesWithError[1]} rank(s) failed validation`);
  else {
    r.starStreamTriadGBps = positive(s.get('StarSTREAM_Triad'));
    r.singleStreamTriadGBps = positive(s.get('SingleSTREAM_Triad'));
    if (r.starStreamTriadGBps === undefined) problems.push(`STREAM: no usable StarSTREAM_Triad (${s.get('StarSTREAM_Triad') ?? 'missing'})`);
  }
  const dgemm = section(run, 'SingleDGEMM');
  if (/Node\(s\) with error ([1-9]\d*)/.test(dgemm)) problems.push('DGEMM: failed its residual check');
  else r.singleDgemmGflops = positive(s.get('SingleDGEMM_Gflops'));
  // With one rank there is no ping-pong: hpcc prints zeros or -1.
  if (ranks > 1) {
    r.maxPingPongLatencyUs = positive(s.get('MaxPingPongLatency_usec'));
    r.minPingPongBandwidthGBps = positive(s.get('MinPingPongBandwidth_GBytes'));
  }
  if (r.hplGflops === undefined && r.starStreamTriadGBps === undefined) {
    throw new BenchmarkOutputError('hpcc', `no usable HPL or STREAM figure: ${problems.join('; ')}`);
  }
  return r;
}

/** Labels of a run with `ranksPerNode` ranks on each node (STREAM per node = per rank x ranks per node). */
export function hpccLabels(r: HpccResult, ranksPerNode: number): Label[] {
  const L = BENCHMARK_LABELS;
  return [
    metricLabel(L.hplGflops, r.hplGflops),
    metricLabel(L.streamTriadGBps, r.starStreamTriadGBps === undefined ? undefined : r.starStreamTriadGBps * ranksPerNode),
    metricLabel(L.streamTriadSingleGBps, r.singleStreamTriadGBps),
    metricLabel(L.dgemmSingleGflops, r.singleDgemmGflops),
    metricLabel(L.mpiLatencyUs, r.maxPingPongLatencyUs),
    metricLabel(L.mpiBandwidthGBps, r.minPingPongBandwidthGBps),
  ].filter((l): l is Label => l !== undefined);
}

// fio.ts - storage benchmark: fio as one single-task SLURM job on the
// configured directory (the cluster's shared storage), and the parser of its
// JSON result.
//
// Three fio jobs run one after the other (stonewall) on one file of
// `sizeMB`: sequential write (1 MiB blocks, fsync at the end), sequential
// read of that file (1 MiB blocks), random 4 KiB reads (libaio, queue depth
// 16). O_DIRECT by default, so the page cache does not turn a small file
// into a memory benchmark; filesystems without O_DIRECT (tmpfs) need
// `direct: false`. Each fio job stops at the file's end or after
// `runtimeSeconds`, whichever comes first. The data file lives in a fresh
// subdirectory of the configured directory and is deleted when the job ends.
import type { Label } from '../../metascheduler/types.js';
import { BENCHMARK_LABELS, metricLabel } from './label-names.js';
import { shq } from '../../slurm/sbatch-input.js';
import { BenchmarkOutputError, tailLines } from './output.js';

export interface FioJobOptions {
  /** Where the data file is written (a subdirectory made by the job). */
  dataDir: string;
  sizeMB: number;
  /** O_DIRECT; default true. */
  direct?: boolean;
  /** Cap of each of the three fio jobs, seconds. */
  runtimeSeconds: number;
}

export const FIO_FILE = 'gridlink-fio.dat';
const JOBS = ['seqwrite', 'seqread', 'randread'] as const;

/** The fio job file (ini). */
export function fioJobFile(o: FioJobOptions): string {
  if (!Number.isInteger(o.sizeMB) || o.sizeMB < 1) throw new RangeError(`sizeMB must be a positive integer, got ${o.sizeMB}`);
  if (/[\n\r\0$]/.test(o.dataDir)) throw new RangeError(`the fio directory must not contain line breaks or $ (fio expands \${VAR}): ${JSON.stringify(o.dataDir)}`);
  return [
    '; gridlink storage benchmark',
    '[global]',
    // fio splits `directory` at ':' (several directories) unless escaped.
    `directory=${o.dataDir.replace(/:/g, '\\:')}`,
    `filename=${FIO_FILE}`,
    `size=${o.sizeMB}M`,
    `direct=${o.direct === false ? 0 : 1}`,
    `runtime=${Math.max(1, Math.round(o.runtimeSeconds))}`,
    'ioengine=libaio',
    'group_reporting=1',
    '',
    '[seqwrite]',
    'rw=write',
    'bs=1M',
    'iodepth=4',
    'end_fsync=1',
    'stonewall',
    '',
    '[seqread]',
    'rw=read',
    'bs=1M',
    'iodepth=4',
    'stonewall',
    '',
    '[randread]',
    'rw=randread',
    'bs=4k',
    'iodepth=16',
    'stonewall',
    '',
  ].join('\n');
}

export interface FioScriptOptions extends FioJobOptions {
  /** Created by the job; bench.fio and fio.json live here. */
  runDir: string;
  /** The configured directory: must exist and be writable by the job's user. */
  directory: string;
  /** Default 'fio'. */
  binary?: string;
}

export function fioJobScript(o: FioScriptOptions): string {
  return [
    '#!/bin/bash',
    '# gridlink benchmark: fio sequential write/read and random 4k read on the shared storage.',
    'set -u',
    `run_dir=${shq(o.runDir)}`,
    `dir=${shq(o.directory)}`,
    `data_dir=${shq(o.dataDir)}`,
    `fio_bin=${shq(o.binary ?? 'fio')}`,
    'mkdir -p "$run_dir" && cd "$run_dir" || { echo "gridlink-bench: cannot create or enter $run_dir as $(id -un): give the benchmark user write access to the work directory" >&2; exit 2; }',
    'command -v "$fio_bin" >/dev/null 2>&1 || { echo "gridlink-bench: $fio_bin not found on $(hostname) (PATH=$PATH): install fio (Debian: apt-get install fio) or configure its path" >&2; exit 127; }',
    '[ -d "$dir" ] && [ -w "$dir" ] || { echo "gridlink-bench: fio directory $dir does not exist or is not writable by $(id -un) on $(hostname): create it on the shared storage and give that user write access" >&2; exit 2; }',
    'mkdir "$data_dir" || { echo "gridlink-bench: cannot create $data_dir" >&2; exit 2; }',
    `trap 'rm -f "$data_dir/${FIO_FILE}"; rmdir "$data_dir" 2>/dev/null' EXIT`,
    "cat > bench.fio <<'GRIDLINK_FIO'",
    fioJobFile(o).trimEnd(),
    'GRIDLINK_FIO',
    'echo "gridlink-bench: fio ' + o.sizeMB + ' MB in $data_dir on $(hostname)"',
    '"$fio_bin" --output-format=json --output=fio.json bench.fio',
    'rc=$?',
    'echo "gridlink-bench: fio exited with status $rc"',
    'exit $rc',
    '',
  ].join('\n');
}

export interface FioResult {
  /** 10^6 bytes per second. */
  seqReadMBps?: number;
  seqWriteMBps?: number;
  randReadIops?: number;
  /** Jobs that failed or did no I/O, and why. */
  problems: string[];
}

interface FioJobJson {
  jobname?: unknown;
  error?: unknown;
  read?: { bw_bytes?: unknown; iops?: unknown; io_bytes?: unknown };
  write?: { bw_bytes?: unknown; iops?: unknown; io_bytes?: unknown };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * fio's `--output-format=json` result (text before the first `{`, such as
 * fio's own notes, is skipped). Throws BenchmarkOutputError when it is not
 * fio JSON or no job produced a figure; a failed job only drops its figure.
 */
export function parseFioOutput(text: string): FioResult {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) throw new BenchmarkOutputError('fio', `no JSON in fio's output (fio did not start or was killed); it reads:\n${tailLines(text, 8) || '(empty)'}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text.slice(start, end + 1));
  } catch (e) {
    throw new BenchmarkOutputError('fio', `fio's JSON output is truncated or damaged (${(e as Error).message})`);
  }
  const jobs = (doc as { jobs?: unknown }).jobs;
  if (!Array.isArray(jobs)) throw new BenchmarkOutputError('fio', 'fio JSON without a "jobs" list');
  const byName = new Map<string, FioJobJson>();
  for (const j of jobs as FioJobJson[]) if (typeof j?.jobname === 'string') byName.set(j.jobname, j);

  const r: FioResult = { problems: [] };
  for (const name of JOBS) {
    const j = byName.get(name);
    if (!j) {
      r.problems.push(`${name}: not in fio's output`);
      continue;
    }
    const err = num(j.error) ?? 0;
    if (err !== 0) {
      r.problems.push(`${name}: fio reported error ${err} (an errno, e.g. 13 = permission denied, 28 = no space left, 22 = O_DIRECT not supported)`);
      continue;
    }
    const side = name === 'seqwrite' ? j.write : j.read;
    const ioBytes = num(side?.io_bytes) ?? 0;
    const bw = num(side?.bw_bytes);
    const iops = num(side?.iops);
    if (ioBytes <= 0 || !bw || !iops) {
      r.problems.push(`${name}: no I/O done`);
      continue;
    }
    if (name === 'seqwrite') r.seqWriteMBps = bw / 1e6;
    else if (name === 'seqread') r.seqReadMBps = bw / 1e6;
    else r.randReadIops = iops;
  }
  if (r.seqReadMBps === undefined && r.seqWriteMBps === undefined && r.randReadIops === undefined) {
    throw new BenchmarkOutputError('fio', `no fio job produced a figure: ${r.problems.join('; ')}`);
  }
  return r;
}

export function fioLabels(r: FioResult): Label[] {
  const L = BENCHMARK_LABELS;
  return [metricLabel(L.fioSeqReadMBps, r.seqReadMBps), metricLabel(L.fioSeqWriteMBps, r.seqWriteMBps), metricLabel(L.fioRandReadIops, r.randReadIops)].filter(
    (l): l is Label => l !== undefined,
  );
}

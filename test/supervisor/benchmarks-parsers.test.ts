// benchmarks-parsers.test.ts - the hpcc and fio parsers on real outputs
// captured on the test machine (test/supervisor/fixtures/, see README there),
// damaged copies of them, the label formatting, hpcc sizing and the rerun
// decision. No SLURM needed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BENCHMARK_LABELS as L,
  BenchmarkOutputError,
  benchmarkFingerprint,
  fioJobFile,
  fioLabels,
  formatMetric,
  hpccInput,
  hpccLabels,
  hpccProblemSize,
  hpccSizing,
  parseFioOutput,
  parseHpccOutput,
  processGrid,
  shouldRerunBenchmarks,
} from '../../src/supervisor/benchmarks/index.js';

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, 'fixtures', name), 'utf8');
const asMap = (labels: { key: string; value: string }[]) => Object.fromEntries(labels.map((l) => [l.key, l.value]));

describe('parseHpccOutput on real hpccoutf.txt', () => {
  it('reads HPL, STREAM, DGEMM and ping-pong figures of a 2-rank N=1000 run', () => {
    const r = parseHpccOutput(fixture('hpccoutf-n1000-2ranks.txt'));
    expect(r.problems).toEqual([]);
    expect(r.ranks).toBe(2);
    expect(r.hplN).toBe(1000);
    expect(r.hplGflops).toBeCloseTo(6.06358, 4); // HPL_Tflops=0.00606358
    expect(r.starStreamTriadGBps).toBeCloseTo(72.566, 3);
    expect(r.singleStreamTriadGBps).toBeCloseTo(73.9505, 3);
    expect(r.singleDgemmGflops).toBeCloseTo(3.74171, 4);
    expect(r.maxPingPongLatencyUs).toBeCloseTo(0.345528, 5);
    expect(r.minPingPongBandwidthGBps).toBeCloseTo(12.4081, 4);
    // Two ranks on one node: STREAM per node is twice the per-rank figure.
    expect(asMap(hpccLabels(r, 2))).toEqual({
      [L.hplGflops]: '6.06',
      [L.streamTriadGBps]: '145',
      [L.streamTriadSingleGBps]: '74',
      [L.dgemmSingleGflops]: '3.74',
      [L.mpiLatencyUs]: '0.346',
      [L.mpiBandwidthGBps]: '12.4',
    });
  });

  it('takes the LAST run of a file hpcc appended to (4 ranks, then 2 ranks across two SLURM nodes)', () => {
    const text = fixture('hpccoutf-two-runs-appended.txt');
    expect(text.match(/Begin of Summary section/g)).toHaveLength(2);
    const r = parseHpccOutput(text);
    expect(r.ranks).toBe(2);
    expect(r.hplGflops).toBeCloseTo(6.5101, 3); // second run's HPL_Tflops=0.0065101, not the first's 0.000105553
  });

  it('refuses a truncated file (hpcc killed before its summary) with the last lines in the message', () => {
    const text = fixture('hpccoutf-n1000-2ranks.txt');
    const cut = text.slice(0, text.indexOf('Begin of Summary section.') + 2000);
    expect(() => parseHpccOutput(cut)).toThrow(BenchmarkOutputError);
    expect(() => parseHpccOutput(cut)).toThrow(/no complete summary section.*did not finish/s);
    expect(() => parseHpccOutput(text.slice(0, 5000))).toThrow(/no complete summary/);
  });

  it('refuses garbage and empty files', () => {
    expect(() => parseHpccOutput('')).toThrow(/not an hpcc result file/);
    expect(() => parseHpccOutput('\u0000\u0001garbage\nHPL_Tflops=12\n')).toThrow(/not an hpcc result file/);
    expect(() => parseHpccOutput(readFileSync('/bin/true').toString('latin1'))).toThrow(BenchmarkOutputError);
  });

  it('drops HPL when its residual check failed, keeps STREAM', () => {
    const text = fixture('hpccoutf-n1000-2ranks.txt')
      .replace('1 tests completed and passed residual checks,', '0 tests completed and passed residual checks,')
      .replace('0 tests completed and failed residual checks,', '1 tests completed and failed residual checks,');
    const r = parseHpccOutput(text);
    expect(r.hplGflops).toBeUndefined();
    expect(r.problems.join()).toMatch(/HPL: .*residual check/);
    expect(asMap(hpccLabels(r, 1))[L.hplGflops]).toBeUndefined();
    expect(asMap(hpccLabels(r, 1))[L.streamTriadGBps]).toBe('72.6');
  });

  it('drops STREAM when a rank failed validation; with neither HPL nor STREAM it throws', () => {
    const noStream = fixture('hpccoutf-n1000-2ranks.txt').replace(/(Begin of StarSTREAM section\.[\s\S]*?)Node\(s\) with error 0/, '$1Node(s) with error 1');
    const r = parseHpccOutput(noStream);
    expect(r.starStreamTriadGBps).toBeUndefined();
    expect(r.hplGflops).toBeGreaterThan(0);
    const neither = noStream.replace('HPL_Tflops=0.00606358', 'HPL_Tflops=-1');
    expect(() => parseHpccOutput(neither)).toThrow(/no usable HPL or STREAM figure/);
  });
});

describe('parseFioOutput on real fio JSON', () => {
  it('reads sequential read/write MB/s and random-read IOPS of a 64 MB run', () => {
    const r = parseFioOutput(fixture('fio-64m.json'));
    expect(r.problems).toEqual([]);
    expect(r.seqWriteMBps).toBeCloseTo(2033.601939, 3);
    expect(r.seqReadMBps).toBeCloseTo(1342.17728, 3);
    expect(r.randReadIops).toBeCloseTo(78019.047619, 3);
    expect(asMap(fioLabels(r))).toEqual({ [L.fioSeqWriteMBps]: '2034', [L.fioSeqReadMBps]: '1342', [L.fioRandReadIops]: '78019' });
  });

  it('skips text before the JSON (fio notes)', () => {
    const r = parseFioOutput(`fio: note: something\n${fixture('fio-64m.json')}`);
    expect(r.randReadIops).toBeGreaterThan(0);
  });

  it('throws for a run where every job failed (directory not writable: error 13, fio notes before the JSON)', () => {
    expect(fixture('fio-permission-denied.json')).toMatch(/^fio: pid=0, err=13/);
    expect(() => parseFioOutput(fixture('fio-permission-denied.json'))).toThrow(/no fio job produced a figure.*error 13/s);
  });

  it('keeps the jobs that worked when one failed', () => {
    const doc = JSON.parse(fixture('fio-64m.json')) as { jobs: { jobname: string; error: number }[] };
    doc.jobs.find((j) => j.jobname === 'randread')!.error = 22;
    const r = parseFioOutput(JSON.stringify(doc));
    expect(r.randReadIops).toBeUndefined();
    expect(r.seqReadMBps).toBeGreaterThan(0);
    expect(r.problems).toEqual([expect.stringMatching(/^randread: fio reported error 22/)]);
  });

  it('refuses truncated, empty and garbage output', () => {
    const text = fixture('fio-64m.json');
    expect(() => parseFioOutput(text.slice(0, text.length / 2))).toThrow(/truncated or damaged/);
    expect(() => parseFioOutput('')).toThrow(/no JSON/);
    expect(() => parseFioOutput('fio: failed parsing rw=xyz\n')).toThrow(/no JSON.*failed parsing/s);
    expect(() => parseFioOutput('{"hello": 1}')).toThrow(/without a "jobs" list/);
    expect(() => parseFioOutput('{"jobs": []}')).toThrow(/no fio job produced a figure/);
  });
});

describe('label values', () => {
  it('about 3 significant digits, whole from 1000, never an exponent', () => {
    expect(formatMetric(6.06358)).toBe('6.06');
    expect(formatMetric(72.566)).toBe('72.6');
    expect(formatMetric(145.132)).toBe('145');
    expect(formatMetric(999.6)).toBe('1000');
    expect(formatMetric(1266.2)).toBe('1266');
    expect(formatMetric(60235.294)).toBe('60235');
    expect(formatMetric(0.345528)).toBe('0.346');
    expect(formatMetric(0.000123456)).toBe('0.000123');
    expect(formatMetric(2)).toBe('2');
    expect(formatMetric(0)).toBe('0');
    expect(formatMetric(1e-15)).toBe('0');
    expect(formatMetric(123456789012)).toBe('123456789012');
    expect(() => formatMetric(NaN)).toThrow(RangeError);
    expect(() => formatMetric(-1)).toThrow(RangeError);
    expect(() => formatMetric(Infinity)).toThrow(RangeError);
  });
});

describe('hpcc sizing and input', () => {
  it('grids are as square as possible with p <= q', () => {
    expect(processGrid(1)).toEqual({ p: 1, q: 1 });
    expect(processGrid(2)).toEqual({ p: 1, q: 2 });
    expect(processGrid(4)).toEqual({ p: 2, q: 2 });
    expect(processGrid(12)).toEqual({ p: 3, q: 4 });
    expect(processGrid(7)).toEqual({ p: 1, q: 7 });
    expect(processGrid(128)).toEqual({ p: 8, q: 16 });
  });

  it('N makes the matrix take the memory fraction, a multiple of NB', () => {
    // 2 nodes x 64 GiB, a quarter: 8 N^2 = 32 GiB -> N = 65536.
    expect(hpccProblemSize(2 * 65536, 0.25, 128)).toBe(65536);
    const n = hpccProblemSize(22899 * 2, 0.5, 128);
    expect(n % 128).toBe(0);
    expect(8 * n * n).toBeLessThanOrEqual(0.5 * 22899 * 2 * 2 ** 20);
    expect(8 * (n + 128) ** 2).toBeGreaterThan(0.5 * 22899 * 2 * 2 ** 20);
    expect(hpccProblemSize(1, 0.01, 128)).toBe(128);
    expect(hpccSizing({ ranks: 2, memoryMB: 512, memoryFraction: 0.5, quick: true })).toEqual({ n: 1000, nb: 80, p: 1, q: 2 });
  });

  it('the input file is the Debian example with our N, NB and grid', () => {
    const mine = hpccInput({ n: 1000, nb: 80, p: 2, q: 2 }).split('\n');
    const debian = readFileSync('/usr/share/doc/hpcc/examples/_hpccinf.txt', 'utf8').split('\n');
    expect(mine.length).toBe(debian.length);
    // Same values line by line (the first token), except the second (free text) line.
    mine.forEach((line, i) => i !== 1 && expect(line.split(/\s+/)[0], `line ${i + 1}`).toBe(debian[i]!.split(/\s+/)[0]));
  });

  it('fio job file escapes ":" in the directory and refuses "$"', () => {
    expect(fioJobFile({ dataDir: '/mnt/a:b', sizeMB: 4, runtimeSeconds: 10 })).toContain('directory=/mnt/a\\:b\n');
    expect(fioJobFile({ dataDir: '/x', sizeMB: 4, runtimeSeconds: 10, direct: false })).toContain('direct=0\n');
    expect(() => fioJobFile({ dataDir: '/x/${HOME}', sizeMB: 4, runtimeSeconds: 10 })).toThrow(/must not contain/);
  });
});

describe('shouldRerunBenchmarks', () => {
  const nodes = [
    { name: 'n1', cpus: 64, realMemoryMB: 256000, gpus: 0 },
    { name: 'n2', cpus: 64, realMemoryMB: 256000, gpus: 0 },
  ];
  const fp = benchmarkFingerprint({ nodes, settings: { memoryFraction: 0.25, fioSizeMB: 1024 } });
  const day = 86_400_000;
  const now = Date.UTC(2026, 11, 1);
  const stored = { fingerprint: fp, measuredAtMs: now - 3 * day, labels: [{ key: L.hplGflops, value: '100' }] };

  it('fingerprints ignore order and change with hardware or settings', () => {
    expect(benchmarkFingerprint({ nodes: [...nodes].reverse(), settings: { fioSizeMB: 1024, memoryFraction: 0.25 } })).toBe(fp);
    expect(benchmarkFingerprint({ nodes: [nodes[0]!, { ...nodes[1]!, realMemoryMB: 128000 }], settings: { memoryFraction: 0.25, fioSizeMB: 1024 } })).not.toBe(fp);
    expect(benchmarkFingerprint({ nodes, settings: { memoryFraction: 0.5, fioSizeMB: 1024 } })).not.toBe(fp);
  });

  it('reruns when nothing is stored, the fingerprint changed, results are old, empty or dated in the future', () => {
    const cur = { fingerprint: fp, nowMs: now, maxAgeDays: 30 };
    expect(shouldRerunBenchmarks(stored, cur)).toEqual({ rerun: false, reason: expect.stringMatching(/current/) });
    expect(shouldRerunBenchmarks(undefined, cur).rerun).toBe(true);
    expect(shouldRerunBenchmarks(stored, { ...cur, fingerprint: 'other' })).toEqual({ rerun: true, reason: expect.stringMatching(/hardware/) });
    expect(shouldRerunBenchmarks(stored, { ...cur, maxAgeDays: 3 })).toEqual({ rerun: true, reason: expect.stringMatching(/3\.0 days old/) });
    expect(shouldRerunBenchmarks(stored, { ...cur, maxAgeDays: 0 }).rerun).toBe(true);
    expect(shouldRerunBenchmarks({ ...stored, labels: [] }, cur).rerun).toBe(true);
    expect(shouldRerunBenchmarks({ ...stored, measuredAtMs: now + day }, cur).rerun).toBe(true);
  });
});

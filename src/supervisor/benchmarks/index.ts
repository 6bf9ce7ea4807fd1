// index.ts - the benchmark API: runBenchmarks, the parsers, label names and
// the rerun decision.
export { runBenchmarks, runBenchmarksOptionsSchema } from './run.js';
export type { RunBenchmarksOptions } from './run.js';
export { BENCHMARK_LABELS, ALL_BENCHMARK_LABEL_KEYS, BENCHMARK_LABEL_PREFIX, formatMetric, metricLabel } from './label-names.js';
export type { BenchmarkLabelKey, Label } from './label-names.js';
export { parseHpccOutput, hpccLabels, hpccSizing, hpccProblemSize, processGrid, hpccInput, hpccJobScript, HPCC_NB, HPCC_QUICK_N, HPCC_QUICK_NB } from './hpcc.js';
export type { HpccResult, HpccSizing } from './hpcc.js';
export { parseFioOutput, fioLabels, fioJobFile, fioJobScript } from './fio.js';
export type { FioResult } from './fio.js';
export { BenchmarkOutputError } from './output.js';
export { benchmarkFingerprint, shouldRerunBenchmarks } from './cache.js';
export type { BenchmarkFingerprintInput, StoredBenchmarks, RerunDecision } from './cache.js';

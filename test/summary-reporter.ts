// summary-reporter.ts - ends a vitest run with one plain line, "N passed, N
// failed[, N skipped]", that any CI log reader understands, preceded by two
// lists a reader must never have to dig for:
//   - every skipped test, with its reason (the note of `ctx.skip(note)`, or
//     the reason a `describe.skipIf` title carries), so a skip is never silent;
//   - every test that took more than a third of its own timeout: a test that
//     lives near its limit fails at random on a loaded machine (issue 22);
//   - the slowest files, with their durations: where a lane's time goes.
// When GRIDLINK_TEST_SUMMARY names a file (scripts/run-tests.mjs gives each
// lane a file of its own), the same is written there as JSON, for the
// runner's combined summary.
import { relative } from 'node:path';
import { writeFileSync } from 'node:fs';

import type { File, Reporter, Task } from 'vitest';

/** A test that did not run, and why. */
export interface SkippedTest {
  file: string;
  name: string;
  reason: string;
}

/** A test whose duration was above a third of its timeout. */
export interface SlowTest {
  file: string;
  name: string;
  ms: number;
  timeoutMs: number;
}

export interface LaneSummary {
  passed: number;
  failed: number;
  skipped: number;
  files: number;
  failedFiles: string[];
  skippedTests: SkippedTest[];
  slowTests: SlowTest[];
  /** Every file's wall time (collection, hooks and tests), slowest first. */
  fileTimes: { file: string; ms: number }[];
}

/** How many of the slowest files the summary names. */
export const SLOWEST_FILES = 12;

/** The fraction of its timeout above which a test is listed as slow. */
export const SLOW_FRACTION = 1 / 3;

const fullName = (t: Task): string => {
  const parts: string[] = [];
  for (let s: Task | undefined = t; s && s.type !== undefined && !('filepath' in s); s = s.suite) parts.unshift(s.name);
  return parts.join(' > ');
};

/** The reason a skipped test carries: its ctx.skip note, else the `(skipped: ...)` of an enclosing title. */
function skipReason(t: Task): string {
  const note = (t.result as { note?: string } | undefined)?.note;
  if (note) return note;
  for (let s: Task | undefined = t; s; s = s.suite) {
    const m = /\(skipped: (.+)\)\s*$/.exec(s.name);
    if (m?.[1]) return m[1];
  }
  if (t.mode === 'todo') return 'todo';
  if (t.mode === 'skip') return 'not selected (it.skip, or outside a -t / file filter)';
  for (let s: Task | undefined = t.suite; s; s = s.suite)
    if (s.result?.state === 'fail') return 'not run: a hook of its suite or file failed (its error is above)';
  return 'no reason given (add one: ctx.skip(note) or a "(skipped: why)" title)';
}

function walk(tasks: Task[], file: string, acc: LaneSummary): void {
  for (const t of tasks) {
    if (t.type === 'suite') {
      walk(t.tasks, file, acc);
      continue;
    }
    const state = t.result?.state;
    if (state === 'pass') acc.passed++;
    else if (state === 'fail') acc.failed++;
    else {
      acc.skipped++;
      acc.skippedTests.push({ file, name: fullName(t), reason: skipReason(t) });
    }
    const ms = t.result?.duration ?? 0;
    const timeoutMs = (t as { timeout?: number }).timeout ?? 0;
    if (state === 'pass' && timeoutMs > 0 && ms > timeoutMs * SLOW_FRACTION) acc.slowTests.push({ file, name: fullName(t), ms: Math.round(ms), timeoutMs });
  }
}

/** Counts and lists of one run. */
export function summarize(files: File[], errors: unknown[], root = process.cwd()): LaneSummary {
  const acc: LaneSummary = { passed: 0, failed: 0, skipped: 0, files: files.length, failedFiles: [], skippedTests: [], slowTests: [], fileTimes: [] };
  for (const f of files) walk(f.tasks, relative(root, f.filepath), acc);
  acc.fileTimes = files
    .map((f) => ({ file: relative(root, f.filepath), ms: Math.round((f.collectDuration ?? 0) + (f.setupDuration ?? 0) + (f.result?.duration ?? 0)) }))
    .sort((a, b) => b.ms - a.ms);
  // a file that failed to load has no tests but did fail
  acc.failed += files.filter((f) => f.result?.state === 'fail' && f.tasks.length === 0).length + errors.length;
  acc.failedFiles = files.filter((f) => f.result?.state === 'fail').map((f) => f.filepath);
  return acc;
}

/** The lines a person reads: skipped tests with reasons, then tests near their timeout. */
export function formatLists(s: Pick<LaneSummary, 'skippedTests' | 'slowTests'> & Partial<Pick<LaneSummary, 'fileTimes'>>): string[] {
  const lines: string[] = [];
  for (const k of (s.fileTimes ?? []).slice(0, SLOWEST_FILES)) lines.push(`slowest file: ${k.file}: ${(k.ms / 1000).toFixed(0)} s`);
  for (const k of s.skippedTests) lines.push(`skipped: ${k.file} > ${k.name}: ${k.reason}`);
  for (const k of s.slowTests)
    lines.push(`near its timeout: ${k.file} > ${k.name}: ${(k.ms / 1000).toFixed(1)} s of ${(k.timeoutMs / 1000).toFixed(0)} s`);
  return lines;
}

export default class SummaryReporter implements Reporter {
  onFinished(files: File[] = [], errors: unknown[] = []): void {
    const s = summarize(files, errors);
    const lists = formatLists(s);
    process.stdout.write(`\n${lists.map((l) => `${l}\n`).join('')}${s.passed} passed, ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped` : ''}\n`);
    const out = process.env.GRIDLINK_TEST_SUMMARY;
    if (out) writeFileSync(out, `${JSON.stringify(s)}\n`);
  }
}

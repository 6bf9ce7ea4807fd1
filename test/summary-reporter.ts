// summary-reporter.ts - ends a vitest run with one plain line, "N passed, N
// failed[, N skipped]", that any CI log reader understands. When
// GRIDLINK_TEST_SUMMARY names a file (scripts/run-tests.mjs gives each lane a
// file of its own), the counts are also written there as JSON, for the
// runner's combined summary.
import { writeFileSync } from 'node:fs';

import type { File, Reporter, Task } from 'vitest';

function count(tasks: Task[], acc = { passed: 0, failed: 0, skipped: 0 }) {
  for (const t of tasks) {
    if (t.type === 'suite') count(t.tasks, acc);
    else if (t.result?.state === 'pass') acc.passed++;
    else if (t.result?.state === 'fail') acc.failed++;
    else acc.skipped++;
  }
  return acc;
}

export default class SummaryReporter implements Reporter {
  onFinished(files: File[] = [], errors: unknown[] = []): void {
    const c = count(files);
    // a file that failed to load has no tests but did fail
    const failed = c.failed + files.filter((f) => f.result?.state === 'fail' && f.tasks.length === 0).length + errors.length;
    process.stdout.write(`\n${c.passed} passed, ${failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}\n`);
    const out = process.env.GRIDLINK_TEST_SUMMARY;
    if (out) {
      const failedFiles = files.filter((f) => f.result?.state === 'fail').map((f) => f.filepath);
      writeFileSync(out, `${JSON.stringify({ passed: c.passed, failed, skipped: c.skipped, files: files.length, failedFiles })}\n`);
    }
  }
}

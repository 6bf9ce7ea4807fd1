// output.ts - what the benchmark modules share: the error a parser throws on
// output it cannot use, shell quoting for the job scripts, and the tail of a
// text for log messages.

export type BenchmarkName = 'hpcc' | 'fio';

/** A result file that is missing, truncated, garbage or reports a failed run. */
export class BenchmarkOutputError extends Error {
  override readonly name = 'BenchmarkOutputError';
  constructor(
    readonly benchmark: BenchmarkName,
    message: string,
  ) {
    super(message);
  }
}

/** The last `n` non-empty lines of `text`, each cut to 300 characters. */
export function tailLines(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-n)
    .map((l) => (l.length > 300 ? `${l.slice(0, 300)}...` : l))
    .join('\n');
}

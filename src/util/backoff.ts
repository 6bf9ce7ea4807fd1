// backoff.ts - the delay before retry number `attempts` (0 = the first
// retry): `baseMs` doubled per attempt, never above `maxMs`.
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.min(attempts, 20), maxMs);
}

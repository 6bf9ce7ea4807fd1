// backoff.ts - capped exponential backoff with full jitter.
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
}

/** Delay before retry number `attempt` (0-based): uniform in [0, min(maxMs, initialMs * factor^attempt)]. */
export function backoffDelay(p: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(p.maxMs, p.initialMs * p.factor ** Math.min(attempt, 64));
  return Math.floor(random() * cap);
}

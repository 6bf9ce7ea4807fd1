// jittered-backoff.ts - the relay's retry delays: capped exponential backoff
// with full jitter (many relays retrying one reporter spread out). The
// supervisor's deterministic doubling is src/util/backoff.ts.
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

// short-error.ts - an error as one short line for logs and health answers:
// viem's shortMessage (plus its details) when there is one, else the message.

/** A short, single-line description of an error for logs and health(). */
export function shortError(err: unknown): string {
  const x = err as { shortMessage?: unknown; details?: unknown } | undefined;
  const s = typeof x?.shortMessage === 'string' ? x.shortMessage : err instanceof Error ? err.message : String(err);
  const details = typeof x?.details === 'string' && x.details && !s.includes(x.details) ? `: ${x.details}` : '';
  return (s + details).split('\n')[0]!.slice(0, 300);
}

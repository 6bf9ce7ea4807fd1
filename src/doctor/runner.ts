// runner.ts - runs doctor's checks side by side, each with its own deadline:
// a dependency that hangs (a SIGSTOPped server accepts the TCP connection
// and never answers) fails its check after timeoutMs and never hangs doctor.
// A check whose `needs` failed is skipped, naming them.
import { fail, type Check, type CheckResult, type DoctorContext, type Outcome } from './types.js';

export interface RunOptions {
  /** Per-check deadline (default 10 s). */
  timeoutMs?: number;
}

async function runOne(c: Check, ctx: DoctorContext, timeoutMs: number): Promise<Outcome> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => {
      ac.abort();
      resolve(fail(`no answer within ${timeoutMs / 1000} s (a dependency hangs?)`, 'see the other checks and the component this one talks to; --timeout raises the limit'));
    }, timeoutMs);
    timer.unref?.();
  });
  try {
    return await Promise.race([
      c.run(ctx, ac.signal).catch((err: unknown) => fail(`unexpected error: ${(err as Error)?.message ?? String(err)}`)),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every check's result, in the order given. */
export async function runChecks(checks: readonly Check[], ctx: DoctorContext, o: RunOptions = {}): Promise<CheckResult[]> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const done = new Map<string, Promise<Outcome>>();
  const start = (c: Check): Promise<Outcome> => {
    let p = done.get(c.name);
    if (p) return p;
    p = (async () => {
      const deps = (c.needs ?? []).map((n) => checks.find((x) => x.name === n)).filter((x): x is Check => x !== undefined);
      const outcomes = await Promise.all(deps.map((d) => start(d)));
      const failed = deps.filter((_, i) => outcomes[i]!.status !== 'ok' && outcomes[i]!.status !== 'warn').map((d) => d.name);
      if (failed.length > 0) return { status: 'skip', detail: `not checked: ${failed.join(', ')} did not pass` } satisfies Outcome;
      return runOne(c, ctx, timeoutMs);
    })();
    done.set(c.name, p);
    return p;
  };
  const outcomes = await Promise.all(checks.map((c) => start(c)));
  return checks.map((c, i) => {
    const r = outcomes[i]!;
    return { check: c.name, ok: r.status !== 'fail', status: r.status, detail: r.detail, ...(r.fix ? { fix: r.fix } : {}) };
  });
}

/** One line per check: `ok    chain: ...`, `WARN  users: ...`, `FAIL  key: ...: fix`, `skip  ldap: ...`. */
export function renderResults(results: readonly CheckResult[]): string {
  const tag = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' } as const;
  return results.map((r) => `${tag[r.status]}  ${r.check}: ${r.detail}${r.fix ? `: ${r.fix}` : ''}`).join('\n');
}

// reporter.ts - check `reporter`: the supervisor's ingest answers GET /healthz
// (the endpoint the relays deliver to) within the call deadline.
import { noConfig, type Check, type DoctorContext, type Outcome, fail, ok } from './types.js';

/** The URL a relay on this host would use for the ingest of `listen`. */
export function ingestUrl(listen: { host: string; port: number }): string {
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '[::1]' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return `http://${host}:${listen.port}`;
}

export async function checkReporter(ctx: DoctorContext, signal: AbortSignal, fetchFn: typeof fetch = fetch): Promise<Outcome> {
  if (!ctx.config) return noConfig(ctx);
  const url = `${ingestUrl(ctx.config.ingest.listen)}/healthz`;
  let res: Response;
  // An own timer, not AbortSignal.any([signal, AbortSignal.timeout()]): with that, on the devnet
  // with the supervisor SIGSTOPped, the call outlived its deadline and the runner's cut it (likely
  // because `any` holds its sources weakly, so the timeout signal can be collected unfired).
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), ctx.callTimeoutMs);
  const onAbort = () => ac.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    res = await fetchFn(url, { signal: ac.signal });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${ctx.callTimeoutMs / 1000} s` : (e.cause?.code ?? e.message);
    return fail(`${url}: ${why}`, 'start the supervisor (gridlink supervisor --config ...) or check that it is not stuck; relays keep events in the spool meanwhile');
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
  const body = await res.text().catch(() => '');
  if (res.status !== 200) return fail(`${url} answered ${res.status}: ${body.slice(0, 200)}`, 'see the supervisor\'s log (its state database cannot take writes)');
  return ok(`${url} answered 200`);
}

export const reporterCheck: Check = { name: 'reporter', run: (ctx, signal) => checkReporter(ctx, signal) };

// sbatch.ts - check `sbatch`: the sbatch service answers a Challenge (the
// first call of every script fetch) over the configured TLS, through the
// supervisor's own client (src/sbatch/client.ts).
import { createSbatchClient } from '../sbatch/client.js';
import { splitFix } from './ldap.js';
import { fail, noConfig, ok, type Check, type DoctorContext, type Outcome } from './types.js';

export type PingFn = (o: { endpoint: string; tls: { caFile?: string | undefined; insecure?: boolean | undefined } | undefined; timeoutMs: number }) => Promise<void>;

const clientPing: PingFn = async (o) => {
  const client = createSbatchClient(o);
  try {
    await client.ping();
  } finally {
    client.close();
  }
};

export async function checkSbatch(ctx: DoctorContext, ping: PingFn = clientPing): Promise<Outcome> {
  if (!ctx.config) return noConfig(ctx);
  const { endpoint, tls, timeoutMs } = ctx.config.sbatch;
  try {
    await ping({ endpoint, tls, timeoutMs: Math.min(timeoutMs, ctx.callTimeoutMs) });
  } catch (err) {
    const [detail, fix] = splitFix((err as Error).message);
    return fail(detail, fix ?? 'check sbatch.endpoint and that the service runs and is reachable from this host');
  }
  return ok(`${endpoint} answered (${tls ? (tls.insecure ? 'TLS, certificate NOT verified' : 'TLS verified') : 'plaintext'})`);
}

export const sbatchCheck: Check = { name: 'sbatch', run: (ctx) => checkSbatch(ctx) };

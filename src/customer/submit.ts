// submit.ts - a customer's job from script to chain: the script is checked
// (what SLURM or the sbatch service would refuse), the credits quoted against
// the approved providers and the balance, all before anything is uploaded or
// locked; then the script goes to the sbatch service, the credits are
// approved and locked and the job requested. Returns the job id.
import type { Hex } from 'viem';

import type { CustomerContext } from './context.js';
import { CustomerError, explain } from './errors.js';
import { withTxRetry } from './tx-retry.js';
import { quote, type Quote } from './quote.js';
import { DEFAULT_RESOURCES, toJobDefinition, type JobResources } from './resources.js';
import { checkScript } from './script.js';
import { createSbatchClient } from '../sbatch/client.js';

export interface SubmitParameters {
  script: string;
  /** Where the script came from, for messages (a file name). */
  scriptName?: string | undefined;
  resources?: Partial<JobResources> | undefined;
  /** Minutes to pay for, or credit-wei to lock (default: the grid's minimum). */
  minutes?: number | undefined;
  credits?: bigint | undefined;
  /** At most 32 bytes (UTF-8), stored on chain. */
  name?: string | undefined;
  /** Called after each step (uploaded, requested), for progress output. */
  onStep?: ((step: 'quoted' | 'uploaded' | 'requested', detail: string) => void) | undefined;
}

export interface SubmitResult {
  jobId: Hex;
  batchLocationHash: string;
  quote: Quote;
  transactionHash: Hex;
}

export async function submit(ctx: CustomerContext, p: SubmitParameters): Promise<SubmitResult> {
  const scene = { action: 'submit' as const, customer: ctx.customer, rpcUrl: ctx.rpcUrl };
  checkScript(p.script, p.scriptName ?? 'the job script');
  const resources = { ...DEFAULT_RESOURCES, ...p.resources };
  toJobDefinition(resources, 'x'); // the resources' checks, before the chain is asked
  const name = p.name ?? 'gridlink-job';
  if (Buffer.byteLength(name, 'utf8') > 32) throw new CustomerError(`the job name ${JSON.stringify(name)} is over 32 bytes: the chain stores 32`);
  if (!ctx.sbatch) throw new CustomerError('no sbatch service to upload the script to: pass --sbatch HOST:PORT (or set GRIDLINK_SBATCH)');
  let q: Quote;
  try {
    q = await quote(ctx, { resources, minutes: p.minutes, credits: p.credits });
  } catch (e) {
    throw explain(e, scene);
  }
  p.onStep?.('quoted', `${q.lockedCredits}`);
  const uploader = createSbatchClient({ endpoint: ctx.sbatch.endpoint, tls: ctx.sbatch.tls });
  let hash: string;
  try {
    hash = await uploader.submit(p.script);
  } finally {
    uploader.close();
  }
  p.onStep?.('uploaded', hash);
  try {
    const r = await withTxRetry(() => ctx.client.requestNewJob(toJobDefinition(resources, hash), q.lockedCredits, name, false));
    p.onStep?.('requested', r.jobId);
    return { jobId: r.jobId, batchLocationHash: hash, quote: q, transactionHash: r.hash };
  } catch (e) {
    throw explain(e, scene);
  }
}

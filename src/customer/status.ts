// status.ts - one job as the customer sees it (chain, and on a devnet the
// provider's side); a job id that is not a bytes32 is refused before asking.
import { isHex, type Hex } from 'viem';

import type { CustomerContext } from './context.js';
import { CustomerError, explain } from './errors.js';
import { jobView, type JobView } from './view.js';

/** A job id as the chain stores it: 0x and 64 hex digits. */
export function parseJobId(text: string): Hex {
  const t = text.trim();
  if (!isHex(t) || t.length !== 66) throw new CustomerError(`${JSON.stringify(text)} is not a job id: job ids are 0x and 64 hex digits, as \`gridlink job submit\` and \`gridlink job status\` print them`);
  return t.toLowerCase() as Hex;
}

export async function status(ctx: CustomerContext, p: { jobId: Hex }): Promise<JobView> {
  try {
    return await jobView(ctx, p.jobId);
  } catch (e) {
    throw explain(e, { action: 'status', jobId: p.jobId, customer: ctx.customer, rpcUrl: ctx.rpcUrl });
  }
}

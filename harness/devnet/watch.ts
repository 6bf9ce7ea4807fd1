// watch.ts - the devnet's demo: the dev customer uploads a script to the
// sbatch service and requests a job on chain; its life is printed as it
// happens (status changes, SLURM job id, node, Linux user, bill) until the
// provider is paid and the customer refunded, then its output. The submit
// and the follow are the customer's library (src/customer), as `gridlink job
// submit --follow` uses it.
import type { Hex } from 'viem';

import { createCustomerContext } from '../../src/customer/context.js';
import { devnetCustomer } from '../../src/customer/devnet.js';
import { follow, short, timeline } from '../../src/customer/follow.js';
import { submit } from '../../src/customer/submit.js';
import { credits } from '../../src/cli/status.js';
import { CREDIT } from './stack.js';
import type { DevnetState } from './state.js';

export const DEMO_SCRIPT = [
  '#!/bin/bash',
  'echo "hello from $(hostname), running as $(id -un) (uid $(id -u)) in $HOME"',
  'sleep 3',
].join('\n');

export interface WatchResult {
  jobId: Hex;
  status: string;
  ok: boolean;
}

/** The demo job through the customer's library (src/customer): submit, then follow it to its bill and output. */
export async function runDemoJob(state: DevnetState, out: (line: string) => void, timeoutMs = 180_000): Promise<WatchResult> {
  const ctx = await createCustomerContext(devnetCustomer(state));
  const tl = timeline(out);
  const { jobId } = await submit(ctx, {
    script: DEMO_SCRIPT,
    resources: { memPerCpuMB: 64 },
    credits: 100n * CREDIT,
    name: 'devnet-demo',
    onStep: (step, detail) => {
      if (step === 'uploaded') tl.say(`customer ${short(ctx.customer)} uploaded the job script to the sbatch service (${short(detail)})`);
      if (step === 'requested') tl.say(`job ${short(detail)} requested on chain, ${credits(100n * CREDIT)} credits locked`);
    },
  });
  const r = await follow(ctx, { jobId, timeline: tl, timeoutMs });
  return { jobId: jobId as Hex, status: r.status, ok: r.ok };
}

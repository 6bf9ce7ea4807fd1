// watch.ts - the devnet's demo: the dev customer uploads a script to the
// sbatch service and requests a job on chain; its life is printed as it
// happens (status changes, SLURM job id, node, Linux user, bill) until the
// provider is paid and the customer refunded.
import { createPublicClient, createWalletClient, http, stringToHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

import { createMetaSchedulerClient } from '../metascheduler/client.js';
import { JobStatus } from '../metascheduler/status.js';
import { createSbatchClient } from '../sbatch/client.js';
import { chainView, credits, readStore, userName } from '../cli/status.js';
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

const clock = () => new Date().toISOString().slice(11, 19);
const short = (h: string) => `${h.slice(0, 8)}…${h.slice(-4)}`;

export async function runDemoJob(state: DevnetState, out: (line: string) => void, timeoutMs = 180_000): Promise<WatchResult> {
  const chain = state.chain!;
  const customer = state.accounts!.find((a) => a.role.startsWith('customer'))!;
  const transport = http(chain.rpcUrl);
  const publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 200 });
  const base = await createMetaSchedulerClient({ publicClient: publicClient as never, address: chain.contracts.metaScheduler as Address });
  const client = base.withWalletClient(createWalletClient({ account: privateKeyToAccount(customer.privateKey as Hex), chain: foundry, transport }) as never);
  const cut = (await base.getConstants()).deepsquareCut;

  const t0 = Date.now();
  const say = (s: string) => out(`${clock()}  +${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s  ${s}`);
  const uploader = createSbatchClient({ endpoint: state.sbatch!.address });
  let hash: string;
  try {
    hash = await uploader.submit(DEMO_SCRIPT);
  } finally {
    uploader.close();
  }
  say(`customer ${short(customer.address)} uploaded the job script to the sbatch service (${short(hash)})`);
  const locked = 100n * CREDIT;
  const { jobId } = await client.requestNewJob(
    { gpus: 0n, memPerCpu: 64n, cpusPerTask: 1n, ntasks: 1n, batchLocationHash: hash, storageType: 0, uses: [], affinity: [] },
    locked,
    stringToHex('devnet-demo', { size: 32 }),
    false,
  );
  say(`job ${short(jobId)} requested on chain, ${credits(locked)} credits locked`);

  let status: JobStatus | undefined;
  let slurm: number | null = null;
  let ranAs: number | null = null;
  let claim: string | null = null;
  let claimError: string | null = null;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const c = await chainView(base, jobId, cut);
    const s = readStore(state.supervisor!.db, jobId)[0];
    if (s && s.claim !== claim) {
      claim = s.claim;
      if (claim === 'claimed') say(`the supervisor claimed it`);
      else if (claim !== 'submitting' && claim !== 'submitted') say(`the supervisor's claim: ${claim}${s.claimError ? ` (${s.claimError})` : ''}`);
    }
    if (s && s.claimError !== claimError) {
      claimError = s.claimError;
      if (claimError && (claim === 'claimed' || claim === 'submitting')) say(`the supervisor retries: ${claimError}`);
    }
    if (s?.slurmJobId != null && slurm === null) {
      slurm = s.slurmJobId;
      say(`the supervisor submitted it to SLURM: job ${slurm}`);
    }
    if (c.job.status !== status && !c.closed) {
      status = c.job.status;
      const extra = status === JobStatus.META_SCHEDULED ? ` to provider ${short(c.job.providerAddr)}` : '';
      say(`${JobStatus[status]}${extra}`);
    }
    if (s?.uid != null && ranAs === null) {
      ranAs = s.uid;
      say(`running on node ${s.node ?? '?'} as ${userName(s.uid) ?? '?'} (uid ${s.uid})`);
    }
    if (c.closed) {
      const billed = s?.billedMinutes ?? null;
      const took = s?.startTime && s.endTime ? `, ran ${s.endTime - s.startTime} s` : '';
      say(`${JobStatus[c.job.status]}${took}: billed ${billed ?? '?'} min, ${c.cost} credit${c.cost === '1' ? '' : 's'}`);
      say(`provider paid ${c.providerPayment} credits (grid cut ${cut}%), customer refunded ${c.customerRefund} credits`);
      return { jobId, status: JobStatus[c.job.status]!, ok: c.job.status === JobStatus.FINISHED };
    }
    if (Date.now() > end) {
      say(`still ${JobStatus[c.job.status]} after ${timeoutMs / 1000} s${c.lastError ? `: ${c.lastError}` : ''}`);
      return { jobId, status: JobStatus[c.job.status]!, ok: false };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

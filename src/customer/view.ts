// view.ts - one job as the customer sees it: the chain's side (status, locked
// credits, cost, provider payment, refund, exit code, last error, times) and,
// on a devnet, the provider's side (SLURM job, node, Linux user, billed
// minutes, output file). `gridlink job status --json` prints these.
import { existsSync } from 'node:fs';

import { hexToString, type Address, type Hex } from 'viem';

import { chainView, credits, readStore, type StoreView } from '../supervisor/job-view.js';
import type { CustomerContext } from './context.js';
import { gridlinkPasswdEntry, outputPath, outputPattern, passwdEntry } from './output-file.js';

export interface JobView {
  jobId: Hex;
  name: string;
  status: string;
  customer: Address;
  provider: Address | null;
  tasks: number;
  cpusPerTask: number;
  memPerCpuMB: number;
  gpus: number;
  /** Credits (decimal strings, 18 decimals). */
  lockedCredits: string;
  cost: string | null;
  providerPayment: string | null;
  customerRefund: string | null;
  /** Top-ups the provider has not yet added to the time limit. */
  pendingTopUp: string;
  cancelRequested: boolean;
  exitCode: number | null;
  lastError: string | null;
  /** ISO times from the chain (null when not reached). */
  submittedAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
  ended: boolean;
  /** The provider's side: known on a devnet only (null otherwise). */
  claim: string | null;
  slurmJobId: number | null;
  node: string | null;
  user: string | null;
  uid: number | null;
  billedMinutes: number | null;
  /** The output file, on a devnet once the job is in SLURM. */
  outputFile: string | null;
}

const iso = (s: bigint) => (s > 0n ? new Date(Number(s) * 1000).toISOString() : null);

function jobName(h: Hex): string {
  try {
    return hexToString(h, { size: 32 }).replace(/\0+$/, '');
  } catch {
    return h;
  }
}

/** The provider's side of `jobId` from the devnet's supervisor store (undefined elsewhere). */
export function providerSide(ctx: CustomerContext, jobId: Hex): (StoreView & { user: string | null; outputFile: string | null }) | undefined {
  if (!ctx.provider || !existsSync(ctx.provider.db)) return undefined;
  const s = readStore(ctx.provider.db, jobId)[0];
  if (!s) return undefined;
  // With resolver "gridlink" the supervisor's own record first: this host's NSS may not ask the module (the
  // devnet's namespace), or may answer for the same uid from another source (a directory's stale cache).
  const pw = s.uid === null ? null : (gridlinkPasswdEntry(ctx.provider.config, s.gridlinkUser) ?? passwdEntry(s.uid));
  const outputFile =
    s.slurmJobId !== null && pw ? outputPath(outputPattern(ctx.provider.config), { slurmJobId: s.slurmJobId, home: pw.home, user: pw.name, name: jobId.toLowerCase(), node: s.node }) : null;
  return { ...s, user: pw?.name ?? null, outputFile };
}

let cutCache: { ctx: CustomerContext; cut: bigint } | undefined;
async function cutOf(ctx: CustomerContext): Promise<bigint> {
  if (cutCache?.ctx !== ctx) cutCache = { ctx, cut: (await ctx.client.getConstants()).deepsquareCut };
  return cutCache.cut;
}

/** The job as the chain and (on a devnet) the provider see it now. */
export async function jobView(ctx: CustomerContext, jobId: Hex): Promise<JobView> {
  const c = await chainView(ctx.client, jobId, await cutOf(ctx));
  const j = c.job;
  const p = providerSide(ctx, jobId);
  const zero = /^0x0{40}$/i.test(j.providerAddr);
  return {
    jobId: j.jobId,
    name: jobName(j.jobName),
    status: c.chainStatus,
    customer: j.customerAddr,
    provider: zero ? null : j.providerAddr,
    tasks: Number(j.definition.ntasks),
    cpusPerTask: Number(j.definition.cpusPerTask),
    memPerCpuMB: Number(j.definition.memPerCpu),
    gpus: Number(j.definition.gpus),
    lockedCredits: c.lockedCredits,
    cost: c.cost,
    providerPayment: c.providerPayment,
    customerRefund: c.customerRefund,
    pendingTopUp: credits(j.cost.pendingTopUp),
    cancelRequested: j.hasCancelRequest,
    exitCode: c.closed && j.time.start > 0n ? Number(j.exitCode) : null,
    lastError: c.lastError,
    submittedAt: iso(j.time.submit),
    startedAt: iso(j.time.start),
    endedAt: iso(j.time.end),
    ended: c.closed,
    claim: p?.claim ?? null,
    slurmJobId: p?.slurmJobId ?? null,
    node: p?.node ?? null,
    user: p?.user ?? null,
    uid: p?.uid ?? null,
    billedMinutes: p?.billedMinutes ?? null,
    outputFile: p?.outputFile ?? null,
  };
}

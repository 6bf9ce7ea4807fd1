// follow.ts - a job's life as it happens, one line per change with the clock
// and the seconds since the start: chain status changes, the provider's claim,
// SLURM job id, node and Linux user (on a devnet), then the bill, the
// provider's payment and the customer's refund, and (on a devnet) the job's
// output. `gridlink job submit --follow` and the devnet's demo print this.
import { readFileSync } from 'node:fs';

import type { Hex } from 'viem';

import { chainView, userName } from '../supervisor/job-view.js';
import { JobStatus } from '../metascheduler/status.js';
import type { CustomerContext } from './context.js';
import { explain } from './errors.js';
import { providerSide } from './view.js';

export interface Timeline {
  /** Prints `HH:MM:SS  +  s.s s  text`. */
  say(text: string): void;
  t0: number;
}

const clock = () => new Date().toISOString().slice(11, 19);
export const short = (h: string): string => (h.length > 16 ? `${h.slice(0, 8)}…${h.slice(-4)}` : h);

export function timeline(out: (line: string) => void, t0 = Date.now()): Timeline {
  return { t0, say: (s) => out(`${clock()}  +${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s  ${s}`) };
}

export interface FollowParameters {
  jobId: Hex;
  timeline: Timeline;
  /** Give up (not an error: the result says the status) after this long (default: never). */
  timeoutMs?: number | undefined;
  /** Print the job's output at the end when this machine can read it (default true). */
  output?: boolean | undefined;
  /** Where the output's lines go (default: the timeline's line writer is not used; pass one). */
  outputLine?: ((line: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface FollowResult {
  jobId: Hex;
  status: string;
  /** FINISHED. */
  ok: boolean;
  ended: boolean;
  exitCode: number | null;
  /** The output file printed, when there was one. */
  outputFile: string | null;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((r) => {
    const done = () => (clearTimeout(t), signal?.removeEventListener('abort', done), r());
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export async function follow(ctx: CustomerContext, p: FollowParameters): Promise<FollowResult> {
  const say = p.timeline.say;
  const cut = (await ctx.client.getConstants()).deepsquareCut;
  let status: JobStatus | undefined;
  let slurm: number | null = null;
  let ranAs: number | null = null;
  let claim: string | null = null;
  let claimError: string | null = null;
  let cancelAsked = false;
  const end = p.timeoutMs === undefined ? Infinity : Date.now() + p.timeoutMs;
  for (;;) {
    let c: Awaited<ReturnType<typeof chainView>>;
    try {
      c = await chainView(ctx.client, p.jobId, cut);
    } catch (e) {
      throw explain(e, { action: 'follow', jobId: p.jobId, customer: ctx.customer, rpcUrl: ctx.rpcUrl });
    }
    const s = providerSide(ctx, p.jobId);
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
    if (c.job.hasCancelRequest && !cancelAsked && !c.closed) {
      cancelAsked = true;
      say('cancel requested: the provider stops it');
    }
    if (s?.uid != null && ranAs === null) {
      ranAs = s.uid;
      say(`running on node ${s.node ?? '?'} as ${s.user ?? userName(s.uid) ?? '?'} (uid ${s.uid})`);
    }
    if (c.closed) {
      const billed = s?.billedMinutes ?? null;
      const took = s?.startTime && s.endTime ? `, ran ${s.endTime - s.startTime} s` : '';
      const ran = c.job.time.start > 0n;
      const exit = ran && c.job.status !== JobStatus.FINISHED ? `, exit code ${c.job.exitCode}` : '';
      say(`${JobStatus[c.job.status]}${took}${exit}: billed ${billed ?? '?'} min, ${c.cost} credit${c.cost === '1' ? '' : 's'}${c.lastError ? ` (${c.lastError})` : ''}`);
      say(`provider paid ${c.providerPayment} credits (grid cut ${cut}%), customer refunded ${c.customerRefund} credits`);
      const outputFile = p.output === false ? null : printOutput(s?.outputFile ?? null, p.outputLine ?? say);
      return { jobId: p.jobId, status: JobStatus[c.job.status]!, ok: c.job.status === JobStatus.FINISHED, ended: true, exitCode: ran ? Number(c.job.exitCode) : null, outputFile };
    }
    if (Date.now() > end || p.signal?.aborted) {
      if (Date.now() > end) say(`still ${JobStatus[c.job.status]} after ${(p.timeoutMs ?? 0) / 1000} s${c.lastError ? `: ${c.lastError}` : ''}`);
      return { jobId: p.jobId, status: JobStatus[c.job.status]!, ok: false, ended: false, exitCode: null, outputFile: null };
    }
    await sleep(ctx.pollMs ?? 250, p.signal);
  }
}

/** The output file's lines under a heading, when it can be read; the file's path (null when not printed). */
function printOutput(file: string | null, line: (l: string) => void): string | null {
  if (!file) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  line(`output (${file}):`);
  for (const l of text.replace(/\n$/, '').split('\n')) line(`  ${l}`);
  return file;
}

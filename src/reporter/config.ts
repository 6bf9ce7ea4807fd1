// config.ts - the chain reporter's configuration (the ingest has its own,
// src/reporter/ingest/config.ts): validated with zod; every field documented
// here is what `gridlink reporter run --help` offers.
import { isAddress, parseGwei, type Address } from 'viem';
import { z } from 'zod';

import { formatZodIssues } from '../util/zod-issues.js';

const address = z.string().refine((v) => isAddress(v, { strict: false }), 'expected a 0x-prefixed 20-byte address').transform((v) => v as Address);
const gwei = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    try {
      const wei = parseGwei(String(v));
      if (wei < 0n) throw new Error('negative');
      return wei;
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected an amount in gwei, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
  });

export const chainReporterConfigSchema = z
  .object({
    /** JSON-RPC over HTTP(S). */
    rpcUrl: z.string().url(),
    /** Optional WebSocket RPC for new-head subscriptions. */
    wsUrl: z.string().url().optional(),
    /** Expected chain id: start-up stops when the RPC serves another chain. */
    chainId: z.number().int().positive(),
    /** The MetaScheduler contract; its parts are read from it. */
    metaScheduler: address,
    /** Provider key file (mode 0600, owned by the running user); else $GRIDLINK_PROVIDER_KEY. */
    keyFile: z.string().min(1).optional(),
    /** A report counts as done at this depth (1 = mined). */
    confirmations: z.number().int().min(1).max(128).default(3),
    /** Blocks a transaction may wait unmined before it is re-sent with bumped fees. */
    replaceAfterBlocks: z.number().int().min(1).max(1000).default(3),
    /** Cap on maxFeePerGas, gwei: never paid above, even to unstick a transaction. */
    maxFeePerGasGwei: gwei.default('500'),
    /** maxPriorityFeePerGas, gwei; unset: the node's eth_maxPriorityFeePerGas. */
    priorityFeeGwei: gwei.optional(),
    /** Gas limit = estimate x this margin. */
    gasMargin: z.number().min(1).max(5).default(1.2),
    /** How often the pipeline polls for new blocks. */
    pollMs: z.number().int().min(20).max(60_000).default(500),
    /** No new report is signed while this many transactions are unconfirmed. */
    maxInFlight: z.number().int().min(1).max(100_000).default(2000),
    /** Reports handed to the pipeline per round. */
    batchSize: z.number().int().min(1).max(5000).default(200),
    /** How often stored events are derived and planned reports sent. */
    tickMs: z.number().int().min(10).max(60_000).default(100),
    reconcile: z
      .object({
        /** Period between reconciliation passes (the first runs at start). */
        intervalMs: z.number().int().min(1000).default(60_000),
        /** Open jobs checked per pass. */
        batch: z.number().int().min(1).max(100_000).default(500),
        /** A submitted job unknown to slurmctld for this long, with no completion, is reported lost. */
        lostGraceMs: z.number().int().min(0).default(600_000),
        /** Read slurmctld's jobs with scontrol (off: chain checks only). */
        slurm: z.boolean().default(true),
        /** slurm.conf for scontrol (default: SLURM's own lookup, $SLURM_CONF). */
        slurmConf: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    /** Derived events are deleted after this many days (their (spool id, seq) dedupe memory with them). */
    eventRetentionDays: z.number().min(1).max(3650).default(14),
    /** Where /metrics and /healthz are served (HOST:PORT; port 0 picks one; omit to serve neither). */
    metricsListen: z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65535) }).optional(),
  })
  .strict();

export type ChainReporterConfigInput = z.input<typeof chainReporterConfigSchema>;
export type ChainReporterConfig = z.output<typeof chainReporterConfigSchema>;

export class ReporterConfigError extends Error {
  override readonly name = 'ReporterConfigError';
}

export function parseChainReporterConfig(input: ChainReporterConfigInput): ChainReporterConfig {
  const r = chainReporterConfigSchema.safeParse(input);
  if (!r.success) {
    throw new ReporterConfigError(`invalid reporter configuration: ${formatZodIssues(r.error.issues)}`);
  }
  return r.data;
}

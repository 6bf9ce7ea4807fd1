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
    rpcUrl: z.string().url().describe('JSON-RPC URL of the chain node over HTTP(S), used for every chain read and to send the provider\'s transactions'),
    wsUrl: z
      .string()
      .url()
      .optional()
      .describe('WebSocket JSON-RPC URL: one new-head subscription per process (one socket, closed on stop) makes the transaction pipeline and the claims loop poll at once (polling every pollMs goes on regardless); omitted: polling only'),
    chainId: z
      .number()
      .int()
      .positive()
      .describe('Expected chain id, signed into every transaction: start-up stops when the RPC serves another chain id or the state database holds transactions of another chain'),
    metaScheduler: address.describe('Address of the MetaScheduler contract; the other contract addresses and its constants are read from it at start, which stops when the address holds no MetaScheduler'),
    keyFile: z
      .string()
      .min(1)
      .optional()
      .describe('File holding the provider\'s private key (64 hex digits, optionally 0x-prefixed; a regular file, mode 0600, owned by the running user); omitted (and no signer): the key is read from $GRIDLINK_PROVIDER_KEY'),
    signer: z
      .object({
        url: z.string().url().describe('JSON-RPC URL of the remote signer (web3signer\'s eth1 endpoint, Clef\'s --http): https, or http to a loopback address only'),
        address: address.describe('The provider\'s address: start-up stops unless the signer holds it (its account list and a test signature)'),
        api: z.enum(['eth', 'clef']).default('eth').describe('`eth`: eth_signTransaction, eth_sign, eth_accounts (web3signer, geth-style nodes); `clef`: account_signTransaction, account_signData, account_list (Clef\'s external API)'),
        caFile: z.string().min(1).optional().describe('PEM file of the CA that issued the signer\'s TLS certificate; omitted: the system\'s roots'),
        certFile: z.string().min(1).optional().describe('PEM client certificate, for a signer that requires mutual TLS (with keyFile)'),
        keyFile: z.string().min(1).optional().describe('PEM key of certFile'),
        timeoutMs: z.number().int().min(100).max(300_000).default(10_000).describe('Deadline of one signer request; a signer slower than this (or down) is waited for with backoff, nothing is lost'),
      })
      .strict()
      .optional()
      .describe('A remote signer holding the provider\'s key, instead of keyFile (exactly one of the two): every transaction and the sbatch challenge are signed by it, and its answers are checked against the address'),
    confirmations: z
      .number()
      .int()
      .min(1)
      .max(128)
      .default(3)
      .describe('Depth in blocks, counting its own, at which a report transaction counts as done (1 = as soon as mined)'),
    replaceAfterBlocks: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(3)
      .describe('Blocks a pending transaction may stay unmined after its last send before it is re-sent, with both fees bumped by 12.5% when it is the next nonce or cannot pay the base fee'),
    maxFeePerGasGwei: gwei
      .default('500')
      .describe('Cap on maxFeePerGas in gwei (otherwise 2 x base fee + tip): no transaction is signed above it, even to unstick one, and hitting it is logged as FEE CAP'),
    priorityFeeGwei: gwei.optional().describe('maxPriorityFeePerGas (the tip) in gwei; omitted: the node\'s eth_maxPriorityFeePerGas'),
    gasMargin: z
      .number()
      .min(0)
      .max(4)
      .default(0.2)
      .describe('Gas limit margin over the estimate: the gas limit is the eth_estimateGas estimate x (1 + gasMargin), at most the block gas limit (0.2: 1.2 x the estimate)'),
    pollMs: z
      .number()
      .int()
      .min(20)
      .max(60_000)
      .default(500)
      .describe('Interval in ms at which the transaction pipeline polls the node for new blocks, receipts and re-sends'),
    maxInFlight: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(2000)
      .describe('No new report is signed while this many of the provider\'s transactions are signed and not yet confirmed'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(5000)
      .default(200)
      .describe('Most ready reports handed to the transaction pipeline per send round (simulated, signed together and broadcast)'),
    tickMs: z
      .number()
      .int()
      .min(10)
      .max(60_000)
      .default(100)
      .describe('Pause in ms between work iterations, each of which derives newly stored events into planned reports and sends the ready ones'),
    reconcile: z
      .object({
        intervalMs: z
          .number()
          .int()
          .min(1000)
          .default(60_000)
          .describe('Pause in ms between reconciliation passes (the first runs at start); events past eventRetentionDays are pruned after each pass'),
        batch: z
          .number()
          .int()
          .min(1)
          .max(100_000)
          .default(500)
          .describe('Open jobs (mapped, no final report yet) checked per pass, each with one chain read; the next pass continues after the last one checked and wraps around'),
        lostGraceMs: z
          .number()
          .int()
          .min(0)
          .default(600_000)
          .describe('A submitted job unknown to slurmctld for this many ms (counted from the pass that first missed it; a restart restarts the count), with no completion, is reported FAILED with 0 minutes as lost'),
        slurm: z
          .boolean()
          .default(true)
          .describe('Read slurmctld\'s jobs with scontrol at each pass, to recover missed completions and detect lost jobs; false: chain checks only'),
        slurmConf: z.string().min(1).optional().describe('slurm.conf for scontrol; omitted: SLURM\'s own lookup ($SLURM_CONF, then its default path)'),
      })
      .strict()
      .default({})
      .describe('Reconciliation: open jobs are checked against the chain and slurmctld, at start and then every intervalMs'),
    eventRetentionDays: z
      .number()
      .min(1)
      .max(3650)
      .default(14)
      .describe('Derived events are deleted this many days after they were received, and their (spool id, seq) dedupe memory with them'),
    metricsListen: z
      .object({
        host: z.string().min(1).describe('Address the /metrics and /healthz HTTP server binds to'),
        port: z.number().int().min(0).max(65535).describe('Port of the /metrics and /healthz HTTP server (0 picks a free one)'),
      })
      .optional()
      .describe('Where /metrics (Prometheus) and /healthz are served; omitted: neither is served'),
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

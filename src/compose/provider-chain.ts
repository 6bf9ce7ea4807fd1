// provider-chain.ts - the provider's one transaction pipeline, opened by the
// process's composition root on its state database: a remote signer is
// waited for until it holds the provider's address, an unreachable RPC is
// retried with backoff (a wrong chain id or MetaScheduler address stops
// start-up), then the pipeline, the Meta-Scheduler context and the billing
// constants are ready. The parts (the reporter's sender, the supervisor's
// claimer, runner and registration) get the pipeline from here; the root
// stops it.
import { createPublicClient, http, type PublicClient } from 'viem';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

import type { NewHeads } from '../chain/heads.js';
import { getAddresses } from '../metascheduler/actions/getAddresses.js';
import { getConstants, type MetaSchedulerConstants } from '../metascheduler/actions/getConstants.js';
import type { MetaSchedulerContext } from '../metascheduler/context.js';
import type { MetaSchedulerError } from '../metascheduler/errors.js';
import { metaSchedulerReverts } from '../metascheduler/revert-decoder.js';
import type { ChainReporterConfig } from '../reporter/config.js';
import type { ProviderAccount } from '../reporter/provider-account.js';
import { waitForSigner } from '../signer/remote.js';
import type { Db } from '../state/db.js';
import { ChainIdMismatchError, TxPipeline, classifyRpcError, type RpcErrorClass } from '../txpipeline/index.js';
import { shortError } from '../txpipeline/errors.js';

export interface ProviderChain {
  pipeline: TxPipeline<MetaSchedulerError>;
  ctx: MetaSchedulerContext;
  constants: MetaSchedulerConstants;
  publicClient: PublicClient;
}

export interface ProviderChainOptions {
  db: Db;
  config: ChainReporterConfig;
  key: ProviderAccount;
  /** The process's new-head subscription: each head triggers a pipeline poll. */
  heads?: NewHeads | undefined;
  log: Logger;
  registry: Registry;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RPC failures at start that mean "not reachable yet": waited for. Anything else stops start-up. */
const STARTUP_RETRY: ReadonlySet<RpcErrorClass> = new Set(['network', 'timeout', 'rate_limited', 'server']);

export class ProviderChainConnection {
  /** What start-up is waiting for (for /healthz until the chain is ready). */
  waiting = 'connecting';
  private opened: Promise<ProviderChain> | undefined;
  private ready: ProviderChain | undefined;

  constructor(private readonly opts: ProviderChainOptions) {}

  /** Opens the pipeline once (waiting for the signer and the RPC); later calls get the same one. */
  open(): Promise<ProviderChain> {
    return (this.opened ??= this.connectWhenReachable().then((c) => (this.ready = c)));
  }

  /** The remote signer's health, when the key is a remote signer's. */
  async signerHealth(): Promise<{ ok: boolean; error?: string } | undefined> {
    return this.opts.key.remote ? this.opts.key.remote.health() : undefined;
  }

  /** Stops the pipeline if it was opened. */
  async close(): Promise<void> {
    await this.ready?.pipeline.stop();
  }

  private async connectWhenReachable(): Promise<ProviderChain> {
    const { key, config, log } = this.opts;
    // A remote signer must hold the provider's address: waited for while unreachable, else start-up stops.
    if (key.remote) {
      await waitForSigner(key.remote, {
        onWait: (err, retryInMs) => {
          this.waiting = `signer: ${err.message}`;
          log.warn({ signer: key.remote?.url, err: err.message, retryInMs }, 'reporter: remote signer unreachable at start; the ingest keeps storing events; retrying');
        },
      });
      log.info({ signer: key.remote.url, provider: key.address }, 'reporter: remote signer holds the provider address');
    }
    // An unreachable chain at start is waited for (the ingest keeps storing);
    // a wrong chain id or MetaScheduler address stops start-up.
    for (let delay = 1000; ; delay = Math.min(delay * 2, 30_000)) {
      try {
        return await this.connect();
      } catch (err) {
        if (err instanceof ChainIdMismatchError || !STARTUP_RETRY.has(classifyRpcError(err))) throw err;
        this.waiting = `unreachable at start (${shortError(err)}); retrying`;
        log.warn({ rpcUrl: config.rpcUrl, err: shortError(err), retryInMs: delay }, 'reporter: chain RPC unreachable at start; the ingest keeps storing events; retrying');
        await sleep(delay);
      }
    }
  }

  private async connect(): Promise<ProviderChain> {
    const { db, config, key, heads, log, registry } = this.opts;
    const publicClient = createPublicClient({ transport: http(config.rpcUrl, { retryCount: 0, timeout: 10_000 }) });
    const pipeline = await TxPipeline.open({
      db,
      revertDecoder: metaSchedulerReverts,
      rpcUrl: config.rpcUrl,
      ...(heads ? { heads } : {}),
      chainId: config.chainId,
      ...key.signing,
      confirmations: config.confirmations,
      replaceAfterBlocks: config.replaceAfterBlocks,
      maxFeePerGasWei: config.maxFeePerGasGwei,
      ...(config.priorityFeeGwei !== undefined ? { priorityFeeWei: config.priorityFeeGwei } : {}),
      gasMargin: config.gasMargin,
      pollMs: config.pollMs,
      maxInFlight: config.maxInFlight,
      // A cold report is sent only once its job's RUNNING is mined, so 'latest' is the state it
      // must pass against; 'pending' would make anvil replay its whole pool for every estimate
      // (bench: 200 estimates 0.2 s at latest, 1.6-1.9 s at pending with 200-400 queued).
      simulateBlockTag: 'latest',
      logger: log,
      registry,
    });
    try {
      let addresses;
      try {
        addresses = await getAddresses(publicClient as never, { metaScheduler: config.metaScheduler });
      } catch (err) {
        if (STARTUP_RETRY.has(classifyRpcError(err))) throw err;
        throw new Error(`reporter: cannot read the MetaScheduler at ${config.metaScheduler} on ${config.rpcUrl}: ${(err as Error).message.split('\n')[0]} (check --meta-scheduler and --chain-id)`);
      }
      const ctx: MetaSchedulerContext = { publicClient: publicClient as never, addresses };
      return { pipeline, ctx, constants: await getConstants(ctx), publicClient: publicClient as PublicClient };
    } catch (err) {
      await pipeline.stop();
      throw err;
    }
  }
}

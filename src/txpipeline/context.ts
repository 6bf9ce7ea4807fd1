// context.ts - what the parts of one pipeline share: the resolved options,
// the RPC, signer, store, logger and metrics, and the one copy of the mutable
// state they all read (the caches rebuilt from the database by open(), the
// chain as last seen, the capacity waiters of submit()). The parts (nonce-sequence.ts,
// broadcaster.ts, submitter.ts, follower.ts, events.ts) and the TxPipeline facade get
// this object; none of them keeps a copy of what is here.
import type { Address, Hex } from 'viem';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';

import type { Db } from '../state/db.js';
import { classifyRpcError, shortError, type RpcErrorClass } from './errors.js';
import { TxEvents } from './events.js';
import { createTxMetrics, type TxMetrics } from './metrics.js';
import { Rpc, type Header } from './rpc.js';
import { SigningError, TxSigner, type SignedTx, type UnsignedTx } from './signer.js';
import { backoffMs } from '../util/backoff.js';
import { TxStore, type TxRow } from './store.js';
import type { RevertDecoder, TxEventHandler, TxInfo, TxPipelineOptions } from './types.js';

export const GWEI = 10n ** 9n;

export interface Resolved {
  confirmations: number;
  replaceAfterBlocks: number;
  maxFeePerGasWei: bigint;
  priorityFeeWei: bigint | undefined;
  gasMargin: number;
  pollMs: number;
  maxInFlight: number;
  simulateBlockTag: 'pending' | 'latest';
  maxCatchUpBlocks: number;
  blocksPerPoll: number;
  keepBlocks: number;
  rpcTimeoutMs: number;
  submitWaitMs: number;
}

function positiveInt(name: string, v: number | undefined, dflt: number, min = 1): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < min) throw new Error(`txpipeline: ${name} must be an integer >= ${min}, got ${String(v)}`);
  return x;
}

export const lower = (h: string) => h.toLowerCase();

export class PipelineContext {
  readonly address: Address;
  readonly db: Db;
  /** The resolved options. */
  readonly settings: Resolved;
  readonly chainId: number;
  readonly rpcUrl: string;
  readonly rpc: Rpc;
  readonly signer: TxSigner;
  readonly store: TxStore;
  readonly log: Logger;
  readonly metrics: TxMetrics;
  readonly events: TxEvents;
  /** The owners' revert decoder (the pipeline knows no contract). */
  readonly reverts: RevertDecoder;

  // Caches rebuilt from the database by open().
  /** Attempt hash -> tx id, for every attempt of a pending or mined transaction. */
  readonly hashToTx = new Map<string, number>();
  readonly txHashes = new Map<number, Set<string>>();
  /** Transactions with a send in flight (the follower leaves them alone meanwhile). */
  readonly broadcasting = new Set<number>();
  /** Refused as underpriced / replacement underpriced: replace at the next poll. */
  readonly needsBump = new Set<number>();
  /** Tx id -> block of the last fee-cap report (one per tx per block). */
  readonly capReported = new Map<number, bigint>();

  // The chain as last seen.
  chainHead: bigint | undefined;
  lastHeader: Header | undefined;
  /** The chain's nonce (transactions mined) at the processed head. */
  latestNonce: number | undefined;
  /** A node answered "nonce too low" since the last reconcile: reconcile again. */
  nonceTooLow = false;

  /** The last signing failure (a remote signer down, slow or refusing), until a signature succeeds again. */
  signerError: string | undefined;
  private signerFailures = 0;
  private signerRetryAt = 0;
  private readonly sleepers = new Set<() => void>();

  #stopped = false;
  private capacityWaiters: Array<() => void> = [];

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Setting it wakes the signer backoff sleeps (stop() must not wait them out). */
  set stopped(v: boolean) {
    this.#stopped = v;
    if (!v) return;
    for (const w of this.sleepers) w();
    this.sleepers.clear();
  }

  constructor(opts: TxPipelineOptions) {
    if (!Number.isInteger(opts.chainId) || opts.chainId <= 0) throw new Error(`txpipeline: chainId must be a positive integer, got ${String(opts.chainId)}`);
    const margin = opts.gasMargin ?? 0.2;
    if (!(margin >= 0) || !Number.isFinite(margin)) throw new Error(`txpipeline: gasMargin must be a number >= 0, got ${String(opts.gasMargin)}`);
    const cap = opts.maxFeePerGasWei ?? 500n * GWEI;
    if (cap <= 0n) throw new Error('txpipeline: maxFeePerGasWei must be > 0');
    if (opts.priorityFeeWei !== undefined && opts.priorityFeeWei < 0n) throw new Error('txpipeline: priorityFeeWei must be >= 0');
    this.settings = {
      confirmations: positiveInt('confirmations', opts.confirmations, 3),
      replaceAfterBlocks: positiveInt('replaceAfterBlocks', opts.replaceAfterBlocks, 3),
      maxFeePerGasWei: cap,
      priorityFeeWei: opts.priorityFeeWei,
      gasMargin: margin,
      pollMs: positiveInt('pollMs', opts.pollMs, 500, 10),
      maxInFlight: positiveInt('maxInFlight', opts.maxInFlight, 2000),
      simulateBlockTag: opts.simulateBlockTag ?? 'pending',
      maxCatchUpBlocks: positiveInt('maxCatchUpBlocks', opts.maxCatchUpBlocks, 256),
      blocksPerPoll: positiveInt('blocksPerPoll', opts.blocksPerPoll, 64),
      keepBlocks: 0,
      rpcTimeoutMs: positiveInt('rpcTimeoutMs', opts.rpcTimeoutMs, 20_000, 100),
      submitWaitMs: positiveInt('submitWaitMs', opts.submitWaitMs, 30_000, 0),
    };
    this.settings.keepBlocks = Math.max(positiveInt('keepBlocks', opts.keepBlocks, 128, 2), this.settings.confirmations + 2);
    this.db = opts.db;
    this.chainId = opts.chainId;
    this.rpcUrl = opts.rpcUrl;
    this.signer = TxSigner.of(opts);
    this.address = this.signer.address;
    this.rpc = new Rpc(opts.rpcUrl, { timeoutMs: this.settings.rpcTimeoutMs });
    this.store = new TxStore(this.db, this.address);
    this.log = (opts.logger ?? pino({ name: 'gridlink-txpipeline' })).child({ component: 'txpipeline', address: this.address });
    this.metrics = createTxMetrics(opts.registry ?? new Registry());
    this.events = new TxEvents(this.db, this.log, this.metrics, (opts.handlers ?? {}) as Record<string, TxEventHandler>);
    this.reverts = opts.revertDecoder;
  }

  /** The called function's name: the request's, else the decoder's reading of the calldata (undefined when unknown). */
  functionNameOf(data: string, given?: string): string | undefined {
    if (given !== undefined) return given;
    if (data.length < 10) return undefined;
    try {
      return this.reverts.functionName?.(data as Hex);
    } catch {
      return undefined;
    }
  }

  /** Last processed block. */
  head(): bigint | undefined {
    const c = this.store.cursor();
    return c ? BigInt(c.number) : undefined;
  }

  inFlight(): number {
    return this.store.inFlight();
  }

  // ---------------------------------------------------------------- hash caches

  reloadCaches(): void {
    this.hashToTx.clear();
    this.txHashes.clear();
    for (const { hash, tx_id } of this.store.unconfirmedHashes()) this.addHash(tx_id, hash);
  }

  addHash(txId: number, hash: string): void {
    this.hashToTx.set(lower(hash), txId);
    let s = this.txHashes.get(txId);
    if (!s) this.txHashes.set(txId, (s = new Set()));
    s.add(lower(hash));
  }

  dropHashes(txId: number): void {
    for (const h of this.txHashes.get(txId) ?? []) this.hashToTx.delete(h);
    this.txHashes.delete(txId);
    this.needsBump.delete(txId);
    this.capReported.delete(txId);
  }

  restoreHashes(txId: number): void {
    for (const a of this.store.attempts(txId)) this.addHash(txId, a.hash);
  }

  /** A transaction; on failure the caches are rebuilt from the database (they may have run ahead of it). */
  tx(fn: () => void): void {
    try {
      this.db.transaction(fn)();
    } catch (err) {
      this.reloadCaches();
      throw err;
    }
  }

  // ---------------------------------------------------------------- capacity

  /** Resolves true when capacity may have been freed before the deadline (false: timed out or stopped). */
  waitCapacity(deadline: number): Promise<boolean> {
    const ms = deadline - Date.now();
    if (ms <= 0 || this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w = () => {
        clearTimeout(t);
        resolve(!this.stopped);
      };
      const t = setTimeout(() => {
        this.capacityWaiters = this.capacityWaiters.filter((x) => x !== w);
        resolve(false);
      }, ms);
      this.capacityWaiters.push(w);
    });
  }

  notifyCapacity(): void {
    const ws = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const w of ws) w();
  }

  // ---------------------------------------------------------------- signing

  /**
   * Signs every transaction (concurrently) through the account. A failing
   * signer (down, slow, refusing) is retried with backoff until `deadline`
   * (0: one try), then SigningError; health() reports it meanwhile. Nothing
   * is stored or sent before this returns, so a failure takes nothing.
   */
  async signAll(txs: UnsignedTx[], deadline: number): Promise<SignedTx[]> {
    for (;;) {
      try {
        const out = await Promise.all(txs.map((t) => this.signer.sign(t)));
        if (this.signerError !== undefined) this.log.info({ failures: this.signerFailures }, 'txpipeline: the signer signs again');
        this.signerError = undefined;
        this.signerFailures = 0;
        this.signerRetryAt = 0;
        return out;
      } catch (err) {
        const msg = shortError(err);
        const delay = backoffMs(this.signerFailures++, 250, 10_000);
        this.signerRetryAt = Date.now() + delay;
        if (msg !== this.signerError) this.log.warn({ err: msg, txs: txs.length }, 'txpipeline: signing failed; nothing taken, waiting for the signer with backoff');
        this.signerError = msg;
        const left = deadline - Date.now();
        if (this.stopped || left <= 0) throw new SigningError(`txpipeline: cannot sign: ${msg}`, { cause: err });
        await this.sleep(Math.min(delay, left));
      }
    }
  }

  /** A signature failed recently: poll-time signing (fee bumps, hole fillers) waits until its backoff passed. */
  signerWaiting(): boolean {
    return Date.now() < this.signerRetryAt;
  }

  /** A sleep that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.sleepers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  // ---------------------------------------------------------------- helpers

  info(row: TxRow, hash?: Hex): TxInfo {
    return { id: row.id, kind: row.kind, ref: row.ref, nonce: row.nonce, hash: hash ?? (this.store.latestAttempt(row.id)?.hash as Hex) };
  }

  countRpcError(err: unknown): RpcErrorClass {
    const cls = classifyRpcError(err);
    this.metrics.rpcErrors.inc({ class: cls });
    return cls;
  }
}

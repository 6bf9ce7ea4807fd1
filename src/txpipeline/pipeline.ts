// pipeline.ts - the transaction pipeline ("txmgr") of one key: every
// transaction the process sends with that key goes through here.
//
// submit():  simulate (eth_estimateGas from our address, concurrently) ->
//            one SQLite transaction allocates the nonces, signs (synchronously)
//            and stores every request that passed -> committed (fsync) ->
//            broadcast concurrently. A revert in simulation takes no nonce;
//            no await sits between taking a nonce and storing its signed
//            transaction, so a crash never leaves a gap.
// poll():    follow new blocks (headers + receipts of blocks holding our
//            transactions), detect reorgs by parent hash (orphaned
//            transactions go back to pending and are re-sent), resolve nonces
//            the chain consumed without one of our attempts being mined
//            ('lost'), confirm at depth, fill nonce holes, re-send what the
//            node has not accepted and replace what is stuck with bumped fees.
// open():    check the chain id, rebuild the small in-memory caches from the
//            database, take the next nonce from the chain and the store, fill
//            holes, re-broadcast stored pending transactions. It emits no
//            events: everything that produces one (receipts of consumed
//            nonces, reorgs, confirmations) runs in poll(), after the owners
//            registered their handlers.
//
// State lives in SQLite (txs, tx_attempts, chain_blocks; see schema.ts); the
// in-memory maps below are caches rebuilt by open(). Only one pipeline may
// run per database and key at a time.
import { createPublicClient, decodeFunctionData, webSocket, type Address, type Hex } from 'viem';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';

import { metaSchedulerAbi } from '../metascheduler/abi.generated.js';
import { MetaSchedulerError, decodeRevertData, toMetaSchedulerError } from '../metascheduler/errors.js';
import { getMeta, setMeta, type Db } from '../state/db.js';
import { classifyRpcError, shortError, type RpcErrorClass } from './errors.js';
import { bumpFees, gasWithMargin, includable, initialFees, minBig, type Fees } from './fees.js';
import { createTxMetrics, type TxMetrics } from './metrics.js';
import { Rpc, type Header, type Receipt } from './rpc.js';
import { SyncSigner } from './signer.js';
import { TxStore, type BlockRow, type PendingRow, type TxRow } from './store.js';
import type {
  SubmitOptions,
  SubmitOutcome,
  TxEvent,
  TxEventHandler,
  TxInfo,
  TxPipelineHealth,
  TxPipelineOptions,
  TxRecord,
  TxRequest,
} from './types.js';

/** Kind of the 0-value self-transfers that fill nonce holes (no owner, no events). */
export const FILLER_KIND = 'txpipeline.fill';
const META_CHAIN_ID = 'txpipeline.chain_id';

const GWEI = 10n ** 9n;
/** A websocket subscription silent this long while polling sees blocks is opened again. */
const WS_STALE_MS = 30_000;
/** Raw transactions per JSON-RPC batch. */
const SEND_BATCH = 250;

export class ChainIdMismatchError extends Error {
  override readonly name = 'ChainIdMismatchError';
}

/** A handler threw: its state change is rolled back (savepoint) and retried later. */
class HandlerError extends Error {
  override readonly name = 'HandlerError';
}

/** The chain moved while a poll read it: the poll stops and the next one starts over. */
class ChainMovedError extends Error {
  override readonly name = 'ChainMovedError';
}

interface Resolved {
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

interface SendItem {
  txId: number;
  nonce: number;
  hash: Hex;
  raw: Hex;
  /** new: first send of a new transaction; replacement: first send of a fee bump; resend: an attempt sent again. */
  reason: 'new' | 'replacement' | 'resend';
  /** The transaction was never accepted by a node before (counts as `sent` when this one is). */
  firstSent: boolean;
}

function functionNameOf(data: string): string | undefined {
  if (data.length < 10) return undefined;
  try {
    return decodeFunctionData({ abi: metaSchedulerAbi, data: data as Hex }).functionName;
  } catch {
    return undefined;
  }
}

function retryError(msg: string, cause?: unknown): Error {
  return new Error(msg, cause === undefined ? undefined : { cause });
}

function positiveInt(name: string, v: number | undefined, dflt: number, min = 1): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < min) throw new Error(`txpipeline: ${name} must be an integer >= ${min}, got ${String(v)}`);
  return x;
}

const lower = (h: string) => h.toLowerCase();

export class TxPipeline {
  readonly address: Address;
  private readonly db: Db;
  private readonly o: Resolved;
  private readonly chainId: number;
  private readonly rpcUrl: string;
  private readonly wsUrl: string | undefined;
  private readonly rpc: Rpc;
  private readonly signer: SyncSigner;
  private readonly store: TxStore;
  private readonly log: Logger;
  private readonly metrics: TxMetrics;

  // Caches rebuilt from the database by open().
  private nextNonce = 0;
  /** Attempt hash -> tx id, for every attempt of a pending or mined transaction. */
  private readonly hashToTx = new Map<string, number>();
  private readonly txHashes = new Map<number, Set<string>>();
  /** Transactions with a send in flight (the follower leaves them alone meanwhile). */
  private readonly broadcasting = new Set<number>();
  /** Refused as underpriced / replacement underpriced: replace at the next poll. */
  private readonly needsBump = new Set<number>();
  /** Nonce hole -> block it was first seen at. */
  private readonly holeSince = new Map<number, bigint>();
  /** Tx id -> block of the last fee-cap report (one per tx per block). */
  private readonly capReported = new Map<number, bigint>();
  private readonly handlers = new Map<string, TxEventHandler>();
  private readonly queued = new Map<string, TxEvent[]>();

  private chainHead: bigint | undefined;
  private lastHeader: Header | undefined;
  /** The chain's nonce (transactions mined) at the processed head. */
  private latestNonce: number | undefined;
  private tipCache: { block: bigint; tip: bigint } | undefined;
  private noBlockReceipts = false;
  /** Hash of the processed block the last reconcile() ran at. */
  private reconciledAt: string | undefined;
  /** A node answered "nonce too low" since then: reconcile again. */
  private nonceTooLow = false;
  private behind = false;

  private polling: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private readonly active = new Set<Promise<void>>();
  private capacityWaiters: Array<() => void> = [];
  private unwatch: (() => void) | undefined;
  private wsStartedAt = 0;
  private lastWsHeadAt = 0;
  private lastError: string | undefined;
  private lastErrorLogAt = 0;
  private lastOkAt = 0;

  private constructor(opts: TxPipelineOptions) {
    if (!Number.isInteger(opts.chainId) || opts.chainId <= 0) throw new Error(`txpipeline: chainId must be a positive integer, got ${String(opts.chainId)}`);
    const margin = opts.gasMargin ?? 0.2;
    if (!(margin >= 0) || !Number.isFinite(margin)) throw new Error(`txpipeline: gasMargin must be a number >= 0, got ${String(opts.gasMargin)}`);
    const cap = opts.maxFeePerGasWei ?? 500n * GWEI;
    if (cap <= 0n) throw new Error('txpipeline: maxFeePerGasWei must be > 0');
    if (opts.priorityFeeWei !== undefined && opts.priorityFeeWei < 0n) throw new Error('txpipeline: priorityFeeWei must be >= 0');
    this.o = {
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
    this.o.keepBlocks = Math.max(positiveInt('keepBlocks', opts.keepBlocks, 128, 2), this.o.confirmations + 2);
    this.db = opts.db;
    this.chainId = opts.chainId;
    this.rpcUrl = opts.rpcUrl;
    this.wsUrl = opts.wsUrl;
    this.signer = new SyncSigner(opts.privateKey);
    this.address = this.signer.address;
    this.rpc = new Rpc(opts.rpcUrl, { timeoutMs: this.o.rpcTimeoutMs });
    this.store = new TxStore(this.db, this.address);
    this.log = (opts.logger ?? pino({ name: 'gridlink-txpipeline' })).child({ component: 'txpipeline', address: this.address });
    this.metrics = createTxMetrics(opts.registry ?? new Registry());
    for (const [kind, h] of Object.entries(opts.handlers ?? {})) this.handlers.set(kind, h);
  }

  /** Validates the chain id, rebuilds caches, fills nonce holes and re-broadcasts stored pending transactions. */
  static async open(opts: TxPipelineOptions): Promise<TxPipeline> {
    const p = new TxPipeline(opts);
    await p.recover();
    return p;
  }

  // ---------------------------------------------------------------- owners

  /**
   * Handler for one kind, called synchronously inside the SQLite transaction
   * (a savepoint per event) that changes the transaction's state: the
   * owner's own updates commit atomically with it; if the handler throws,
   * the change is rolled back and retried at a later poll. Register before
   * start(). Events of a kind with no handler yet are queued in memory and
   * delivered (in their own transaction) when it is registered.
   */
  on(kind: string, handler: TxEventHandler): void {
    this.handlers.set(kind, handler);
    const q = this.queued.get(kind);
    if (!q) return;
    this.queued.delete(kind);
    this.db.transaction(() => {
      for (const ev of q) {
        try {
          this.db.transaction(() => handler(ev))();
        } catch (err) {
          this.metrics.handlerErrors.inc();
          this.log.error({ kind, event: ev.type, txId: ev.tx.id, err: shortError(err) }, 'txpipeline: handler threw on a queued event; the transaction state is already recorded (see txs)');
        }
      }
    })();
  }

  /** Simulates, signs, stores and broadcasts; one outcome per request, in order. */
  async submit(reqs: TxRequest[], opts: SubmitOptions = {}): Promise<SubmitOutcome[]> {
    const out: SubmitOutcome[] = new Array(reqs.length);
    const job = this.submitAll(reqs, opts, out);
    this.active.add(job);
    try {
      await job;
    } finally {
      this.active.delete(job);
    }
    return out;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.timer = setTimeout(this.loop, 0);
    if (this.wsUrl) this.watchHeads(this.wsUrl);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
    this.notifyCapacity();
    await this.polling;
    await Promise.allSettled([...this.active]);
  }

  /** One follow iteration; never throws (errors are logged, counted and reported by health()). */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  /** Signed, not yet confirmed (pending or mined). */
  inFlight(): number {
    return this.store.inFlight();
  }

  /** Last processed block. */
  head(): bigint | undefined {
    const c = this.store.cursor();
    return c ? BigInt(c.number) : undefined;
  }

  health(): TxPipelineHealth {
    const head = this.head();
    const lag = head !== undefined && this.chainHead !== undefined ? Number(this.chainHead - head) : undefined;
    const staleMs = Date.now() - this.lastOkAt;
    const stale = this.started && staleMs > Math.max(10_000, 5 * this.o.pollMs);
    let error = this.lastError;
    if (!error && this.behind) error = `the RPC is behind: its head ${String(this.chainHead)} is below the processed block ${String(head)}; waiting for it`;
    if (!error && stale) error = `no successful poll for ${Math.round(staleMs / 1000)} s`;
    const h: TxPipelineHealth = { ok: error === undefined };
    if (error !== undefined) h.error = error;
    if (head !== undefined) h.head = head;
    if (lag !== undefined) h.lagBlocks = lag;
    return h;
  }

  /** A stored transaction by id (any state, any kind). */
  get(id: number): TxRecord | undefined {
    const row = this.store.get(id);
    return row ? this.record(row) : undefined;
  }

  /** Stored transactions of an owner's reference, oldest first (lost ones included). */
  find(kind: string, ref: string): TxRecord[] {
    return this.store.byRef(kind, ref).filter((r) => r.sender === this.address).map((r) => this.record(r));
  }

  // ---------------------------------------------------------------- open

  private async recover(): Promise<void> {
    let chainId: number;
    try {
      chainId = await this.rpc.chainId();
    } catch (err) {
      throw new Error(`txpipeline: cannot reach the RPC at ${this.rpcUrl} to check its chain id (${shortError(err)}); check the URL and that the node is up`, { cause: err });
    }
    if (chainId !== this.chainId) {
      throw new ChainIdMismatchError(
        `txpipeline: the RPC at ${this.rpcUrl} serves chain id ${chainId}, but the pipeline is configured for chain id ${this.chainId}: point the RPC URL at the chain with id ${this.chainId}, or set the configured chain id to ${chainId} if that node is the right one`,
      );
    }
    const stored = getMeta(this.db, META_CHAIN_ID);
    if (stored !== undefined && Number(stored) !== chainId) {
      throw new ChainIdMismatchError(
        `txpipeline: the state database holds transactions for chain id ${stored}, but the RPC and the configuration are for chain id ${chainId}: use the state database of chain ${chainId} (or a fresh one), or point the RPC and the configured chain id back at chain ${stored}`,
      );
    }
    if (stored === undefined) setMeta(this.db, META_CHAIN_ID, String(chainId));
    this.reloadCaches();

    const [latest, pendingNonce, head] = await Promise.all([
      this.rpc.nonce(this.address, 'latest'),
      this.rpc.nonce(this.address, 'pending'),
      this.rpc.block('latest'),
    ]);
    if (!head) throw new Error(`txpipeline: the RPC at ${this.rpcUrl} returned no latest block`);
    this.chainHead = head.number;
    this.latestNonce = latest;
    const maxStored = this.store.maxNonce();
    this.nextNonce = Math.max(latest, pendingNonce, (maxStored ?? -1) + 1);
    await this.fillHoles(true, head.baseFeePerGas);
    const rows = this.store.pending().filter((r) => r.nonce >= latest);
    await this.broadcast(rows.map((r) => this.resendItem(r)));
    this.metrics.inFlight.set(this.inFlight());
    this.lastOkAt = Date.now();
    this.log.info(
      { chainId, nextNonce: this.nextNonce, chainNonce: latest, chainPendingNonce: pendingNonce, rebroadcast: rows.length, inFlight: this.inFlight(), cursor: this.head()?.toString() },
      'txpipeline: open',
    );
  }

  private reloadCaches(): void {
    this.hashToTx.clear();
    this.txHashes.clear();
    for (const { hash, tx_id } of this.store.unconfirmedHashes()) this.addHash(tx_id, hash);
  }

  private addHash(txId: number, hash: string): void {
    this.hashToTx.set(lower(hash), txId);
    let s = this.txHashes.get(txId);
    if (!s) this.txHashes.set(txId, (s = new Set()));
    s.add(lower(hash));
  }

  private dropHashes(txId: number): void {
    for (const h of this.txHashes.get(txId) ?? []) this.hashToTx.delete(h);
    this.txHashes.delete(txId);
    this.needsBump.delete(txId);
    this.capReported.delete(txId);
  }

  private restoreHashes(txId: number): void {
    for (const a of this.store.attempts(txId)) this.addHash(txId, a.hash);
  }

  // ---------------------------------------------------------------- submit

  private async submitAll(reqs: TxRequest[], opts: SubmitOptions, out: SubmitOutcome[]): Promise<void> {
    for (const r of reqs) {
      if (r.kind === FILLER_KIND) throw new Error(`txpipeline: kind ${FILLER_KIND} is reserved`);
    }
    const deadline = Date.now() + this.o.submitWaitMs;
    let i = 0;
    while (i < reqs.length) {
      if (this.stopped) {
        for (; i < reqs.length; i++) out[i] = { ok: false, retry: retryError('txpipeline: stopped') };
        return;
      }
      const room = this.o.maxInFlight - this.inFlight();
      if (room <= 0) {
        if (await this.waitCapacity(deadline)) continue;
        const err = retryError(`txpipeline: ${this.inFlight()} transactions in flight (maxInFlight ${this.o.maxInFlight}): try later`);
        for (; i < reqs.length; i++) out[i] = { ok: false, retry: err };
        return;
      }
      const n = Math.min(room, reqs.length - i);
      await this.submitChunk(reqs, i, n, opts, out);
      i += n;
    }
  }

  private async submitChunk(reqs: TxRequest[], start: number, n: number, opts: SubmitOptions, out: SubmitOutcome[]): Promise<void> {
    const idx = Array.from({ length: n }, (_, k) => start + k);
    const feeP = this.feeData();
    const sims = idx.map((i) => {
      const r = reqs[i]!;
      return this.rpc
        .estimateGas({ from: this.address, to: r.to, data: r.data, value: r.value ?? 0n }, this.o.simulateBlockTag)
        .then((gas) => ({ gas }), (err: unknown) => ({ err }));
    });
    let fee: { base: bigint; gasLimit: bigint; tip: bigint };
    try {
      fee = await feeP;
    } catch (err) {
      await Promise.all(sims);
      const cls = this.countRpcError(err);
      const e = retryError(`txpipeline: cannot read fees from ${this.rpcUrl} (${cls}: ${shortError(err)})`, err);
      for (const i of idx) out[i] = { ok: false, retry: e };
      return;
    }
    const results = await Promise.all(sims);
    const pass: Array<{ i: number; gas: bigint }> = [];
    const failed = new Map<string, number>();
    results.forEach((res, k) => {
      const i = idx[k]!;
      if ('gas' in res) pass.push({ i, gas: minBig(gasWithMargin(res.gas, this.o.gasMargin), fee.gasLimit) });
      else {
        out[i] = this.simulationOutcome(res.err, reqs[i]!);
        const o = out[i] as { revert?: MetaSchedulerError };
        const key = o.revert ? `revert:${o.revert.name}` : 'retry';
        failed.set(key, (failed.get(key) ?? 0) + 1);
      }
    });
    if (failed.size) this.log.debug({ failed: Object.fromEntries(failed) }, 'txpipeline: requests that did not pass simulation (no nonce taken)');
    if (!pass.length) return;
    if (this.stopped) {
      for (const p of pass) out[p.i] = { ok: false, retry: retryError('txpipeline: stopped') };
      return;
    }
    const f = initialFees({ baseFee: fee.base, tip: fee.tip, cap: this.o.maxFeePerGasWei });
    if (f.capped) {
      this.metrics.feeCapHits.inc(pass.length);
      this.log.error(
        { baseFee: fee.base.toString(), wanted: (2n * fee.base + fee.tip).toString(), cap: this.o.maxFeePerGasWei.toString(), txs: pass.length, belowBaseFee: f.belowBaseFee },
        'txpipeline: FEE CAP: maxFeePerGas held at the configured cap, below 2 * baseFee + tip; transactions may be slow (or not accepted while the cap is below the base fee). Raise maxFeePerGasWei if this persists',
      );
    }
    const items: SendItem[] = [];
    const saved = this.nextNonce;
    try {
      // One SQLite transaction: nonces, signatures and rows, no await inside.
      this.db.transaction(() => {
        for (const p of pass) {
          const req = reqs[p.i]!;
          const nonce = this.nextNonce++;
          const value = req.value ?? 0n;
          const s = this.signer.sign({ chainId: this.chainId, nonce, to: req.to, value, data: req.data, gas: p.gas, ...f });
          const txId = this.store.insertTx({ nonce, kind: req.kind, ref: req.ref, to: req.to, value, data: req.data, gas: p.gas });
          this.store.insertAttempt({ hash: s.hash, txId, raw: s.raw, maxFee: f.maxFeePerGas, tip: f.maxPriorityFeePerGas });
          opts.onSigned?.(req, { id: txId, kind: req.kind, ref: req.ref, nonce, hash: s.hash }, p.i);
          items.push({ txId, nonce, hash: s.hash, raw: s.raw, reason: 'new', firstSent: true });
        }
      })();
    } catch (err) {
      this.nextNonce = saved;
      this.log.error({ err: shortError(err), txs: pass.length }, 'txpipeline: could not store signed transactions; nothing taken, the requests are answered retry');
      const e = retryError(`txpipeline: could not store the signed transactions: ${shortError(err)}`, err);
      for (const p of pass) out[p.i] = { ok: false, retry: e };
      return;
    }
    items.forEach((it, k) => {
      this.addHash(it.txId, it.hash);
      this.broadcasting.add(it.txId);
      out[pass[k]!.i] = { ok: true, txId: it.txId, nonce: it.nonce, hash: it.hash };
    });
    this.metrics.inFlight.set(this.inFlight());
    await this.broadcast(items);
  }

  private simulationOutcome(err: unknown, req: TxRequest): SubmitOutcome {
    const fn = functionNameOf(req.data);
    const m = toMetaSchedulerError(err, fn);
    if (m instanceof MetaSchedulerError) return { ok: false, revert: m };
    const cls = this.countRpcError(err);
    if (cls === 'reverted' || cls === 'gas_limit') {
      return { ok: false, revert: new MetaSchedulerError({ name: 'Error', args: { reason: shortError(err) }, functionName: fn, cause: err }) };
    }
    return { ok: false, retry: retryError(`txpipeline: simulation failed (${cls}: ${shortError(err)})`, err) };
  }

  private async feeData(): Promise<{ base: bigint; gasLimit: bigint; tip: bigint }> {
    const [hdr, tip] = await Promise.all([this.rpc.block('latest'), this.tip()]);
    if (!hdr) throw new Error('the node returned no latest block');
    if (this.chainHead === undefined || hdr.number > this.chainHead) this.chainHead = hdr.number;
    return { base: hdr.baseFeePerGas, gasLimit: hdr.gasLimit, tip };
  }

  private async tip(): Promise<bigint> {
    if (this.o.priorityFeeWei !== undefined) return this.o.priorityFeeWei;
    const head = this.chainHead ?? -1n;
    if (this.tipCache && this.tipCache.block === head) return this.tipCache.tip;
    let tip: bigint;
    try {
      tip = await this.rpc.maxPriorityFeePerGas();
    } catch (err) {
      if (classifyRpcError(err) !== 'unsupported_method') throw err;
      tip = GWEI;
    }
    this.tipCache = { block: head, tip };
    return tip;
  }

  private waitCapacity(deadline: number): Promise<boolean> {
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

  private notifyCapacity(): void {
    const ws = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const w of ws) w();
  }

  // ---------------------------------------------------------------- broadcast

  private resendItem(r: PendingRow): SendItem {
    return { txId: r.id, nonce: r.nonce, hash: r.a_hash as Hex, raw: r.a_raw as Hex, reason: 'resend', firstSent: r.first_sent_block === null };
  }

  /** Sends concurrently (one JSON-RPC batch), in nonce order; records acceptance; never throws. */
  private async broadcast(items: SendItem[]): Promise<void> {
    if (!items.length) return;
    items.sort((a, b) => a.nonce - b.nonce);
    for (const it of items) this.broadcasting.add(it.txId);
    const results: unknown[] = [];
    try {
      // Concurrent within a JSON-RPC batch, batches in nonce order (nodes limit how many future nonces they queue).
      for (let i = 0; i < items.length; i += SEND_BATCH) {
        const part = items.slice(i, i + SEND_BATCH);
        results.push(...(await Promise.all(part.map((it) => this.rpc.sendRawTransaction(it.raw).then(() => undefined, (err: unknown) => err ?? new Error('unknown error'))))));
      }
    } finally {
      for (const it of items) this.broadcasting.delete(it.txId);
    }
    const head = this.chainHead ?? 0n;
    const failures = new Map<RpcErrorClass, { n: number; nonces: number[]; err: string }>();
    let accepted = 0;
    try {
      this.db.transaction(() => {
        items.forEach((it, k) => {
          const err = results[k];
          const cls = err === undefined ? undefined : classifyRpcError(err);
          if (err === undefined || cls === 'already_known') {
            this.store.markSent(it.txId, it.hash, head);
            accepted++;
            if (it.firstSent) this.metrics.sent.inc();
            if (it.reason === 'resend') this.metrics.rebroadcast.inc();
            return;
          }
          this.metrics.rpcErrors.inc({ class: cls! });
          if (cls === 'replacement_underpriced' || cls === 'underpriced') this.needsBump.add(it.txId);
          if (cls === 'nonce_too_low') this.nonceTooLow = true;
          let f = failures.get(cls!);
          if (!f) failures.set(cls!, (f = { n: 0, nonces: [], err: shortError(err) }));
          f.n++;
          if (f.nonces.length < 10) f.nonces.push(it.nonce);
        });
      })();
    } catch (err) {
      this.log.error({ err: shortError(err) }, 'txpipeline: could not record broadcast results (they are re-sent at the next poll)');
    }
    for (const [cls, f] of failures) {
      const ctx = { class: cls, txs: f.n, nonces: f.nonces, err: f.err };
      switch (cls) {
        case 'network':
        case 'timeout':
        case 'server':
        case 'rate_limited':
        case 'pool_full':
          this.log.warn(ctx, 'txpipeline: broadcast failed; the signed transactions are stored and re-sent at the next poll');
          break;
        case 'insufficient_funds':
          this.log.error(ctx, `txpipeline: INSUFFICIENT FUNDS: the node refuses transactions of ${this.address}: fund this account; they are re-sent at every poll`);
          break;
        case 'nonce_too_low':
          this.log.info(ctx, 'txpipeline: nonce already used on chain; the follower checks whether one of our attempts was mined');
          break;
        case 'underpriced':
        case 'replacement_underpriced':
          this.log.info(ctx, 'txpipeline: refused as underpriced; replaced with bumped fees at the next poll');
          break;
        default:
          this.log.error(ctx, 'txpipeline: broadcast refused; re-sent at the next poll');
      }
    }
    if (accepted) this.log.debug({ accepted, of: items.length }, 'txpipeline: broadcast');
  }

  // ---------------------------------------------------------------- follow

  private readonly loop = async (): Promise<void> => {
    this.timer = undefined;
    const before = this.head();
    await this.poll();
    if (this.stopped) return;
    const head = this.head();
    // Still behind after a poll that made progress: go on at once (never spin on one that did not).
    const advanced = head !== undefined && (before === undefined || head > before);
    const catchingUp = advanced && !this.lastError && !this.behind && this.chainHead !== undefined && this.chainHead > head;
    this.checkWs(advanced);
    this.timer = setTimeout(this.loop, catchingUp ? 0 : this.o.pollMs);
  };

  private kick(): void {
    if (this.stopped || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(this.loop, 0);
  }

  /**
   * New heads over websocket trigger a poll at once. viem's own reconnect is
   * off (it prints to the console); instead, when polling sees new blocks but
   * the subscription has been silent for WS_STALE_MS, it is opened again.
   */
  private watchHeads(wsUrl: string): void {
    this.unwatch?.();
    this.wsStartedAt = Date.now();
    try {
      // Own socket (key): closing it leaves other websocket clients of the process alone.
      const transport = webSocket(wsUrl, { key: `gridlink-txpipeline-${this.address}`, reconnect: false, retryCount: 0 });
      const client = createPublicClient({ transport });
      const unwatch = client.watchBlockNumber({
        emitOnBegin: false,
        onBlockNumber: () => {
          this.lastWsHeadAt = Date.now();
          this.kick();
        },
        onError: (err) => this.log.debug({ err: shortError(err) }, 'txpipeline: websocket head subscription error (polling continues)'),
      });
      this.unwatch = () => {
        unwatch();
        void client.transport.getRpcClient().then((c) => c.close(), () => undefined);
      };
    } catch (err) {
      this.log.warn({ err: shortError(err), wsUrl }, 'txpipeline: cannot subscribe to new heads; polling only');
    }
  }

  private checkWs(advanced: boolean): void {
    if (!this.wsUrl || !advanced || this.stopped) return;
    if (Date.now() - Math.max(this.lastWsHeadAt, this.wsStartedAt) < WS_STALE_MS) return;
    this.log.info({ wsUrl: this.wsUrl }, 'txpipeline: no new head over the websocket while polling sees blocks; subscribing again');
    this.watchHeads(this.wsUrl);
  }

  private async pollOnce(): Promise<void> {
    try {
      const head = await this.rpc.blockNumber();
      this.chainHead = head;
      const cursor = this.store.cursor();
      if (!cursor) {
        const h = await this.rpc.block(head);
        if (!h) return;
        this.tx(() => this.store.insertBlock(h));
        this.lastHeader = h;
      } else if (head < BigInt(cursor.number)) {
        if (!this.behind) this.log.warn({ rpcHead: head.toString(), processed: cursor.number }, 'txpipeline: the RPC is behind the blocks already processed; waiting for it to catch up');
        this.behind = true;
        this.lastError = undefined;
        this.lastOkAt = Date.now();
        return;
      } else if (head - BigInt(cursor.number) > BigInt(this.o.maxCatchUpBlocks)) {
        await this.jump(head);
      } else {
        await this.follow(head, cursor);
      }
      if (this.behind) this.log.info({ rpcHead: head.toString() }, 'txpipeline: the RPC caught up');
      this.behind = false;
      await this.reconcile();
      this.confirm();
      await this.fillHoles(false);
      await this.resend();
      this.metrics.inFlight.set(this.inFlight());
      if (this.lastError) this.log.info({ head: head.toString() }, 'txpipeline: RPC reachable again');
      this.lastError = undefined;
      this.lastOkAt = Date.now();
    } catch (err) {
      if (err instanceof ChainMovedError) {
        this.log.debug({ err: err.message }, 'txpipeline: the chain moved during a poll; starting over');
        return;
      }
      const cls = this.countRpcError(err);
      const msg = `${cls}: ${shortError(err)}`;
      const now = Date.now();
      if (msg !== this.lastError || now - this.lastErrorLogAt > 30_000) {
        this.log.warn({ class: cls, err: shortError(err) }, 'txpipeline: poll failed; retrying at the next one');
        this.lastErrorLogAt = now;
      }
      this.lastError = msg;
    }
  }

  /** Follows from the cursor to (at most blocksPerPoll past it) the head. */
  private async follow(head: bigint, cursor: BlockRow): Promise<void> {
    const from = BigInt(cursor.number);
    const to = minBig(head, from + BigInt(this.o.blocksPerPoll));
    const numbers: bigint[] = [];
    for (let n = from; n <= to; n++) numbers.push(n);
    const headers = await Promise.all(numbers.map((n) => this.rpc.block(n)));
    const first = headers[0];
    if (!first) return; // the node does not have our cursor block (lagging replica): wait
    if (first.hash !== cursor.hash) {
      await this.handleReorg(head);
      return;
    }
    const good: Header[] = [];
    let prev = first;
    for (const h of headers.slice(1)) {
      if (!h || h.parentHash !== prev.hash) break; // not there yet, or reorged during the fetch: next poll
      good.push(h);
      prev = h;
    }
    this.lastHeader = prev;
    if (!good.length) return;
    const found = await Promise.all(good.map((h) => this.ourReceipts(h)));
    const reverts = await this.replayReverts(found.flat());
    this.tx(() => {
      good.forEach((h, i) => {
        this.store.insertBlock(h);
        for (const r of found[i]!) this.applyReceipt(r, h.timestamp, reverts.get(r.transactionHash) ?? null);
      });
      this.store.deleteBlocksBelow(prev.number - BigInt(this.o.keepBlocks) + 1n);
    });
  }

  /** Receipts of our transactions included in a block (none fetched when it holds none). */
  private async ourReceipts(h: Header): Promise<Receipt[]> {
    const ours = h.transactions.map(lower).filter((x) => this.hashToTx.has(x));
    if (!ours.length) return [];
    let all: Receipt[] | null = null;
    if (!this.noBlockReceipts) {
      try {
        all = await this.rpc.blockReceipts(h.number);
      } catch (err) {
        if (classifyRpcError(err) !== 'unsupported_method') throw err;
        this.noBlockReceipts = true;
        this.log.info('txpipeline: the node lacks eth_getBlockReceipts; reading receipts one by one');
      }
    }
    let mine: Receipt[];
    if (all) {
      const want = new Set(ours);
      mine = all.filter((r) => want.has(lower(r.transactionHash)));
    } else {
      mine = (await Promise.all(ours.map((x) => this.rpc.receipt(x as Hex)))).filter((r): r is Receipt => r !== null);
    }
    if (mine.length !== ours.length || mine.some((r) => r.blockHash !== h.hash)) {
      throw new ChainMovedError(`receipts of block ${h.number} do not match its header`);
    }
    return mine.map((r) => ({ ...r, transactionHash: lower(r.transactionHash) as Hex }));
  }

  /** Revert data of reverted receipts, found by replaying each call at its block ('' when the replay does not revert). */
  private async replayReverts(rs: Receipt[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await Promise.all(
      rs
        .filter((r) => r.status === 'reverted')
        .map(async (r) => {
          const row = this.store.get(this.hashToTx.get(lower(r.transactionHash)) ?? -1);
          if (!row) return;
          try {
            await this.rpc.ethCall({ from: this.address, to: row.to_addr as Address, data: row.data as Hex, value: BigInt(row.value), gas: BigInt(row.gas) }, r.blockNumber);
            out.set(r.transactionHash, '');
          } catch (err) {
            const m = toMetaSchedulerError(err, functionNameOf(row.data));
            if (m instanceof MetaSchedulerError) out.set(r.transactionHash, m.data ?? '0x');
            else {
              const cls = classifyRpcError(err);
              if (cls === 'reverted' || cls === 'gas_limit') out.set(r.transactionHash, '0x');
              else throw err;
            }
          }
        }),
    );
    return out;
  }

  /** Records a receipt of one of our attempts (inside a transaction); idempotent. */
  private applyReceipt(r: Receipt, timestamp: bigint, revertData: string | null): void {
    const txId = this.hashToTx.get(lower(r.transactionHash));
    if (txId === undefined) return;
    let row = this.store.get(txId);
    if (!row || (row.state !== 'pending' && row.state !== 'mined')) return;
    const hash = lower(r.transactionHash);
    if (row.state === 'mined') {
      if (row.mined_hash === hash && row.mined_block === Number(r.blockNumber) && row.mined_block_hash === r.blockHash) return;
      // Recorded in another block (or as another attempt): that one is gone.
      if (!this.unmine(row)) return;
      row = this.store.get(txId)!;
    }
    const ok = this.change(() => {
      this.store.setMined(txId, { hash, block: r.blockNumber, blockHash: r.blockHash, status: r.status, revertData: r.status === 'reverted' ? (revertData ?? '') : null });
      if (r.status === 'success') {
        this.emit({ type: 'mined', tx: this.info(row, hash as Hex), block: r.blockNumber, blockHash: r.blockHash, timestamp });
      }
    });
    if (ok) {
      this.needsBump.delete(txId);
      if (r.status === 'reverted') this.log.warn({ txId, kind: row.kind, ref: row.ref, nonce: row.nonce, hash, block: r.blockNumber.toString() }, 'txpipeline: transaction mined but reverted; reported to its owner at the confirmation depth');
    }
  }

  /**
   * The cursor block is no longer canonical: find the fork point among the
   * kept headers, put transactions mined above it back to pending (event
   * 'unmined') and re-send them (the new chain may not hold them).
   */
  private async handleReorg(head: bigint): Promise<void> {
    const stored = this.store.blocksDesc();
    let fork: BlockRow | undefined;
    for (let i = 0; i < stored.length && !fork; i += 16) {
      const chunk = stored.slice(i, i + 16);
      const hs = await Promise.all(chunk.map((b) => this.rpc.block(BigInt(b.number))));
      fork = chunk.find((b, j) => hs[j]?.hash === b.hash);
    }
    if (!fork) {
      this.log.error({ kept: stored.length }, 'txpipeline: reorg deeper than the kept headers; checking every unconfirmed transaction by receipt');
      await this.jump(head, true);
      return;
    }
    const forkN = BigInt(fork.number);
    const rows = this.store.minedAbove(forkN);
    const unmined: TxRow[] = [];
    this.tx(() => {
      this.store.deleteBlocksAbove(forkN);
      for (const row of rows) if (this.unmine(row)) unmined.push(row);
    });
    this.lastHeader = undefined;
    const depth = Number(BigInt(stored[0]!.number) - forkN);
    this.log.warn({ fork: fork.number, depth, unmined: unmined.length }, 'txpipeline: reorg; transactions of orphaned blocks are pending again and re-sent');
    await this.resendUnmined(unmined);
  }

  /** Back to pending (inside a transaction); false when the owner's handler refused. */
  private unmine(row: TxRow): boolean {
    const deep = row.state === 'confirmed' || row.state === 'reverted';
    if (deep) {
      this.log.error(
        { txId: row.id, kind: row.kind, ref: row.ref, nonce: row.nonce, block: row.mined_block, state: row.state },
        `txpipeline: REORG DEEPER THAN THE CONFIRMATION DEPTH (${this.o.confirmations}): a ${row.state} transaction left the canonical chain; it is pending again`,
      );
    }
    const ok = this.change(() => {
      this.store.setPending(row.id);
      if (row.receipt_status === 'success' || deep) this.emit({ type: 'unmined', tx: this.info(row) });
    });
    if (ok) {
      this.metrics.unmined.inc();
      if (deep) this.restoreHashes(row.id);
    }
    return ok;
  }

  private async resendUnmined(rows: TxRow[]): Promise<void> {
    const items: SendItem[] = [];
    for (const row of rows) {
      const a = this.store.latestAttempt(row.id);
      if (a) items.push({ txId: row.id, nonce: row.nonce, hash: a.hash as Hex, raw: a.raw as Hex, reason: 'resend', firstSent: false });
    }
    await this.broadcast(items);
  }

  /**
   * Far behind (or a reorg deeper than the kept headers): check every
   * unconfirmed transaction by receipt and restart following at the head,
   * instead of scanning every block in between.
   */
  private async jump(head: bigint, afterReorg = false): Promise<void> {
    const cursor = this.head();
    if (!afterReorg) this.log.warn({ processed: cursor?.toString(), head: head.toString() }, 'txpipeline: far behind the chain; checking unconfirmed transactions by receipt and jumping to the head');
    const hdr = await this.rpc.block(head);
    if (!hdr) return;
    const rows = this.store.unconfirmed();
    const found = await this.receiptsOf(rows);
    const stamps = await this.timestamps([...found.values()]);
    const reverts = await this.replayReverts([...found.values()]);
    const unmined: TxRow[] = [];
    this.tx(() => {
      this.store.clearBlocks();
      this.store.insertBlock(hdr);
      for (const row of rows) {
        const r = found.get(row.id);
        if (r && r.blockNumber <= head) {
          this.applyReceipt(r, stamps.get(r.blockNumber) ?? 0n, reverts.get(r.transactionHash) ?? null);
        } else if (!r && row.state === 'mined') {
          if (this.unmine(row)) unmined.push(row);
        }
      }
    });
    this.lastHeader = hdr;
    await this.resendUnmined(unmined);
  }

  /** The receipt of whichever attempt of each transaction was mined, by tx id. */
  private async receiptsOf(rows: TxRow[]): Promise<Map<number, Receipt>> {
    const out = new Map<number, Receipt>();
    const CHUNK = 200;
    const all: Array<{ txId: number; hash: string }> = [];
    for (const row of rows) for (const a of this.store.attempts(row.id)) all.push({ txId: row.id, hash: a.hash });
    for (let i = 0; i < all.length; i += CHUNK) {
      const part = all.slice(i, i + CHUNK);
      const rs = await Promise.all(part.map((x) => this.rpc.receipt(x.hash as Hex)));
      rs.forEach((r, k) => {
        if (r) out.set(part[k]!.txId, { ...r, transactionHash: lower(r.transactionHash) as Hex });
      });
    }
    return out;
  }

  private async timestamps(rs: Receipt[]): Promise<Map<bigint, bigint>> {
    const out = new Map<bigint, bigint>();
    const need = [...new Set(rs.map((r) => r.blockNumber))];
    const missing: bigint[] = [];
    for (const n of need) {
      const b = this.store.block(n);
      if (b) out.set(n, BigInt(b.timestamp));
      else missing.push(n);
    }
    const hs = await Promise.all(missing.map((n) => this.rpc.block(n)));
    hs.forEach((h, k) => {
      if (h) out.set(missing[k]!, h.timestamp);
    });
    return out;
  }

  /**
   * Pending transactions whose nonce the chain already consumed (at the
   * processed block): one of our attempts was mined (recorded), or the nonce
   * went to a transaction we did not sign ('lost').
   */
  private async reconcile(): Promise<void> {
    const top = this.store.cursor();
    if (!top) return;
    // Nothing to learn until a new block is processed (or a node said "nonce too low").
    if (top.hash === this.reconciledAt && !this.nonceTooLow) return;
    this.nonceTooLow = false;
    const cursor = BigInt(top.number);
    const L = await this.rpc.nonce(this.address, cursor);
    this.latestNonce = L;
    if (L > this.nextNonce) this.nextNonce = L;
    const rows = this.store.pendingBelow(L);
    if (!rows.length) {
      this.reconciledAt = top.hash;
      return;
    }
    const found = await this.receiptsOf(rows);
    const usable = [...found.values()].filter((r) => r.blockNumber <= cursor);
    const stamps = await this.timestamps(usable);
    const reverts = await this.replayReverts(usable);
    const lost: TxRow[] = [];
    this.tx(() => {
      for (const row of rows) {
        const cur = this.store.get(row.id);
        if (cur?.state !== 'pending') continue;
        const r = found.get(row.id);
        if (r) {
          if (r.blockNumber <= cursor) this.applyReceipt(r, stamps.get(r.blockNumber) ?? 0n, reverts.get(r.transactionHash) ?? null);
          continue;
        }
        const ok = this.change(() => {
          this.store.setState(row.id, 'lost');
          this.emit({ type: 'lost', tx: this.info(row) });
        });
        if (ok) lost.push(row);
      }
    });
    this.reconciledAt = top.hash;
    if (!lost.length) return;
    for (const row of lost) this.dropHashes(row.id);
    this.metrics.lost.inc(lost.length);
    this.log.warn(
      { txs: lost.map((r) => ({ id: r.id, kind: r.kind, ref: r.ref, nonce: r.nonce })) },
      'txpipeline: nonce used by a transaction this store did not sign (another signer of the same key?); the owners re-plan',
    );
    const P = await this.rpc.nonce(this.address, 'pending');
    if (P > this.nextNonce) this.nextNonce = P;
    this.notifyCapacity();
  }

  /** Mined transactions at the confirmation depth become confirmed (or reverted). */
  private confirm(): void {
    const cursor = this.head();
    if (cursor === undefined) return;
    const rows = this.store.minedAtDepth(cursor - BigInt(this.o.confirmations) + 1n);
    if (!rows.length) return;
    const done: TxRow[] = [];
    this.tx(() => {
      for (const row of rows) {
        const b = this.store.block(BigInt(row.mined_block!));
        if (b && b.hash !== row.mined_block_hash) continue; // not canonical: the reorg handling deals with it
        const ok = this.change(() => {
          if (row.receipt_status === 'success') {
            this.store.setState(row.id, 'confirmed');
            this.emit({ type: 'confirmed', tx: this.info(row, row.mined_hash as Hex), block: BigInt(row.mined_block!) });
          } else {
            this.store.setState(row.id, 'reverted');
            this.emit({ type: 'reverted', tx: this.info(row, row.mined_hash as Hex), block: BigInt(row.mined_block!), error: this.revertError(row) });
          }
        });
        if (ok) done.push(row);
      }
    });
    for (const row of done) {
      if (row.receipt_status === 'success') this.metrics.confirmed.inc();
      else this.metrics.reverted.inc();
      if (row.first_sent_block !== null) this.metrics.confirmationBlocks.observe(Math.max(0, Number(cursor) - row.first_sent_block));
      this.dropHashes(row.id);
    }
    if (done.length) this.notifyCapacity();
  }

  private revertError(row: TxRow): MetaSchedulerError {
    const fn = functionNameOf(row.data);
    if (row.revert_data) return decodeRevertData(row.revert_data as Hex, { functionName: fn });
    return new MetaSchedulerError({
      name: 'Error',
      args: { reason: `transaction ${String(row.mined_hash)} reverted in block ${String(row.mined_block)}, but replaying it at that block does not revert (out of gas, or the state changed within the block)` },
      functionName: fn,
    });
  }

  /**
   * Nonces between the chain's and our highest stored one that no stored
   * transaction holds (a database restored from a backup, a 'lost' nonce
   * whose foreign transaction was reorged out) block everything above them:
   * fill them with 0-value self-transfers. At open at once; later once a
   * hole has lasted replaceAfterBlocks blocks.
   */
  private async fillHoles(initial: boolean, baseFee?: bigint): Promise<void> {
    const L = this.latestNonce;
    if (L === undefined) return;
    const nonces = this.store.liveNoncesFrom(L);
    const have = new Set(nonces);
    const missing: number[] = [];
    const max = nonces.length ? nonces[nonces.length - 1]! : L - 1;
    for (let n = L; n < max; n++) if (!have.has(n)) missing.push(n);
    const now = this.head() ?? this.chainHead ?? 0n;
    for (const n of [...this.holeSince.keys()]) if (!missing.includes(n)) this.holeSince.delete(n);
    const due = missing.filter((n) => {
      if (initial) return true;
      const since = this.holeSince.get(n);
      if (since === undefined) {
        this.holeSince.set(n, now);
        return false;
      }
      return now - since >= BigInt(this.o.replaceAfterBlocks);
    });
    if (!due.length) return;
    const base = baseFee ?? this.lastHeader?.baseFeePerGas ?? (await this.feeData()).base;
    const f = initialFees({ baseFee: base, tip: await this.tip(), cap: this.o.maxFeePerGasWei });
    const items: SendItem[] = [];
    this.tx(() => {
      for (const nonce of due) {
        const s = this.signer.sign({ chainId: this.chainId, nonce, to: this.address, value: 0n, data: '0x', gas: 21_000n, ...f });
        const txId = this.store.insertTx({ nonce, kind: FILLER_KIND, ref: String(nonce), to: this.address, value: 0n, data: '0x', gas: 21_000n });
        this.store.insertAttempt({ hash: s.hash, txId, raw: s.raw, maxFee: f.maxFeePerGas, tip: f.maxPriorityFeePerGas });
        items.push({ txId, nonce, hash: s.hash, raw: s.raw, reason: 'new', firstSent: true });
      }
    });
    for (const it of items) {
      this.addHash(it.txId, it.hash);
      this.holeSince.delete(it.nonce);
    }
    this.log.warn({ nonces: due, chainNonce: L }, 'txpipeline: nonce holes below stored transactions; filled with 0-value self-transfers');
    await this.broadcast(items);
  }

  /**
   * Pending transactions: send what no node accepted yet, re-send what is
   * not mined replaceAfterBlocks after its last send, and replace with bumped
   * fees what was refused as underpriced, is the next nonce and stuck, or can
   * no longer pay the base fee.
   */
  private async resend(): Promise<void> {
    const head = this.chainHead;
    if (head === undefined) return;
    const L = this.latestNonce;
    const rows = this.store.pending().filter((r) => !this.broadcasting.has(r.id) && (L === undefined || r.nonce >= L));
    if (!rows.length) return;
    const base = this.lastHeader?.baseFeePerGas ?? (await this.feeData()).base;
    const tip = await this.tip();
    const bumps: PendingRow[] = [];
    const sends: SendItem[] = [];
    for (const r of rows) {
      const prev: Fees = { maxFeePerGas: BigInt(r.a_max_fee), maxPriorityFeePerGas: BigInt(r.a_priority_fee) };
      const unsent = r.a_sent_block === null;
      const stuck = !unsent && head - BigInt(r.a_sent_block!) >= BigInt(this.o.replaceAfterBlocks);
      const cheap = !includable(prev, base);
      if (this.needsBump.has(r.id) || (stuck && (r.nonce === L || cheap)) || (unsent && cheap)) bumps.push(r);
      else if (unsent || stuck) sends.push(this.resendItem(r));
    }
    if (bumps.length) {
      const created: SendItem[] = [];
      const capped: Array<{ r: PendingRow; bumped: boolean }> = [];
      this.tx(() => {
        for (const r of bumps) {
          const prev: Fees = { maxFeePerGas: BigInt(r.a_max_fee), maxPriorityFeePerGas: BigInt(r.a_priority_fee) };
          const b = bumpFees({ prev, baseFee: base, tip, cap: this.o.maxFeePerGasWei });
          if (!b.ok) {
            capped.push({ r, bumped: false });
            sends.push(this.resendItem(r));
            continue;
          }
          if (b.capped) capped.push({ r, bumped: true });
          const s = this.signer.sign({ chainId: this.chainId, nonce: r.nonce, to: r.to_addr as Address, value: BigInt(r.value), data: r.data as Hex, gas: BigInt(r.gas), ...b.fees });
          this.store.insertAttempt({ hash: s.hash, txId: r.id, raw: s.raw, maxFee: b.fees.maxFeePerGas, tip: b.fees.maxPriorityFeePerGas });
          created.push({ txId: r.id, nonce: r.nonce, hash: s.hash, raw: s.raw, reason: 'replacement', firstSent: r.first_sent_block === null });
        }
      });
      for (const c of created) {
        this.addHash(c.txId, c.hash);
        this.needsBump.delete(c.txId);
        this.metrics.replaced.inc();
      }
      if (created.length) this.log.info({ txs: created.length, nonces: created.slice(0, 10).map((c) => c.nonce), baseFee: base.toString() }, 'txpipeline: replaced with bumped fees');
      const report = capped.filter(({ r }) => this.capReported.get(r.id) !== head);
      if (report.length) {
        for (const { r } of report) this.capReported.set(r.id, head);
        this.metrics.feeCapHits.inc(report.length);
        this.log.error(
          { txs: report.length, nonces: report.slice(0, 10).map(({ r }) => r.nonce), cap: this.o.maxFeePerGasWei.toString(), baseFee: base.toString(), heldAtCap: report.filter((x) => !x.bumped).length },
          'txpipeline: FEE CAP: a needed fee bump is limited by maxFeePerGasWei; the transactions stay at the cap (raise maxFeePerGasWei if the base fee stays above it)',
        );
      }
      sends.push(...created);
    }
    await this.broadcast(sends);
  }

  // ---------------------------------------------------------------- helpers

  /** A transaction; on failure the caches are rebuilt from the database (they may have run ahead of it). */
  private tx(fn: () => void): void {
    try {
      this.db.transaction(fn)();
    } catch (err) {
      this.reloadCaches();
      throw err;
    }
  }

  /** One transaction's state change and its event, in a savepoint; false when the owner's handler threw. */
  private change(fn: () => void): boolean {
    try {
      this.db.transaction(fn)();
      return true;
    } catch (err) {
      if (!(err instanceof HandlerError)) throw err;
      this.metrics.handlerErrors.inc();
      this.log.error({ err: err.message }, 'txpipeline: an owner handler threw; the state change is rolled back and retried later');
      return false;
    }
  }

  private emit(ev: TxEvent): void {
    if (ev.tx.kind === FILLER_KIND) return;
    const h = this.handlers.get(ev.tx.kind);
    if (!h) {
      let q = this.queued.get(ev.tx.kind);
      if (!q) {
        this.queued.set(ev.tx.kind, (q = []));
        this.log.warn({ kind: ev.tx.kind }, 'txpipeline: no handler registered for this kind yet; its events are queued in memory until on() is called');
      }
      q.push(ev);
      return;
    }
    try {
      h(ev);
    } catch (err) {
      throw new HandlerError(`handler of kind ${ev.tx.kind} threw on ${ev.type} of tx ${ev.tx.id}: ${shortError(err)}`, { cause: err });
    }
  }

  private info(row: TxRow, hash?: Hex): TxInfo {
    return { id: row.id, kind: row.kind, ref: row.ref, nonce: row.nonce, hash: hash ?? (this.store.latestAttempt(row.id)?.hash as Hex) };
  }

  private record(row: TxRow): TxRecord {
    return {
      ...this.info(row, (row.mined_hash ?? undefined) as Hex | undefined),
      state: row.state,
      to: row.to_addr as Address,
      data: row.data as Hex,
      value: BigInt(row.value),
      gas: BigInt(row.gas),
      minedBlock: row.mined_block === null ? undefined : BigInt(row.mined_block),
      attempts: this.store.countAttempts(row.id),
    };
  }

  private countRpcError(err: unknown): RpcErrorClass {
    const cls = classifyRpcError(err);
    this.metrics.rpcErrors.inc({ class: cls });
    return cls;
  }
}

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
// This file is the facade, open() and the poll loop; the parts:
//   submitter.ts submit(): simulation, signing and storing, broadcast
//   context.ts   options, RPC/signer/store/log/metrics and the shared caches
//   nonce-sequence.ts next nonce, recovery at open, lost nonces, hole fillers
//   follower.ts  blocks, receipts, reorgs, catch-up, confirmation
//   broadcaster.ts fees read from the node, broadcast, re-send, fee bumps
//   ../chain/heads.ts  the process's new-head subscription (optional)
//   events.ts    owner handlers and their savepoints
//
// State lives in SQLite (txs, tx_attempts, chain_blocks; see schema.ts); the
// in-memory maps (context.ts) are caches rebuilt by open(). Only one pipeline
// may run per database and key at a time.
import type { Address, Hex } from 'viem';

import type { NewHeads } from '../chain/heads.js';
import { getMeta, setMeta } from '../state/db.js';
import { shortError } from './errors.js';
import { PipelineContext } from './context.js';
import { ChainMovedError, Follower } from './follower.js';
import { FILLER_KIND } from './kinds.js';
import { NonceSequence } from './nonce-sequence.js';
import { Broadcaster } from './broadcaster.js';
import { Submitter } from './submitter.js';
import type { TxRow } from './store.js';
import type { RevertError, SubmitOptions, SubmitOutcome, TxEventHandler, TxPipelineHealth, TxPipelineOptions, TxRecord, TxRequest } from './types.js';

export { FILLER_KIND };
const META_CHAIN_ID = 'txpipeline.chain_id';

export class ChainIdMismatchError extends Error {
  override readonly name = 'ChainIdMismatchError';
}


/** The pipeline of one key; `E` is the owners' revert error (what their `revertDecoder` makes). */
export class TxPipeline<E extends RevertError = RevertError> {
  readonly address: Address;
  private readonly ctx: PipelineContext;
  private readonly sender: Broadcaster;
  private readonly follower: Follower;
  private readonly nonces: NonceSequence;
  private readonly submitter: Submitter<E>;
  private readonly heads: NewHeads | undefined;
  private unsubscribeHeads: (() => void) | undefined;

  private polling: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private readonly active = new Set<Promise<void>>();
  private lastError: string | undefined;
  private lastErrorLogAt = 0;
  private lastOkAt = 0;

  private constructor(opts: TxPipelineOptions<E>) {
    this.ctx = new PipelineContext(opts as unknown as TxPipelineOptions);
    this.address = this.ctx.address;
    this.sender = new Broadcaster(this.ctx);
    this.follower = new Follower(this.ctx, this.sender);
    this.nonces = new NonceSequence(this.ctx, this.follower, this.sender);
    this.submitter = new Submitter<E>(this.ctx, this.sender, this.nonces);
    this.heads = opts.heads;
  }

  /** Validates the chain id, rebuilds caches, fills nonce holes and re-broadcasts stored pending transactions. */
  static async open<E extends RevertError = RevertError>(opts: TxPipelineOptions<E>): Promise<TxPipeline<E>> {
    const p = new TxPipeline<E>(opts);
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
  on(kind: string, handler: TxEventHandler<E>): void {
    // The events' errors are made by this pipeline's decoder, whose errors are E.
    this.ctx.events.on(kind, handler as TxEventHandler);
  }

  /** Simulates, signs, stores and broadcasts; one outcome per request, in order. */
  async submit(reqs: TxRequest[], opts: SubmitOptions = {}): Promise<SubmitOutcome<E>[]> {
    const out: SubmitOutcome<E>[] = new Array(reqs.length);
    const job = this.submitter.submitAll(reqs, opts, out);
    this.active.add(job);
    try {
      await job;
    } finally {
      this.active.delete(job);
    }
    return out;
  }

  start(): void {
    if (this.started || this.ctx.stopped) return;
    this.started = true;
    this.timer = setTimeout(this.loop, 0);
    this.unsubscribeHeads = this.heads?.onHead(() => this.kick());
  }

  async stop(): Promise<void> {
    this.ctx.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribeHeads?.();
    this.unsubscribeHeads = undefined;
    this.ctx.notifyCapacity();
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
    return this.ctx.inFlight();
  }

  /** Last processed block. */
  head(): bigint | undefined {
    return this.ctx.head();
  }

  health(): TxPipelineHealth {
    const head = this.head();
    const chainHead = this.ctx.chainHead;
    const lag = head !== undefined && chainHead !== undefined ? Number(chainHead - head) : undefined;
    const staleMs = Date.now() - this.lastOkAt;
    const stale = this.started && staleMs > Math.max(10_000, 5 * this.ctx.settings.pollMs);
    let error = this.lastError ?? (this.ctx.signerError !== undefined ? `signer: ${this.ctx.signerError}` : undefined);
    if (!error && this.follower.behind) error = `the RPC is behind: its head ${String(chainHead)} is below the processed block ${String(head)}; waiting for it`;
    if (!error && stale) error = `no successful poll for ${Math.round(staleMs / 1000)} s`;
    const h: TxPipelineHealth = { ok: error === undefined };
    if (error !== undefined) h.error = error;
    if (head !== undefined) h.head = head;
    if (lag !== undefined) h.lagBlocks = lag;
    return h;
  }

  /** A stored transaction by id (any state, any kind). */
  get(id: number): TxRecord | undefined {
    const row = this.ctx.store.get(id);
    return row ? this.record(row) : undefined;
  }

  /** Stored transactions of an owner's reference, oldest first (lost ones included). */
  find(kind: string, ref: string): TxRecord[] {
    return this.ctx.store.byRef(kind, ref).filter((r) => r.sender === this.address).map((r) => this.record(r));
  }

  /** This key's transactions of a kind not yet confirmed (pending or mined), in nonce order: an owner's work in flight after a restart. */
  unconfirmed(kind: string): TxRecord[] {
    return this.ctx.store.unconfirmed().filter((r) => r.kind === kind).map((r) => this.record(r));
  }

  // ---------------------------------------------------------------- open

  private async recover(): Promise<void> {
    const { ctx } = this;
    let chainId: number;
    try {
      chainId = await ctx.rpc.chainId();
    } catch (err) {
      throw new Error(`txpipeline: cannot reach the RPC at ${ctx.rpcUrl} to check its chain id (${shortError(err)}); check the URL and that the node is up`, { cause: err });
    }
    if (chainId !== ctx.chainId) {
      throw new ChainIdMismatchError(
        `txpipeline: the RPC at ${ctx.rpcUrl} serves chain id ${chainId}, but the pipeline is configured for chain id ${ctx.chainId}: point the RPC URL at the chain with id ${ctx.chainId}, or set the configured chain id to ${chainId} if that node is the right one`,
      );
    }
    const stored = getMeta(ctx.db, META_CHAIN_ID);
    if (stored !== undefined && Number(stored) !== chainId) {
      throw new ChainIdMismatchError(
        `txpipeline: the state database holds transactions for chain id ${stored}, but the RPC and the configuration are for chain id ${chainId}: use the state database of chain ${chainId} (or a fresh one), or point the RPC and the configured chain id back at chain ${stored}`,
      );
    }
    if (stored === undefined) setMeta(ctx.db, META_CHAIN_ID, String(chainId));
    ctx.reloadCaches();

    const [latest, pendingNonce, head] = await Promise.all([
      ctx.rpc.nonce(ctx.address, 'latest'),
      ctx.rpc.nonce(ctx.address, 'pending'),
      ctx.rpc.block('latest'),
    ]);
    if (!head) throw new Error(`txpipeline: the RPC at ${ctx.rpcUrl} returned no latest block`);
    ctx.chainHead = head.number;
    this.nonces.recover(latest, pendingNonce);
    await this.nonces.fillHoles(true, head.baseFeePerGas);
    const rebroadcast = await this.sender.rebroadcastStored(latest);
    ctx.metrics.inFlight.set(this.inFlight());
    this.lastOkAt = Date.now();
    ctx.log.info(
      { chainId, nextNonce: this.nonces.next, chainNonce: latest, chainPendingNonce: pendingNonce, rebroadcast, inFlight: this.inFlight(), cursor: this.head()?.toString() },
      'txpipeline: open',
    );
  }

  // ---------------------------------------------------------------- poll

  private readonly loop = async (): Promise<void> => {
    this.timer = undefined;
    const before = this.head();
    await this.poll();
    if (this.ctx.stopped) return;
    const head = this.head();
    // Still behind after a poll that made progress: go on at once (never spin on one that did not).
    const advanced = head !== undefined && (before === undefined || head > before);
    const catchingUp = advanced && !this.lastError && !this.follower.behind && this.ctx.chainHead !== undefined && this.ctx.chainHead > head;
    if (!this.ctx.stopped) this.heads?.check(advanced);
    this.timer = setTimeout(this.loop, catchingUp ? 0 : this.ctx.settings.pollMs);
  };

  private kick(): void {
    if (this.ctx.stopped || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(this.loop, 0);
  }

  private async pollOnce(): Promise<void> {
    const { ctx } = this;
    try {
      const head = await ctx.rpc.blockNumber();
      ctx.chainHead = head;
      const step = await this.follower.advance(head);
      if (step === 'no_header') return;
      if (step === 'behind') {
        this.lastError = undefined;
        this.lastOkAt = Date.now();
        return;
      }
      await this.nonces.reconcile();
      this.follower.confirm();
      await this.nonces.fillHoles(false);
      await this.sender.resend();
      ctx.metrics.inFlight.set(this.inFlight());
      if (this.lastError) ctx.log.info({ head: head.toString() }, 'txpipeline: RPC reachable again');
      this.lastError = undefined;
      this.lastOkAt = Date.now();
    } catch (err) {
      if (err instanceof ChainMovedError) {
        ctx.log.debug({ err: err.message }, 'txpipeline: the chain moved during a poll; starting over');
        return;
      }
      const cls = ctx.countRpcError(err);
      const msg = `${cls}: ${shortError(err)}`;
      const now = Date.now();
      if (msg !== this.lastError || now - this.lastErrorLogAt > 30_000) {
        ctx.log.warn({ class: cls, err: shortError(err) }, 'txpipeline: poll failed; retrying at the next one');
        this.lastErrorLogAt = now;
      }
      this.lastError = msg;
    }
  }

  // ---------------------------------------------------------------- helpers

  private record(row: TxRow): TxRecord {
    return {
      ...this.ctx.info(row, (row.mined_hash ?? undefined) as Hex | undefined),
      state: row.state,
      to: row.to_addr as Address,
      data: row.data as Hex,
      value: BigInt(row.value),
      gas: BigInt(row.gas),
      minedBlock: row.mined_block === null ? undefined : BigInt(row.mined_block),
      attempts: this.ctx.store.countAttempts(row.id),
    };
  }
}

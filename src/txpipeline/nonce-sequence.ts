// nonce-sequence.ts - all nonce handling of the pipeline: the next nonce, taken
// under a lock (one allocation at a time) for the signatures and the SQLite
// transaction that stores them, and moved past them only once stored; at
// open, the next nonce from the chain's latest and pending nonces and the
// stored rows; at every poll, pending transactions
// whose nonce the chain consumed (one of our attempts mined, or 'lost' to a
// transaction we did not sign); and holes below stored nonces, filled with
// 0-value self-transfers.
import { initialFees } from './fees.js';
import { FILLER_KIND } from './kinds.js';
import type { PipelineContext } from './context.js';
import type { Follower } from './follower.js';
import type { SendItem, Broadcaster } from './broadcaster.js';
import type { SignedTx, UnsignedTx } from './signer.js';
import type { TxRow } from './store.js';

export class NonceSequence {
  /** The next nonce to sign with. */
  private nextNonce = 0;
  /** Hash of the processed block the last reconcile() ran at. */
  private reconciledAt: string | undefined;
  /** Pending rows whose nonce the chain consumed with no receipt of ours found yet: row id -> the block first seen so. */
  private readonly missingSince = new Map<number, bigint>();
  /** Nonce hole -> block it was first seen at. */
  private readonly holeSince = new Map<number, bigint>();
  /** Held from taking the next nonces until their rows are stored (or nothing is). */
  private lock: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: PipelineContext,
    private readonly follower: Follower,
    private readonly sender: Broadcaster,
  ) {}

  get next(): number {
    return this.nextNonce;
  }

  /** At open: the chain's nonces (mined, and with its pool) and the highest stored one decide the next nonce. */
  recover(latest: number, pending: number): void {
    this.ctx.latestNonce = latest;
    const maxStored = this.ctx.store.maxNonce();
    this.nextNonce = Math.max(latest, pending, (maxStored ?? -1) + 1);
  }

  /**
   * Under the nonce lock: builds `n` transactions at the next nonces, signs
   * them (a failing signer is waited for until `deadline`), then runs `store`
   * (synchronously: the SQLite transaction that stores them); the next nonce
   * moves past them only once `store` returned. A failure anywhere takes no
   * nonce, and no other allocation runs meanwhile, so nonces stay contiguous
   * whatever the signer does. Should the chain move the next nonce while
   * signing (reconcile()), they are signed again at the new ones.
   */
  async allocate(
    n: number,
    build: (nonce: number, k: number) => UnsignedTx,
    deadline: number,
    store: (signed: Array<{ tx: UnsignedTx; s: SignedTx }>) => void,
  ): Promise<void> {
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    await prev;
    try {
      for (let tries = 0; ; tries++) {
        const start = this.nextNonce;
        const txs = Array.from({ length: n }, (_, k) => build(start + k, k));
        const signed = await this.ctx.signAll(txs, deadline);
        if (this.ctx.stopped) throw new Error('txpipeline: stopped');
        if (this.nextNonce !== start) {
          if (tries < 3) continue;
          throw new Error('txpipeline: the next nonce kept moving while signing');
        }
        store(txs.map((tx, k) => ({ tx, s: signed[k]! })));
        this.nextNonce = start + n;
        return;
      }
    } finally {
      release();
    }
  }

  /**
   * Pending transactions whose nonce the chain already consumed (at the
   * processed block): one of our attempts was mined (recorded), or the nonce
   * went to a transaction we did not sign ('lost').
   */
  async reconcile(): Promise<void> {
    const { ctx, follower } = this;
    const top = ctx.store.cursor();
    if (!top) return;
    // Nothing to learn until a new block is processed (or a node said "nonce too low").
    if (top.hash === this.reconciledAt && !ctx.nonceTooLow) return;
    ctx.nonceTooLow = false;
    const cursor = BigInt(top.number);
    const L = await ctx.rpc.nonce(ctx.address, cursor);
    ctx.latestNonce = L;
    if (L > this.nextNonce) this.nextNonce = L;
    const rows = ctx.store.pendingBelow(L);
    if (!rows.length) {
      this.reconciledAt = top.hash;
      return;
    }
    const found = await follower.receiptsOf(rows);
    const usable = [...found.values()].filter((r) => r.blockNumber <= cursor);
    const stamps = await follower.timestamps(usable);
    const reverts = await follower.replayReverts(usable);
    const lost: TxRow[] = [];
    ctx.tx(() => {
      for (const row of rows) {
        const cur = ctx.store.get(row.id);
        if (cur?.state !== 'pending') {
          this.missingSince.delete(row.id);
          continue;
        }
        const r = found.get(row.id);
        if (r) {
          this.missingSince.delete(row.id);
          if (r.blockNumber <= cursor) follower.applyReceipt(r, stamps.get(r.blockNumber) ?? 0n, reverts.get(r.transactionHash) ?? null);
          continue;
        }
        // Lost only when still without a receipt at a later block: under load a node answered the
        // nonce of a block before the receipts of that block's transactions (34 of 2,000 mined
        // reports were taken for lost in one CI run, then re-planned and found already on chain).
        const since = this.missingSince.get(row.id);
        if (since === undefined || cursor <= since) {
          if (since === undefined) this.missingSince.set(row.id, cursor);
          continue;
        }
        this.missingSince.delete(row.id);
        const ok = ctx.events.change(() => {
          ctx.store.setState(row.id, 'lost');
          ctx.events.emit({ type: 'lost', tx: ctx.info(row) });
        });
        if (ok) lost.push(row);
      }
    });
    this.reconciledAt = top.hash;
    if (!lost.length) return;
    for (const row of lost) ctx.dropHashes(row.id);
    ctx.metrics.lost.inc(lost.length);
    ctx.log.warn(
      { txs: lost.map((r) => ({ id: r.id, kind: r.kind, ref: r.ref, nonce: r.nonce })) },
      'txpipeline: nonce used by a transaction this store did not sign (another signer of the same key?); the owners re-plan',
    );
    const P = await ctx.rpc.nonce(ctx.address, 'pending');
    if (P > this.nextNonce) this.nextNonce = P;
    ctx.notifyCapacity();
  }

  /**
   * Nonces between the chain's and our highest stored one that no stored
   * transaction holds (a database restored from a backup, a 'lost' nonce
   * whose foreign transaction was reorged out) block everything above them:
   * fill them with 0-value self-transfers. At open at once; later once a
   * hole has lasted replaceAfterBlocks blocks.
   */
  async fillHoles(initial: boolean, baseFee?: bigint): Promise<void> {
    const { ctx } = this;
    const L = ctx.latestNonce;
    if (L === undefined) return;
    const nonces = ctx.store.liveNoncesFrom(L);
    const have = new Set(nonces);
    const missing: number[] = [];
    const max = nonces.length ? nonces[nonces.length - 1]! : L - 1;
    for (let n = L; n < max; n++) if (!have.has(n)) missing.push(n);
    const now = ctx.head() ?? ctx.chainHead ?? 0n;
    for (const n of [...this.holeSince.keys()]) if (!missing.includes(n)) this.holeSince.delete(n);
    const due = missing.filter((n) => {
      if (initial) return true;
      const since = this.holeSince.get(n);
      if (since === undefined) {
        this.holeSince.set(n, now);
        return false;
      }
      return now - since >= BigInt(ctx.settings.replaceAfterBlocks);
    });
    if (!due.length || ctx.signerWaiting()) return;
    const base = baseFee ?? ctx.lastHeader?.baseFeePerGas ?? (await this.sender.feeData()).base;
    const f = initialFees({ baseFee: base, tip: await this.sender.tip(), cap: ctx.settings.maxFeePerGasWei });
    let signed: SignedTx[];
    try {
      // One try: a signer that fails is tried again at a later poll, after its backoff.
      signed = await ctx.signAll(due.map((nonce) => ({ chainId: ctx.chainId, nonce, to: ctx.address, value: 0n, data: '0x', gas: 21_000n, ...f })), 0);
    } catch {
      return;
    }
    const items: SendItem[] = [];
    ctx.tx(() => {
      for (const [k, nonce] of due.entries()) {
        const s = signed[k]!;
        const txId = ctx.store.insertTx({ nonce, kind: FILLER_KIND, ref: String(nonce), to: ctx.address, value: 0n, data: '0x', gas: 21_000n });
        ctx.store.insertAttempt({ hash: s.hash, txId, raw: s.raw, maxFee: f.maxFeePerGas, tip: f.maxPriorityFeePerGas });
        items.push({ txId, nonce, hash: s.hash, raw: s.raw, reason: 'new', firstSent: true });
      }
    });
    for (const it of items) {
      ctx.addHash(it.txId, it.hash);
      this.holeSince.delete(it.nonce);
    }
    ctx.log.warn({ nonces: due, chainNonce: L }, 'txpipeline: nonce holes below stored transactions; filled with 0-value self-transfers');
    await this.sender.broadcast(items);
  }
}

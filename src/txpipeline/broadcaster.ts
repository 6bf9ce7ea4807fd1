// broadcaster.ts - getting signed transactions to the node: the fees read from it,
// broadcast (JSON-RPC batches in nonce order, acceptance recorded), and at
// every poll the re-send of what no node accepted or what was dropped, and
// the replacement with bumped fees of what is refused as underpriced or stuck.
import type { Address, Hex } from 'viem';

import { classifyRpcError, shortError, type RpcErrorClass } from './errors.js';
import { bumpFees, includable, type Fees } from './fees.js';
import { GWEI, type PipelineContext } from './context.js';
import type { SignedTx, UnsignedTx } from './signer.js';
import { FILLER_KIND } from './kinds.js';
import type { PendingRow, TxRow } from './store.js';

/** Raw transactions per JSON-RPC batch. */
const SEND_BATCH = 250;

/**
 * Node answers that sending again does not change (a transaction that passed
 * simulation, then refused: over the block gas limit, invalid). After
 * GIVE_UP_AFTER of them in a row the transaction is given up: `lost` (its
 * owner re-plans), and its nonce, now a hole, is filled with a 0-value
 * self-transfer (nonce-sequence.ts) so it no longer blocks every later nonce.
 */
const REFUSED_FOR_GOOD: ReadonlySet<RpcErrorClass> = new Set(['gas_limit', 'invalid', 'reverted']);
const GIVE_UP_AFTER = 3;

export interface SendItem {
  txId: number;
  nonce: number;
  hash: Hex;
  raw: Hex;
  /** new: first send of a new transaction; replacement: first send of a fee bump; resend: an attempt sent again. */
  reason: 'new' | 'replacement' | 'resend';
  /** The transaction was never accepted by a node before (counts as `sent` when this one is). */
  firstSent: boolean;
}

function resendItem(r: PendingRow): SendItem {
  return { txId: r.id, nonce: r.nonce, hash: r.a_hash as Hex, raw: r.a_raw as Hex, reason: 'resend', firstSent: r.first_sent_block === null };
}

export class Broadcaster {
  private tipCache: { block: bigint; tip: bigint } | undefined;
  /** Refusals for good in a row, by transaction id. */
  private readonly refusals = new Map<number, number>();

  constructor(private readonly ctx: PipelineContext) {}

  async feeData(): Promise<{ base: bigint; gasLimit: bigint; tip: bigint }> {
    const [hdr, tip] = await Promise.all([this.ctx.rpc.block('latest'), this.tip()]);
    if (!hdr) throw new Error('the node returned no latest block');
    if (this.ctx.chainHead === undefined || hdr.number > this.ctx.chainHead) this.ctx.chainHead = hdr.number;
    return { base: hdr.baseFeePerGas, gasLimit: hdr.gasLimit, tip };
  }

  async tip(): Promise<bigint> {
    if (this.ctx.settings.priorityFeeWei !== undefined) return this.ctx.settings.priorityFeeWei;
    const head = this.ctx.chainHead ?? -1n;
    if (this.tipCache && this.tipCache.block === head) return this.tipCache.tip;
    let tip: bigint;
    try {
      tip = await this.ctx.rpc.maxPriorityFeePerGas();
    } catch (err) {
      if (classifyRpcError(err) !== 'unsupported_method') throw err;
      tip = GWEI;
    }
    this.tipCache = { block: head, tip };
    return tip;
  }

  /** At open: re-broadcasts the stored pending transactions the chain has not consumed; returns how many. */
  async rebroadcastStored(latestNonce: number): Promise<number> {
    const rows = this.ctx.store.pending().filter((r) => r.nonce >= latestNonce);
    await this.broadcast(rows.map((r) => resendItem(r)));
    return rows.length;
  }

  /** Sends concurrently (one JSON-RPC batch), in nonce order; records acceptance; never throws. */
  async broadcast(items: SendItem[]): Promise<void> {
    const { ctx } = this;
    if (!items.length) return;
    items.sort((a, b) => a.nonce - b.nonce);
    for (const it of items) ctx.broadcasting.add(it.txId);
    const results: unknown[] = [];
    try {
      // Concurrent within a JSON-RPC batch, batches in nonce order (nodes limit how many future nonces they queue).
      for (let i = 0; i < items.length; i += SEND_BATCH) {
        const part = items.slice(i, i + SEND_BATCH);
        results.push(...(await Promise.all(part.map((it) => ctx.rpc.sendRawTransaction(it.raw).then(() => undefined, (err: unknown) => err ?? new Error('unknown error'))))));
      }
    } finally {
      for (const it of items) ctx.broadcasting.delete(it.txId);
    }
    const head = ctx.chainHead ?? 0n;
    const failures = new Map<RpcErrorClass, { n: number; nonces: number[]; err: string }>();
    let accepted = 0;
    const givenUp: Array<{ row: TxRow; err: string }> = [];
    try {
      ctx.db.transaction(() => {
        items.forEach((it, k) => {
          const err = results[k];
          const cls = err === undefined ? undefined : classifyRpcError(err);
          if (err === undefined || (cls !== undefined && !REFUSED_FOR_GOOD.has(cls))) this.refusals.delete(it.txId);
          if (err === undefined || cls === 'already_known') {
            ctx.store.markSent(it.txId, it.hash, head);
            accepted++;
            if (it.firstSent) ctx.metrics.sent.inc();
            if (it.reason === 'resend') ctx.metrics.rebroadcast.inc();
            return;
          }
          ctx.metrics.rpcErrors.inc({ class: cls! });
          if (cls === 'replacement_underpriced' || cls === 'underpriced') ctx.needsBump.add(it.txId);
          if (cls === 'nonce_too_low') ctx.nonceTooLow = true;
          if (REFUSED_FOR_GOOD.has(cls!)) {
            const n = (this.refusals.get(it.txId) ?? 0) + 1;
            this.refusals.set(it.txId, n);
            const row = ctx.store.get(it.txId);
            if (n >= GIVE_UP_AFTER && row?.state === 'pending' && row.kind !== FILLER_KIND) {
              const ok = ctx.events.change(() => {
                ctx.store.setState(row.id, 'lost');
                ctx.events.emit({ type: 'lost', tx: ctx.info(row) });
              });
              if (ok) {
                this.refusals.delete(it.txId);
                givenUp.push({ row, err: shortError(err) });
              }
            }
          }
          let f = failures.get(cls!);
          if (!f) failures.set(cls!, (f = { n: 0, nonces: [], err: shortError(err) }));
          f.n++;
          if (f.nonces.length < 10) f.nonces.push(it.nonce);
        });
      })();
    } catch (err) {
      ctx.log.error({ err: shortError(err) }, 'txpipeline: could not record broadcast results (they are re-sent at the next poll)');
    }
    if (givenUp.length) {
      for (const { row } of givenUp) ctx.dropHashes(row.id);
      ctx.metrics.lost.inc(givenUp.length);
      ctx.log.error(
        { txs: givenUp.map(({ row, err }) => ({ id: row.id, kind: row.kind, ref: row.ref, nonce: row.nonce, err })), after: GIVE_UP_AFTER },
        'txpipeline: transactions refused by the node for good after they passed simulation: given up (their owners re-plan) and their nonces filled with 0-value self-transfers so later ones are not blocked',
      );
    }
    for (const [cls, f] of failures) {
      const c = { class: cls, txs: f.n, nonces: f.nonces, err: f.err };
      switch (cls) {
        case 'network':
        case 'timeout':
        case 'server':
        case 'rate_limited':
        case 'pool_full':
          ctx.log.warn(c, 'txpipeline: broadcast failed; the signed transactions are stored and re-sent at the next poll');
          break;
        case 'insufficient_funds':
          ctx.log.error(c, `txpipeline: INSUFFICIENT FUNDS: the node refuses transactions of ${ctx.address}: fund this account; they are re-sent at every poll`);
          break;
        case 'nonce_too_low':
          ctx.log.info(c, 'txpipeline: nonce already used on chain; the follower checks whether one of our attempts was mined');
          break;
        case 'underpriced':
        case 'replacement_underpriced':
          ctx.log.info(c, 'txpipeline: refused as underpriced; replaced with bumped fees at the next poll');
          break;
        default:
          ctx.log.error(c, 'txpipeline: broadcast refused; re-sent at the next poll');
      }
    }
    if (accepted) ctx.log.debug({ accepted, of: items.length }, 'txpipeline: broadcast');
  }

  /** Sends again the latest attempt of transactions a reorg put back to pending. */
  async resendUnmined(rows: TxRow[]): Promise<void> {
    const items: SendItem[] = [];
    for (const row of rows) {
      const a = this.ctx.store.latestAttempt(row.id);
      if (a) items.push({ txId: row.id, nonce: row.nonce, hash: a.hash as Hex, raw: a.raw as Hex, reason: 'resend', firstSent: false });
    }
    await this.broadcast(items);
  }

  /**
   * Pending transactions: send what no node accepted yet, re-send what is
   * not mined replaceAfterBlocks after its last send, and replace with bumped
   * fees what was refused as underpriced, is the next nonce and stuck, or can
   * no longer pay the base fee.
   */
  async resend(): Promise<void> {
    const { ctx } = this;
    const head = ctx.chainHead;
    if (head === undefined) return;
    const L = ctx.latestNonce;
    const rows = ctx.store.pending().filter((r) => !ctx.broadcasting.has(r.id) && (L === undefined || r.nonce >= L));
    if (!rows.length) return;
    const base = ctx.lastHeader?.baseFeePerGas ?? (await this.feeData()).base;
    const tip = await this.tip();
    const bumps: PendingRow[] = [];
    const sends: SendItem[] = [];
    for (const r of rows) {
      const prev: Fees = { maxFeePerGas: BigInt(r.a_max_fee), maxPriorityFeePerGas: BigInt(r.a_priority_fee) };
      const unsent = r.a_sent_block === null;
      const stuck = !unsent && head - BigInt(r.a_sent_block!) >= BigInt(ctx.settings.replaceAfterBlocks);
      const cheap = !includable(prev, base);
      if (ctx.needsBump.has(r.id) || (stuck && (r.nonce === L || cheap)) || (unsent && cheap)) bumps.push(r);
      else if (unsent || stuck) sends.push(resendItem(r));
    }
    if (bumps.length) {
      const created: SendItem[] = [];
      const capped: Array<{ r: PendingRow; bumped: boolean }> = [];
      const toSign: Array<{ r: PendingRow; fees: Fees; tx: UnsignedTx }> = [];
      for (const r of bumps) {
        const prev: Fees = { maxFeePerGas: BigInt(r.a_max_fee), maxPriorityFeePerGas: BigInt(r.a_priority_fee) };
        const b = bumpFees({ prev, baseFee: base, tip, cap: ctx.settings.maxFeePerGasWei });
        if (!b.ok) {
          capped.push({ r, bumped: false });
          sends.push(resendItem(r));
          continue;
        }
        if (b.capped) capped.push({ r, bumped: true });
        toSign.push({ r, fees: b.fees, tx: { chainId: ctx.chainId, nonce: r.nonce, to: r.to_addr as Address, value: BigInt(r.value), data: r.data as Hex, gas: BigInt(r.gas), ...b.fees } });
      }
      // Signed before the transaction that stores them (one try; a failing signer is tried again at a
      // later poll, after its backoff): meanwhile the signed attempts we have are re-sent as they are.
      let signed: SignedTx[] | undefined;
      if (toSign.length && !ctx.signerWaiting()) signed = await ctx.signAll(toSign.map((x) => x.tx), 0).catch(() => undefined);
      if (!signed) for (const { r } of toSign) sends.push(resendItem(r));
      else {
        ctx.tx(() => {
          toSign.forEach(({ r, fees }, k) => {
            if (ctx.store.get(r.id)?.state !== 'pending') return; // mined or lost while signing
            const s = signed[k]!;
            ctx.store.insertAttempt({ hash: s.hash, txId: r.id, raw: s.raw, maxFee: fees.maxFeePerGas, tip: fees.maxPriorityFeePerGas });
            created.push({ txId: r.id, nonce: r.nonce, hash: s.hash, raw: s.raw, reason: 'replacement', firstSent: r.first_sent_block === null });
          });
        });
      }
      for (const c of created) {
        ctx.addHash(c.txId, c.hash);
        ctx.needsBump.delete(c.txId);
        ctx.metrics.replaced.inc();
      }
      if (created.length) ctx.log.info({ txs: created.length, nonces: created.slice(0, 10).map((c) => c.nonce), baseFee: base.toString() }, 'txpipeline: replaced with bumped fees');
      const report = capped.filter(({ r }) => ctx.capReported.get(r.id) !== head);
      if (report.length) {
        for (const { r } of report) ctx.capReported.set(r.id, head);
        ctx.metrics.feeCapHits.inc(report.length);
        ctx.log.error(
          { txs: report.length, nonces: report.slice(0, 10).map(({ r }) => r.nonce), cap: ctx.settings.maxFeePerGasWei.toString(), baseFee: base.toString(), heldAtCap: report.filter((x) => !x.bumped).length },
          'txpipeline: FEE CAP: a needed fee bump is limited by maxFeePerGasWei; the transactions stay at the cap (raise maxFeePerGasWei if the base fee stays above it)',
        );
      }
      sends.push(...created);
    }
    await this.broadcast(sends);
  }
}

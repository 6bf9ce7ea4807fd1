// follower.ts - block following: from the cursor (the highest chain_blocks
// row) to the node's head, headers and, for blocks holding our transactions,
// their receipts (eth_getBlockReceipts, per hash when the node lacks it);
// reorgs found by parent hash (transactions of orphaned blocks back to
// pending, re-sent); far behind (after an outage) or a reorg deeper than the
// kept headers: unconfirmed transactions checked by receipt and a jump to the
// head; mined transactions at the confirmation depth confirmed (or reverted).
import type { Address, Hex } from 'viem';

import { classifyRpcError } from './errors.js';
import { minBig } from './fees.js';
import { lower, type PipelineContext } from './context.js';
import type { Header, Receipt } from './rpc.js';
import type { Broadcaster } from './broadcaster.js';
import type { BlockRow, TxRow } from './store.js';
import type { RevertError } from './types.js';

/** The chain moved while a poll read it: the poll stops and the next one starts over. */
export class ChainMovedError extends Error {
  override readonly name = 'ChainMovedError';
}

export class Follower {
  /** The RPC's head is below the processed block: waiting for it (health reports it). */
  behind = false;
  private noBlockReceipts = false;

  constructor(
    private readonly ctx: PipelineContext,
    private readonly sender: Broadcaster,
  ) {}

  /**
   * Follows towards the node's head `head`: 'followed' (or jumped), 'behind'
   * (the RPC is below the processed block: nothing done) or 'no_header' (no
   * cursor yet and the node did not return the head block).
   */
  async advance(head: bigint): Promise<'followed' | 'behind' | 'no_header'> {
    const { ctx } = this;
    const cursor = ctx.store.cursor();
    if (!cursor) {
      const h = await ctx.rpc.block(head);
      if (!h) return 'no_header';
      ctx.tx(() => ctx.store.insertBlock(h));
      ctx.lastHeader = h;
    } else if (head < BigInt(cursor.number)) {
      if (!this.behind) ctx.log.warn({ rpcHead: head.toString(), processed: cursor.number }, 'txpipeline: the RPC is behind the blocks already processed; waiting for it to catch up');
      this.behind = true;
      return 'behind';
    } else if (head - BigInt(cursor.number) > BigInt(ctx.settings.maxCatchUpBlocks)) {
      await this.jump(head);
    } else {
      await this.follow(head, cursor);
    }
    if (this.behind) ctx.log.info({ rpcHead: head.toString() }, 'txpipeline: the RPC caught up');
    this.behind = false;
    return 'followed';
  }

  /** Follows from the cursor to (at most blocksPerPoll past it) the head. */
  private async follow(head: bigint, cursor: BlockRow): Promise<void> {
    const { ctx } = this;
    const from = BigInt(cursor.number);
    const to = minBig(head, from + BigInt(ctx.settings.blocksPerPoll));
    const numbers: bigint[] = [];
    for (let n = from; n <= to; n++) numbers.push(n);
    const headers = await Promise.all(numbers.map((n) => ctx.rpc.block(n)));
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
    ctx.lastHeader = prev;
    if (!good.length) return;
    const found = await Promise.all(good.map((h) => this.ourReceipts(h)));
    const reverts = await this.replayReverts(found.flat());
    ctx.tx(() => {
      good.forEach((h, i) => {
        ctx.store.insertBlock(h);
        for (const r of found[i]!) this.applyReceipt(r, h.timestamp, reverts.get(r.transactionHash) ?? null);
      });
      ctx.store.deleteBlocksBelow(prev.number - BigInt(ctx.settings.keepBlocks) + 1n);
    });
  }

  /** Receipts of our transactions included in a block (none fetched when it holds none). */
  private async ourReceipts(h: Header): Promise<Receipt[]> {
    const { ctx } = this;
    const ours = h.transactions.map(lower).filter((x) => ctx.hashToTx.has(x));
    if (!ours.length) return [];
    let all: Receipt[] | null = null;
    if (!this.noBlockReceipts) {
      try {
        all = await ctx.rpc.blockReceipts(h.number);
      } catch (err) {
        if (classifyRpcError(err) !== 'unsupported_method') throw err;
        this.noBlockReceipts = true;
        ctx.log.info('txpipeline: the node lacks eth_getBlockReceipts; reading receipts one by one');
      }
    }
    let mine: Receipt[];
    if (all) {
      const want = new Set(ours);
      mine = all.filter((r) => want.has(lower(r.transactionHash)));
    } else {
      mine = (await Promise.all(ours.map((x) => ctx.rpc.receipt(x as Hex)))).filter((r): r is Receipt => r !== null);
    }
    if (mine.length !== ours.length || mine.some((r) => r.blockHash !== h.hash)) {
      throw new ChainMovedError(`receipts of block ${h.number} do not match its header`);
    }
    return mine.map((r) => ({ ...r, transactionHash: lower(r.transactionHash) as Hex }));
  }

  /** Revert data of reverted receipts, found by replaying each call at its block ('' when the replay does not revert). */
  async replayReverts(rs: Receipt[]): Promise<Map<string, string>> {
    const { ctx } = this;
    const out = new Map<string, string>();
    await Promise.all(
      rs
        .filter((r) => r.status === 'reverted')
        .map(async (r) => {
          const row = ctx.store.get(ctx.hashToTx.get(lower(r.transactionHash)) ?? -1);
          if (!row) return;
          try {
            await ctx.rpc.ethCall({ from: ctx.address, to: row.to_addr as Address, data: row.data as Hex, value: BigInt(row.value), gas: BigInt(row.gas) }, r.blockNumber);
            out.set(r.transactionHash, '');
          } catch (err) {
            const m = ctx.reverts.fromError(err, ctx.functionNameOf(row.data));
            if (m) out.set(r.transactionHash, m.data ?? '0x');
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
  applyReceipt(r: Receipt, timestamp: bigint, revertData: string | null): void {
    const { ctx } = this;
    const txId = ctx.hashToTx.get(lower(r.transactionHash));
    if (txId === undefined) return;
    let row = ctx.store.get(txId);
    if (!row || (row.state !== 'pending' && row.state !== 'mined')) return;
    const hash = lower(r.transactionHash);
    if (row.state === 'mined') {
      if (row.mined_hash === hash && row.mined_block === Number(r.blockNumber) && row.mined_block_hash === r.blockHash) return;
      // Recorded in another block (or as another attempt): that one is gone.
      if (!this.unmine(row)) return;
      row = ctx.store.get(txId)!;
    }
    const ok = ctx.events.change(() => {
      ctx.store.setMined(txId, { hash, block: r.blockNumber, blockHash: r.blockHash, status: r.status, revertData: r.status === 'reverted' ? (revertData ?? '') : null });
      if (r.status === 'success') {
        ctx.events.emit({ type: 'mined', tx: ctx.info(row, hash as Hex), block: r.blockNumber, blockHash: r.blockHash, timestamp });
      }
    });
    if (ok) {
      ctx.needsBump.delete(txId);
      if (r.status === 'reverted') ctx.log.warn({ txId, kind: row.kind, ref: row.ref, nonce: row.nonce, hash, block: r.blockNumber.toString() }, 'txpipeline: transaction mined but reverted; reported to its owner at the confirmation depth');
    }
  }

  /**
   * The cursor block is no longer canonical: find the fork point among the
   * kept headers, put transactions mined above it back to pending (event
   * 'unmined') and re-send them (the new chain may not hold them).
   */
  private async handleReorg(head: bigint): Promise<void> {
    const { ctx } = this;
    const stored = ctx.store.blocksDesc();
    let fork: BlockRow | undefined;
    for (let i = 0; i < stored.length && !fork; i += 16) {
      const chunk = stored.slice(i, i + 16);
      const hs = await Promise.all(chunk.map((b) => ctx.rpc.block(BigInt(b.number))));
      fork = chunk.find((b, j) => hs[j]?.hash === b.hash);
    }
    if (!fork) {
      ctx.log.error({ kept: stored.length }, 'txpipeline: reorg deeper than the kept headers; checking every unconfirmed transaction by receipt');
      await this.jump(head, true);
      return;
    }
    const forkN = BigInt(fork.number);
    const rows = ctx.store.minedAbove(forkN);
    const unmined: TxRow[] = [];
    ctx.tx(() => {
      ctx.store.deleteBlocksAbove(forkN);
      for (const row of rows) if (this.unmine(row)) unmined.push(row);
    });
    ctx.lastHeader = undefined;
    const depth = Number(BigInt(stored[0]!.number) - forkN);
    ctx.log.warn({ fork: fork.number, depth, unmined: unmined.length }, 'txpipeline: reorg; transactions of orphaned blocks are pending again and re-sent');
    await this.sender.resendUnmined(unmined);
  }

  /** Back to pending (inside a transaction); false when the owner's handler refused. */
  private unmine(row: TxRow): boolean {
    const { ctx } = this;
    const deep = row.state === 'confirmed' || row.state === 'reverted';
    if (deep) {
      ctx.log.error(
        { txId: row.id, kind: row.kind, ref: row.ref, nonce: row.nonce, block: row.mined_block, state: row.state },
        `txpipeline: REORG DEEPER THAN THE CONFIRMATION DEPTH (${ctx.settings.confirmations}): a ${row.state} transaction left the canonical chain; it is pending again`,
      );
    }
    const ok = ctx.events.change(() => {
      ctx.store.setPending(row.id);
      if (row.receipt_status === 'success' || deep) ctx.events.emit({ type: 'unmined', tx: ctx.info(row) });
    });
    if (ok) {
      ctx.metrics.unmined.inc();
      if (deep) ctx.restoreHashes(row.id);
    }
    return ok;
  }

  /**
   * Far behind (or a reorg deeper than the kept headers): check every
   * unconfirmed transaction by receipt and restart following at the head,
   * instead of scanning every block in between.
   */
  private async jump(head: bigint, afterReorg = false): Promise<void> {
    const { ctx } = this;
    const cursor = ctx.head();
    if (!afterReorg) ctx.log.warn({ processed: cursor?.toString(), head: head.toString() }, 'txpipeline: far behind the chain; checking unconfirmed transactions by receipt and jumping to the head');
    const hdr = await ctx.rpc.block(head);
    if (!hdr) return;
    const rows = ctx.store.unconfirmed();
    const found = await this.receiptsOf(rows);
    const stamps = await this.timestamps([...found.values()]);
    const reverts = await this.replayReverts([...found.values()]);
    const unmined: TxRow[] = [];
    ctx.tx(() => {
      ctx.store.clearBlocks();
      ctx.store.insertBlock(hdr);
      for (const row of rows) {
        const r = found.get(row.id);
        if (r && r.blockNumber <= head) {
          this.applyReceipt(r, stamps.get(r.blockNumber) ?? 0n, reverts.get(r.transactionHash) ?? null);
        } else if (!r && row.state === 'mined') {
          if (this.unmine(row)) unmined.push(row);
        }
      }
    });
    ctx.lastHeader = hdr;
    await this.sender.resendUnmined(unmined);
  }

  /** The receipt of whichever attempt of each transaction was mined, by tx id. */
  async receiptsOf(rows: TxRow[]): Promise<Map<number, Receipt>> {
    const { ctx } = this;
    const out = new Map<number, Receipt>();
    const CHUNK = 200;
    const all: Array<{ txId: number; hash: string }> = [];
    for (const row of rows) for (const a of ctx.store.attempts(row.id)) all.push({ txId: row.id, hash: a.hash });
    for (let i = 0; i < all.length; i += CHUNK) {
      const part = all.slice(i, i + CHUNK);
      const rs = await Promise.all(part.map((x) => ctx.rpc.receipt(x.hash as Hex)));
      rs.forEach((r, k) => {
        if (r) out.set(part[k]!.txId, { ...r, transactionHash: lower(r.transactionHash) as Hex });
      });
    }
    return out;
  }

  /** Timestamps of the receipts' blocks, from the kept headers or the node. */
  async timestamps(rs: Receipt[]): Promise<Map<bigint, bigint>> {
    const { ctx } = this;
    const out = new Map<bigint, bigint>();
    const need = [...new Set(rs.map((r) => r.blockNumber))];
    const missing: bigint[] = [];
    for (const n of need) {
      const b = ctx.store.block(n);
      if (b) out.set(n, BigInt(b.timestamp));
      else missing.push(n);
    }
    const hs = await Promise.all(missing.map((n) => ctx.rpc.block(n)));
    hs.forEach((h, k) => {
      if (h) out.set(missing[k]!, h.timestamp);
    });
    return out;
  }

  /** Mined transactions at the confirmation depth become confirmed (or reverted). */
  confirm(): void {
    const { ctx } = this;
    const cursor = ctx.head();
    if (cursor === undefined) return;
    const rows = ctx.store.minedAtDepth(cursor - BigInt(ctx.settings.confirmations) + 1n);
    if (!rows.length) return;
    const done: TxRow[] = [];
    ctx.tx(() => {
      for (const row of rows) {
        const b = ctx.store.block(BigInt(row.mined_block!));
        if (b && b.hash !== row.mined_block_hash) continue; // not canonical: the reorg handling deals with it
        const ok = ctx.events.change(() => {
          if (row.receipt_status === 'success') {
            ctx.store.setState(row.id, 'confirmed');
            ctx.events.emit({ type: 'confirmed', tx: ctx.info(row, row.mined_hash as Hex), block: BigInt(row.mined_block!) });
          } else {
            ctx.store.setState(row.id, 'reverted');
            ctx.events.emit({ type: 'reverted', tx: ctx.info(row, row.mined_hash as Hex), block: BigInt(row.mined_block!), error: revertError(ctx, row) });
          }
        });
        if (ok) done.push(row);
      }
    });
    for (const row of done) {
      if (row.receipt_status === 'success') ctx.metrics.confirmed.inc();
      else ctx.metrics.reverted.inc();
      if (row.first_sent_block !== null) ctx.metrics.confirmationBlocks.observe(Math.max(0, Number(cursor) - row.first_sent_block));
      ctx.dropHashes(row.id);
    }
    if (done.length) ctx.notifyCapacity();
  }
}

function revertError(ctx: PipelineContext, row: TxRow): RevertError {
  const fn = ctx.functionNameOf(row.data);
  if (row.revert_data) return ctx.reverts.fromData(row.revert_data as Hex, fn);
  return ctx.reverts.fromReason(
    `transaction ${String(row.mined_hash)} reverted in block ${String(row.mined_block)}, but replaying it at that block does not revert (out of gas, or the state changed within the block)`,
    fn,
  );
}

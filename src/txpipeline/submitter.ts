// submitter.ts - submit()'s work, one chunk of requests at a time: every
// request simulated (eth_estimateGas, concurrently) while the fees are read;
// a revert or an unreachable node answers without taking a nonce; the rest
// are signed at the next nonces under the nonce lock and stored in one SQLite
// transaction (onSigned inside it), then broadcast. A chunk is at most the
// in-flight room; submitAll waits (up to submitWaitMs) for room between them.
import { shortError } from './errors.js';
import { gasWithMargin, initialFees, minBig } from './fees.js';
import type { PipelineContext } from './context.js';
import { FILLER_KIND } from './kinds.js';
import type { NonceSequence } from './nonce-sequence.js';
import type { Broadcaster, SendItem } from './broadcaster.js';
import { SigningError } from './signer.js';
import type { RevertDecoder, RevertError, SubmitOptions, SubmitOutcome, TxRequest } from './types.js';

export function retryError(msg: string, cause?: unknown): Error {
  return new Error(msg, cause === undefined ? undefined : { cause });
}

export class Submitter<E extends RevertError> {
  constructor(
    private readonly ctx: PipelineContext,
    private readonly sender: Broadcaster,
    private readonly nonces: NonceSequence,
  ) {}

  async submitAll(reqs: TxRequest[], opts: SubmitOptions, out: SubmitOutcome<E>[]): Promise<void> {
    for (const r of reqs) {
      if (r.kind === FILLER_KIND) throw new Error(`txpipeline: kind ${FILLER_KIND} is reserved`);
    }
    const deadline = Date.now() + this.ctx.settings.submitWaitMs;
    let i = 0;
    while (i < reqs.length) {
      if (this.ctx.stopped) {
        for (; i < reqs.length; i++) out[i] = { ok: false, retry: retryError('txpipeline: stopped') };
        return;
      }
      const room = this.ctx.settings.maxInFlight - this.ctx.inFlight();
      if (room <= 0) {
        if (await this.ctx.waitCapacity(deadline)) continue;
        const err = retryError(`txpipeline: ${this.ctx.inFlight()} transactions in flight (maxInFlight ${this.ctx.settings.maxInFlight}): try later`);
        for (; i < reqs.length; i++) out[i] = { ok: false, retry: err };
        return;
      }
      const n = Math.min(room, reqs.length - i);
      await this.submitChunk(reqs, i, n, opts, out);
      i += n;
    }
  }

  private async submitChunk(reqs: TxRequest[], start: number, n: number, opts: SubmitOptions, out: SubmitOutcome<E>[]): Promise<void> {
    const { ctx } = this;
    const idx = Array.from({ length: n }, (_, k) => start + k);
    const feeP = this.sender.feeData();
    const sims = idx.map((i) => {
      const r = reqs[i]!;
      return ctx.rpc
        .estimateGas({ from: ctx.address, to: r.to, data: r.data, value: r.value ?? 0n }, ctx.settings.simulateBlockTag)
        .then((gas) => ({ gas }), (err: unknown) => ({ err }));
    });
    let fee: { base: bigint; gasLimit: bigint; tip: bigint };
    try {
      fee = await feeP;
    } catch (err) {
      await Promise.all(sims);
      const cls = ctx.countRpcError(err);
      const e = retryError(`txpipeline: cannot read fees from ${ctx.rpcUrl} (${cls}: ${shortError(err)})`, err);
      for (const i of idx) out[i] = { ok: false, retry: e };
      return;
    }
    const results = await Promise.all(sims);
    const pass: Array<{ i: number; gas: bigint }> = [];
    const failed = new Map<string, number>();
    results.forEach((res, k) => {
      const i = idx[k]!;
      if ('gas' in res) pass.push({ i, gas: minBig(gasWithMargin(res.gas, ctx.settings.gasMargin), fee.gasLimit) });
      else {
        out[i] = this.simulationOutcome(res.err, reqs[i]!);
        const o = out[i] as { revert?: RevertError };
        const key = o.revert ? `revert:${o.revert.name}` : 'retry';
        failed.set(key, (failed.get(key) ?? 0) + 1);
      }
    });
    if (failed.size) ctx.log.debug({ failed: Object.fromEntries(failed) }, 'txpipeline: requests that did not pass simulation (no nonce taken)');
    if (!pass.length) return;
    if (ctx.stopped) {
      for (const p of pass) out[p.i] = { ok: false, retry: retryError('txpipeline: stopped') };
      return;
    }
    const f = initialFees({ baseFee: fee.base, tip: fee.tip, cap: ctx.settings.maxFeePerGasWei });
    if (f.capped) {
      ctx.metrics.feeCapHits.inc(pass.length);
      ctx.log.error(
        { baseFee: fee.base.toString(), wanted: (2n * fee.base + fee.tip).toString(), cap: ctx.settings.maxFeePerGasWei.toString(), txs: pass.length, belowBaseFee: f.belowBaseFee },
        'txpipeline: FEE CAP: maxFeePerGas held at the configured cap, below 2 * baseFee + tip; transactions may be slow (or not accepted while the cap is below the base fee). Raise maxFeePerGasWei if this persists',
      );
    }
    const items: SendItem[] = [];
    try {
      // Under the nonce lock: signed at the next nonces (a failing signer is waited for), then one
      // SQLite transaction stores every row; the nonces are taken only once it committed.
      const build = (nonce: number, k: number) => {
        const req = reqs[pass[k]!.i]!;
        return { chainId: ctx.chainId, nonce, to: req.to, value: req.value ?? 0n, data: req.data, gas: pass[k]!.gas, ...f };
      };
      await this.nonces.allocate(pass.length, build, Date.now() + ctx.settings.submitWaitMs, (signed) =>
        ctx.db.transaction(() => {
          signed.forEach(({ tx, s }, k) => {
            const p = pass[k]!;
            const req = reqs[p.i]!;
            const txId = ctx.store.insertTx({ nonce: tx.nonce, kind: req.kind, ref: req.ref, to: req.to, value: tx.value, data: req.data, gas: p.gas });
            ctx.store.insertAttempt({ hash: s.hash, txId, raw: s.raw, maxFee: f.maxFeePerGas, tip: f.maxPriorityFeePerGas });
            opts.onSigned?.(req, { id: txId, kind: req.kind, ref: req.ref, nonce: tx.nonce, hash: s.hash }, p.i);
            items.push({ txId, nonce: tx.nonce, hash: s.hash, raw: s.raw, reason: 'new', firstSent: true });
          });
        })(),
      );
    } catch (err) {
      items.length = 0;
      const signing = err instanceof SigningError;
      if (!signing) ctx.log.error({ err: shortError(err), txs: pass.length }, 'txpipeline: could not store signed transactions; nothing taken, the requests are answered retry');
      const e = retryError(signing ? shortError(err) : `txpipeline: could not store the signed transactions: ${shortError(err)}`, err);
      for (const p of pass) out[p.i] = { ok: false, retry: e };
      return;
    }
    items.forEach((it, k) => {
      ctx.addHash(it.txId, it.hash);
      ctx.broadcasting.add(it.txId);
      out[pass[k]!.i] = { ok: true, txId: it.txId, nonce: it.nonce, hash: it.hash };
    });
    ctx.metrics.inFlight.set(this.ctx.inFlight());
    await this.sender.broadcast(items);
  }

  private simulationOutcome(err: unknown, req: TxRequest): SubmitOutcome<E> {
    const fn = this.ctx.functionNameOf(req.data, req.functionName);
    const reverts = this.ctx.reverts as RevertDecoder<E>;
    const m = reverts.fromError(err, fn);
    if (m) return { ok: false, revert: m };
    const cls = this.ctx.countRpcError(err);
    if (cls === 'reverted' || cls === 'gas_limit') {
      return { ok: false, revert: reverts.fromReason(shortError(err), fn, err) };
    }
    return { ok: false, retry: retryError(`txpipeline: simulation failed (${cls}: ${shortError(err)})`, err) };
  }

}

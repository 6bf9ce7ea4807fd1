// events.ts - handler dispatch: the owners' handlers by kind, the events
// queued for kinds without one yet, and the savepoint that rolls a state
// change back when its handler throws.
import type { Logger } from 'pino';

import type { Db } from '../state/db.js';
import { shortError } from './errors.js';
import type { TxMetrics } from './metrics.js';
import { FILLER_KIND } from './kinds.js';
import type { TxEvent, TxEventHandler } from './types.js';

/** A handler threw: its state change is rolled back (savepoint) and retried later. */
class HandlerError extends Error {
  override readonly name = 'HandlerError';
}

export class TxEvents {
  private readonly handlers = new Map<string, TxEventHandler>();
  private readonly queued = new Map<string, TxEvent[]>();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly metrics: TxMetrics,
    handlers: Record<string, TxEventHandler>,
  ) {
    for (const [kind, h] of Object.entries(handlers)) this.handlers.set(kind, h);
  }

  /** Registers the handler of a kind and delivers the events queued for it (see TxPipeline.on). */
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

  /** One transaction's state change and its event, in a savepoint; false when the owner's handler threw. */
  change(fn: () => void): boolean {
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

  emit(ev: TxEvent): void {
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
}

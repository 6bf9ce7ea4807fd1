// pipeline-order.ts - keeps a relay's pipelined batches in order at the
// ingest. A relay sends its batches in rounds (src/relay/relay.ts): a round
// starts at the relay's ack position with index 0 and numbers its batches
// 0, 1, 2... in spool order. A batch of index n is stored only once batch
// n-1 of its round was answered as stored (or refused as invalid: the relay
// quarantines and acks that one), and only if it is the next index this
// ingest saw of the round; otherwise nothing of it is stored (the relay
// starts a new round from its ack position). So what the store holds of a
// spool is always a prefix of what a round sent, in order, whatever
// connection each batch came on and whatever failed in between.
//
// A batch without a round (a relay sending one batch at a time) is not
// ordered here: it has nothing before it.

/** What the batch carries: its round (random hex, new for every round) and its index in the round. */
export interface PipelinePosition {
  round: string;
  index: number;
}

export type Ticket =
  /** Wait for `before` (true: store this batch), then call settle with whether this one was stored or refused as invalid. */
  | { before: Promise<boolean> | undefined; settle: (storable: boolean) => void }
  /** Out of order: answer 503 and store nothing. */
  | { refuse: string };

interface Round {
  next: number;
  last: Promise<boolean>;
  touched: number;
}

/** Rounds untouched this long are forgotten (their relay started another round or went away). */
const ROUND_TTL_MS = 10 * 60_000;

export class PipelineOrder {
  readonly #rounds = new Map<string, Round>();
  readonly #now: () => number;
  #swept = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Takes the batch's place in its round; call in the order the batches arrived. */
  take(pos: PipelinePosition | undefined): Ticket {
    const now = this.#now();
    this.#sweep(now);
    let settle!: (storable: boolean) => void;
    const mine = new Promise<boolean>((resolve) => (settle = resolve));
    if (!pos) return { before: undefined, settle };
    if (pos.index === 0) {
      this.#rounds.set(pos.round, { next: 1, last: mine, touched: now });
      return { before: undefined, settle };
    }
    const r = this.#rounds.get(pos.round);
    if (!r || r.next !== pos.index) {
      const why = !r
        ? `batch ${pos.index} of round ${pos.round}, whose batch 0 this reporter did not see (restarted?)`
        : `batch ${pos.index} of round ${pos.round} arrived when batch ${r.next < 0 ? 'none' : r.next} was due`;
      if (r) r.next = -1; // nothing more of this round is stored
      return { refuse: `${why}: nothing stored, so that the spool stays in order; the relay sends it again from its ack position` };
    }
    const before = r.last;
    r.next++;
    r.last = mine;
    r.touched = now;
    return { before, settle };
  }

  #sweep(now: number): void {
    if (now - this.#swept < 10_000) return;
    this.#swept = now;
    for (const [k, r] of this.#rounds) if (now - r.touched > ROUND_TTL_MS) this.#rounds.delete(k);
  }
}

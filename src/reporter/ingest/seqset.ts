// seqset.ts - the set of sequence numbers seen for one spool, as sorted
// disjoint ranges. Spools number records 1, 2, 3... and relays send them in
// order, so a spool's whole history is usually one range; gaps (records
// rejected as malformed, never stored) only add a range each.

export class SeqSet {
  // Parallel arrays of inclusive bounds, sorted, disjoint and non-adjacent.
  private readonly lo: bigint[] = [];
  private readonly hi: bigint[] = [];
  private count = 0;

  /** Number of distinct sequence numbers held. */
  get size(): number {
    return this.count;
  }

  /** Number of disjoint ranges (1 when the history has no gaps). */
  get ranges(): number {
    return this.lo.length;
  }

  /** Index of the last range whose lower bound is <= x, or -1. */
  private floor(x: bigint): number {
    let a = 0;
    let b = this.lo.length - 1;
    let r = -1;
    while (a <= b) {
      const m = (a + b) >> 1;
      if (this.lo[m]! <= x) {
        r = m;
        a = m + 1;
      } else b = m - 1;
    }
    return r;
  }

  has(x: bigint): boolean {
    const i = this.floor(x);
    return i >= 0 && x <= this.hi[i]!;
  }

  /** Adds x; false when it was already present. */
  add(x: bigint): boolean {
    const n = this.lo.length;
    // Fast path: in-order arrival.
    if (n === 0 || x > this.hi[n - 1]!) {
      if (n > 0 && x === this.hi[n - 1]! + 1n) this.hi[n - 1] = x;
      else {
        this.lo.push(x);
        this.hi.push(x);
      }
      this.count++;
      return true;
    }
    const i = this.floor(x);
    if (i >= 0 && x <= this.hi[i]!) return false;
    const joinsLeft = i >= 0 && this.hi[i]! + 1n === x;
    const joinsRight = i + 1 < n && this.lo[i + 1]! - 1n === x;
    if (joinsLeft && joinsRight) {
      this.hi[i] = this.hi[i + 1]!;
      this.lo.splice(i + 1, 1);
      this.hi.splice(i + 1, 1);
    } else if (joinsLeft) this.hi[i] = x;
    else if (joinsRight) this.lo[i + 1] = x;
    else {
      this.lo.splice(i + 1, 0, x);
      this.hi.splice(i + 1, 0, x);
    }
    this.count++;
    return true;
  }

  /** The ranges as [lo, hi] pairs (inclusive), for diagnostics. */
  toRanges(): Array<[bigint, bigint]> {
    return this.lo.map((l, i) => [l, this.hi[i]!]);
  }
}

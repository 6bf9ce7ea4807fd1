// nonces.ts - HMAC nonces seen within the accepted time window. A nonce is
// remembered until its timestamp falls out of the window, after which the
// timestamp check alone rejects a replay.

export class NonceCache {
  private readonly seen = new Map<string, number>();
  private lastPrune = 0;

  constructor(
    private readonly windowS: number,
    private readonly maxEntries = 1_000_000,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  /**
   * Records `nonce` (signed at `ts`, unix seconds); 'replayed' if it is
   * already held, 'full' if the cache is at its bound (try again later).
   */
  claim(nonce: string, ts: number, nowS: number): 'ok' | 'replayed' | 'full' {
    this.prune(nowS);
    const exp = this.seen.get(nonce);
    if (exp !== undefined && exp >= nowS) return 'replayed';
    if (exp === undefined && this.seen.size >= this.maxEntries) {
      this.prune(nowS, true);
      if (this.seen.size >= this.maxEntries) return 'full';
    }
    this.seen.set(nonce, ts + this.windowS + 1);
    return 'ok';
  }

  private prune(nowS: number, force = false): void {
    if (!force && nowS - this.lastPrune < 10) return;
    this.lastPrune = nowS;
    for (const [k, exp] of this.seen) if (exp < nowS) this.seen.delete(k);
  }
}

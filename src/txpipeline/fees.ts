// fees.ts - EIP-1559 fee math of the pipeline (pure, unit-tested).
//
// First send: maxFeePerGas = 2 * baseFee + tip (room for six full blocks of
// base-fee growth), never above the configured cap. A replacement raises both
// fields by at least 12.5% (nodes require +10%) and at least to what the
// current base fee needs; when the cap prevents that, the caller keeps the
// transaction at the cap and reports it.

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** x * 9/8 rounded up: the smallest +12.5% bump. */
export function bump125(x: bigint): bigint {
  return (x * 9n + 7n) / 8n;
}

export function maxBig(...xs: bigint[]): bigint {
  return xs.reduce((a, b) => (b > a ? b : a));
}

export function minBig(...xs: bigint[]): bigint {
  return xs.reduce((a, b) => (b < a ? b : a));
}

export interface InitialFees extends Fees {
  /** The cap lowered maxFeePerGas below 2 * baseFee + tip. */
  capped: boolean;
  /** Even the capped fee is below the base fee: the node will refuse it until the base fee falls. */
  belowBaseFee: boolean;
}

export function initialFees(p: { baseFee: bigint; tip: bigint; cap: bigint }): InitialFees {
  const wanted = 2n * p.baseFee + p.tip;
  const maxFeePerGas = minBig(wanted, p.cap);
  return {
    maxFeePerGas,
    maxPriorityFeePerGas: minBig(p.tip, maxFeePerGas),
    capped: wanted > p.cap,
    belowBaseFee: maxFeePerGas < p.baseFee,
  };
}

export type BumpResult =
  | { ok: true; fees: Fees; capped: boolean }
  /** The cap leaves no room for a +12.5% replacement: keep (re-send) the previous attempt. */
  | { ok: false; capped: true };

/**
 * Fees of a replacement for `prev`: both fields at least +12.5%, the tip at
 * least the configured one, maxFee at least 2 * baseFee + tip; then capped.
 */
export function bumpFees(p: { prev: Fees; baseFee: bigint; tip: bigint; cap: bigint }): BumpResult {
  const minTip = bump125(p.prev.maxPriorityFeePerGas);
  const minMax = bump125(p.prev.maxFeePerGas);
  const tip = maxBig(minTip, p.tip);
  const wanted = maxBig(minMax, 2n * p.baseFee + tip);
  const maxFeePerGas = minBig(wanted, p.cap);
  const maxPriorityFeePerGas = minBig(tip, maxFeePerGas);
  if (maxFeePerGas < minMax || maxPriorityFeePerGas < minTip) return { ok: false, capped: true };
  return { ok: true, fees: { maxFeePerGas, maxPriorityFeePerGas }, capped: wanted > p.cap };
}

/** Whether an attempt can be included at this base fee at all. */
export function includable(fees: Fees, baseFee: bigint): boolean {
  return fees.maxFeePerGas >= baseFee;
}

/** Gas limit from an estimate plus a margin (0.2 = +20%), rounded up. */
export function gasWithMargin(estimate: bigint, margin: number): bigint {
  if (!(margin >= 0) || !Number.isFinite(margin)) throw new Error(`gas margin must be a finite number >= 0, got ${margin}`);
  const ppm = BigInt(Math.round(margin * 1_000_000));
  return (estimate * (1_000_000n + ppm) + 999_999n) / 1_000_000n;
}

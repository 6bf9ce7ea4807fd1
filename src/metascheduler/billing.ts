/**
 * Billing math of the Meta-Scheduler, exactly as METASCHEDULER.md states it.
 * The single place for it: the supervisor sizes `--time` with it, the reporter
 * predicts what a cold status will pay, and the tests compare it with the chain.
 * All amounts are credit-wei (bigint); times are seconds, durations minutes.
 */

export interface BillableDefinition {
  gpus: bigint;
  memPerCpu: bigint;
  cpusPerTask: bigint;
  ntasks: bigint;
}

export interface BillablePrices {
  gpuPricePerMin: bigint;
  cpuPricePerMin: bigint;
  memPricePerMin: bigint;
}

/** Price of one minute. GPUs are per job, not per task: they are not multiplied by ntasks. */
export function perMinute(d: BillableDefinition, p: BillablePrices): bigint {
  return (
    d.ntasks * (d.cpusPerTask * p.cpuPricePerMin + d.cpusPerTask * d.memPerCpu * p.memPricePerMin) +
    d.gpus * p.gpuPricePerMin
  );
}

/** Time limit the locked credits buy (floor), i.e. the `--time` given to SLURM. */
export function maxDurationMinutes(maxCost: bigint, perMin: bigint): bigint {
  // A free job has no credit-derived limit; the contract would divide by zero.
  if (perMin <= 0n) throw new RangeError('perMinute price is zero: the duration limit is undefined');
  return maxCost / perMin;
}

/** Credits needed to buy `minutes` at `perMin`. */
export function creditsForMinutes(minutes: bigint, perMin: bigint): bigint {
  return minutes * perMin;
}

export interface SettleInput {
  /** Credits locked by the job (after top-ups). */
  maxCost: bigint;
  perMin: bigint;
  /** `time.start` on chain, seconds; 0 means the job never reached RUNNING. */
  startedAt: bigint;
  /** Timestamp of the block settling the job, seconds. */
  now: bigint;
  /** Minutes the provider reported in providerSetJobStatus. */
  reportedMinutes: bigint;
  /** Constants.billDurationDeltaMinute (default 15). */
  billDurationDeltaMinute: bigint;
  /** Constants.deepsquareCut, percent (default 20). */
  cutPercent: bigint;
}

export interface Settlement {
  billedMinutes: bigint;
  finalCost: bigint;
  /** Paid to the provider: finalCost minus the cut. */
  providerReward: bigint;
  /** Kept by the grid: floor(finalCost * cut / 100). */
  cut: bigint;
  /** Returned to the customer: maxCost - finalCost. */
  refund: bigint;
  /** The report exceeded elapsed + delta: BilledTooMuchEvent carries `reportedMinutes`. */
  billedTooMuch: boolean;
}

/** What a cold status settles to. */
export function settle(i: SettleInput): Settlement {
  let billedMinutes = 0n;
  let billedTooMuch = false;
  if (i.startedAt !== 0n) {
    // A clock that went backwards would make elapsed negative; the contract would revert on underflow.
    const elapsed = i.now >= i.startedAt ? (i.now - i.startedAt) / 60n : 0n;
    if (i.reportedMinutes > elapsed + i.billDurationDeltaMinute) {
      billedTooMuch = true;
      billedMinutes = elapsed;
    } else {
      billedMinutes = i.reportedMinutes > 1n ? i.reportedMinutes : 1n;
    }
  }
  const uncapped = i.perMin * billedMinutes;
  const finalCost = uncapped < i.maxCost ? uncapped : i.maxCost;
  const cut = (finalCost * i.cutPercent) / 100n;
  return {
    billedMinutes,
    finalCost,
    providerReward: finalCost - cut,
    cut,
    refund: i.maxCost - finalCost,
    billedTooMuch,
  };
}

export interface ReportedMinutesInput {
  /** Seconds the job ran according to SLURM (its runs' start to end times, requeued runs included). */
  runSeconds: number;
  /** Minutes the customer paid for: the claim's maxDurationMinute plus top-ups. */
  paidMinutes: bigint;
  /**
   * The most the contract bills without BilledTooMuch at the time of sending:
   * floor((latest block time - time.start) / 60) + billDurationDeltaMinute.
   * Undefined when the job is not RUNNING on chain (a cold status from
   * SCHEDULED bills nothing whatever is reported).
   */
  chainCapMinutes?: bigint | undefined;
}

/**
 * Minutes to report for a cold status: SLURM's run time in whole minutes, a
 * started minute counting as one (the contract's own minimum is one minute),
 * never above what was paid, and never above what the contract accepts (a
 * report above elapsed + delta is replaced by the chain's elapsed and flagged
 * BilledTooMuch).
 */
export function reportedMinutes(i: ReportedMinutesInput): bigint {
  let m = BigInt(Math.ceil(Math.max(0, i.runSeconds) / 60));
  if (m > i.paidMinutes) m = i.paidMinutes;
  if (i.chainCapMinutes !== undefined && m > i.chainCapMinutes) m = i.chainCapMinutes;
  return m < 0n ? 0n : m;
}

/** The chain's cap for `reportedMinutes`: elapsed whole minutes since time.start at `nowS`, plus the delta. */
export function chainCapMinutes(chainStartS: bigint, nowS: bigint, billDurationDeltaMinute: bigint): bigint {
  const elapsed = nowS > chainStartS ? (nowS - chainStartS) / 60n : 0n;
  return elapsed + billDurationDeltaMinute;
}

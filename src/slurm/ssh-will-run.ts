// ssh-will-run.ts - shares the ssh backend's will-run checks (`sbatch
// --test-only`, see src/slurm/ssh.ts) between jobs that ask the same
// question: same uid, gid, partition, tasks, CPUs, memory, GPUs, time limit
// and directory. A burst of claims often holds many jobs of one shape; each
// check is a whole sbatch process on the login node (~40% of a submit's
// cost there), and its answer ("can a node of this partition ever run this,
// for this user?") depends on the cluster's configuration, not on the job.
//   - Identical checks in flight at once run once; all get its outcome, pass
//     or failure.
//   - A pass is reused for ttlMs after the check started; a failure is
//     forgotten at once (the next job of that shape asks again).
export class WillRunChecks {
  private readonly checks = new Map<string, { startedAt: number; outcome: Promise<void> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when the shape `key` can run: `check()` ran, is running, or passed less than ttlMs ago. */
  check(key: string, check: () => Promise<void>): Promise<void> {
    const t = this.now();
    const known = this.checks.get(key);
    if (known && t - known.startedAt < this.ttlMs) return known.outcome;
    if (this.checks.size >= 1024) this.prune(t);
    const outcome = check();
    const entry = { startedAt: t, outcome };
    this.checks.set(key, entry);
    outcome.catch(() => {
      if (this.checks.get(key) === entry) this.checks.delete(key);
    });
    return outcome;
  }

  private prune(t: number): void {
    for (const [k, v] of this.checks) if (t - v.startedAt >= this.ttlMs) this.checks.delete(k);
  }
}

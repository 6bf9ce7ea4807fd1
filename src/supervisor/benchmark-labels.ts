// benchmark-labels.ts - the benchmark labels the supervisor registers:
// measured by SLURM jobs (benchmarks/) when none are stored, the hardware or
// settings changed, or they are older than maxAgeDays; otherwise the stored
// ones. Stored in the state database's meta table. A failure is logged and
// yields fewer labels; it never stops the supervisor.
import { chownSync, existsSync, mkdirSync } from 'node:fs';

import type { Logger } from 'pino';

import type { Label } from '../metascheduler/types.js';
import type { SlurmBackend } from '../slurm/backend.js';
import { getMeta, setMeta, type Db } from '../state/db.js';
import { shortError } from '../txpipeline/errors.js';
import { benchmarkFingerprint, shouldRerunBenchmarks, type StoredBenchmarks } from './benchmarks/cache.js';
import { runBenchmarks } from './benchmarks/run.js';
import type { SupervisorConfig } from './config.js';
import { lookupUser } from './users-nss.js';

export const BENCHMARKS_META_KEY = 'supervisor.benchmarks';

export function benchmarkLabels(o: { config: SupervisorConfig; backend: SlurmBackend; db: Db; log: Logger; signal?: AbortSignal }): () => Promise<Label[]> {
  const b = o.config.benchmarks;
  return async () => {
    if (!b.enabled) return [];
    try {
      const part = await o.backend.partition(o.config.slurm.partition);
      const settings = { memoryFraction: b.memoryFraction, fioSizeMB: b.fioSizeMB, fioDirectory: b.fioDirectory ?? b.workDir, quick: b.quick };
      const fingerprint = benchmarkFingerprint({ nodes: part.nodes, settings });
      const raw = getMeta(o.db, BENCHMARKS_META_KEY);
      const stored = raw ? (JSON.parse(raw) as StoredBenchmarks) : undefined;
      const decision = shouldRerunBenchmarks(stored, { fingerprint, nowMs: Date.now(), maxAgeDays: b.maxAgeDays });
      if (!decision.rerun && stored) {
        o.log.info({ reason: decision.reason }, 'supervisor: using stored benchmark results');
        return [...stored.labels];
      }
      const user = await lookupUser(b.user);
      if (!user) throw new Error(`benchmark user ${b.user} does not exist on this host (benchmarks.user)`);
      // The jobs write there as the benchmark user.
      for (const dir of new Set([b.workDir, b.fioDirectory ?? b.workDir])) {
        if (!existsSync(dir)) {
          mkdirSync(dir, { recursive: true, mode: 0o755 });
          chownSync(dir, user.uid, user.gid);
        }
      }
      o.log.info({ reason: decision.reason, user: b.user }, 'supervisor: running benchmarks as SLURM jobs before registering (hpcc, fio)');
      const labels = await runBenchmarks({
        backend: o.backend,
        logger: o.log,
        partition: o.config.slurm.partition,
        nodes: part.nodes.length,
        user,
        workDir: b.workDir,
        hpcc: { enabled: true, memoryFraction: b.memoryFraction, quick: b.quick },
        fio: { enabled: true, directory: b.fioDirectory ?? b.workDir, sizeMB: b.fioSizeMB },
        timeoutMinutes: b.timeoutMinutes,
        environment: { ...(o.config.slurm.slurmConf ? { SLURM_CONF: o.config.slurm.slurmConf } : o.config.slurm.ssh?.slurmConf ? { SLURM_CONF: o.config.slurm.ssh.slurmConf } : {}), ...b.environment },
        ...(o.signal ? { signal: o.signal } : {}),
      });
      if (labels.length > 0) setMeta(o.db, BENCHMARKS_META_KEY, JSON.stringify({ fingerprint, measuredAtMs: Date.now(), labels } satisfies StoredBenchmarks));
      return labels;
    } catch (err) {
      o.log.error({ err: shortError(err) }, 'supervisor: benchmarks failed; registering without their labels (fix the cause, or set benchmarks.enabled=false)');
      return [];
    }
  };
}

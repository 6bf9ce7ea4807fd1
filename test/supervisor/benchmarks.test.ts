// benchmarks.test.ts - runBenchmarks against a real 2-node SLURM cluster on
// this host, in quick mode (hpcc N=1000 on one rank per node, fio on 16 MB),
// as the unprivileged user gridlink-bench: the labels it returns, and that a
// failing benchmark (wrong hpcc binary, unwritable fio directory, refused
// submit, timeout) is logged and yields no label while the others still do.
//
// Backend: the local libslurm backend (the ssh one runs them in
// test/supervisor/e2e-ssh.test.ts).
//
// Two things only this fake cluster needs, passed as job environment:
// SLURM_CONF (slurm.conf is not at the default path; mpirun's srun reads it)
// and OMPI_MCA_btl=self,tcp (both "nodes" are this host, so OpenMPI's
// shared-memory transport on each would create the same segment names and
// the ranks crash in mca_btl_vader).
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../harness/cluster/index.js';
import type { SlurmBackend } from '../../src/slurm/backend.js';
import { ALL_BENCHMARK_LABEL_KEYS, BENCHMARK_LABELS as L, runBenchmarks, type RunBenchmarksOptions } from '../../src/supervisor/benchmarks/index.js';
import { ensureLocalUsers, type LocalUser } from '../helpers/local-users.js';
import { createLocalBackend } from '../../src/slurm/local.js';

interface LogLine {
  level: number;
  msg: string;
  benchmark?: string;
  [k: string]: unknown;
}

function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}
const errors = (lines: LogLine[]) => lines.filter((l) => l.level >= 50);

async function openBackend(cluster: Cluster): Promise<{ backend: SlurmBackend; kind: string }> {
  return { backend: createLocalBackend({ slurmConf: cluster.confPath }), kind: 'local (libslurm)' };
}

describe('runBenchmarks on a 2-node cluster (quick mode)', () => {
  let cluster: Cluster;
  let backend: SlurmBackend;
  let user: LocalUser;
  let fioDir: string;
  let homeBefore: Set<string>;

  beforeAll(async () => {
    [user] = ensureLocalUsers(['gridlink-bench']) as [LocalUser];
    // The job user must reach the job scripts in slurmd's spool under the base dir.
    const baseDir = mkdtempSync(path.join(tmpdir(), 'gridlink-bench-slurm-'));
    chmodSync(baseDir, 0o755);
    // Other test runs on this machine may hold the one-cluster lock for a while.
    try {
      cluster = await startCluster({ baseDir, nodes: 2, logger: pino({ level: 'warn' }), removeOnStop: true, lockWaitMs: 600_000 });
    } catch (e) {
      rmSync(baseDir, { recursive: true, force: true });
      throw e;
    }
    const b = await openBackend(cluster);
    backend = b.backend;
    console.log(`benchmarks test: SlurmBackend = ${b.kind}`);
    homeBefore = new Set(readdirSync(user.home));
    fioDir = path.join(user.home, 'shared-storage');
    mkdirSync(fioDir, { recursive: true });
    chownSync(fioDir, user.uid, user.gid);
  }, 700_000);

  afterAll(async () => {
    await backend?.close();
    await cluster?.stop();
    // The run directories and job outputs of this file (the user and its home stay).
    if (homeBefore) for (const f of readdirSync(user.home)) if (!homeBefore.has(f)) rmSync(path.join(user.home, f), { recursive: true, force: true });
  });

  const options = (logger: Logger, over: Partial<RunBenchmarksOptions> = {}): RunBenchmarksOptions => ({
    backend,
    logger,
    partition: cluster.partition,
    nodes: 2,
    user,
    workDir: user.home,
    hpcc: { enabled: true, memoryFraction: 0.25, quick: true },
    fio: { enabled: true, directory: fioDir, sizeMB: 16 },
    timeoutMinutes: 3,
    // Both "nodes" are this host's loopback: OpenMPI's TCP must not wander onto other
    // interfaces (docker0 and podman's bridges, once the container suites ran, hang hpcc).
    environment: { SLURM_CONF: cluster.confPath, OMPI_MCA_btl: 'self,tcp', OMPI_MCA_btl_tcp_if_include: 'lo', OMPI_MCA_oob_tcp_if_include: 'lo' },
    pollMs: 250,
    ...over,
  });

  it('returns HPL, STREAM, DGEMM, MPI and fio labels as decimal strings', async () => {
    const { logger, lines } = captureLogger();
    const t0 = Date.now();
    const labels = await runBenchmarks(options(logger));
    const totalS = (Date.now() - t0) / 1000;
    const done = lines.filter((l) => /^benchmark \w+ done in/.test(l.msg)).map((l) => l.msg);
    console.log(`quick benchmarks: ${totalS.toFixed(1)} s in all; ${done.join('; ')}`);
    expect(errors(lines), JSON.stringify(errors(lines), null, 1)).toEqual([]);
    const m = Object.fromEntries(labels.map((l) => [l.key, l.value]));
    console.log(m);
    expect(Object.keys(m).sort()).toEqual([...ALL_BENCHMARK_LABEL_KEYS].sort());
    for (const [k, v] of Object.entries(m)) {
      expect(v, k).toMatch(/^\d+(\.\d+)?$/);
      expect(Number(v), k).toBeGreaterThan(0);
    }
    // Two ranks, one per node: the MPI figures are between the nodes (TCP here).
    expect(Number(m[L.mpiLatencyUs])).toBeGreaterThan(1);
    expect(totalS).toBeLessThan(60);
    // The jobs ran as the benchmark user and left their files in workDir.
    const runs = readdirSync(user.home).filter((f) => /^gridlink-bench-\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(f));
    expect(runs.length).toBeGreaterThan(0);
    const run = path.join(user.home, runs.sort().at(-1)!);
    const out = readFileSync(path.join(run, 'hpcc', 'hpccoutf.txt'), 'utf8');
    expect(out).toMatch(/CommWorldProcs=2\n/);
    expect(readFileSync(`${run}-hpcc.out`, 'utf8')).toMatch(/mpirun exited with status 0/);
    // fio removed its data file and directory.
    expect(readdirSync(fioDir)).toEqual([]);
  });

  it('a wrong hpcc binary costs only the hpcc labels, with an error saying what to do', async () => {
    const { logger, lines } = captureLogger();
    const labels = await runBenchmarks(options(logger, { hpcc: { enabled: true, memoryFraction: 0.25, quick: true, binary: '/nonexistent/hpcc' } }));
    expect(labels.map((l) => l.key).sort()).toEqual([L.fioRandReadIops, L.fioSeqReadMBps, L.fioSeqWriteMBps].sort());
    const errs = errors(lines);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.benchmark).toBe('hpcc');
    expect(errs[0]!.msg).toMatch(/benchmark hpcc \(job \d+\) ended FAILED \(exit code 127\)/);
    expect(errs[0]!.msg).toMatch(/\/nonexistent\/hpcc not found .*install it on every compute node/);
  });

  it('an unwritable fio directory costs only the fio labels', async () => {
    const ro = path.join(user.home, 'read-only');
    mkdirSync(ro, { recursive: true });
    chmodSync(ro, 0o755); // owned by root: the benchmark user cannot write
    const { logger, lines } = captureLogger();
    const labels = await runBenchmarks(options(logger, { fio: { enabled: true, directory: ro, sizeMB: 16 } }));
    expect(labels.map((l) => l.key)).toContain(L.hplGflops);
    expect(labels.filter((l) => l.key.startsWith('benchmark.fio.'))).toEqual([]);
    const errs = errors(lines);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.msg).toMatch(/benchmark fio \(job \d+\) ended FAILED/);
    expect(errs[0]!.msg).toMatch(/fio directory .*read-only does not exist or is not writable by gridlink-bench/);
  });

  it('a refused submit is logged, not thrown; invalid options (root user) are thrown', async () => {
    const { logger, lines } = captureLogger();
    const labels = await runBenchmarks(options(logger, { hpcc: { enabled: false, memoryFraction: 0.25 }, partition: 'no_such_partition' }));
    expect(labels).toEqual([]);
    expect(errors(lines).map((l) => l.msg)).toEqual([expect.stringMatching(/^benchmark fio not run: SLURM refused the job: .*partition/i)]);
    await expect(runBenchmarks(options(logger, { user: { ...user, uid: 0 } }))).rejects.toThrow(/user\.uid: benchmarks must not run as root/);
  });

  it('cancels a benchmark still running at the timeout and reports it', async () => {
    // An "hpcc" that never finishes.
    const hang = path.join(user.home, 'hang.sh');
    writeFileSync(hang, '#!/bin/sh\nexec sleep 600\n', { mode: 0o755 });
    chownSync(hang, user.uid, user.gid);
    const { logger, lines } = captureLogger();
    const t0 = Date.now();
    const labels = await runBenchmarks(options(logger, { hpcc: { enabled: true, memoryFraction: 0.25, quick: true, binary: hang }, fio: { enabled: false, directory: fioDir, sizeMB: 16 }, timeoutMinutes: 0.1 }));
    expect(labels).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(30_000);
    const errs = errors(lines);
    expect(errs.map((l) => l.msg)).toEqual([expect.stringMatching(/^benchmark hpcc \(job \d+\) cancelled: still running after 0\.1 min: raise timeoutMinutes/)]);
    const jobId = errs[0]!.jobId as number;
    await expect
      .poll(async () => (await backend.list()).find((j) => j.jobId === jobId)?.state, { timeout: 20_000, interval: 250 })
      .toMatch(/^(CANCELLED|undefined)$/);
  });
});

// slurm.ts - `npm run bench -- slurm`: a burst of 50 submits at once through
// each SlurmBackend, side by side in one run against one real SLURM cluster
// (harness/cluster, Debian's 22.05, 1 node): the `local` backend (libslurm
// through the addon) and the `ssh` backend through a private sshd on
// loopback with MaxSessions 10 (test/slurm/sshd.ts), root's login shell with
// whatever ~/.bashrc this machine has (its start-up cost is part of what a
// login node costs).
//   <backend>_burst50_jobs_per_s   50 / (time until the last of 50 parallel submits returned)
//   <backend>_burst50_p50_ms/p99   each submit's latency, call to job id (queueing included)
// Each backend does two bursts: `cold` on a fresh backend (connects, starts
// its shells) and `warm` right after on the same one (a supervisor's backend
// lives as long as the supervisor: its bursts are warm). The ssh backend
// runs with maxChannels 10 (the default) and 16 (above MaxSessions: it
// learns the limit from sshd's first refusal). Targets: ssh within 3x of
// local (jobs/s), 50 ssh submits in under 5 s (cold). Jobs are 1-CPU `true`
// for nobody, cancelled at the end.
import { pino } from 'pino';

import { startCluster, type Cluster } from '../harness/cluster/index.js';
import type { SlurmBackend, SubmitRequest } from '../src/slurm/backend.js';
import { createLocalBackend } from '../src/slurm/local.js';
import { createSshBackend } from '../src/slurm/ssh.js';
import { startTestSshd, type TestSshd } from '../test/slurm/sshd.js';
import { mergeResults, printTable, type Row } from './results.js';

const BURST = 50;
const MAX_SESSIONS = 10;
const NOBODY = 65534;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * p) - 1)]!;

interface Burst {
  jobsPerS: number;
  totalMs: number;
  p50: number;
  p99: number;
  ids: number[];
}

async function burst(b: SlurmBackend, cluster: Cluster, tag: string): Promise<Burst> {
  const req = (i: number): SubmitRequest => ({
    script: '#!/bin/sh\ntrue\n',
    name: `bench-${tag}-${i}`,
    user: 'nobody',
    uid: NOBODY,
    gid: NOBODY,
    workDir: '/tmp',
    stdout: '/dev/null',
    environment: { HOME: '/tmp', PATH: '/usr/bin:/bin' },
    partition: cluster.partition,
    ntasks: 1,
    cpusPerTask: 1,
    memPerCpuMB: 16,
    gpus: 0,
    timeLimitMinutes: 1,
  });
  const lat: number[] = [];
  const t0 = performance.now();
  const ids = await Promise.all(
    Array.from({ length: BURST }, async (_, i) => {
      const t = performance.now();
      const { jobId } = await b.submit(req(i));
      lat.push(performance.now() - t);
      return jobId;
    }),
  );
  const totalMs = performance.now() - t0;
  return { jobsPerS: BURST / (totalMs / 1000), totalMs, p50: pct(lat, 0.5), p99: pct(lat, 0.99), ids };
}

export async function runSlurmBench(): Promise<void> {
  let cluster: Cluster | undefined;
  let sshd: TestSshd | undefined;
  const backends: SlurmBackend[] = [];
  try {
    cluster = await startCluster({ nodes: 1, gpusPerNode: 0, lockWaitMs: 600_000, logger: pino({ level: 'warn' }), removeOnStop: true });
    sshd = await startTestSshd({ maxSessions: MAX_SESSIONS });
    const conn = { host: sshd.host, port: sshd.port, privateKeyPath: sshd.clientKeyPath, hostKey: sshd.hostPublicKey, slurmConf: cluster.confPath, logger: pino({ level: 'warn' }) };
    const candidates: Array<[string, () => SlurmBackend]> = [
      ['local', () => createLocalBackend({ slurmConf: cluster!.confPath })],
      ['ssh', () => createSshBackend(conn)],
      ['ssh_ch16', () => createSshBackend({ ...conn, maxChannels: 16 })],
    ];
    const rows: Row[] = [];
    const figures: Record<string, number> = {};
    const cold = new Map<string, Burst>();
    const warm = new Map<string, Burst>();
    for (const [name, make] of candidates) {
      const b = make();
      backends.push(b);
      for (const phase of ['cold', 'warm'] as const) {
        const r = await burst(b, cluster, `${name}-${phase}`);
        (phase === 'cold' ? cold : warm).set(name, r);
        rows.push({ backend: name, burst: phase, jobs_per_s: Math.round(r.jobsPerS * 10) / 10, total_ms: Math.round(r.totalMs), p50_ms: Math.round(r.p50), p99_ms: Math.round(r.p99) });
        const key = phase === 'cold' ? `slurm_${name}_burst50` : `slurm_${name}_warm_burst50`;
        Object.assign(figures, { [`${key}_jobs_per_s`]: Math.round(r.jobsPerS * 10) / 10, [`${key}_p50_ms`]: Math.round(r.p50), [`${key}_p99_ms`]: Math.round(r.p99) });
        await Promise.all(r.ids.map((id) => b.cancel(id)));
      }
    }
    const ratio = (m: Map<string, Burst>) => Math.round((m.get('local')!.jobsPerS / m.get('ssh')!.jobsPerS) * 100) / 100;
    figures.slurm_local_over_ssh_burst50 = ratio(cold);
    figures.slurm_local_over_ssh_warm_burst50 = ratio(warm);
    printTable(`slurm: ${BURST} submits at once, 1-node cluster; ssh through a loopback sshd with MaxSessions ${MAX_SESSIONS}`, rows);
    printTable('slurm targets', [
      { figure: 'local / ssh jobs_per_s, warm', value: ratio(warm), target: '<= 3' },
      { figure: 'local / ssh jobs_per_s, cold', value: ratio(cold), target: '', note: "cold: ssh connects and starts its shells (root's ~/.bashrc each)" },
      { figure: `ssh ${BURST} submits cold, ms`, value: Math.round(cold.get('ssh')!.totalMs), target: '< 5000' },
    ]);
    mergeResults(figures);
  } finally {
    for (const b of backends) await b.close().catch(() => undefined);
    await sshd?.destroy();
    await cluster?.stop();
  }
}

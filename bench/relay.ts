// relay.ts - the relay suite: what the embedded runtime costs the daemons,
// how long an event takes from the shim's append to the reporter's store,
// and how fast a backlog drains. The targets in the row names are those of
// issue 20 (the ingest commits on a writer thread, batches grouped).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { EventKind, SpoolWriter, packageRoot } from '../src/native/index.js';
import type { Cluster } from '../harness/cluster/index.js';
import { ensureBuilt, startBridge, startIngest, stored, type Ingest } from '../test/bridge/bridge.js';
import { mergeResults, printTable } from './results.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** VmRSS (what the target counts) and RssAnon (private memory; the rest is mostly libnode's shared, clean code pages). */
function memMb(pid: number | undefined): { rss: number; anon: number } {
  if (!pid) return { rss: Number.NaN, anon: Number.NaN };
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon') };
}

async function runJobs(c: Cluster, n: number, name: string): Promise<void> {
  await c.sbatch([`--array=1-${n}`, `--job-name=${name}`, '--output=/dev/null'], 'true');
  for (;;) {
    if ((await c.run('squeue', ['-h', '-n', name])).stdout.trim() === '') return;
    await sleep(250);
  }
}

/** CPU seconds a process used so far (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** RSS of both daemons after the same work, without and with the runtime; then event latency. */
async function daemonsAndLatency(): Promise<{ rows: Record<string, string | number>[]; figures: Record<string, number> }> {
  const ingest = await startIngest();
  const rss: Record<string, { ctld: { rss: number; anon: number }; slurmd: { rss: number; anon: number } }> = {};
  let latencies: number[] = [];
  try {
    for (const mode of ['off', 'embedded'] as const) {
      const bridge = await startBridge(ingest.url, mode);
      try {
        const c = bridge.pc.cluster;
        await runJobs(c, 20, `warm-${mode}`);
        await sleep(3000);
        rss[mode] = { ctld: memMb(c.ctldPid()), slurmd: memMb(c.slurmdPid()) };
        if (mode === 'embedded') {
          const before = (await stored(ingest)).length;
          // jobs one by one, so each event meets an idle relay: latency, not queueing
          for (let i = 0; i < 40; i++) await c.waitJob(await c.sbatch(['--job-name=lat'], 'true'));
          await sleep(3000);
          const recs = (await stored(ingest)).slice(before).filter((r) => r.event.jobName === 'lat' || r.event.kind === EventKind.JobStarted);
          latencies = recs.map((r) => r.receivedAt - Number(BigInt(r.event.writeTimeNs) / 1_000_000n));
        }
      } finally {
        await bridge.stop();
      }
    }
  } finally {
    await ingest.stop();
  }
  const off = rss.off!;
  const on = rss.embedded!;
  const added = { ctld: on.ctld.rss - off.ctld.rss, slurmd: on.slurmd.rss - off.slurmd.rss };
  return {
    rows: [
      { measure: 'slurmctld RSS, runtime=off', value: off.ctld.rss, unit: 'MB' },
      { measure: 'slurmctld RSS, runtime=embedded', value: on.ctld.rss, unit: 'MB' },
      { measure: 'slurmctld RSS added (target <= 60)', value: added.ctld, unit: 'MB' },
      { measure: '  of which private (RssAnon added)', value: on.ctld.anon - off.ctld.anon, unit: 'MB' },
      { measure: 'slurmd RSS, runtime=off', value: off.slurmd.rss, unit: 'MB' },
      { measure: 'slurmd RSS, runtime=embedded', value: on.slurmd.rss, unit: 'MB' },
      { measure: 'slurmd RSS added (target <= 60)', value: added.slurmd, unit: 'MB' },
      { measure: '  of which private (RssAnon added)', value: on.slurmd.anon - off.slurmd.anon, unit: 'MB' },
      { measure: `append -> reporter store p50 (${latencies.length} events; target <= 20)`, value: pct(latencies, 0.5), unit: 'ms' },
      { measure: 'append -> reporter store p99 (target <= 20)', value: pct(latencies, 0.99), unit: 'ms' },
    ],
    figures: {
      ctld_rss_added_mb: added.ctld,
      slurmd_rss_added_mb: added.slurmd,
      relay_latency_p50_ms: pct(latencies, 0.5),
      relay_latency_p99_ms: pct(latencies, 0.99),
    },
  };
}

/** A 100,000-record backlog drained by a standalone relay process into the reporter. */
async function drain(records = 100_000): Promise<{ rows: Record<string, string | number>[]; figures: Record<string, number> }> {
  const spool = mkdtempSync(join('/var/tmp', 'gl-drain-'));
  const w = new SpoolWriter(spool, { maxBytes: 1 << 30 });
  for (let i = 0; i < records; i++)
    w.append({ kind: EventKind.JobCompleted, jobId: i + 1, userId: 1000, stateName: 'COMPLETED', cluster: 'bench', node: 'node001', jobName: `job-${i}`, tres: { cpu: 2, memMb: 1024, node: 1, billing: 2 } });
  w.close();
  let ingest: Ingest | undefined;
  const relay = { proc: undefined as ReturnType<typeof spawn> | undefined };
  try {
    ingest = await startIngest();
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    relay.proc = spawn(process.execPath, [join(packageRoot, 'dist', 'cli', 'main.js'), 'relay', '--spool', spool, '--daemon', 'slurmctld', '--reporter', ingest.url, '--log-level', 'warn'], { stdio: 'ignore' });
    for (;;) {
      const n = ingest.store.counts().records;
      if (n >= records) break;
      if (Date.now() - t0 > 300_000) throw new Error(`drain: only ${n}/${records} after 300 s`);
      await sleep(100);
    }
    const secs = (Date.now() - t0) / 1000;
    const rate = records / secs;
    // CPU per event: steadier than the rate on a shared machine (the relay's includes its start)
    const cpu = process.cpuUsage(cpu0);
    const ingestUs = (cpu.user + cpu.system) / records;
    const relayUs = (cpuSeconds(relay.proc.pid!) * 1e6) / records;
    const { commits } = ingest.store.counts();
    return {
      rows: [
        { measure: `drain ${records} records, standalone relay -> reporter (target >= 30000)`, value: rate, unit: 'events/s' },
        { measure: '  in store commits (group commit: several batches each)', value: commits, unit: 'transactions' },
        { measure: '  CPU per event: relay process (with its start)', value: relayUs, unit: 'us' },
        { measure: '  CPU per event: reporter ingest (all threads, this process)', value: ingestUs, unit: 'us' },
      ],
      figures: { relay_drain_events_per_s: rate, relay_drain_commits: commits, relay_drain_relay_cpu_us: relayUs, relay_drain_ingest_cpu_us: ingestUs },
    };
  } finally {
    relay.proc?.kill('SIGTERM');
    await ingest?.stop();
    rmSync(spool, { recursive: true, force: true });
  }
}

export async function runRelayBench(): Promise<void> {
  ensureBuilt();
  const a = await daemonsAndLatency();
  const b = await drain();
  printTable('relay: embedded runtime cost, event latency, backlog drain', [...a.rows, ...b.rows]);
  mergeResults({ ...a.figures, ...b.figures });
}

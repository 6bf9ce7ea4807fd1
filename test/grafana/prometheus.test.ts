// Every query of the Grafana dashboard (contrib/grafana/gridlink.json) run
// against a real Prometheus (Debian's `prometheus`, the binary run directly
// with a config and a storage dir of its own, not the system service) that
// scrapes a devnet's supervisor (its metricsListen, printed by the devnet)
// and a standalone relay (`gridlink relay --metrics-port`) delivering a
// spool of its own to the devnet's ingest; the devnet's own relays are
// embedded in slurmctld and slurmd, which serve no /metrics: their spools
// reach the dashboard through the ingest's per-spool gauges. After a few
// jobs (the devnet's demo, then two through `gridlink job submit`) each
// query returns data, and the ones that measure the jobs say so.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { freePort } from '../../harness/devnet/sbatch-process.js';
import type { DevnetState } from '../../harness/devnet/state.js';
import { SpoolWriter, packageRoot } from '../../src/native/index.js';
import { completion } from '../native/helpers.js';
import { DEVNET_START_MS, runScript, type Run } from '../devnet/run-script.js';
import { skipReason } from '../helpers/skip-reason.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';

const PROMETHEUS = '/usr/bin/prometheus';
const parent = mkdtempSync('/tmp/gl-prometheus-test-');
chmodSync(parent, 0o755); // customers' homes are below it
const dir = join(parent, 'devnet');
const env = { ...process.env, GRIDLINK_DEVNET_DIR: dir };
const run = (script: string, args: string[], timeoutMs = 180_000): Promise<Run> => runScript(env, script, args, timeoutMs);
const show = (r: Run) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await run('harness/devnet/main.ts', ['down'], 420_000);
  rmSync(parent, { recursive: true, force: true });
}, 480_000);

/** A child of this test, its output kept for failure messages and written to `log` when it exits. */
function start(cmd: string, args: string[], log: string): { proc: ChildProcess; output: () => string } {
  const proc = spawn(cmd, args, { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  proc.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  proc.on('exit', () => writeFileSync(log, text));
  children.push(proc);
  return { proc, output: () => text };
}

interface PromAnswer {
  status: string;
  error?: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

async function query(base: string, expr: string): Promise<PromAnswer> {
  const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await r.json()) as PromAnswer;
}

/** Grafana's $__rate_interval is at least four scrape intervals; the scrapes here are a second apart. */
const asPromQL = (expr: string) => expr.replaceAll('$__rate_interval', '1m');

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ refId: string; expr: string }>;
}

it.skipIf(!existsSync(PROMETHEUS))(`every dashboard query returns data from Prometheus scraping the devnet's supervisor and a relay, after a few jobs${skipReason(existsSync(PROMETHEUS), `${PROMETHEUS} is not installed (apt-get install prometheus)`)}`, async () => {
  const up = await run('harness/devnet/main.ts', ['--job-timeout', '90'], DEVNET_START_MS);
  expect(up.code, show(up)).toBe(0);
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as DevnetState;
  const metricsUrl = state.supervisor!.metricsUrl!;
  expect(up.stdout).toContain(`metrics ${metricsUrl}`);

  // A standalone relay with /metrics, delivering a spool of its own to the devnet's ingest (munge: the test runs as root).
  const spool = join(parent, 'relay-spool');
  mkdirSync(spool, { mode: 0o700 });
  const relayPort = await freePort();
  const relay = start(process.execPath, [...cliEntry(), 'relay', '--spool', spool, '--reporter', state.supervisor!.ingestUrl, '--daemon', 'slurmd', '--host', 'standalone-relay', '--metrics-port', String(relayPort), '--poll-ms', '200'], join(parent, 'relay.log'));

  const promPort = await freePort();
  const promDir = join(parent, 'prometheus');
  mkdirSync(promDir);
  const supervisorTarget = new URL(metricsUrl);
  writeFileSync(
    join(promDir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: gridlink-supervisor',
      `    metrics_path: ${supervisorTarget.pathname}`,
      '    static_configs:',
      `      - targets: ['${supervisorTarget.host}']`,
      '  - job_name: gridlink-relay',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${relayPort}']`,
      '',
    ].join('\n'),
  );
  const prom = start(PROMETHEUS, [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], join(parent, 'prometheus.log'));
  const base = `http://127.0.0.1:${promPort}`;

  // Both targets up.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const a = await query(base, 'up').catch(() => undefined);
    const ups = a?.data.result.filter((r) => r.value[1] === '1').map((r) => r.metric.job) ?? [];
    if (ups.includes('gridlink-supervisor') && ups.includes('gridlink-relay')) break;
    expect(Date.now() < deadline, `targets not up after 60 s: ${JSON.stringify(a?.data.result)}\nprometheus: ${prom.output()}\nrelay: ${relay.output()}`).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
  }

  // A few jobs while Prometheus watches: two through the customer's command, and records through the standalone relay.
  const w = new SpoolWriter(spool);
  for (let i = 1; i <= 20; i++) w.append(completion(900_000 + i));
  w.close();
  const script = join(parent, 'hello.sh');
  writeFileSync(script, '#!/bin/bash\necho "hello from $(hostname)"\nsleep 2\n');
  const jobs = await Promise.all([1, 2].map(() => run('src/cli/main.ts', ['job', 'submit', script, '--follow', '--json'])));
  for (const j of jobs) expect(j.code, show(j)).toBe(0);

  // The supervisor's own page first: a series missing there is the exporter's fault, not Prometheus'.
  const page = await (await fetch(metricsUrl)).text();
  expect(page, page.split('\n').filter((l) => /^gridlink_(spool|ingest)/.test(l)).join('\n')).toMatch(/^gridlink_spool_delivered_records\{host="standalone-relay"/m);

  const dashboard = JSON.parse(readFileSync(join(packageRoot, 'contrib/grafana/gridlink.json'), 'utf8')) as { panels: Panel[] };
  const targets = dashboard.panels.filter((p) => p.type !== 'row').flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
  expect(targets.length).toBeGreaterThan(20);
  // Rates and increases need two scrapes after the jobs: each query is asked again for up to 30 s.
  const empty: string[] = [];
  const answers = new Map<string, PromAnswer>();
  for (const t of targets) {
    const expr = asPromQL(t.expr);
    const until = Date.now() + 30_000;
    let a: PromAnswer;
    for (;;) {
      a = await query(base, expr);
      expect(a.status, `${t.panel} ${t.refId}: ${expr}: ${a.error}`).toBe('success');
      if (a.data.result.length > 0 || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    answers.set(`${t.panel}/${t.refId}`, a);
    if (a.data.result.length === 0) empty.push(`${t.panel} ${t.refId}: ${expr}`);
  }
  expect(empty, 'queries without data').toEqual([]);

  // What the jobs did shows: the demo and the two jobs finished, the provider was paid for the two, the relay's spool drained.
  // The chain is ahead of the store by a block follower's poll, the store of Prometheus by a scrape: each is waited for (30 s).
  const eventually = async (expr: string, ok: (v: number) => boolean) => {
    const until = Date.now() + 30_000;
    for (;;) {
      const v = Number((await query(base, expr)).data.result[0]?.value[1]);
      if (ok(v) || Date.now() > until) return v;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  expect(await eventually('gridlink_jobs{status="FINISHED"}', (v) => v >= 3)).toBeGreaterThanOrEqual(3);
  expect(await eventually('increase(gridlink_provider_credits[1h])', (v) => v > 0)).toBeGreaterThan(0);
  expect(await eventually('gridlink_claims{state="submitted"}', (v) => v >= 3)).toBeGreaterThanOrEqual(3);
  expect(await eventually('gridlink_spool_delivered_records{host="standalone-relay"}', (v) => v === 20)).toBe(20); // seqs 0..19
  expect(await eventually('gridlink_spool_appended_records{host="standalone-relay"}', (v) => v === 20)).toBe(20);
  expect(await eventually('gridlink_spool_backlog_records{host="standalone-relay"}', (v) => v === 0)).toBe(0);
  expect(await eventually('gridlink_relay_records_relayed_total', (v) => v === 20)).toBe(20);
  // The devnet's embedded relays (slurmctld's and each slurmd's spool) are there too.
  const spools = (await query(base, 'gridlink_spool_delivered_records')).data.result.map((r) => r.metric.daemon);
  expect(spools).toContain('slurmctld');
  expect(spools).toContain('slurmd');
}, 900_000);

it.skipIf(!existsSync('/usr/bin/promtool'))(`compose.yaml's Prometheus configuration passes promtool${skipReason(existsSync('/usr/bin/promtool'), 'promtool is not installed (apt-get install prometheus)')}`, () => {
  expect(execFileSync('/usr/bin/promtool', ['check', 'config', join(packageRoot, 'contrib/grafana/prometheus.yml')], { encoding: 'utf8' })).toMatch(/SUCCESS/);
});

#!/usr/bin/env node
// run-tests.mjs - `npm test`: the three test lanes at once, each serial within
// itself (see test/lanes.ts for which file runs where, and why):
//   cluster  vitest.config.ts        SLURM (cluster slot 0), SSSD, LDAP servers, devnet
//   slurm    vitest.slurm.config.ts  SLURM clusters in slot 1, beside the cluster lane's
//   light    vitest.light.config.ts  anvil, in-process servers, munge, containers
// Every output line is prefixed with its lane. Arguments go to every lane
// (`npm test -- test/relay/cli.test.ts`, `npm test -- -t 'outage'`); a lane
// that no file of the filter falls in passes (--passWithNoTests).
// `--lane=cluster` / `--lane=slurm` / `--lane=light` (repeatable) runs only those lanes.
// Beside them, from the start: scripts/prepare-tests.sh (the .deb, container
// images, the SLURM version matrix), its lines prefixed [prepare].
// Exits non-zero when any lane fails; SIGINT/SIGTERM go to every lane (a second
// one kills them).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// slot: the SLURM test cluster slot of the lane's clusters (GRIDLINK_CLUSTER_SLOT,
// harness/cluster/lock.ts): two cluster lanes, two clusters side by side.
const LANES = [
  { name: 'cluster', config: 'vitest.config.ts', slot: '0' },
  { name: 'slurm', config: 'vitest.slurm.config.ts', slot: '1' },
  { name: 'light', config: 'vitest.light.config.ts', slot: '0' },
];

const args = [];
const only = new Set();
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--lane') only.add(argv[++i]);
  else if (a.startsWith('--lane=')) only.add(a.slice('--lane='.length));
  else args.push(a);
}
for (const l of only) {
  if (!LANES.some((x) => x.name === l)) {
    console.error(`run-tests: unknown lane ${l} (lanes: ${LANES.map((x) => x.name).join(', ')})`);
    process.exit(2);
  }
}
const lanes = LANES.filter((l) => only.size === 0 || only.has(l.name));
const width = Math.max(...lanes.map((l) => l.name.length), 'prepare'.length);
// One id per run: scripts/prepare-tests.sh rebuilds the .deb once per run.
const runId = `${Date.now()}-${process.pid}`;

// What only the tests need (the .deb, container images, the SLURM version
// matrix) is built in the background from the start, at low CPU priority;
// a test that needs a piece waits for it (test/helpers/prepare.ts).
// Only for a whole run (no filter arguments) unless GRIDLINK_TEST_PREPARE=1;
// GRIDLINK_TEST_PREPARE=0 leaves it to those tests alone.
let prepare;
if (process.env.GRIDLINK_TEST_PREPARE === '1' || (process.env.GRIDLINK_TEST_PREPARE !== '0' && args.length === 0)) {
  const prefix = `[${'prepare'.padEnd(width)}] `;
  prepare = spawn('nice', ['-n', '15', 'bash', path.join(root, 'scripts', 'prepare-tests.sh'), 'all'], {
    cwd: root,
    env: { ...process.env, GRIDLINK_TEST_RUN: runId },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  prepare.once('error', (e) => process.stderr.write(`${prefix}could not start scripts/prepare-tests.sh: ${e.message}\n`));
  prefixLines(prepare.stdout, process.stdout, prefix);
  prefixLines(prepare.stderr, process.stderr, prefix);
  prepare.once('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`${prefix}scripts/prepare-tests.sh exited ${code}: the tests that need its pieces build them again and report why\n`);
  });
}
const summaryDir = mkdtempSync(path.join(tmpdir(), 'gridlink-test-summary-'));
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');

function prefixLines(stream, out, prefix) {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', (line) => out.write(`${prefix}${line}\n`));
  return new Promise((resolve) => rl.once('close', resolve));
}

const runs = lanes.map((lane) => {
  const prefix = `[${lane.name.padEnd(width)}] `;
  const summaryFile = path.join(summaryDir, `${lane.name}.json`);
  const started = Date.now();
  // Own process group: a terminal's Ctrl-C reaches only us, and we forward it once.
  const child = spawn(process.execPath, [vitest, 'run', '--config', lane.config, '--passWithNoTests', ...args], {
    cwd: root,
    env: { ...process.env, GRIDLINK_TEST_SUMMARY: summaryFile, GRIDLINK_TEST_LANE: lane.name, GRIDLINK_TEST_RUN: runId, GRIDLINK_CLUSTER_SLOT: lane.slot },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const outDone = prefixLines(child.stdout, process.stdout, prefix);
  const errDone = prefixLines(child.stderr, process.stderr, prefix);
  const exited = new Promise((resolve) => {
    child.once('error', (e) => {
      process.stderr.write(`${prefix}could not start vitest: ${e.message}\n`);
      resolve({ code: 1, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const done = Promise.all([exited, outDone, errDone]).then(([x]) => {
    const seconds = (Date.now() - started) / 1000;
    let summary;
    try {
      summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
    } catch {
      summary = undefined;
    }
    return { lane, prefix, ...x, seconds, summary };
  });
  return { lane, child, done };
});

let signals = 0;
function forward(sig) {
  signals++;
  for (const r of [...runs, ...(prepare ? [{ child: prepare }] : [])]) {
    if (r.child.exitCode !== null || r.child.signalCode !== null || !r.child.pid) continue;
    try {
      // To the lane's whole process group, as a terminal's Ctrl-C would: vitest,
      // its workers and what the tests started. A second signal kills the group.
      process.kill(-r.child.pid, signals === 1 ? sig : 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
let received;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    received ??= sig;
    forward(sig);
  });
}

const results = await Promise.all(runs.map((r) => r.done));
// Whatever the background preparation still builds, no test waits for now.
if (prepare && prepare.exitCode === null && prepare.signalCode === null && prepare.pid) {
  try {
    process.kill(-prepare.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
rmSync(summaryDir, { recursive: true, force: true });

const total = { passed: 0, failed: 0, skipped: 0 };
let ok = true;
process.stdout.write('\n');
for (const r of results) {
  const s = r.summary;
  const laneOk = r.code === 0 && (!s || s.failed === 0);
  ok &&= laneOk;
  const exit = r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  if (s) {
    total.passed += s.passed;
    total.failed += s.failed;
    total.skipped += s.skipped;
    process.stdout.write(
      `${r.prefix}${s.files} files: ${s.passed} passed, ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped` : ''}` +
        ` in ${r.seconds.toFixed(0)} s (${exit})${laneOk ? '' : ': FAILED'}\n`,
    );
    for (const f of s.failedFiles ?? []) process.stdout.write(`${r.prefix}  failed: ${path.relative(root, f)}\n`);
    // where the lane's time went: its slowest files, on one line
    const slowest = (s.fileTimes ?? []).slice(0, 8).map((k) => `${path.basename(k.file, '.test.ts')} ${(k.ms / 1000).toFixed(0)}`);
    if (slowest.length) process.stdout.write(`${r.prefix}  slowest files (s): ${slowest.join(', ')}\n`);
    // test/summary-reporter.ts: a skip is never silent, and a test near its own timeout is named
    for (const k of s.skippedTests ?? []) process.stdout.write(`${r.prefix}  skipped: ${k.file} > ${k.name}: ${k.reason}\n`);
    for (const k of s.slowTests ?? [])
      process.stdout.write(`${r.prefix}  near its timeout: ${k.file} > ${k.name}: ${(k.ms / 1000).toFixed(1)} s of ${(k.timeoutMs / 1000).toFixed(0)} s\n`);
  } else {
    process.stdout.write(`${r.prefix}no summary (vitest did not finish) in ${r.seconds.toFixed(0)} s (${exit})${laneOk ? '' : ': FAILED'}\n`);
    if (!laneOk) total.failed++;
  }
}
// The same plain line as test/summary-reporter.ts, for CI log readers: every lane together.
process.stdout.write(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}\n`);
if (received) process.exit(received === 'SIGINT' ? 130 : 143);
process.exit(ok ? 0 : 1);

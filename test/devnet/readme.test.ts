// The README's quick start, run as written: every line of the fenced shell
// blocks of its "Quick start" and "Submit your own job" sections, in order,
// through bash in the checkout, as a newcomer pastes them (the devnet in a
// directory of its own, GRIDLINK_DEVNET_DIR, so a devnet already running
// here is left alone). Two lines are not run whole:
// - `bash scripts/setup.sh && npm test` is not run at all: it is the run this
//   test is part of (npm test would start this test again).
// - `bash scripts/setup.sh && npm run devnet`: `npm run devnet` runs as
//   written, `bash scripts/setup.sh` does not: it runs `npm ci`, which
//   replaces node_modules under the tests running beside this one. The test
//   shows instead that setup ran: what each of its steps makes is there (the
//   system packages' daemons, node_modules, the addon's prebuild, the SLURM
//   plugins, the contracts, dist/).
// What the README says the devnet prints, and what `job submit --follow`
// ends with (the job's output), is checked too.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { packageRoot } from '../../src/native/index.js';
import { DEVNET_START_MS, runCommand, runScript, type Run } from './run-script.js';

const parent = mkdtempSync('/tmp/gl-readme-test-');
chmodSync(parent, 0o755); // customers' homes are below it
const dir = join(parent, 'devnet');
const env = { ...process.env, GRIDLINK_DEVNET_DIR: dir };
const show = (r: Run) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');

/** The text of the `## title` section, up to the next `## `. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `README has no "## ${title}" section`).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

/** The lines of the fenced ```sh blocks of a section, in order (blank lines dropped). */
function shellLines(text: string): string[] {
  const lines: string[] = [];
  for (const m of text.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```$/gm)) lines.push(...m[1]!.split('\n').filter((l) => l.trim() !== ''));
  return lines;
}

/** One line through bash in the checkout, as a person pastes it; SIGINT after timeoutMs. */
const bash = (line: string, timeoutMs: number): Promise<Run> => runCommand(env, 'bash', ['-c', line], timeoutMs);

const SETUP = 'bash scripts/setup.sh && ';
/** What each step of scripts/setup.sh leaves behind. */
function setupRan(): string[] {
  const missing: string[] = [];
  const onPath = (cmd: string) => [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin'].some((d) => existsSync(join(d, cmd)));
  for (const cmd of ['slurmctld', 'slurmd', 'munged', 'ns-slapd', 'slapd', 'sssd', 'cmake', 'podman']) if (!onPath(cmd)) missing.push(`${cmd} (Debian packages)`);
  for (const f of ['node_modules/.package-lock.json', 'prebuilds/linux-x64/gridlink.node', 'build-plugins/jobcomp_provider.so', 'build-plugins/spank_provider.so', 'build-plugins/gridlink_runtime.so', 'contracts/out/MetaScheduler.json', 'dist/cli/main.js', 'dist/relay/embedded.cjs'])
    if (!existsSync(join(packageRoot, f))) missing.push(f);
  return missing;
}

// The README writes hello.sh into the checkout; one that was there before is put back.
const hello = join(packageRoot, 'hello.sh');
const helloBefore = existsSync(hello) ? readFileSync(hello) : undefined;

afterAll(async () => {
  if (helloBefore) writeFileSync(hello, helloBefore);
  else rmSync(hello, { force: true });
  await runScript(env, 'harness/devnet/main.ts', ['down'], 420_000); // whatever the README's own devnet:down left
  rmSync(parent, { recursive: true, force: true });
}, 480_000);

it('runs the README\'s quick start and "submit your own job" as written', async () => {
  const quick = shellLines(section('Quick start'));
  const submit = shellLines(section('Submit your own job'));
  expect(quick).toHaveLength(2);
  expect(quick[0]).toMatch(/^bash scripts\/setup\.sh && npm run devnet(\s+#.*)?$/);
  expect(quick[1]).toMatch(/^bash scripts\/setup\.sh && npm test(\s+#.*)?$/);
  expect(submit.some((l) => l.includes('job submit'))).toBe(true);
  expect(submit.at(-1)).toBe('npm run devnet:down');

  const ran: Array<{ line: string; r: Run }> = [];
  for (const line of [...quick, ...submit]) {
    if (/^bash scripts\/setup\.sh && npm test\b/.test(line)) continue; // the run this test is part of
    let cmd = line;
    if (line.startsWith(SETUP)) {
      expect(setupRan(), 'scripts/setup.sh has not run here (what its steps make is missing)').toEqual([]);
      cmd = line.slice(SETUP.length);
    }
    const r = await bash(cmd, cmd.startsWith('npm run devnet') && !cmd.includes('devnet:down') ? DEVNET_START_MS : 300_000);
    expect(r.code, `${line}\n${show(r)}`).toBe(0);
    ran.push({ line, r });
  }

  // GRIDLINK_README_TRANSCRIPT=FILE keeps what each line printed (to update the README's abridged transcript from).
  if (process.env.GRIDLINK_README_TRANSCRIPT) writeFileSync(process.env.GRIDLINK_README_TRANSCRIPT, ran.map((x) => `$ ${x.line}\n${x.r.stdout}${x.r.stderr}`).join('\n'));

  // What "What the devnet prints" says it prints.
  const devnet = ran.find((x) => x.line.includes('npm run devnet') && !x.line.includes('devnet:down'))!.r.stdout;
  for (const status of ['PENDING', 'META_SCHEDULED', 'SCHEDULED', 'RUNNING', 'FINISHED']) expect(devnet, devnet).toContain(status);
  expect(devnet).toMatch(/requested on chain, 100 credits locked/);
  expect(devnet).toMatch(/submitted it to SLURM: job \d+/);
  expect(devnet).toMatch(/provider paid [\d.]+ credits .*customer refunded [\d.]+ credits/);
  for (const what of ['chain', 'contracts', 'accounts', 'SLURM_CONF=', 'users database', 'look a customer up: nsenter -t', 'logs', 'supervisor', 'metrics http://', 'gridlink doctor --config'])
    expect(devnet, `the devnet's "where everything is" lacks ${what}`).toContain(what);
  // The job's life, then its output: the script's one line, as the customer's user.
  const followed = ran.find((x) => x.line.includes('job submit'))!.r.stdout;
  expect(followed).toContain('FINISHED');
  expect(followed).toMatch(/hello from \S+ as 0x[0-9a-f]{40}/);
  // Every job of the account: the devnet's demo and this one.
  const listed = ran.find((x) => x.line.includes('job status'))!.r.stdout;
  expect(listed.match(/0x[0-9a-f]{64}/g)?.length ?? 0, listed).toBeGreaterThanOrEqual(2);
  // devnet:down stopped it.
  expect(existsSync(join(dir, 'state.json'))).toBe(false);
}, 1_200_000);

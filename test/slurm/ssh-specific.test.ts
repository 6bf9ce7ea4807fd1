// ssh-specific.test.ts - what only the ssh backend has: host key checks,
// the insecure escape hatch, a login node that dies and comes back, shell
// quoting of every string that reaches the login node, more concurrent calls
// than sshd's MaxSessions, and the #SBATCH neutralisation rules. The SLURM
// commands are fakes on this "login node" (a private sshd): they record what
// they were given, so the quoting is checked byte for byte without a cluster
// (the shared suite, ssh-backend.test.ts, runs the real sbatch).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlurmBackendError, type SlurmBackend, type SubmitRequest } from '../../src/slurm/backend.js';
import { splitJobLine, toSlurmJob } from '../../src/slurm/job-records.js';
import { neutraliseDirectives, remainingDirectives } from '../../src/slurm/sbatch-input.js';
import { createSshBackend, type SshBackendOptions } from '../../src/slurm/ssh.js';
import { startTestSshd, type TestSshd } from './sshd.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let sshd: TestSshd;
let dir: string;
let fakeSbatch: string;
let fakeScontrol: string;
const backends: SlurmBackend[] = [];

/** A logger whose lines the test can read. */
function capture(): { logger: Logger; lines: () => Array<{ level: number; msg: string }> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

function backend(over: Partial<SshBackendOptions> = {}): SlurmBackend {
  const b = createSshBackend({
    host: sshd.host,
    port: sshd.port,
    privateKeyPath: sshd.clientKeyPath,
    hostKey: sshd.hostPublicKey,
    sbatchPath: fakeSbatch,
    scontrolPath: fakeScontrol,
    scancelPath: '/bin/true',
    logger: pino({ level: 'silent' }),
    ...over,
  });
  backends.push(b);
  return b;
}

async function kindOf(p: Promise<unknown>): Promise<SlurmBackendError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(SlurmBackendError);
  return e as SlurmBackendError;
}

beforeAll(async () => {
  sshd = await startTestSshd();
  dir = mkdtempSync(path.join(tmpdir(), 'gl-ssh-fake-'));
  chmodSync(dir, 0o755);
  // sbatch: records argv, stdin (script), fd 3 (--export-file) and its own environment; prints a job id.
  fakeSbatch = path.join(dir, 'sbatch');
  writeFileSync(
    fakeSbatch,
    `#!/bin/bash
case " $* " in *" --test-only "*) exit 0;; esac
n=$(date +%s%N)-$$
d=${dir}/calls/$n; mkdir -p "$d"
printf '%s\\0' "$@" > "$d/argv"
cat > "$d/script"
cat <&3 > "$d/jobenv"
env -0 > "$d/ownenv"
sleep 0.3
echo 4242
`,
    { mode: 0o755 },
  );
  // scontrol: one fake job line; while DIR/hang exists it hangs first (a command in flight for the outage test).
  fakeScontrol = path.join(dir, 'scontrol');
  writeFileSync(
    fakeScontrol,
    `#!/bin/sh
[ -e ${dir}/hang ] && sleep 30
echo 'JobId=7 JobName=a b=c UserId=u(1000) GroupId=g(1000) MCS_label=N/A JobState=RUNNING Reason=None Dependency=(null) TimeLimit=00:05:00 NumNodes=1 NumTasks=1 CPUs/Task=1 Comment=x  StdOut=/o '
`,
    { mode: 0o755 },
  );
});

afterAll(async () => {
  for (const b of backends) await b.close().catch(() => undefined);
  await sshd?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const baseReq = (over: Partial<SubmitRequest> = {}): SubmitRequest => ({
  script: '#!/bin/sh\ntrue\n',
  name: '0x01',
  user: 'nobody',
  uid: 65534,
  gid: 65534,
  workDir: '/tmp',
  environment: { HOME: '/tmp' },
  partition: 'p',
  ntasks: 1,
  cpusPerTask: 1,
  memPerCpuMB: 64,
  gpus: 0,
  timeLimitMinutes: 5,
  ...over,
});

function calls(): Array<{ argv: string[]; script: string; jobenv: string[]; ownenv: string[] }> {
  const root = path.join(dir, 'calls');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort()
    .map((n) => {
      const f = (x: string) => readFileSync(path.join(root, n, x), 'utf8');
      const nul = (s: string) => s.split('\0').filter((x) => x !== '');
      return { argv: nul(f('argv')), script: f('script'), jobenv: nul(f('jobenv')), ownenv: nul(f('ownenv')) };
    });
}

describe('host key', () => {
  it('connects with the right public key or SHA256 fingerprint', async () => {
    expect(await backend().list()).toHaveLength(1);
    expect(await backend({ hostKey: sshd.hostFingerprint }).list()).toHaveLength(1);
    // A known_hosts line with host pattern and other keys around it.
    const kh = `# comment\n[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`;
    expect(await backend({ hostKey: kh }).list()).toHaveLength(1);
  });

  it('refuses a login node whose host key is not the configured one, saying so', async () => {
    const other = path.join(dir, 'other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const wrongKey = readFileSync(`${other}.pub`, 'utf8');
    for (const hostKey of [wrongKey, 'SHA256:' + 'A'.repeat(43)]) {
      const e = await kindOf(backend({ hostKey }).list());
      expect(e.kind).toBe('unavailable');
      expect(e.message).toMatch(/HOST KEY MISMATCH/);
      expect(e.message).toContain(sshd.hostFingerprint);
    }
    expect(() => backend({ hostKey: 'not a key' })).toThrow(/hostKey/);
    expect(() => createSshBackend({ host: 'x', privateKeyPath: sshd.clientKeyPath })).toThrow(/hostKey is required/);
  });

  it('insecureSkipHostKeyCheck connects to anything and warns at start', async () => {
    const { logger, lines } = capture();
    const b = backend({ hostKey: undefined, insecureSkipHostKeyCheck: true, logger });
    expect(lines().some((l) => l.level === 40 && /insecureSkipHostKeyCheck/.test(l.msg))).toBe(true);
    expect(await b.list()).toHaveLength(1);
    expect(lines().some((l) => l.level === 40 && l.msg.includes(sshd.hostFingerprint))).toBe(true);
  });
});

describe('quoting', () => {
  it('passes every string field verbatim: nothing runs on the login node', async () => {
    rmSync(path.join(dir, 'calls'), { recursive: true, force: true });
    const marker = path.join(dir, 'pwned');
    const evil = (tag: string) => `'; touch ${marker}; ' "$(touch ${marker})" \`touch ${marker}\` \${X:=$(touch ${marker})} ${tag}`;
    const req = baseReq({
      name: evil('name'),
      comment: evil('comment'),
      workDir: `/tmp/${evil('dir')}`,
      stdout: `/tmp/${evil('out')}`,
      stderr: `/tmp/${evil('err')}`,
      partition: `p$(touch\${IFS}${marker})\`touch\${IFS}${marker}\`'`,
      script: `#!/bin/sh\necho '${evil('script')}'\n`,
      environment: { HOME: '/tmp', EVIL: evil('env') + '\nsecond line', LD_PRELOAD: '/nonexistent.so', SBATCH_ARRAY_INX: '0-3' },
    });
    const b = backend({ slurmConf: `/etc/${evil('conf')}` });
    expect(await b.submit(req)).toEqual({ jobId: 4242 });
    expect(existsSync(marker)).toBe(false);
    const [c] = calls();
    expect(c!.argv).toEqual(
      expect.arrayContaining([
        `--job-name=${req.name}`,
        `--comment=${req.comment}`,
        `--chdir=${req.workDir}`,
        `--output=${req.stdout}`,
        `--error=${req.stderr}`,
        `--partition=${req.partition}`,
        '--ignore-pbs',
        '--export-file=3',
        '--uid=65534',
        '--gid=65534',
      ]),
    );
    expect(c!.script).toBe(req.script);
    expect(c!.jobenv).toEqual(Object.entries(req.environment).map(([k, v]) => `${k}=${v}`));
    // sbatch itself saw none of the job's variables, only PATH and SLURM_CONF.
    expect(c!.ownenv.map((kv) => kv.slice(0, kv.indexOf('=')))).toEqual(expect.arrayContaining(['PATH', 'SLURM_CONF']));
    expect(c!.ownenv.filter((kv) => !/^(PATH|SLURM_CONF|PWD|SHLVL|_)=/.test(kv))).toEqual([]);
    expect(c!.ownenv).toContain(`SLURM_CONF=/etc/${evil('conf')}`);
  });

  it('refuses what cannot be passed faithfully (NUL, control characters, bad variable names)', async () => {
    const b = backend();
    for (const over of [
      { environment: { A: 'x\0y' } },
      { environment: { 'A=B': 'x' } },
      { environment: { '': 'x' } },
      { name: 'a\nJobId=1 b' },
      { comment: 'x\ry' },
      { name: 'a JobState=COMPLETED' },
      { script: '#!/bin/sh\r\ntrue\r\n' },
      { script: 'echo no shebang\n' },
      { script: '#!/bin/sh\necho \0\n' },
      { partition: 'a b' },
      { workDir: 'relative' },
      { uid: 0 },
      { environment: { BIG: 'x'.repeat(130_000) } },
    ] as Array<Partial<SubmitRequest>>) {
      const e = await kindOf(b.submit(baseReq(over)));
      expect(e.kind, JSON.stringify(over).slice(0, 80)).toBe('refused');
    }
  });
});

describe('login node outage', () => {
  it("fails in bounded time with 'unavailable' while sshd is down, and recovers once it is back", async () => {
    const b = backend({ reconnectMinMs: 200, reconnectMaxMs: 1_000, connectTimeoutMs: 2_000, commandTimeoutMs: 5_000, keepaliveIntervalMs: 1_000 });
    expect(await b.list()).toHaveLength(1);
    // A command in flight when the node dies.
    writeFileSync(path.join(dir, 'hang'), '');
    const inFlight = kindOf(b.list()); // handlers attached now: it rejects while we stop sshd
    await sleep(500);
    await sshd.stop();
    rmSync(path.join(dir, 'hang'));
    const t0 = Date.now();
    const e = await inFlight;
    expect(e.kind).toBe('unavailable');
    expect(Date.now() - t0).toBeLessThan(6_000);
    // Every call while it is down: unavailable, quickly.
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      const err = await kindOf(b.submit(baseReq()));
      expect(err.kind).toBe('unavailable');
      expect(Date.now() - t).toBeLessThan(3_000);
      await sleep(300);
    }
    await sshd.start();
    const end = Date.now() + 15_000;
    for (;;) {
      try {
        expect(await b.list()).toHaveLength(1);
        break;
      } catch (x) {
        expect((x as SlurmBackendError).kind).toBe('unavailable');
        if (Date.now() > end) throw x;
        await sleep(250);
      }
    }
  }, 60_000);
});

describe('concurrency', () => {
  it('runs more concurrent submits than sshd allows sessions (MaxSessions 10); all succeed', async () => {
    const sessionsStarted = () => readFileSync(sshd.logPath, 'utf8').split('\n').filter((l) => l.includes('Starting session:')).length;
    for (const maxChannels of [8, 16]) {
      rmSync(path.join(dir, 'calls'), { recursive: true, force: true });
      const { logger, lines } = capture();
      const b = backend({ maxChannels, commandTimeoutMs: 30_000, logger });
      const before = sessionsStarted();
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => b.submit(baseReq({ name: `0x${i}` }))));
      expect(results.every((r) => r.jobId === 4242)).toBe(true);
      expect(calls()).toHaveLength(30);
      // One login shell per channel, reused by every command: never one per command (root's ~/.bashrc runs in each).
      expect(sessionsStarted() - before).toBeLessThanOrEqual(Math.min(maxChannels, 10));
      // Above MaxSessions: sshd's refusal caps the pool, said at most once (whether the
      // pool grows past 10 at all depends on how fast the first shells serve the burst).
      expect(lines().filter((l) => /refused ssh sessions beyond 10 \(sshd MaxSessions\)/.test(l.msg)).length).toBeLessThanOrEqual(maxChannels > 10 ? 1 : 0);
    }
  }, 60_000);
});

describe('#SBATCH neutralisation (sbatch 22.05 rules)', () => {
  it('disables #SBATCH/#SLURM in the leading comment block only', () => {
    const s = ['#!/bin/bash', '#SBATCH --array=0-3', '', '# a comment', '#SLURM --nodes=2', ' #SBATCH --indented-is-not-read', '\t', '#SBATCH --exclusive', 'echo run', '#SBATCH --after-command-is-not-read', 'cat <<EOF', '#SBATCH -N 4', 'EOF', ''].join('\n');
    const out = neutraliseDirectives(s);
    expect(remainingDirectives(out)).toEqual([]);
    expect(out.split('\n')).toEqual(['#!/bin/bash', '##SBATCH --array=0-3', '', '# a comment', '##SLURM --nodes=2', ' #SBATCH --indented-is-not-read', '\t', '##SBATCH --exclusive', 'echo run', '#SBATCH --after-command-is-not-read', 'cat <<EOF', '#SBATCH -N 4', 'EOF', '']);
    expect(neutraliseDirectives('#!/usr/bin/env python3\n#SBATCH --qos=x\nprint(1)\n')).toBe('#!/usr/bin/env python3\n##SBATCH --qos=x\nprint(1)\n');
  });

  it('reads scontrol -o job lines with spaces and = in free text', () => {
    const j = toSlurmJob(splitJobLine('JobId=7 JobName=a b=c UserId=u(1000) GroupId=g(1000) MCS_label=N/A JobState=RUNNING Reason=None Dependency=(null) TimeLimit=00:05:00 NumNodes=1 NumTasks=1 CPUs/Task=1 Comment=x y=z  StdOut=/o '))!;
    expect(j).toMatchObject({ jobId: 7, name: 'a b=c', comment: 'x y=z', userId: 1000, state: 'RUNNING', timeLimitMinutes: 5 });
    // JobId is the first field: later text cannot replace it.
    expect(splitJobLine('JobId=7 JobName=x JobId=8 UserId=u(1)').JobId).toBe('7');
  });
});

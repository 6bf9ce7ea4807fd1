// ssh-shell.test.ts - the ssh backend's long-lived shells (src/slurm/ssh-shell.ts
// through src/slurm/ssh-connection.ts) on a private sshd: many commands per
// session, each one's stdin, stdout, stderr and status exactly its own, a
// command that prints a fake end marker or outlives its timeout, and the
// will-run sharing of src/slurm/ssh-will-run.ts.
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlurmBackendError } from '../../src/slurm/backend.js';
import { SshConnection } from '../../src/slurm/ssh-connection.js';
import { WillRunChecks } from '../../src/slurm/ssh-will-run.js';
import { startTestSshd, type TestSshd } from './sshd.js';

let sshd: TestSshd;
let conn: SshConnection;

const sessionsStarted = () => readFileSync(sshd.logPath, 'utf8').split('\n').filter((l) => l.includes('Starting session:')).length;

beforeAll(async () => {
  sshd = await startTestSshd();
  conn = new SshConnection({
    host: sshd.host,
    port: sshd.port,
    username: 'root',
    privateKey: readFileSync(sshd.clientKeyPath),
    verifyHostKey: () => true,
    expectedHostKey: 'any',
    connectTimeoutMs: 10_000,
    commandTimeoutMs: 10_000,
    maxChannels: 4,
    reconnectMinMs: 200,
    reconnectMaxMs: 1_000,
    keepaliveIntervalMs: 0,
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await conn?.close();
  await sshd?.destroy();
});

describe('shell workers', () => {
  it('runs many commands per session, each with exactly its own input, output and status', async () => {
    const before = sessionsStarted();
    const input = `line 1\n'quoted' "double" $(not run) \`nor this\` \\ \u00e9\u{1F600}\nno newline at the end`;
    for (let i = 0; i < 20; i++) {
      const r = await conn.exec(`cat; printf 'E%s' ${i} >&2; exit ${i % 3}`, input);
      expect(r).toEqual({ code: i % 3, signal: undefined, stdout: input, stderr: `E${i}` });
    }
    // Without stdin: /dev/null, never the worker's own input (the next request).
    expect(await conn.exec('cat; echo done')).toMatchObject({ code: 0, stdout: 'done\n' });
    // State of one command does not leak into the next (subshell).
    await conn.exec('cd /; X=leak; export X; exec 7>/dev/null');
    expect(await conn.exec('pwd; echo "${X-unset}"; [ -e /dev/fd/7 ] && echo fd7 || echo nofd7')).toMatchObject({ stdout: `${process.env.HOME ?? '/root'}\nunset\nnofd7\n` });
    expect(sessionsStarted() - before).toBe(1);
  });

  it("does not end a command's output at a forged marker, and carries large outputs whole", async () => {
    const forged = await conn.exec(`printf '\\ngl00000000000000000000000000000000000\\n'; printf '\\ngl00000000000000000000000000000000\\n' >&2; echo after`);
    expect(forged.code).toBe(0);
    expect(forged.stdout).toBe('\ngl00000000000000000000000000000000000\nafter\n');
    expect(forged.stderr).toBe('\ngl00000000000000000000000000000000\n');
    const big = await conn.exec('seq 1 300000');
    expect(big.stdout).toBe(Array.from({ length: 300_000 }, (_, i) => `${i + 1}\n`).join(''));
  });

  it('reports a death by signal as such, and survives it', async () => {
    const r = await conn.exec(`sh -c 'kill -KILL $$'`);
    expect(r.code).toBeNull();
    expect(r.signal).toBe('KILL');
    expect((await conn.exec('echo ok')).stdout).toBe('ok\n');
  });

  it('a command past its timeout fails unavailable; the next command gets a working shell', async () => {
    const t = Date.now();
    const e = await conn.exec('sleep 5', undefined, 500).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(SlurmBackendError);
    expect((e as SlurmBackendError).kind).toBe('unavailable');
    expect((e as SlurmBackendError).message).toMatch(/did not finish within 500 ms.*may or may not have taken effect/);
    expect(Date.now() - t).toBeLessThan(3_000);
    expect((await conn.exec('echo ok')).stdout).toBe('ok\n');
  });

  it('runs at most maxChannels commands at once and queues the rest', async () => {
    const t = Date.now();
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => conn.exec(`sleep 0.3; echo ${i}`)));
    expect(rs.map((r) => r.stdout)).toEqual(Array.from({ length: 12 }, (_, i) => `${i}\n`));
    // 12 commands of 0.3 s on 4 shells: 3 rounds, not 1.
    expect(Date.now() - t).toBeGreaterThanOrEqual(850);
  });
});

describe('will-run checks shared by shape', () => {
  it('runs identical checks once while in flight and reuses a pass for the TTL; a failure is not kept', async () => {
    let now = 0;
    const checks = new WillRunChecks(1_000, () => now);
    let runs = 0;
    const pass = async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 20));
    };
    await Promise.all([checks.check('a', pass), checks.check('a', pass), checks.check('a', pass)]);
    expect(runs).toBe(1);
    now = 999;
    await checks.check('a', pass);
    expect(runs).toBe(1);
    await checks.check('b', pass);
    expect(runs).toBe(2);
    now = 1_000;
    await checks.check('a', pass);
    expect(runs).toBe(3);

    const refused = new Error('Requested node configuration is not available');
    let fails = 0;
    const fail = async () => {
      fails++;
      await new Promise((r) => setTimeout(r, 20));
      throw refused;
    };
    const both = await Promise.allSettled([checks.check('c', fail), checks.check('c', fail)]);
    expect(both.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(fails).toBe(1);
    await expect(checks.check('c', fail)).rejects.toBe(refused);
    expect(fails).toBe(2);
  });
});

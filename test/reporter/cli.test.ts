// `gridlink reporter ingest` as a process: a 200 means stored (it survives
// kill -9), SIGTERM stops it cleanly within 5 s, bad configuration refuses to start.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureMunge } from '../../harness/cluster/munge.js';
import { PROMPT_EXIT_MS, sigterm } from '../helpers/sigterm.js';
import { batchBody, mungeHeader, newSpoolId, post, storedRecords, tempDir, wireEvent } from './helpers.js';

const ENTRY = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));

interface Running {
  child: ChildProcessWithoutNullStreams;
  url: string;
  logs: Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function run(args: string[]): { child: ChildProcessWithoutNullStreams; exited: Running['exited']; logs: Running['logs']; listening: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'reporter', 'ingest', ...args], { stdio: 'pipe' });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      const j = JSON.parse(l) as Record<string, unknown>;
      logs.push(j);
      if (j.msg === 'ingest: listening') resolve(String(j.url));
    });
    void exited.then((e) => reject(new Error(`reporter exited (${e.code ?? e.signal}): ${e.stderr}`)));
  });
  return { child, exited, logs, listening };
}

async function start(args: string[]): Promise<Running> {
  const r = run(args);
  return { child: r.child, url: await r.listening, logs: r.logs, exited: r.exited };
}

let root: { dir: string; cleanup: () => void };
beforeAll(async () => {
  await ensureMunge();
  root = tempDir('gl-cli-');
});
afterAll(() => root?.cleanup());

describe('gridlink reporter ingest', () => {
  it('an answered batch survives kill -9; after restart it is a duplicate', async () => {
    const store = join(root.dir, 'store-kill');
    const spoolId = newSpoolId();
    let r = await start(['--listen', '127.0.0.1:0', '--store', store]);
    const body = batchBody(spoolId, [wireEvent(1), wireEvent(2)]);
    expect((await post(r.url, body, await mungeHeader(body))).json).toEqual({ stored: 2, duplicates: 0, rejected: [] });
    r.child.kill('SIGKILL');
    expect((await r.exited).signal).toBe('SIGKILL');
    expect(storedRecords(store).map((l) => l.seq)).toEqual(['1', '2']);

    r = await start(['--listen', '127.0.0.1:0', '--store', store]); // takes over the dead process's lock
    const again = batchBody(spoolId, [wireEvent(1), wireEvent(2), wireEvent(3)]);
    expect((await post(r.url, again, await mungeHeader(again))).json).toEqual({ stored: 1, duplicates: 2, rejected: [] });
    const e = await sigterm(r.child);
    expect(e.code).toBe(0);
    expect(e.ms).toBeLessThan(PROMPT_EXIT_MS);
    expect(r.logs.some((l) => l.msg === 'ingest: stopped')).toBe(true);
  });

  it('HMAC-only mode with --no-munge and --hmac-key', async () => {
    const key = join(root.dir, 'k1.key');
    writeFileSync(key, 'x'.repeat(40), { mode: 0o600 });
    const r = await start(['--listen', '127.0.0.1:0', '--store', join(root.dir, 'store-hmac'), '--no-munge', '--hmac-key', `k1=${key}`]);
    try {
      const { hmacHeader } = await import('./helpers.js');
      const body = batchBody(newSpoolId(), [wireEvent(1)]);
      expect((await post(r.url, body, hmacHeader('k1', 'x'.repeat(40), body))).status).toBe(200);
      expect((await post(r.url, body, await mungeHeader(body))).json).toMatchObject({ error: 'munge_disabled' });
    } finally {
      r.child.kill('SIGTERM');
      expect((await r.exited).code).toBe(0);
    }
  });

  it('refuses to start with a key file of mode 0644, telling what to do', async () => {
    const key = join(root.dir, 'open.key');
    writeFileSync(key, 'y'.repeat(40), { mode: 0o644 });
    const r = run(['--listen', '127.0.0.1:0', '--store', join(root.dir, 'store-bad'), '--hmac-key', `k=${key}`]);
    r.listening.catch(() => undefined);
    const e = await r.exited;
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/mode 0644.*chmod 600/);
  });

  it('refuses an unknown --slurm-user', async () => {
    const r = run(['--listen', '127.0.0.1:0', '--store', join(root.dir, 'store-bad2'), '--slurm-user', 'no-such-user-gl']);
    r.listening.catch(() => undefined);
    const e = await r.exited;
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/SlurmUser "no-such-user-gl" is not a known user/);
  });
});

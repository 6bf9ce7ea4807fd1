// munge.ts - the machine's munged for test clusters: checked with a credential
// round trip, started when none answers.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** True when a credential round-trips through the local munged (`munge -n | unmunge`). */
export async function mungeWorks(): Promise<boolean> {
  return new Promise((resolve) => {
    const enc = spawn('munge', ['-n'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const dec = spawn('unmunge', [], { stdio: ['pipe', 'ignore', 'ignore'] });
    enc.on('error', () => resolve(false));
    dec.on('error', () => resolve(false));
    dec.stdin.on('error', () => undefined);
    enc.stdout.pipe(dec.stdin);
    dec.on('exit', (code) => resolve(code === 0));
  });
}

/**
 * Starts munged when no working one answers. munged is machine-wide (fixed
 * socket /run/munge/munge.socket.2) and shared by every cluster, so it is
 * left running. Without systemd nobody creates /run/munge: we do.
 */
export async function ensureMunge(timeoutMs = 10_000): Promise<void> {
  if (await mungeWorks()) return;
  if (!existsSync('/etc/munge/munge.key')) {
    throw new Error('munge: /etc/munge/munge.key is missing; run scripts/install-system-deps.sh as root');
  }
  await execFileP('install', ['-d', '-o', 'munge', '-g', 'munge', '-m', '0755', '/run/munge']);
  await execFileP('install', ['-d', '-o', 'munge', '-g', 'munge', '-m', '0700', '/var/log/munge', '/var/lib/munge']);
  // munged checks that its key belongs to the user it runs as: run it as munge.
  // It daemonizes, so this returns once the socket is set up.
  await execFileP('runuser', ['-u', 'munge', '--', 'munged'], { timeout: 10_000 }).catch((e: Error) => {
    throw new Error(`munge: starting munged failed: ${e.message}`);
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await mungeWorks()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('munge: munged started but `munge -n | unmunge` still fails (see /var/log/munge/munged.log)');
}

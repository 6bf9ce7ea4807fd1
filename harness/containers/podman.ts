// podman.ts - running podman as this host needs it (../shared/DESIGN.md):
// runc, not crun (crun refuses cgroups in hybrid mode), and rlimits given
// explicitly on every `run` (the process cannot raise its own).
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Limits every container is started with: podman cannot inherit higher ones here. */
export const CONTAINER_ULIMITS = { nofile: [20000, 20000], nproc: [32768, 32768] } as const;

export class ContainerEngineError extends Error {}

/** `podman --runtime runc ARGS`; resolves with stdout, rejects with podman's stderr. */
export async function podman(args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<string> {
  const full = ['--runtime', 'runc', ...args];
  if (opts.input !== undefined) {
    return new Promise((resolve, reject) => {
      const p = spawn('podman', full, { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      p.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-8000)));
      p.on('error', reject);
      p.on('close', (code) => (code === 0 ? resolve(out) : reject(new ContainerEngineError(`podman ${args[0]} exited ${code}: ${err.trim()}`))));
      p.stdin.end(opts.input);
    });
  }
  try {
    const { stdout } = await execFileP('podman', full, { maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 120_000 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string; code?: unknown };
    throw new ContainerEngineError(`podman ${args.slice(0, 2).join(' ')} failed: ${(err.stderr || err.message).trim().slice(-2000)}`);
  }
}

export interface EngineCheck {
  ok: boolean;
  /** What is missing and how to get it, when not ok. */
  reason?: string;
}

/** Whether containers can run here: podman installed and a container starts with runc. */
export async function checkPodman(): Promise<EngineCheck> {
  try {
    await execFileP('podman', ['--version']);
  } catch {
    return { ok: false, reason: 'podman is not installed (apt-get install podman runc debootstrap; scripts/install-system-deps.sh does it)' };
  }
  try {
    await execFileP('runc', ['--version']);
  } catch {
    return { ok: false, reason: 'runc is not installed (apt-get install runc): crun cannot run containers on this host' };
  }
  try {
    await podman(['info', '--format', '{{.Host.OCIRuntime.Name}}'], { timeoutMs: 30_000 });
  } catch (e) {
    return { ok: false, reason: `podman does not work here: ${(e as Error).message}` };
  }
  return { ok: true };
}

/** A container's output, stdout and stderr interleaved as podman stored them. */
export async function podmanLogs(container: string): Promise<string> {
  try {
    const { stdout, stderr } = await execFileP('podman', ['--runtime', 'runc', 'logs', container], { maxBuffer: 64 << 20, timeout: 30_000 });
    return stdout + stderr;
  } catch (e) {
    return `(podman logs ${container} failed: ${(e as Error).message})`;
  }
}

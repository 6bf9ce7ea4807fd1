// docker.ts - a Docker engine for the container suite where there is no
// service manager (../shared/DESIGN.md): dockerd started by hand on a
// socket, data root and bridge of its own (it shares nothing with another
// dockerd or with podman), stopped again by the harness. dockerd sets the
// iptables FORWARD policy to DROP, which cuts podman's bridge networking on
// the same host: the policy found before is put back as soon as dockerd has
// started (dockerd's own rules do not need DROP) and again once it stopped.
// Images move in from podman with `podman save | docker load`.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { EngineCheck } from './podman.js';

const execFileP = promisify(execFile);

/** Debian's docker CLI (a docker in /usr/local/bin may be another build). */
export const DOCKER_CLI = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

export interface Dockerd {
  /** DOCKER_HOST for the CLI and docker-compose. */
  host: string;
  env: NodeJS.ProcessEnv;
  docker(args: string[], opts?: { timeoutMs?: number }): Promise<string>;
  log(): string;
  stop(): Promise<void>;
}

async function forwardPolicy(): Promise<string | undefined> {
  try {
    const { stdout } = await execFileP('iptables', ['-S', 'FORWARD']);
    return stdout.match(/^-P FORWARD (\S+)/m)?.[1];
  } catch {
    return undefined;
  }
}
const setForwardPolicy = (p: string) => execFileP('iptables', ['-P', 'FORWARD', p]).then(() => undefined, () => undefined);

/** Whether a Docker engine can be started here: dockerd, Debian's docker CLI and docker-compose installed, root. */
export async function checkDocker(): Promise<EngineCheck> {
  for (const [bin, pkg] of [['dockerd', 'docker.io'], [DOCKER_CLI, 'docker.io'], ['docker-compose', 'docker-compose']] as const) {
    try {
      await execFileP(bin, ['--version']);
    } catch {
      return { ok: false, reason: `${bin} is not installed (apt-get install docker.io docker-compose; scripts/install-system-deps.sh --docker does it)` };
    }
  }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'dockerd needs root' };
  return { ok: true };
}

/** Starts a private dockerd under `dir` (data root, exec root, socket, log) and waits until it answers. */
export async function startDockerd(dir: string, timeoutMs = 120_000): Promise<Dockerd> {
  mkdirSync(dir, { recursive: true });
  const sock = join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  const logFile = join(dir, 'dockerd.log');
  const before = await forwardPolicy();
  const fd = openSync(logFile, 'a');
  // a bridge of its own (docker0 may belong to another dockerd), on a /24 podman does not use
  const bridgeIp = `172.31.${200 + (process.pid % 50)}.1/24`;
  const child: ChildProcess = spawn(
    'dockerd',
    ['--host', host, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'dockerd.pid'), '--bip', bridgeIp, '--default-address-pool', `base=172.30.0.0/16,size=24`],
    { stdio: ['ignore', fd, fd], detached: false },
  );
  closeSync(fd);
  const env = { ...process.env, DOCKER_HOST: host };
  const docker = async (args: string[], opts: { timeoutMs?: number } = {}) => {
    try {
      const { stdout } = await execFileP(DOCKER_CLI, args, { env, maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 120_000 });
      return stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`docker ${args.slice(0, 2).join(' ')} failed: ${(err.stderr || err.message).trim().slice(-2000)}`);
    }
  };
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : '');
  let exited = false;
  const gone = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 30_000))]);
      if (!exited) {
        child.kill('SIGKILL');
        await gone;
      }
    }
    if (before) await setForwardPolicy(before);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`dockerd exited at start: ${log()}`);
    }
    if (await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 }).then(() => true, () => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`dockerd did not answer on ${sock} within ${timeoutMs} ms: ${log()}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  if (before && (await forwardPolicy()) !== before) await setForwardPolicy(before);
  return { host, env, docker, log, stop };
}

/** `podman save IMAGE | docker load`: the debootstrap base images reach Docker without a registry. */
export async function podmanToDocker(image: string, d: Dockerd): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const save = spawn('podman', ['--runtime', 'runc', 'save', image], { stdio: ['ignore', 'pipe', 'pipe'] });
    const load = spawn(DOCKER_CLI, ['load'], { env: d.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    save.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    load.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    save.stdout.pipe(load.stdin);
    save.once('error', reject);
    load.once('error', reject);
    load.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`podman save ${image} | docker load failed (${code}): ${err}`))));
  });
}

/**
 * `COMPOSE -p PROJECT -f FILE ARGS` against this dockerd, COMPOSE being
 * docker-compose 1.29 (default) or a Compose v2 binary; resolves with
 * stdout, rejects with its output.
 */
export async function dockerCompose(d: Dockerd, o: { project: string; file: string; env?: Record<string, string>; bin?: string }, args: string[], timeoutMs = 600_000): Promise<string> {
  try {
    const { stdout } = await execFileP(o.bin ?? 'docker-compose', ['-p', o.project, '-f', o.file, ...args], { env: { ...d.env, ...o.env }, maxBuffer: 64 << 20, timeout: timeoutMs });
    return stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`docker-compose ${args.join(' ')} failed: ${`${err.stdout ?? ''}${err.stderr || err.message}`.trim().slice(-3000)}`);
  }
}

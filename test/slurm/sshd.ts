// sshd.ts - a private OpenSSH server for the ssh backend's tests: the
// "login node" is this machine, reached as root over 127.0.0.1 on a free
// port. Everything lives in a temp dir (config, ed25519 host key, the
// client's key, authorized_keys, pid file, log); the system sshd service is
// never touched. stop() kills the listener AND its per-connection children
// by PID (killing only the listener leaves established sessions alive, which
// is not what "the login node went away" means); start() again reuses the
// same keys and port, so a client can reconnect to "the same" host.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { descendants, isAlive, waitForExit } from '../../src/util/proc.js';
import { freePorts } from '../../harness/cluster/ports.js';

export interface TestSshd {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly dir: string;
  /** The client's private key (root's authorized key). */
  readonly clientKeyPath: string;
  /** `ssh-ed25519 AAAA...` as in known_hosts. */
  readonly hostPublicKey: string;
  /** `SHA256:...` as ssh-keygen -lf prints it. */
  readonly hostFingerprint: string;
  readonly logPath: string;
  pid(): number | undefined;
  /** Starts the listener again (same port, keys) after stop(); resolves once it accepts connections. */
  start(): Promise<void>;
  /** Kills the listener and every session it forked (SIGKILL by PID). Idempotent. */
  stop(): Promise<void>;
  /** stop() and delete the temp dir. */
  destroy(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
async function waitListening(port: number, child: ChildProcess, logPath: string, timeoutMs = 10_000): Promise<void> {
  const { connect } = await import('node:net');
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}) before listening:\n${readFileSync(logPath, 'utf8').slice(-2000)}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`sshd did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${readFileSync(logPath, 'utf8').slice(-2000)}`);
    await sleep(50);
  }
}

/** Starts a private sshd as root on 127.0.0.1 and a free port (MaxSessions defaults to sshd's own default, 10). */
export async function startTestSshd(opts: { maxSessions?: number } = {}): Promise<TestSshd> {
  if (process.getuid?.() !== 0) throw new Error('the test sshd must run as root (it authenticates root and runs sbatch --uid)');
  // Privilege separation directory; sshd refuses to start without it.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(path.join(tmpdir(), 'gl-sshd-'));
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  const clientKeyPath = path.join(dir, 'client_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gridlink-test-host', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gridlink-test-client', '-f', clientKeyPath]);
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(`${clientKeyPath}.pub`), { mode: 0o600 });
  const hostPublicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const hostFingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`], { encoding: 'utf8' }).split(/\s+/)[1]!;
  const [port] = await freePorts(1);
  const confPath = path.join(dir, 'sshd_config');
  const logPath = path.join(dir, 'sshd.log');
  writeFileSync(
    confPath,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'UsePAM no',
      'StrictModes no',
      `MaxSessions ${opts.maxSessions ?? 10}`,
      'MaxStartups 100:30:200',
      'LogLevel VERBOSE',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  execFileSync(SSHD, ['-t', '-f', confPath]);

  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const log = createWriteStream(logPath, { flags: 'a' });
    await new Promise((r) => log.once('open', r));
    // -D: foreground, so this process owns it; -e: log to stderr (the log file).
    child = spawn(SSHD, ['-D', '-e', '-f', confPath], { stdio: ['ignore', log, log] });
    child.once('exit', () => log.end());
    await waitListening(port!, child, logPath);
  };
  const stop = async (): Promise<void> => {
    const pid = child?.pid;
    if (pid === undefined || !isAlive(pid)) return;
    // Sessions first (they are the listener's children), then the listener.
    for (const p of [...descendants([pid]), pid]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await waitForExit([pid], 5_000);
  };
  const killNow = (): void => {
    const pid = child?.pid;
    if (pid !== undefined && isAlive(pid)) for (const p of [...descendants([pid]), pid]) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  };
  // A test process that dies without stop() must not leave sshd listening.
  process.once('exit', killNow);
  await start();
  return {
    host: '127.0.0.1',
    port: port!,
    dir,
    clientKeyPath,
    hostPublicKey,
    hostFingerprint,
    logPath,
    pid: () => (child?.pid !== undefined && isAlive(child.pid) ? child.pid : undefined),
    start,
    stop,
    async destroy() {
      await stop();
      process.removeListener('exit', killNow);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

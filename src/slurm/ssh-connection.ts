// ssh-connection.ts - one ssh2 connection to the login node, reused for every
// command, with at most `maxChannels` exec channels open at once (sshd
// refuses channels beyond its MaxSessions, 10 by default), the rest queued.
//
// Failure model: every call ends within connectTimeoutMs + 2 x
// commandTimeoutMs (connect, wait for a channel, run) and fails with
// SlurmBackendError kind 'unavailable' when the login node cannot be reached,
// rejects our key or presents a host key we do not expect. After a failed
// connect or a dropped connection the next attempt waits for a backoff
// (reconnectMinMs doubling to reconnectMaxMs); calls made meanwhile fail at
// once instead of queueing, so a supervisor loop never hangs on a dead login
// node. Reconnecting is lazy: the first call after the backoff reconnects.
import { createHash } from 'node:crypto';
import { Client, type ClientChannel } from 'ssh2';
import type { Logger } from 'pino';
import { SlurmBackendError } from './backend.js';

export interface ExecResult {
  /** Exit status; null when the command died by a signal (then `signal`). */
  code: number | null;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

export interface SshConnectionOptions {
  host: string;
  port: number;
  username: string;
  privateKey: Buffer;
  /** true when the presented host key (SSH wire blob) is the expected one. */
  verifyHostKey: (key: Buffer) => boolean;
  /** What the verifier expects, for error messages. */
  expectedHostKey: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  maxChannels: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  keepaliveIntervalMs: number;
  logger: Logger;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SshConnection {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private backoffMs: number;
  private nextAttemptAt = 0;
  private lastError = '';
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  /** Rejecters of the commands running on the current connection. */
  private readonly inFlight = new Set<(e: Error) => void>();
  private closed = false;
  /** Host key fingerprint of the last rejected key, for the error message. */
  private rejectedKey: string | undefined;

  constructor(private readonly o: SshConnectionOptions) {
    this.backoffMs = o.reconnectMinMs;
  }

  private get where(): string {
    return `login node ${this.o.username}@${this.o.host}:${this.o.port}`;
  }

  /** Runs `command` (through the login shell of `username`) with `stdin`; the command's own failures are in the result. */
  async exec(command: string, stdin?: string, timeoutMs = this.o.commandTimeoutMs): Promise<ExecResult> {
    if (this.closed) throw new SlurmBackendError('unavailable', 'the ssh SLURM backend is closed');
    const client = await this.connected();
    await this.acquire(timeoutMs);
    try {
      return await this.run(client, command, stdin, timeoutMs);
    } finally {
      this.release();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w();
    const c = this.client;
    this.client = undefined;
    if (c) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2_000);
        c.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        c.end();
      });
    }
  }

  private unavailable(msg: string, cause?: unknown): SlurmBackendError {
    return new SlurmBackendError('unavailable', msg, undefined, cause === undefined ? undefined : { cause });
  }

  private async connected(): Promise<Client> {
    if (this.client) return this.client;
    if (this.connecting) return this.connecting;
    const wait = this.nextAttemptAt - Date.now();
    if (wait > 0) {
      throw this.unavailable(`${this.where} unreachable (${this.lastError}); next connection attempt in ${Math.ceil(wait / 1000)} s`);
    }
    this.connecting = this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private connect(): Promise<Client> {
    const c = new Client();
    this.rejectedKey = undefined;
    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      const fail = (e: Error & { level?: string }) => {
        if (ready) return;
        ready = true; // settle once
        const why = this.describeConnectError(e);
        this.lastError = why;
        this.nextAttemptAt = Date.now() + this.backoffMs;
        this.backoffMs = Math.min(this.o.reconnectMaxMs, this.backoffMs * 2);
        this.o.logger.error({ err: e.message }, `ssh SLURM backend: cannot connect to ${this.where}: ${why}`);
        c.destroy();
        reject(this.unavailable(`${this.where} unreachable: ${why}`, e));
      };
      c.once('ready', () => {
        if (ready) return;
        ready = true;
        this.client = c;
        this.backoffMs = this.o.reconnectMinMs;
        this.nextAttemptAt = 0;
        this.o.logger.info(`ssh SLURM backend: connected to ${this.where}`);
        resolve(c);
      });
      c.on('error', (e: Error & { level?: string }) => {
        if (!ready) return fail(e);
        this.lastError = e.message;
        this.o.logger.warn({ err: e.message }, `ssh SLURM backend: connection to ${this.where} failed`);
      });
      c.once('close', () => {
        if (!ready) return fail(new Error('connection closed during the handshake'));
        if (this.client === c) {
          this.client = undefined;
          // The next attempt waits a little: a node that drops us at once is not hammered.
          this.nextAttemptAt = Date.now() + this.backoffMs;
          this.lastError = this.lastError || 'connection closed';
          if (!this.closed) this.o.logger.warn(`ssh SLURM backend: connection to ${this.where} closed; reconnecting on the next call`);
        }
        const lost = this.unavailable(`connection to ${this.where} lost while the command ran; it may or may not have taken effect`);
        for (const r of [...this.inFlight]) r(lost);
      });
      try {
        c.connect({
          host: this.o.host,
          port: this.o.port,
          username: this.o.username,
          privateKey: this.o.privateKey,
          readyTimeout: this.o.connectTimeoutMs,
          keepaliveInterval: this.o.keepaliveIntervalMs,
          keepaliveCountMax: 3,
          hostVerifier: (key: Buffer) => {
            if (this.o.verifyHostKey(key)) return true;
            this.rejectedKey = fingerprintOf(key);
            return false;
          },
        });
      } catch (e) {
        fail(e as Error);
      }
    });
  }

  private describeConnectError(e: Error & { level?: string }): string {
    if (this.rejectedKey) {
      return `HOST KEY MISMATCH: it presented ${this.rejectedKey}, expected ${this.o.expectedHostKey}. Refusing to talk to it. If the login node's host key really changed, check it (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the node) and update the hostKey option`;
    }
    if (e.level === 'client-authentication') {
      return `authentication as ${this.o.username} failed: is the public key of privateKeyPath in ~${this.o.username}/.ssh/authorized_keys on the login node, and does sshd allow it (PermitRootLogin prohibit-password)?`;
    }
    if (/Timed out while waiting for handshake/i.test(e.message)) return `no SSH handshake within ${this.o.connectTimeoutMs} ms (connectTimeoutMs)`;
    return e.message;
  }

  private acquire(timeoutMs: number): Promise<void> {
    if (this.active < this.o.maxChannels) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        if (this.closed) return reject(this.unavailable('the ssh SLURM backend is closed'));
        this.active++;
        resolve();
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(this.unavailable(`no free ssh channel to ${this.where} within ${timeoutMs} ms (${this.o.maxChannels} commands already running: is the login node slow?)`));
      }, timeoutMs);
      this.waiters.push(grant);
    });
  }

  private release(): void {
    this.active--;
    const next = this.waiters.shift();
    if (next) next();
  }

  private async run(client: Client, command: string, stdin: string | undefined, timeoutMs: number): Promise<ExecResult> {
    const deadline = Date.now() + timeoutMs;
    // sshd may still refuse a channel (a lower MaxSessions than ours): retry until the deadline.
    for (;;) {
      try {
        return await this.runOnce(client, command, stdin, deadline - Date.now());
      } catch (e) {
        if (!(e instanceof ChannelOpenError) || Date.now() + 100 >= deadline || this.client !== client) {
          throw e instanceof ChannelOpenError ? this.unavailable(`${this.where} refused an ssh channel: ${e.message} (lower maxChannels below sshd's MaxSessions)`, e) : e;
        }
        await sleep(100);
      }
    }
  }

  private runOnce(client: Client, command: string, stdin: string | undefined, timeoutMs: number): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      let settled = false;
      let stream: ClientChannel | undefined;
      const finish = (err: Error | undefined, res?: ExecResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(onLost);
        if (err) reject(err);
        else resolve(res!);
      };
      const onLost = (e: Error) => finish(e);
      this.inFlight.add(onLost);
      const timer = setTimeout(() => {
        try {
          stream?.signal('KILL');
          stream?.close();
        } catch {
          /* channel already gone */
        }
        finish(this.unavailable(`command on ${this.where} did not finish within ${timeoutMs} ms (commandTimeoutMs); it may or may not have taken effect`));
      }, Math.max(1, timeoutMs));
      try {
        client.exec(command, (err, ch) => {
          if (err) return finish(/open failed|Channel open failure/i.test(err.message) ? new ChannelOpenError(err.message) : this.unavailable(`cannot run a command on ${this.where}: ${err.message}`, err));
          stream = ch;
          const out: Buffer[] = [];
          const errOut: Buffer[] = [];
          let code: number | null = null;
          let signal: string | undefined;
          ch.on('data', (d: Buffer) => out.push(d));
          ch.stderr.on('data', (d: Buffer) => errOut.push(d));
          ch.on('exit', (c: number | null, s?: string) => {
            code = c;
            signal = s ?? undefined;
          });
          ch.on('close', () => {
            finish(undefined, { code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') });
          });
          ch.on('error', (e: Error) => finish(this.unavailable(`ssh channel to ${this.where} failed: ${e.message}`, e)));
          ch.end(stdin ?? '');
        });
      } catch (e) {
        // ssh2 throws synchronously when the connection is already gone.
        finish(this.unavailable(`cannot run a command on ${this.where}: ${(e as Error).message}`, e));
      }
    });
  }
}

class ChannelOpenError extends Error {}

/** OpenSSH's `SHA256:<base64 without padding>` of an SSH wire-format public key. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

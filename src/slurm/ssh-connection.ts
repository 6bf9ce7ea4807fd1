// ssh-connection.ts - one ssh2 connection to the login node, reused for every
// command. Commands run on a pool of long-lived shells (src/slurm/ssh-shell.ts:
// the login shell and its rc files start once per worker, not once per
// command), at most `maxChannels` at once and never more than sshd grants:
// sshd refuses sessions beyond its MaxSessions (10 by default), and the
// first refusal caps the pool at the number of workers then open, for the
// rest of the connection. A command that finds no free worker starts one
// more for the pool (while it may grow) and takes whichever worker is free
// first, so a burst flows through the shells already up while others start.
// Workers live as long as the connection: an idle sh costs the
// login node nothing, a new one costs root's rc files again, and the next
// burst of claims should find the pool ready.
//
// Failure model: every call ends within connectTimeoutMs + 2 x
// commandTimeoutMs (connect, wait for a worker, run) and fails with
// SlurmBackendError kind 'unavailable' when the login node cannot be reached,
// rejects our key or presents a host key we do not expect. After a failed
// connect or a dropped connection the next attempt waits for a backoff
// (reconnectMinMs doubling to reconnectMaxMs); calls made meanwhile fail at
// once instead of queueing, so a supervisor loop never hangs on a dead login
// node. Reconnecting is lazy: the first call after the backoff reconnects.
import { createHash } from 'node:crypto';
import { Client } from 'ssh2';
import type { Logger } from 'pino';
import { SlurmBackendError } from './backend.js';
import { ChannelOpenError, RequestTimeoutError, ShellGoneError, ShellWorker, type ExecResult } from './ssh-shell.js';

export type { ExecResult } from './ssh-shell.js';

/** sshd refused a session while none of ours was open: try again this often until the command's deadline. */
const REFUSED_RETRY_MS = 100;

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

export class SshConnection {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private backoffMs: number;
  private nextAttemptAt = 0;
  private lastError = '';
  /** Live worker shells on the current connection, busy or idle. */
  private readonly workers = new Set<ShellWorker>();
  /** The free ones, most recently used last. */
  private idle: ShellWorker[] = [];
  /** Workers being opened. */
  private opening = 0;
  /** How many workers the current connection may hold: maxChannels until sshd refuses one. */
  private cap: number;
  /** The cap went down since the last log line about it. */
  private capLowered = false;
  /**
   * Commands waiting for a worker, first served first: handed one, an Error
   * (no shell can be started), or undefined to look again (a slot freed, an
   * open ended, the connection changed).
   */
  private readonly waiters: Array<(w: ShellWorker | Error | undefined) => void> = [];
  /** Why the last shell could not be started, for the message of a command that waited in vain. */
  private lastOpenError = '';
  private closed = false;
  /** Host key fingerprint of the last rejected key, for the error message. */
  private rejectedKey: string | undefined;

  constructor(private readonly opts: SshConnectionOptions) {
    this.backoffMs = opts.reconnectMinMs;
    this.cap = opts.maxChannels;
  }

  private get where(): string {
    return `login node ${this.opts.username}@${this.opts.host}:${this.opts.port}`;
  }

  /** Runs `command` (a POSIX sh command line) with `stdin`; the command's own failures are in the result. */
  async exec(command: string, stdin?: string, timeoutMs = this.opts.commandTimeoutMs): Promise<ExecResult> {
    if (this.closed) throw new SlurmBackendError('unavailable', 'the ssh SLURM backend is closed');
    const client = await this.connected();
    const w = await this.acquire(client, timeoutMs);
    try {
      return await w.run(command, stdin, timeoutMs);
    } catch (e) {
      if (e instanceof RequestTimeoutError) throw this.unavailable(`command on ${this.where} did not finish within ${timeoutMs} ms (commandTimeoutMs); it may or may not have taken effect`, e);
      if (e instanceof ShellGoneError) throw this.unavailable(`connection to ${this.where} lost while the command ran (${e.message}); it may or may not have taken effect`, e);
      throw e;
    } finally {
      this.release(w);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.dropWorkers(undefined, true);
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
        this.backoffMs = Math.min(this.opts.reconnectMaxMs, this.backoffMs * 2);
        this.opts.logger.error({ err: e.message }, `ssh SLURM backend: cannot connect to ${this.where}: ${why}`);
        c.destroy();
        reject(this.unavailable(`${this.where} unreachable: ${why}`, e));
      };
      c.once('ready', () => {
        if (ready) return;
        ready = true;
        this.client = c;
        this.cap = this.opts.maxChannels;
        this.backoffMs = this.opts.reconnectMinMs;
        this.nextAttemptAt = 0;
        this.opts.logger.info(`ssh SLURM backend: connected to ${this.where}`);
        resolve(c);
      });
      c.on('error', (e: Error & { level?: string }) => {
        if (!ready) return fail(e);
        this.lastError = e.message;
        this.opts.logger.warn({ err: e.message }, `ssh SLURM backend: connection to ${this.where} failed`);
      });
      c.once('close', () => {
        if (!ready) return fail(new Error('connection closed during the handshake'));
        if (this.client === c) {
          this.client = undefined;
          // The next attempt waits a little: a node that drops us at once is not hammered.
          this.nextAttemptAt = Date.now() + this.backoffMs;
          this.lastError = this.lastError || 'connection closed';
          if (!this.closed) this.opts.logger.warn(`ssh SLURM backend: connection to ${this.where} closed; reconnecting on the next call`);
        }
        this.dropWorkers(c);
      });
      try {
        c.connect({
          host: this.opts.host,
          port: this.opts.port,
          username: this.opts.username,
          privateKey: this.opts.privateKey,
          readyTimeout: this.opts.connectTimeoutMs,
          keepaliveInterval: this.opts.keepaliveIntervalMs,
          keepaliveCountMax: 3,
          hostVerifier: (key: Buffer) => {
            if (this.opts.verifyHostKey(key)) return true;
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
      return `HOST KEY MISMATCH: it presented ${this.rejectedKey}, expected ${this.opts.expectedHostKey}. Refusing to talk to it. If the login node's host key really changed, check it (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the node) and update the hostKey option`;
    }
    if (e.level === 'client-authentication') {
      return `authentication as ${this.opts.username} failed: is the public key of privateKeyPath in ~${this.opts.username}/.ssh/authorized_keys on the login node, and does sshd allow it (PermitRootLogin prohibit-password)?`;
    }
    if (/Timed out while waiting for handshake/i.test(e.message)) return `no SSH handshake within ${this.opts.connectTimeoutMs} ms (connectTimeoutMs)`;
    return e.message;
  }

  /**
   * Ends the workers (of connection `c` only, when given; `graceful`: their
   * shells get end of input, else a kill): commands still running fail as
   * lost, waiters look again.
   */
  private dropWorkers(c?: Client, graceful = false): void {
    if (c !== undefined && this.client !== undefined && this.client !== c) return;
    for (const w of [...this.workers]) (graceful ? w.close() : w.kill());
    this.workers.clear();
    this.idle = [];
    for (const wake of this.waiters.splice(0)) wake(undefined);
  }

  /**
   * A worker for one command on `client`: a free one, else the first one
   * released or started. While the pool may grow, a new shell is started for
   * the pool, not for this command: a command takes whichever worker is free
   * first, so a burst flows through the shells already up while more start.
   */
  private async acquire(client: Client, timeoutMs: number): Promise<ShellWorker> {
    const deadline = Date.now() + timeoutMs;
    /** Woken without a worker: keep the place in the queue (first) when waiting again. */
    let woken = false;
    for (;;) {
      if (this.closed) throw this.unavailable('the ssh SLURM backend is closed');
      if (this.client !== client) throw this.unavailable(`connection to ${this.where} lost while waiting for a shell; nothing ran`);
      const free = this.idle.pop();
      if (free) return free;
      if (Date.now() >= deadline) {
        const why = this.workers.size > 0 ? `${this.workers.size} commands already running: is the login node slow?` : `no shell could be started${this.lastOpenError ? `: ${this.lastOpenError}` : ''}`;
        throw this.unavailable(`no free ssh channel to ${this.where} within ${timeoutMs} ms (${why})`);
      }
      if (this.workers.size + this.opening < this.cap) this.grow(client);
      const w = await this.waitForWorker(deadline, woken);
      if (w instanceof Error) throw w;
      if (w) return w;
      woken = true;
    }
  }

  /** Starts one more shell for the pool; it goes to the first waiter (or idles). */
  private grow(client: Client): void {
    this.opening++;
    const timeoutMs = this.opts.commandTimeoutMs;
    ShellWorker.open(client, timeoutMs, (gone) => this.forget(gone))
      .then(
        (w) => {
          this.opening--;
          if (this.client !== client || this.closed) return w.kill();
          this.lastOpenError = '';
          this.workers.add(w);
          this.release(w);
        },
        (e: unknown) => {
          this.opening--;
          if (this.client !== client || this.closed) return; // its waiters were woken when the connection went
          if (e instanceof ChannelOpenError) {
            // Sessions granted so far (the opens still pending were asked before this one): MaxSessions, at most.
            const open = this.workers.size + this.opening;
            if (open > 0) {
              if (open < this.cap) {
                this.cap = open;
                this.capLowered = true;
              }
              return this.waiters.shift()?.(undefined);
            }
            // None of ours open (sessions of commands that outlived their timeout?): look again shortly.
            this.lastOpenError = `sshd refused the session: ${e.message}`;
            setTimeout(() => this.waiters.shift()?.(undefined), REFUSED_RETRY_MS);
            return;
          }
          this.lastOpenError =
            e instanceof RequestTimeoutError
              ? `the shell did not start within ${timeoutMs} ms: is the login node overloaded, or does root's shell start-up (~/.bashrc, /etc/profile) hang?`
              : `${(e as Error).message} (root's login shell must run \`exec /bin/sh\`)`;
          this.opts.logger.warn(`ssh SLURM backend: cannot start a shell on ${this.where}: ${this.lastOpenError}`);
          // Nothing else open or opening: the waiting commands fail now rather than at their deadline.
          if (this.workers.size + this.opening === 0) {
            const err = this.unavailable(`cannot start a shell on ${this.where}: ${this.lastOpenError}`, e);
            for (const wake of this.waiters.splice(0)) wake(err);
          } else this.waiters.shift()?.(undefined);
        },
      )
      .finally(() => {
        if (this.opening === 0 && this.capLowered) {
          this.capLowered = false;
          this.opts.logger.info(
            `ssh SLURM backend: ${this.where} refused ssh sessions beyond ${this.cap} (sshd MaxSessions); running at most ${this.cap} commands at once on this connection (set maxChannels to ${this.cap} to skip the refused attempts)`,
          );
        }
      });
  }

  /** Resolves with a worker, an Error or undefined (see `waiters`); undefined at `deadline`. */
  private waitForWorker(deadline: number, first: boolean): Promise<ShellWorker | Error | undefined> {
    return new Promise<ShellWorker | Error | undefined>((resolve) => {
      const wake = (w: ShellWorker | Error | undefined) => {
        clearTimeout(timer);
        resolve(w);
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(undefined); // acquire() reports the deadline
      }, Math.max(0, deadline - Date.now()));
      if (first) this.waiters.unshift(wake);
      else this.waiters.push(wake);
    });
  }

  /** A command is done with `w`: the first waiter gets it, else it idles. */
  private release(w: ShellWorker): void {
    if (!w.alive || !this.workers.has(w)) return; // forget() already woke a waiter
    const next = this.waiters.shift();
    if (next) return next(w);
    this.idle.push(w);
  }

  /** `w` is gone (exited, killed, idle timeout): its slot is free for a waiter. */
  private forget(w: ShellWorker): void {
    if (!this.workers.delete(w)) return;
    this.idle = this.idle.filter((x) => x !== w);
    this.waiters.shift()?.(undefined);
  }
}

/** OpenSSH's `SHA256:<base64 without padding>` of an SSH wire-format public key. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

// ssh-connection.ts - one ssh2 connection to the login node, reused for every
// command. Commands run on a pool of long-lived shells (src/slurm/ssh-shell.ts:
// the login shell and its rc files start once per worker, not once per
// command), at most `maxChannels` at once and never more than sshd grants:
// sshd refuses sessions beyond its MaxSessions (10 by default), and the
// first refusal caps the pool at the number of workers then open, for the
// rest of the connection. Commands beyond the pool's size queue for the next
// free worker. Workers live as long as the connection: an idle sh costs the
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  /** Commands waiting for a worker: handed one, or undefined to look again (a slot freed, the connection changed). */
  private readonly waiters: Array<(w: ShellWorker | undefined) => void> = [];
  private closed = false;
  /** Host key fingerprint of the last rejected key, for the error message. */
  private rejectedKey: string | undefined;

  constructor(private readonly o: SshConnectionOptions) {
    this.backoffMs = o.reconnectMinMs;
    this.cap = o.maxChannels;
  }

  private get where(): string {
    return `login node ${this.o.username}@${this.o.host}:${this.o.port}`;
  }

  /** Runs `command` (a POSIX sh command line) with `stdin`; the command's own failures are in the result. */
  async exec(command: string, stdin?: string, timeoutMs = this.o.commandTimeoutMs): Promise<ExecResult> {
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
        this.backoffMs = Math.min(this.o.reconnectMaxMs, this.backoffMs * 2);
        this.o.logger.error({ err: e.message }, `ssh SLURM backend: cannot connect to ${this.where}: ${why}`);
        c.destroy();
        reject(this.unavailable(`${this.where} unreachable: ${why}`, e));
      };
      c.once('ready', () => {
        if (ready) return;
        ready = true;
        this.client = c;
        this.cap = this.o.maxChannels;
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
        this.dropWorkers(c);
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

  /** A worker for one command on `client`: a free one, a new one while the pool may grow, else the next one released. */
  private async acquire(client: Client, timeoutMs: number): Promise<ShellWorker> {
    const deadline = Date.now() + timeoutMs;
    /** Woken without a worker: keep the place in the queue (first) when waiting again. */
    let woken = false;
    for (;;) {
      if (this.closed) throw this.unavailable('the ssh SLURM backend is closed');
      if (this.client !== client) throw this.unavailable(`connection to ${this.where} lost while waiting for a shell; nothing ran`);
      const free = this.idle.pop();
      if (free) return free;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw this.unavailable(`no free ssh channel to ${this.where} within ${timeoutMs} ms (${this.workers.size} commands already running: is the login node slow?)`);
      }
      if (this.workers.size + this.opening < this.cap) {
        const w = await this.open(client, left);
        if (w) return w;
        // Refused: the cap is learned now (or no session of ours is open: wait and retry).
        if (this.workers.size + this.opening === 0) {
          await sleep(Math.min(REFUSED_RETRY_MS, Math.max(0, deadline - Date.now())));
          continue;
        }
      }
      const w = await this.waitForWorker(deadline, woken);
      if (w) return w;
      woken = true;
    }
  }

  /** Opens a worker shell; undefined when sshd refused the session (then the pool is capped at what is open). */
  private async open(client: Client, timeoutMs: number): Promise<ShellWorker | undefined> {
    this.opening++;
    try {
      const w = await ShellWorker.open(client, timeoutMs, (gone) => this.forget(gone));
      if (this.client !== client || this.closed) {
        w.kill();
        throw this.unavailable(this.closed ? 'the ssh SLURM backend is closed' : `connection to ${this.where} lost while opening a shell; nothing ran`);
      }
      this.workers.add(w);
      return w;
    } catch (e) {
      if (e instanceof ChannelOpenError) {
        // Sessions granted so far (the opens still pending were asked before this one): MaxSessions, at most.
        const open = this.workers.size + this.opening - 1;
        if (open > 0 && open < this.cap) {
          this.cap = open;
          this.capLowered = true;
        }
        return undefined;
      }
      if (e instanceof SlurmBackendError) throw e;
      if (e instanceof RequestTimeoutError) throw this.unavailable(`the shell on ${this.where} did not start within ${timeoutMs} ms: is the login node overloaded, or does root's shell start-up (~/.bashrc, /etc/profile) hang?`, e);
      throw this.unavailable(`cannot start a shell on ${this.where}: ${(e as Error).message} (root's login shell must run \`exec /bin/sh\`)`, e);
    } finally {
      this.opening--;
      // A waiter may be waiting on this open: let it look again (open one itself, or wait for a release).
      this.waiters.shift()?.(undefined);
      if (this.opening === 0 && this.capLowered) {
        this.capLowered = false;
        this.o.logger.info(
          `ssh SLURM backend: ${this.where} refused ssh sessions beyond ${this.cap} (sshd MaxSessions); running at most ${this.cap} commands at once on this connection (set maxChannels to ${this.cap} to skip the refused attempts)`,
        );
      }
    }
  }

  /** Resolves with a released worker, or undefined when a slot freed or the connection changed; rejects at `deadline`. */
  private waitForWorker(deadline: number, first: boolean): Promise<ShellWorker | undefined> {
    return new Promise<ShellWorker | undefined>((resolve) => {
      const wake = (w: ShellWorker | undefined) => {
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

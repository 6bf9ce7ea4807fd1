// ssh-shell.ts - one long-lived POSIX shell on an ssh exec channel, running
// many commands one after another (src/slurm/ssh-connection.ts keeps a pool
// of them).
//
// Why: sshd runs every exec request through the user's login shell (`bash
// -c CMD` for root), and bash started by sshd sources ~/.bashrc. On a login
// node whose root .bashrc initialises pyenv, conda, modules... that costs
// 0.1-0.5 s of CPU per command, which made a burst of submits CPU-bound on
// shell start-up (measured: 194 ms for `true`, 50 parallel submits ~7 s on
// 2 cores). A worker pays it once: its channel runs `exec /bin/sh`, and each
// command is then written to that shell's stdin as one request:
//
//   printf '%s' 'STDIN' | (
//   COMMAND
//   )
//   printf '\n%s%03d\n' NONCE "$?"; printf '\n%s\n' NONCE >&2
//
// COMMAND runs in a subshell (its `exit`, `exec`, `cd` and fd changes end
// with it), its stdin is exactly STDIN (single-quoted: any byte but NUL,
// never expanded) or /dev/null, never the worker's own stdin. The command's
// stdout and stderr end where the line with NONCE (16 random bytes, fresh
// for every request, never shown to the command) starts: the exit status
// follows it on stdout. Nothing the command prints can end its output early,
// as it cannot know NONCE. A status of 129..192 is a death by signal
// (128 + n, as the shell reports it), returned as `signal`.
//
// A request that outlives its timeout kills the worker (signal KILL to its
// shell, channel closed): the command may or may not have taken effect.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import type { Client, ClientChannel } from 'ssh2';
import { shq } from './sbatch-input.js';

export interface ExecResult {
  /** Exit status; null when the command died by a signal (then `signal`). */
  code: number | null;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/** sshd refused to open the channel (MaxSessions reached). */
export class ChannelOpenError extends Error {}

/** The worker's channel or shell went away; carries what the operator should know. */
export class ShellGoneError extends Error {}

/** The request text for `command` with `stdin` ended by `nonce`'s markers. */
export function shellRequest(command: string, stdin: string | undefined, nonce: string): string {
  const input = stdin === undefined || stdin === '' ? '(' : `printf '%s' ${shq(stdin, 'input')} | (`;
  const close = stdin === undefined || stdin === '' ? ') </dev/null' : ')';
  return `${input}\n${command}\n${close}\nprintf '\\n%s%03d\\n' ${nonce} "$?"; printf '\\n%s\\n' ${nonce} >&2\n`;
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n as number, name.replace(/^SIG/, '')]));

/** Collects one stream of a request until `end` (a regexp source anchored at a `\n`) shows up. */
class Ending {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private tail: Buffer = Buffer.alloc(0);
  /** The stream's bytes before the marker, and the marker's match, once seen. */
  done: { body: Buffer; match: RegExpExecArray } | undefined;

  constructor(
    private readonly end: RegExp,
    private readonly markerBytes: number,
  ) {}

  push(d: Buffer): void {
    if (this.done) return;
    this.chunks.push(d);
    this.length += d.length;
    // The marker ends in this chunk and starts less than its own length before it.
    const probe = this.tail.length ? Buffer.concat([this.tail, d]) : d;
    const m = this.end.exec(probe.toString('latin1')); // latin1: one character per byte, so m.index is a byte offset
    if (m) {
      this.done = { body: Buffer.concat(this.chunks).subarray(0, this.length - probe.length + m.index), match: m };
      return;
    }
    this.tail = probe.subarray(Math.max(0, probe.length - this.markerBytes));
  }
}

export class ShellWorker {
  private busy = false;
  private dead: string | undefined;
  private current: ((e: Error) => void) | undefined;
  private onData: ((d: Buffer) => void) | undefined;
  private onErrData: ((d: Buffer) => void) | undefined;

  private constructor(
    private readonly ch: ClientChannel,
    private readonly onGone: (w: ShellWorker) => void,
  ) {
    ch.on('data', (d: Buffer) => this.onData?.(d));
    ch.stderr.on('data', (d: Buffer) => this.onErrData?.(d));
    ch.on('close', () => this.gone('the shell on the login node exited or its channel closed'));
    ch.on('error', (e: Error) => this.gone(`its ssh channel failed: ${e.message}`));
  }

  /**
   * Opens a channel running `exec /bin/sh` and waits until that shell answers
   * (whatever the login shell's rc files print first is discarded). Rejects
   * with ChannelOpenError when sshd refuses the channel.
   */
  static open(client: Client, timeoutMs: number, onGone: (w: ShellWorker) => void): Promise<ShellWorker> {
    return new Promise<ShellWorker>((resolve, reject) => {
      try {
        client.exec('exec /bin/sh', (err, ch) => {
          if (err) return reject(/open failed|Channel open failure/i.test(err.message) ? new ChannelOpenError(err.message) : err);
          const w = new ShellWorker(ch, onGone);
          w.request(':', undefined, timeoutMs).then(
            () => resolve(w),
            (e: unknown) => {
              w.kill();
              reject(e as Error);
            },
          );
        });
      } catch (e) {
        // ssh2 throws synchronously when the connection is already gone.
        reject(e as Error);
      }
    });
  }

  get available(): boolean {
    return !this.busy && this.dead === undefined;
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  /** Runs one command; the worker must be available. The command's own failures are in the result. */
  run(command: string, stdin: string | undefined, timeoutMs: number): Promise<ExecResult> {
    return this.request(command, stdin, timeoutMs);
  }

  /** Ends the shell's input: it exits once idle. */
  close(): void {
    if (this.dead === undefined) this.gone('closed');
    try {
      this.ch.end();
    } catch {
      /* channel already gone */
    }
  }

  /** Kills the shell (and so the command's process tree loses its parent) and closes the channel. */
  kill(): void {
    try {
      this.ch.signal('KILL');
    } catch {
      /* channel already gone */
    }
    this.gone('killed');
    try {
      this.ch.close();
    } catch {
      /* channel already gone */
    }
  }

  private gone(why: string): void {
    if (this.dead !== undefined) return;
    this.dead = why;
    this.current?.(new ShellGoneError(why));
    this.onGone(this);
  }

  private request(command: string, stdin: string | undefined, timeoutMs: number): Promise<ExecResult> {
    if (this.dead !== undefined) return Promise.reject(new ShellGoneError(this.dead));
    if (this.busy) return Promise.reject(new Error('ShellWorker.run: the worker is busy (a bug in the pool)'));
    this.busy = true;
    const nonce = `gl${randomBytes(16).toString('hex')}`;
    const out = new Ending(new RegExp(`\\n${nonce}(\\d{3})\\n`), nonce.length + 5);
    const err = new Ending(new RegExp(`\\n${nonce}\\n`), nonce.length + 2);
    return new Promise<ExecResult>((resolve, reject) => {
      const finish = (e: Error | undefined) => {
        clearTimeout(timer);
        this.current = undefined;
        this.onData = undefined;
        this.onErrData = undefined;
        this.busy = false;
        if (e) return reject(e);
        const status = Number(out.done!.match[1]);
        const sig = status > 128 && status <= 192 ? SIGNAL_NAMES.get(status - 128) : undefined;
        resolve({ code: sig ? null : status, signal: sig, stdout: out.done!.body.toString('utf8'), stderr: err.done!.body.toString('utf8') });
      };
      const check = () => {
        if (out.done && err.done) finish(undefined);
      };
      this.current = (e) => finish(e);
      this.onData = (d) => {
        out.push(d);
        check();
      };
      this.onErrData = (d) => {
        err.push(d);
        check();
      };
      const timer = setTimeout(() => {
        const e = new RequestTimeoutError(`did not finish within ${timeoutMs} ms`);
        finish(e);
        this.kill();
      }, Math.max(1, timeoutMs));
      this.ch.write(shellRequest(command, stdin, nonce));
    });
  }
}

/** A request outlived its timeout (the worker was killed). */
export class RequestTimeoutError extends Error {}

// store.ts - the sbatch service's in-memory state: scripts under random keys
// and the challenges it issued, both with an expiry. Lookups check the
// expiry themselves; sweep() only bounds memory. Nothing here is persisted:
// a restart forgets every script and challenge.
import { randomBytes } from 'node:crypto';

export interface StoredScript {
  sbatch: string;
  gridLoggerUrl: string;
  expiresAt: number;
  bytes: number;
}

export class ScriptStore {
  private readonly scripts = new Map<string, StoredScript>();
  private totalBytes = 0;

  constructor(private readonly opts: { ttlMs: number; maxTotalBytes: number; now?: () => number }) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Stores a script; returns its key (64 hex digits), or undefined when the store is full. */
  put(sbatch: string, gridLoggerUrl: string): string | undefined {
    const bytes = Buffer.byteLength(sbatch, 'utf8') + Buffer.byteLength(gridLoggerUrl, 'utf8');
    if (this.totalBytes + bytes > this.opts.maxTotalBytes) {
      this.sweep();
      if (this.totalBytes + bytes > this.opts.maxTotalBytes) return undefined;
    }
    const key = randomBytes(32).toString('hex');
    this.scripts.set(key, { sbatch, gridLoggerUrl, bytes, expiresAt: this.now() + this.opts.ttlMs });
    this.totalBytes += bytes;
    return key;
  }

  /** The script under `key` unless unknown or expired. Not consumed: a supervisor may fetch again after a crash. */
  get(key: string): StoredScript | undefined {
    const s = this.scripts.get(key);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.delete(key, s);
      return undefined;
    }
    return s;
  }

  private delete(key: string, s: StoredScript): void {
    this.scripts.delete(key);
    this.totalBytes -= s.bytes;
  }

  /** Drops expired scripts; returns how many. */
  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [k, s] of this.scripts) {
      if (s.expiresAt <= now) {
        this.delete(k, s);
        n++;
      }
    }
    return n;
  }

  get count(): number {
    return this.scripts.size;
  }
  get bytes(): number {
    return this.totalBytes;
  }
}

export type ConsumeResult = 'ok' | 'unknown' | 'expired';

/** Challenges issued and not yet used: each is accepted once, before it expires. */
export class ChallengeBook {
  private readonly issued = new Map<string, number>();

  constructor(private readonly opts: { ttlMs: number; maxOutstanding: number; now?: () => number }) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** A new challenge `{"message":"login","nonce":"<base64 of 16 random bytes>"}`, or undefined when too many are outstanding. */
  issue(): Buffer | undefined {
    if (this.issued.size >= this.opts.maxOutstanding) {
      this.sweep();
      if (this.issued.size >= this.opts.maxOutstanding) return undefined;
    }
    const challenge = Buffer.from(JSON.stringify({ message: 'login', nonce: randomBytes(16).toString('base64') }), 'utf8');
    this.issued.set(challenge.toString('base64'), this.now() + this.opts.ttlMs);
    return challenge;
  }

  /** Accepts `challenge` once: a second use, or one never issued, is 'unknown'. */
  consume(challenge: Uint8Array): ConsumeResult {
    const k = Buffer.from(challenge).toString('base64');
    const expiresAt = this.issued.get(k);
    if (expiresAt === undefined) return 'unknown';
    this.issued.delete(k);
    return expiresAt <= this.now() ? 'expired' : 'ok';
  }

  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [k, t] of this.issued) {
      if (t <= now) {
        this.issued.delete(k);
        n++;
      }
    }
    return n;
  }

  get outstanding(): number {
    return this.issued.size;
  }
}

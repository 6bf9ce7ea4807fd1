// quarantine.ts - records the relay gives up on, one JSON line each, fsync'd before the ack.
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

import type { SpoolPosition } from '../native/event.js';
import type { WireEvent } from './protocol.js';

export interface QuarantineEntry {
  /** ISO time of quarantine. */
  at: string;
  reason: string;
  spoolId: string;
  seq?: string;
  pos: SpoolPosition;
  /** The wire record, when it decoded. */
  record?: WireEvent;
  /** The raw payload, when it did not. */
  payloadBase64?: string;
}

export class QuarantineFile {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** Appends every entry and fsyncs; throws (and the caller must not ack) when that fails. */
  append(entries: readonly Omit<QuarantineEntry, 'at'>[]): void {
    if (entries.length === 0) return;
    const at = new Date().toISOString();
    const text = entries.map((e) => `${JSON.stringify({ at, ...e })}\n`).join('');
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const fd = openSync(this.path, 'a', 0o600);
    try {
      const buf = Buffer.from(text, 'utf8');
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } catch (err) {
      throw new Error(`cannot write quarantine file ${this.path}: ${(err as Error).message} (free space or fix permissions; nothing was acked)`);
    } finally {
      closeSync(fd);
    }
  }
}

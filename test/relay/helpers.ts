// helpers.ts - spools, configs and captured logs for the relay tests.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';

import { pino, type Logger } from 'pino';

import { SpoolReader, SpoolWriter } from '../../src/native/index.js';
import { parseRelayConfig, type RelayConfig, type RelayConfigInput } from '../../src/relay/config.js';
import { completion, tempDir as nativeTempDir } from '../native/helpers.js';

export { completion };

/** A temp dir (test/native's helper) named for the relay tests. */
export const tempDir = (prefix = 'gl-relay-') => nativeTempDir(prefix);

/** Appends n completion records for jobs first..first+n-1; returns their seqs. */
export function appendJobs(dir: string, n: number, first = 1): bigint[] {
  const w = new SpoolWriter(dir);
  const seqs: bigint[] = [];
  for (let i = 0; i < n; i++) seqs.push(w.append(completion(first + i)));
  w.close();
  return seqs;
}

/** The spool's persisted ack: seq of the last acked record + 1 (0: none). */
export function ackedSeq(dir: string): number {
  const r = new SpoolReader(dir);
  try {
    return r.stat().ackedSeq;
  } finally {
    r.close();
  }
}

export function relayConfig(spoolDir: string, reporterUrl: string, extra: Partial<RelayConfigInput> = {}): RelayConfig {
  return parseRelayConfig({
    spoolDir,
    reporterUrl,
    daemon: 'slurmctld',
    host: 'testhost',
    auth: { kind: 'munge' },
    pollIntervalMs: 50,
    backoff: { initialMs: 20, maxMs: 100 },
    requestTimeoutMs: 2000,
    ...extra,
  });
}

export interface CapturedLog {
  logger: Logger;
  lines: Array<Record<string, unknown> & { msg?: string; level: number }>;
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as CapturedLog['lines'][number]);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

export async function until(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function readJsonLines(file: string): Array<Record<string, unknown>> {
  const text = readFileSync(file, 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

// addon.ts - load the Node-API addon (build/Release or prebuilds/) once.
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { JobEvent, JobEventBytes } from './event.js';

export interface AddonPos {
  segment: number;
  offset: number;
  total: number;
}

/** What the addon decodes: JobEvent's numeric fields as they are, strings as raw bytes. */
export interface AddonEvent extends Omit<JobEvent, 'formatVersion' | 'kind' | 'kindName' | 'bytes' | keyof JobEventBytes>, JobEventBytes {
  version: number;
  kind: number;
}

export interface AddonRecord {
  event?: AddonEvent;
  error?: string;
  payload?: Buffer;
  pos: AddonPos;
  next: AddonPos;
}

export interface AddonStat {
  spoolId: string;
  nextSeq: number;
  currentSegment: number;
  writtenBytes: number;
  ackedBytes: number;
  ack: AddonPos;
  ackedSeq: number;
  rejectedFull: number;
  rejectedError: number;
  corruptSkipped: number;
  segments: number;
  bytesOnDisk: number;
}

export interface AddonSpoolReader {
  read(max?: number): AddonRecord[];
  ack(next: AddonPos, lastSeq: bigint): void;
  rewind(): void;
  sync(): void;
  stat(): AddonStat;
  close(): void;
}

type AddonStringField = 'cluster' | 'node' | 'stateName' | 'jobName' | 'comment';

export type AddonEventInput = Partial<Omit<AddonEvent, 'seq' | 'spoolId' | 'writeTimeNs' | 'version' | 'tres' | AddonStringField>> & {
  kind: number;
  tres?: Partial<AddonEvent['tres']>;
  cluster?: Buffer | string;
  node?: Buffer | string;
  stateName?: Buffer | string;
  jobName?: Buffer | string;
  comment?: Buffer | string;
};

export interface AddonSpoolWriter {
  append(ev: AddonEventInput): bigint;
  sync(): void;
  close(): void;
}

export interface MungeDecoded {
  payload: Buffer;
  uid: number;
  gid: number;
  encodeTime: number;
}

export interface Addon {
  /** Rejects with err.code = 'EMUNGE_*' (e.g. EMUNGE_SOCKET when munged is down). */
  mungeEncode(payload: Buffer | string, opts?: { socket?: string }): Promise<string>;
  /** Rejects with err.code = 'EMUNGE_*': EMUNGE_CRED_REPLAYED, EMUNGE_BAD_CRED, EMUNGE_CRED_EXPIRED... */
  mungeDecode(credential: string, opts?: { socket?: string }): Promise<MungeDecoded>;
  SpoolReader: new (dir: string) => AddonSpoolReader;
  SpoolWriter: new (dir: string, opts?: { maxBytes?: number; segmentBytes?: number }) => AddonSpoolWriter;
  formatVersion: number;
}

/** The repository (or installed package) root: where binding.gyp lives. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: Addon | undefined;

export function loadAddon(): Addon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const load = require('node-gyp-build') as (dir: string) => unknown;
  try {
    cached = load(packageRoot) as Addon;
  } catch (err) {
    throw new Error(
      `gridlink native addon not found under ${packageRoot} (build/Release or prebuilds/): run \`npm run build:native\` (needs python3, make, g++). Cause: ${(err as Error).message}`,
    );
  }
  return cached;
}

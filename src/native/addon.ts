// addon.ts - load the Node-API addon gridlink.node (build/Release or
// prebuilds/) once: the spool reader/writer and munge, which need no SLURM.
// The libslurm calls are a module of their own beside it (slurm-addon.ts).
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { AddonEvent, JobEventBytes, SpoolPosition } from './event.js';

export interface AddonRecord {
  event?: AddonEvent;
  error?: string;
  payload?: Buffer;
  pos: SpoolPosition;
  next: SpoolPosition;
}

/** SpoolReader.readWire's answer (native/addon/addon.cc). */
export interface AddonWireRecords {
  count: number;
  json: Buffer;
  meta: Float64Array;
  seqs: BigUint64Array;
  undecodable: Array<{ index: number; error: string; payload: Buffer }>;
}

export interface AddonStat {
  spoolId: string;
  nextSeq: number;
  currentSegment: number;
  writtenBytes: number;
  ackedBytes: number;
  ack: SpoolPosition;
  ackedSeq: number;
  rejectedFull: number;
  rejectedError: number;
  corruptSkipped: number;
  segments: number;
  bytesOnDisk: number;
}

export interface AddonSpoolReader {
  read(max?: number): AddonRecord[];
  readWire(max?: number): AddonWireRecords;
  ack(next: SpoolPosition, lastSeq: bigint): void;
  rewind(): void;
  sync(): void;
  syncAndAck(next: SpoolPosition, lastSeq: bigint): Promise<void>;
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

/** gridlink.node: the spool and munge, no SLURM (the libslurm calls: slurm-addon.ts). */
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

/**
 * Where node-gyp-build finds gridlink.node: a local build (build/Release,
 * then build/Debug) when there is one, else the prebuild for this platform
 * and arch. Throws when there is none.
 */
export function addonPath(): string {
  const require = createRequire(import.meta.url);
  const load = require('node-gyp-build') as { resolve(dir: string): string };
  return load.resolve(packageRoot);
}

/**
 * Loads the addon through node-gyp-build from the package root: a local build
 * (build/Release, then build/Debug) when there is one, else the prebuild for
 * this platform and arch (prebuilds/<platform>-<arch>/gridlink.node, made by
 * `npm run prebuildify` and shipped in the npm tarball), so an installed
 * package needs no compiler where a prebuild fits. A local build wins so
 * `npm run build:native` in a checkout is never shadowed by an older
 * prebuild. Loaded on first use only: the Meta-Scheduler client never needs it.
 */
export function loadAddon(): Addon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  try {
    cached = require(addonPath()) as Addon;
  } catch (err) {
    throw new Error(
      `gridlink native addon not found or not loadable under ${packageRoot} (build/Release, or prebuilds/${process.platform}-${process.arch}/): ` +
        `run \`npm run build:native\` in a checkout or \`npm rebuild gridlink\` where it is installed (needs python3, make, g++ and libmunge-dev; libslurm-dev only for the local SLURM backend). ` +
        `Cause: ${(err as Error).message}`,
    );
  }
  return cached;
}

// event.ts - the typed job event, as decoded from the spool by the addon
// (the addon's raw shape, AddonEvent, and its conversion live here too, so
// addon.ts depends on this file and not the other way round).
import { decodeBytes } from './bytes.js';

/** Event kinds, as numbered in native/gl_event.h. */
export const EventKind = {
  JobStarted: 1,
  JobEndedOnNode: 2,
  JobCompleted: 3,
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

export const eventKindName: Record<number, string> = {
  1: 'job_started',
  2: 'job_ended_node',
  3: 'job_completed',
};

/** The name of an event kind (unknown(N) for a kind this version does not know). */
export function kindNameOf(kind: number): string {
  return eventKindName[kind] ?? `unknown(${kind})`;
}

/** Allocated trackable resources (SLURM TRES). */
export interface Tres {
  cpu: number;
  memMb: number;
  gpu: number;
  node: number;
  billing: number;
}

/** Raw bytes of the string fields, exactly as SLURM handed them over. */
export interface JobEventBytes {
  cluster: Buffer;
  node: Buffer;
  stateName: Buffer;
  jobName: Buffer;
  comment: Buffer;
}

export interface JobEvent {
  formatVersion: number;
  kind: EventKind;
  kindName: string;
  /** Unique within the spool; (spoolId, seq) identifies a record everywhere. */
  seq: bigint;
  spoolId: string;
  jobId: number;
  userId: number;
  /** Raw SLURM job_state, flags included (jobcomp); 0 on node events. */
  jobState: number;
  stateName: string;
  exitCode: number;
  signal: number;
  /** Unix seconds, 0 when unknown (e.g. a job cancelled while pending never started). */
  submitTime: number;
  startTime: number;
  endTime: number;
  writeTimeNs: bigint;
  tres: Tres;
  cluster: string;
  node: string;
  /** Lossless: bytes that are not UTF-8 appear as lone surrogates U+DC80..U+DCFF (see bytes.ts). */
  jobName: string;
  comment: string;
  bytes: JobEventBytes;
}

/** Where a record sits in the spool; ack a record's `next` to consume it. */
export interface SpoolPosition {
  segment: number;
  offset: number;
  total: number;
}

/** What the addon (addon.ts) decodes: JobEvent's numeric fields as they are, strings as raw bytes. */
export interface AddonEvent extends Omit<JobEvent, 'formatVersion' | 'kind' | 'kindName' | 'bytes' | keyof JobEventBytes>, JobEventBytes {
  version: number;
  kind: number;
}

export function toJobEvent(e: AddonEvent): JobEvent {
  return {
    formatVersion: e.version,
    kind: e.kind as EventKind,
    kindName: kindNameOf(e.kind),
    seq: e.seq,
    spoolId: e.spoolId,
    jobId: e.jobId,
    userId: e.userId,
    jobState: e.jobState,
    stateName: decodeBytes(e.stateName),
    exitCode: e.exitCode,
    signal: e.signal,
    submitTime: e.submitTime,
    startTime: e.startTime,
    endTime: e.endTime,
    writeTimeNs: e.writeTimeNs,
    tres: e.tres,
    cluster: decodeBytes(e.cluster),
    node: decodeBytes(e.node),
    jobName: decodeBytes(e.jobName),
    comment: decodeBytes(e.comment),
    bytes: { cluster: e.cluster, node: e.node, stateName: e.stateName, jobName: e.jobName, comment: e.comment },
  };
}

/** One JSON-safe object per event (bigints as decimal strings of numbers that fit). */
export function eventToJson(ev: JobEvent): Record<string, unknown> {
  const { bytes: _bytes, seq, writeTimeNs, ...rest } = ev;
  return { ...rest, seq: Number(seq), writeTimeNs: writeTimeNs.toString() };
}

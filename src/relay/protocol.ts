// protocol.ts - the wire format between a relay and the reporter's ingest
// endpoint. One definition, imported by both sides.
//
//   POST <reporterUrl>/v1/events
//   Content-Type: application/json
//   X-Gridlink-Auth: munge <credential>           (default)
//                  | hmac-sha256 <keyId>:<unixSeconds>:<nonceHex>:<sigHex>
//   body: EventBatch (JSON)
//
// munge: the credential is munge_encode() of the sha256 hex digest of the
//   exact body bytes; the receiver decodes it with munged (which also rejects
//   a replayed credential), checks uid is 0 or SlurmUser, and compares the
//   digest with the body it received.
// hmac: sig = HMAC-SHA256(key, `${keyId}:${unixSeconds}:${nonceHex}:${sha256hex(body)}`);
//   the receiver accepts |now - unixSeconds| <= 300 and each nonce once.
//
// Answers:
//   200 IngestResult  every record is either durably stored (fsync) or was
//                     already stored (duplicate), or rejected as malformed
//                     (listed, with a reason): the relay acks the whole batch
//                     and quarantines the rejected records.
//   400               the batch itself is not valid: the relay quarantines it
//   401 / 403         missing, wrong, replayed or unauthorised credential:
//                     nothing stored; the relay retries with backoff
//   413               too large: the relay halves its batch size
//   5xx               not stored: the relay retries with backoff
import { createHash, createHmac } from 'node:crypto';

import { z } from 'zod';

export const INGEST_PATH = '/v1/events';
export const AUTH_HEADER = 'x-gridlink-auth';
export const HMAC_MAX_SKEW_S = 300;
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** Strings are JSON strings; bytes that are not UTF-8 travel as lone surrogates U+DC80..U+DCFF (src/native/bytes.ts). */
export const wireEventSchema = z.object({
  seq: z.string().regex(/^\d{1,20}$/), // u64 as decimal
  kind: z.number().int().min(1).max(3),
  jobId: z.number().int().min(0).max(0xffffffff),
  userId: z.number().int().min(0).max(0xffffffff),
  jobState: z.number().int().min(0).max(0xffffffff),
  stateName: z.string().max(1 << 20),
  exitCode: z.number().int(),
  signal: z.number().int(),
  submitTime: z.number().int().min(0),
  startTime: z.number().int().min(0),
  endTime: z.number().int().min(0),
  writeTimeNs: z.string().regex(/^\d{1,20}$/),
  tres: z.object({
    cpu: z.number().int().min(0),
    memMb: z.number().int().min(0),
    gpu: z.number().int().min(0),
    node: z.number().int().min(0),
    billing: z.number().int().min(0),
  }),
  cluster: z.string().max(1 << 20),
  node: z.string().max(1 << 20),
  jobName: z.string().max(1 << 20),
  comment: z.string().max(1 << 20),
});
export type WireEvent = z.infer<typeof wireEventSchema>;

export const eventBatchSchema = z.object({
  version: z.literal(1),
  spoolId: z.string().regex(/^[0-9a-f]{32}$/),
  /** Host and daemon whose spool this is, e.g. "node001" / "slurmd". */
  host: z.string().min(1).max(255),
  daemon: z.enum(['slurmctld', 'slurmd']),
  sentAt: z.number().int(),
  /**
   * Where the batch stands among those the relay pipelines (added with
   * pipelining; absent from a relay that sends one at a time, ignored by an
   * older reporter): its round, new each time the relay starts from its ack
   * position, and its index in the round. The receiver stores batch n only
   * once batch n-1 of the round was stored (src/reporter/ingest/pipeline-order.ts).
   */
  pipeline: z.object({ round: z.string().regex(/^[0-9a-f]{8,64}$/), index: z.number().int().min(0) }).optional(),
  /**
   * The spool as the relay read it when it sent the batch (added for the
   * ingest's per-spool metrics; absent from an older relay, ignored by an
   * older reporter): records appended since the spool was made (its next
   * seq: seqs start at 0; decimal) and bytes written but not yet acked.
   */
  spool: z.object({ appended: z.string().regex(/^\d{1,20}$/), backlogBytes: z.number().int().min(0) }).optional(),
  /** Records in spool order; the receiver validates each one on its own. */
  records: z.array(z.unknown()).min(1).max(10_000),
});
export type EventBatch = Omit<z.infer<typeof eventBatchSchema>, 'records'> & { records: WireEvent[] };

export const ingestResultSchema = z.object({
  stored: z.number().int().min(0),
  duplicates: z.number().int().min(0),
  rejected: z.array(z.object({ index: z.number().int().min(0), seq: z.string().optional(), reason: z.string() })),
});
export type IngestResult = z.infer<typeof ingestResultSchema>;

// ---- helpers shared by both sides (added with the relay; the wire format above is unchanged) ----
/** The digest both auth schemes cover: sha256 of the exact body bytes, lowercase hex. */
export function bodyDigestHex(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Key ids travel inside the colon-separated header, so they may not contain ':'. */
export const HMAC_KEY_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
export const HMAC_MIN_KEY_BYTES = 32;

/**
 * The HMAC key is the key file's bytes, with trailing ASCII whitespace (a final
 * newline an editor added) removed; it must be at least 32 bytes, e.g. the
 * output of `openssl rand -hex 32 > FILE`. Both sides read the file this way.
 */
export function hmacKeyFromFile(contents: Uint8Array): Buffer {
  let end = contents.length;
  while (end > 0 && [0x20, 0x09, 0x0a, 0x0d].includes(contents[end - 1]!)) end--;
  const key = Buffer.from(contents.subarray(0, end));
  if (key.length < HMAC_MIN_KEY_BYTES)
    throw new Error(`HMAC key is ${key.length} bytes, under the ${HMAC_MIN_KEY_BYTES}-byte minimum: use at least ${HMAC_MIN_KEY_BYTES} bytes, e.g. \`openssl rand -hex 32\``);
  return key;
}

export interface HmacAuth {
  keyId: string;
  unixSeconds: number;
  nonceHex: string;
  sigHex: string;
}

export function hmacSignature(key: Uint8Array, keyId: string, unixSeconds: number, nonceHex: string, digestHex: string): string {
  return createHmac('sha256', key).update(`${keyId}:${unixSeconds}:${nonceHex}:${digestHex}`).digest('hex');
}

/** The X-Gridlink-Auth value for an hmac-authenticated body. */
export function formatHmacAuth(a: HmacAuth): string {
  return `hmac-sha256 ${a.keyId}:${a.unixSeconds}:${a.nonceHex}:${a.sigHex}`;
}

export function formatMungeAuth(credential: string): string {
  return `munge ${credential}`;
}

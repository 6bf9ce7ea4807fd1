// server.ts - gridlink's sbatch service, for the devnet and tests: the grid's
// AuthAPI/Challenge and SBatchAPI/GetSBatch, plus gridlink's SubmitSBatch
// upload. Scripts live in memory under random keys until they expire.
// GetSBatch answers only the job's provider: the signature over a challenge
// this service issued (single use, unlike the grid's), the job read from the
// chain naming that provider and customer, and the key being the job's own
// batchLocationHash. Logs are JSON (pino) and never contain a script.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { bytesToHex, getAddress, type Address, type Hex } from 'viem';

import { createJobReader, ChainUnavailableError, type JobReader } from './job-reader.js';
import { sbatchProto, type ChallengeRequest, type ChallengeResponse, type GetSBatchRequest, type GetSBatchResponse, type SubmitSBatchRequest, type SubmitSBatchResponse } from './proto.js';
import { InvalidSignatureError, recoverChallengeSigner } from './signature.js';
import { ChallengeBook, ScriptStore } from './store.js';

export interface SbatchServiceOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string | undefined;
  /** 0 = any free port (default). */
  port?: number | undefined;
  /** PEM files; plaintext when undefined. */
  tls?: { certFile: string; keyFile: string } | undefined;
  /** Chain JSON-RPC over HTTP(S), to read jobs. */
  rpcUrl: string;
  metaScheduler: Address;
  /** How long a challenge can be used (default 10 min). */
  challengeTtlMs?: number | undefined;
  /** How long a script is kept after upload (default 24 h). */
  keyTtlMs?: number | undefined;
  /** Largest script accepted, in UTF-8 bytes (default 1 MiB). */
  maxScriptBytes?: number | undefined;
  /** Memory for all scripts together (default 256 MiB); uploads beyond get RESOURCE_EXHAUSTED. */
  maxStoreBytes?: number | undefined;
  /** Challenges issued and not yet used or expired (default 100 000). */
  maxChallenges?: number | undefined;
  /** Time limit of one chain read (default 5 s). */
  chainTimeoutMs?: number | undefined;
  logger?: Logger | undefined;
  /** Replaces the chain read (tests). */
  jobReader?: JobReader | undefined;
}

export interface SbatchService {
  /** `host:port` as a client dials it. */
  address: string;
  port: number;
  /** Stops accepting calls, waits up to 5 s for running ones, then cuts them. */
  stop(): Promise<void>;
}

export const DEFAULT_CHALLENGE_TTL_MS = 10 * 60_000;
export const DEFAULT_KEY_TTL_MS = 24 * 3_600_000;
export const DEFAULT_MAX_SCRIPT_BYTES = 1024 * 1024;
const MAX_HASH_CHARS = 256;
const MAX_CHALLENGE_BYTES = 1024;
const MAX_URL_CHARS = 2048;

class Refusal extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

interface ParsedGet {
  key: string;
  signature: Uint8Array;
  challenge: Uint8Array;
  provider: Address;
  customer: Address;
  jobId: Hex;
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

/** Every field checked; the first problem found is an INVALID_ARGUMENT naming the field. */
function parseGet(r: GetSBatchRequest): ParsedGet {
  const bad = (m: string) => new Refusal(grpc.status.INVALID_ARGUMENT, m);
  const key = r.batch_location_hash;
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_HASH_CHARS) throw bad(`batch_location_hash must be 1 to ${MAX_HASH_CHARS} characters`);
  if (!isBytes(r.signed_challenge) || r.signed_challenge.length !== 65) throw bad(`signed_challenge must be 65 bytes (r||s||v), got ${isBytes(r.signed_challenge) ? r.signed_challenge.length : 0}`);
  if (!isBytes(r.challenge) || r.challenge.length === 0 || r.challenge.length > MAX_CHALLENGE_BYTES) throw bad('challenge must be the bytes AuthAPI/Challenge returned');
  for (const f of ['provider_address', 'customer_address'] as const) {
    const v = r[f];
    if (!isBytes(v) || v.length !== 20) throw bad(`${f} must be the 20 raw bytes of an address, got ${isBytes(v) ? v.length : 0} bytes`);
  }
  if (typeof r.job_id !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(r.job_id)) throw bad('job_id must be the 0x-prefixed hex of the bytes32 job id');
  return {
    key,
    signature: r.signed_challenge,
    challenge: r.challenge,
    provider: getAddress(bytesToHex(r.provider_address)),
    customer: getAddress(bytesToHex(r.customer_address)),
    jobId: r.job_id.toLowerCase() as Hex,
  };
}

function serverCredentials(tls: SbatchServiceOptions['tls']): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`cannot read the sbatch service's TLS ${what} ${file}: ${(e as Error).message}`);
    }
  };
  return grpc.ServerCredentials.createSsl(null, [{ cert_chain: read(tls.certFile, 'certificate'), private_key: read(tls.keyFile, 'key') }], false);
}

export async function startSbatchService(o: SbatchServiceOptions): Promise<SbatchService> {
  const log = o.logger ?? pino({ name: 'gridlink-sbatch-service' });
  const host = o.host ?? '127.0.0.1';
  const challengeTtlMs = o.challengeTtlMs ?? DEFAULT_CHALLENGE_TTL_MS;
  const keyTtlMs = o.keyTtlMs ?? DEFAULT_KEY_TTL_MS;
  const maxScriptBytes = o.maxScriptBytes ?? DEFAULT_MAX_SCRIPT_BYTES;
  for (const [name, v] of [['challengeTtlMs', challengeTtlMs], ['keyTtlMs', keyTtlMs], ['maxScriptBytes', maxScriptBytes]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`sbatch service: ${name} must be > 0, got ${v}`);
  }
  const scripts = new ScriptStore({ ttlMs: keyTtlMs, maxTotalBytes: o.maxStoreBytes ?? 256 * 1024 * 1024 });
  const challenges = new ChallengeBook({ ttlMs: challengeTtlMs, maxOutstanding: o.maxChallenges ?? 100_000 });
  const readJob = o.jobReader ?? createJobReader({ rpcUrl: o.rpcUrl, metaScheduler: o.metaScheduler, timeoutMs: o.chainTimeoutMs });
  const proto = sbatchProto();

  const fail = (cb: (e: Partial<grpc.StatusObject>) => void, rpc: string, peer: string, e: unknown, fields: Record<string, unknown> = {}) => {
    if (e instanceof Refusal) {
      log.warn({ rpc, peer, code: grpc.status[e.code], reason: e.message, ...fields }, `${rpc} refused`);
      cb({ code: e.code, details: e.message });
    } else if (e instanceof ChainUnavailableError) {
      log.error({ rpc, peer, err: e.message, ...fields }, `${rpc}: chain unavailable`);
      cb({ code: grpc.status.UNAVAILABLE, details: `the sbatch service cannot read the chain right now; retry later` });
    } else {
      log.error({ rpc, peer, err: (e as Error)?.message ?? String(e), ...fields }, `${rpc} failed`);
      cb({ code: grpc.status.INTERNAL, details: 'internal error in the sbatch service' });
    }
  };

  const auth: grpc.UntypedServiceImplementation = {
    Challenge(call: grpc.ServerUnaryCall<ChallengeRequest, ChallengeResponse>, cb: grpc.sendUnaryData<ChallengeResponse>) {
      const challenge = challenges.issue();
      if (!challenge) {
        fail(cb, 'Challenge', call.getPeer(), new Refusal(grpc.status.RESOURCE_EXHAUSTED, 'too many outstanding challenges; retry later'));
        return;
      }
      log.debug({ rpc: 'Challenge', peer: call.getPeer() }, 'challenge issued');
      cb(null, { challenge });
    },
  };

  async function getSBatch(r: GetSBatchRequest, peer: string): Promise<GetSBatchResponse> {
    const p = parseGet(r);
    let signer: Address;
    try {
      signer = await recoverChallengeSigner(p.challenge, p.signature);
    } catch (e) {
      if (e instanceof InvalidSignatureError) throw new Refusal(grpc.status.INVALID_ARGUMENT, e.message);
      throw e;
    }
    if (signer !== p.provider) throw new Refusal(grpc.status.UNAUTHENTICATED, `the challenge was signed by ${signer}, not by provider_address ${p.provider}`);
    // Consumed only once the signature holds, so nobody without the key can burn a provider's challenge.
    const c = challenges.consume(p.challenge);
    if (c !== 'ok') {
      throw new Refusal(
        grpc.status.UNAUTHENTICATED,
        c === 'expired' ? `the challenge expired (valid ${challengeTtlMs} ms): request a new one` : 'the challenge is not one this service issued, was already used, or expired: request a new one for each GetSBatch',
      );
    }
    const lookup = await readJob(p.jobId);
    if (!lookup.found) throw new Refusal(grpc.status.UNAUTHENTICATED, `job ${p.jobId} is not on chain (${lookup.reason})`);
    const job = lookup.job;
    if (getAddress(job.provider) !== p.provider) throw new Refusal(grpc.status.UNAUTHENTICATED, `job ${p.jobId} is assigned to provider ${job.provider}, not ${p.provider}`);
    if (getAddress(job.customer) !== p.customer) throw new Refusal(grpc.status.UNAUTHENTICATED, `job ${p.jobId} belongs to customer ${job.customer}, not ${p.customer}`);
    if (job.batchLocationHash !== p.key) throw new Refusal(grpc.status.PERMISSION_DENIED, `batch_location_hash is not the one in job ${p.jobId}'s definition`);
    const s = scripts.get(p.key);
    if (!s) throw new Refusal(grpc.status.NOT_FOUND, 'no script under this batch location hash: unknown or expired');
    log.info({ rpc: 'GetSBatch', peer, jobId: p.jobId, provider: p.provider, key: p.key.slice(0, 12), bytes: s.bytes }, 'script served');
    return { sbatch: s.sbatch, grid_logger_url: s.gridLoggerUrl };
  }

  function submitSBatch(r: SubmitSBatchRequest, peer: string): SubmitSBatchResponse {
    if (typeof r.sbatch !== 'string' || r.sbatch.length === 0) throw new Refusal(grpc.status.INVALID_ARGUMENT, 'sbatch is empty');
    const bytes = Buffer.byteLength(r.sbatch, 'utf8');
    if (bytes > maxScriptBytes) throw new Refusal(grpc.status.INVALID_ARGUMENT, `the script is ${bytes} bytes, above this service's limit of ${maxScriptBytes} bytes`);
    const url = r.grid_logger_url ?? '';
    if (url !== '') {
      let ok = url.length <= MAX_URL_CHARS;
      try {
        new URL(url);
      } catch {
        ok = false;
      }
      if (!ok) throw new Refusal(grpc.status.INVALID_ARGUMENT, `grid_logger_url must be an absolute URL of at most ${MAX_URL_CHARS} characters`);
    }
    const key = scripts.put(r.sbatch, url);
    if (!key) throw new Refusal(grpc.status.RESOURCE_EXHAUSTED, 'the sbatch service holds too many scripts; retry later');
    log.info({ rpc: 'SubmitSBatch', peer, key: key.slice(0, 12), bytes }, 'script stored');
    return { batch_location_hash: key };
  }

  const sbatch: grpc.UntypedServiceImplementation = {
    GetSBatch(call: grpc.ServerUnaryCall<GetSBatchRequest, GetSBatchResponse>, cb: grpc.sendUnaryData<GetSBatchResponse>) {
      const peer = call.getPeer();
      getSBatch(call.request, peer).then(
        (res) => cb(null, res),
        (e: unknown) => fail(cb, 'GetSBatch', peer, e, { jobId: typeof call.request.job_id === 'string' ? call.request.job_id.slice(0, 66) : undefined }),
      );
    },
    SubmitSBatch(call: grpc.ServerUnaryCall<SubmitSBatchRequest, SubmitSBatchResponse>, cb: grpc.sendUnaryData<SubmitSBatchResponse>) {
      try {
        cb(null, submitSBatch(call.request, call.getPeer()));
      } catch (e) {
        fail(cb, 'SubmitSBatch', call.getPeer(), e);
      }
    },
  };

  const server = new grpc.Server({
    // Above the script limit, so an oversized upload gets this service's own message, not grpc's.
    'grpc.max_receive_message_length': Math.max(4 * 1024 * 1024, maxScriptBytes + 1024 * 1024),
  });
  server.addService(proto.authService, auth);
  server.addService(proto.sbatchService, sbatch);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const credentials = serverCredentials(o.tls);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${hostPart}:${o.port ?? 0}`, credentials, (err, p) => (err ? reject(new Error(`sbatch service cannot listen on ${hostPart}:${o.port ?? 0}: ${err.message}`)) : resolve(p)));
  });
  const sweepMs = Math.max(50, Math.min(challengeTtlMs, keyTtlMs, 60_000));
  const sweeper = setInterval(() => {
    const c = challenges.sweep();
    const k = scripts.sweep();
    if (k > 0 || c > 0) log.debug({ expiredScripts: k, expiredChallenges: c, scripts: scripts.count, bytes: scripts.bytes }, 'expired entries dropped');
  }, sweepMs);
  sweeper.unref();
  const address = `${hostPart}:${port}`;
  log.info({ address, tls: !!o.tls, metaScheduler: o.metaScheduler, challengeTtlMs, keyTtlMs, maxScriptBytes }, 'sbatch service listening');

  let stopped: Promise<void> | undefined;
  return {
    address,
    port,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        clearInterval(sweeper);
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(force);
          log.info({ address }, 'sbatch service stopped');
          resolve();
        };
        const force = setTimeout(() => {
          server.forceShutdown();
          finish();
        }, 5_000);
        force.unref();
        server.tryShutdown(finish);
      });
      return stopped;
    },
  };
}

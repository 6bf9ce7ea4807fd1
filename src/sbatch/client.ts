// client.ts - the supervisor's side of the sbatch service: fetch a claimed
// job's script (Challenge, then GetSBatch signed with the provider key) and,
// for the devnet and tests, upload one (gridlink's SubmitSBatch). One gRPC
// channel per client; every method fails with an SbatchError.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { hexToBytes, isAddress, isHex, type Address, type Hex, type LocalAccount } from 'viem';

import { SbatchError, toSbatchError, type CallContext } from './errors.js';
import { sbatchProto, unary } from './proto.js';
import { signChallenge } from './signature.js';

export interface SbatchClientTls {
  /** PEM file of the CA that signed the service's certificate (default: the system's roots). */
  caFile?: string | undefined;
  /** Encrypt but do not verify the service's certificate. For tests only: anyone on the path can impersonate the service. */
  insecure?: boolean | undefined;
}

export interface CreateSbatchClientOptions {
  /** `host:port` (IPv6 as `[addr]:port`). */
  endpoint: string;
  /** TLS settings; plaintext when undefined. */
  tls?: SbatchClientTls | undefined;
  /** The provider's key: signs the challenge in fetchScript (submit needs none). */
  account?: LocalAccount | undefined;
  /** Deadline of one fetchScript (both calls) or submit (default 10 000 ms). */
  timeoutMs?: number | undefined;
}

export interface FetchScriptParameters {
  /** The job definition's batchLocationHash. */
  batchLocationHash: string;
  /** The job's customer, as read from the chain (claim event or JobRepository). */
  customer: Address;
  /** The bytes32 job id. */
  jobId: Hex;
}

export interface SbatchScript {
  sbatch: string;
  /** Empty when the service has none for this job. */
  gridLoggerUrl: string;
}

export interface SbatchClient {
  readonly endpoint: string;
  fetchScript(p: FetchScriptParameters): Promise<SbatchScript>;
  /** gridlink's SubmitSBatch (not on the grid's service): stores a script, returns its batch location hash. */
  submit(sbatch: string, opts?: { gridLoggerUrl?: string | undefined }): Promise<string>;
  /** One Challenge call (no key needed): the service is reachable and answers as an sbatch service (`gridlink doctor`). */
  ping(): Promise<void>;
  close(): void;
}

const ENDPOINT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

function channelCredentials(endpoint: string, tls: SbatchClientTls | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  if (tls.insecure) return grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false });
  let ca: Buffer | null = null;
  if (tls.caFile) {
    try {
      ca = readFileSync(tls.caFile);
    } catch (e) {
      throw new Error(`cannot read the sbatch service's TLS CA file ${tls.caFile} (for ${endpoint}): ${(e as Error).message}`);
    }
  }
  return grpc.credentials.createSsl(ca);
}

export function createSbatchClient(opts: CreateSbatchClientOptions): SbatchClient {
  const { endpoint } = opts;
  if (!ENDPOINT.test(endpoint)) throw new Error(`sbatch endpoint ${JSON.stringify(endpoint)} is not host:port (e.g. sbatch.example.org:443 or 127.0.0.1:7392)`);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  if (!(timeoutMs > 0)) throw new Error(`sbatch timeoutMs must be > 0, got ${timeoutMs}`);
  const proto = sbatchProto();
  const client = new grpc.Client(endpoint, channelCredentials(endpoint, opts.tls), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    // Reconnect soon after an outage: grpc-js would back off up to 2 minutes.
    'grpc.initial_reconnect_backoff_ms': 500,
    'grpc.max_reconnect_backoff_ms': 10_000,
  });
  const tlsMode: CallContext['tls'] = !opts.tls ? 'plaintext' : opts.tls.insecure ? 'insecure' : 'verified';
  const ctx = (call: string, extra: Partial<CallContext> = {}): CallContext => ({ endpoint, call, tls: tlsMode, timeoutMs, ...extra });

  return {
    endpoint,

    async fetchScript({ batchLocationHash, customer, jobId }) {
      if (!isAddress(customer, { strict: false })) throw new Error(`fetchScript: customer ${String(customer)} is not an address`);
      if (!isHex(jobId) || jobId.length !== 66) throw new Error(`fetchScript: jobId ${String(jobId)} is not a 0x-prefixed bytes32`);
      if (!batchLocationHash) {
        throw new SbatchError({ kind: 'not_found', endpoint, message: `job ${jobId} has an empty batchLocationHash: there is no script to fetch; the job cannot run, report it FAILED` });
      }
      const account = opts.account;
      if (!account) throw new Error('fetchScript signs with the provider key: create the sbatch client with `account`');
      const deadline = Date.now() + timeoutMs;
      let challenge: Uint8Array;
      try {
        challenge = (await unary(client, proto.methods.challenge, {}, deadline)).challenge;
      } catch (e) {
        throw toSbatchError(e, ctx('Challenge'));
      }
      if (!challenge || challenge.length === 0) {
        throw new SbatchError({ kind: 'refused', endpoint, message: `the sbatch service at ${endpoint} answered Challenge with an empty challenge: is the endpoint an sbatch service?` });
      }
      const signed = await signChallenge(account, challenge);
      try {
        const res = await unary(
          client,
          proto.methods.getSBatch,
          {
            batch_location_hash: batchLocationHash,
            signed_challenge: signed,
            challenge,
            provider_address: hexToBytes(account.address),
            customer_address: hexToBytes(customer),
            job_id: jobId.toLowerCase(),
          },
          deadline,
        );
        return { sbatch: res.sbatch ?? '', gridLoggerUrl: res.grid_logger_url ?? '' };
      } catch (e) {
        throw toSbatchError(e, ctx('GetSBatch', { batchLocationHash }));
      }
    },

    async ping() {
      let challenge: Uint8Array;
      try {
        challenge = (await unary(client, proto.methods.challenge, {}, Date.now() + timeoutMs)).challenge;
      } catch (e) {
        throw toSbatchError(e, ctx('Challenge'));
      }
      if (!challenge || challenge.length === 0) {
        throw new SbatchError({ kind: 'refused', endpoint, message: `the sbatch service at ${endpoint} answered Challenge with an empty challenge: is the endpoint an sbatch service?` });
      }
    },

    async submit(sbatch, o = {}) {
      try {
        const res = await unary(
          client,
          proto.methods.submitSBatch,
          { sbatch, ...(o.gridLoggerUrl !== undefined ? { grid_logger_url: o.gridLoggerUrl } : {}) },
          Date.now() + timeoutMs,
        );
        if (!res.batch_location_hash) throw new SbatchError({ kind: 'refused', endpoint, message: `the sbatch service at ${endpoint} stored the script but returned no batch location hash` });
        return res.batch_location_hash;
      } catch (e) {
        throw toSbatchError(e, ctx('SubmitSBatch'));
      }
    },

    close() {
      client.close();
    },
  };
}

// errors.ts - what can go wrong talking to an sbatch service, as one typed
// error whose `kind` tells the caller what to do, and whose message tells the
// operator what to check.
//   unavailable      the service is down, slow or unreachable (TLS included), failed on
//                    its side (INTERNAL, UNKNOWN: the grid's answer when its chain read
//                    fails), or did not accept its own challenge (a fresh one is taken
//                    at the next call): retry later
//   not_found        the key is unknown or expired: the job cannot run (report it FAILED)
//   unauthenticated  the service did not accept the provider's proof for this job
//   refused          any other refusal (bad request, unimplemented, data loss)
import { status, type ServiceError } from '@grpc/grpc-js';

export type SbatchErrorKind = 'unavailable' | 'not_found' | 'unauthenticated' | 'refused';

export class SbatchError extends Error {
  override readonly name = 'SbatchError';
  readonly kind: SbatchErrorKind;
  /** The gRPC status code, when the error came from a call. */
  readonly code: status | undefined;
  /** The server's (or grpc-js's) own text, unchanged. */
  readonly details: string;
  readonly endpoint: string;

  constructor(opts: { kind: SbatchErrorKind; message: string; endpoint: string; code?: status | undefined; details?: string; cause?: unknown }) {
    super(opts.message, { cause: opts.cause });
    this.kind = opts.kind;
    this.code = opts.code;
    this.details = opts.details ?? '';
    this.endpoint = opts.endpoint;
  }
}

export function isSbatchError(e: unknown, kind?: SbatchErrorKind): e is SbatchError {
  return e instanceof SbatchError && (kind === undefined || e.kind === kind);
}

function isServiceError(e: unknown): e is ServiceError {
  return e instanceof Error && typeof (e as Partial<ServiceError>).code === 'number';
}

/** grpc-js's own texts for a connection that failed (as opposed to a status the service sent). */
const TRANSPORT = /no connection established|failed to connect|connection dropped|connect E[A-Z]+|E(?:CONNRESET|PIPE|HOSTUNREACH|NETUNREACH|TIMEDOUT)|name resolution|dns resolution|getaddrinfo|rst_stream|protocol error|socket|channel (?:has been )?(?:closed|shut down)|call cancelled/i;
/** A refusal of the challenge itself (expired, unknown, used twice), as opposed to one of the provider or the job. */
const CHALLENGE_REFUSED = /\b(?:challenge|nonce)\b/i;
const SIGNED_BY_OTHER = /signed by/i;
const TLS_HINT = /certificate|ssl|tls|handshake|self.signed|issuer|altname|wrong version number/i;

export interface CallContext {
  endpoint: string;
  /** What was being done, e.g. "Challenge" or "GetSBatch". */
  call: string;
  tls: 'plaintext' | 'verified' | 'insecure';
  timeoutMs: number;
  /** For GetSBatch: the key asked for. */
  batchLocationHash?: string;
}

/** Maps a grpc-js failure to an SbatchError with an actionable message. */
export function toSbatchError(err: unknown, c: CallContext): SbatchError {
  if (err instanceof SbatchError) return err;
  if (!isServiceError(err)) {
    return new SbatchError({ kind: 'refused', endpoint: c.endpoint, message: `sbatch ${c.call} at ${c.endpoint} failed: ${(err as Error)?.message ?? String(err)}`, cause: err });
  }
  const details = (err.details || err.message).replace(/\s*Resolution note:\s*$/, '');
  const base = { endpoint: c.endpoint, code: err.code, details, cause: err };
  if (err.code === status.RESOURCE_EXHAUSTED && /larger than max/i.test(details)) {
    return new SbatchError({ ...base, kind: 'refused', message: `the sbatch service at ${c.endpoint} refused ${c.call}: the message is too large (${details})` });
  }
  switch (err.code) {
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.RESOURCE_EXHAUSTED:
    case status.ABORTED:
    case status.CANCELLED: {
      if (err.code !== status.DEADLINE_EXCEEDED && !TRANSPORT.test(details) && !TLS_HINT.test(details)) {
        // The service itself answered: it is up but cannot serve right now (e.g. it cannot read the chain).
        return new SbatchError({ ...base, kind: 'unavailable', message: `the sbatch service at ${c.endpoint} cannot serve ${c.call} right now: ${details}; the call can be retried` });
      }
      const what =
        err.code === status.DEADLINE_EXCEEDED
          ? `no answer from the sbatch service at ${c.endpoint} within ${c.timeoutMs} ms (${c.call})`
          : `the sbatch service at ${c.endpoint} is unreachable (${c.call}: ${details})`;
      let hint: string;
      if (TLS_HINT.test(details)) {
        hint =
          c.tls === 'plaintext'
            ? 'the service seems to speak TLS: configure TLS with its CA file'
            : "the TLS handshake failed: check that the CA file is the one that signed the service's certificate and that the endpoint's host name or IP is in the certificate's subjectAltName";
      } else if (c.tls === 'plaintext') {
        hint = 'check that the service runs, that the endpoint (host:port) is right and reachable, and whether it expects TLS (then give its CA file)';
      } else {
        hint = 'check that the service runs, that the endpoint (host:port) is right and reachable, and that it speaks TLS';
      }
      return new SbatchError({ ...base, kind: 'unavailable', message: `${what}: ${hint}; the call can be retried` });
    }
    case status.NOT_FOUND:
      return new SbatchError({
        ...base,
        kind: 'not_found',
        message: `the sbatch service at ${c.endpoint} has no script for batch location hash ${JSON.stringify(c.batchLocationHash ?? '')} (unknown or expired: ${details}); the job cannot run, report it FAILED`,
      });
    case status.INTERNAL:
    case status.UNKNOWN:
      return new SbatchError({
        ...base,
        kind: 'unavailable',
        message: `the sbatch service at ${c.endpoint} failed on its side (${c.call}: ${status[err.code]}: ${details}); usually transient (it could not read the chain, for one): the call can be retried. If it persists, the service's own log says why`,
      });
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      if (CHALLENGE_REFUSED.test(details) && !SIGNED_BY_OTHER.test(details)) {
        return new SbatchError({
          ...base,
          kind: 'unavailable',
          message:
            `the sbatch service at ${c.endpoint} did not accept the challenge it had just issued (${c.call}: ${details}). The provider key is not in question: ` +
            'usually the service restarted between Challenge and GetSBatch, several service instances behind one endpoint do not share their challenges, ' +
            "or the call took longer than the challenge's lifetime. Retried with a fresh challenge; if it persists, point sbatch.endpoint at one instance " +
            '(or make the instances share challenges) and check sbatch.timeoutMs against the challenge lifetime',
        });
      }
      return new SbatchError({
        ...base,
        kind: 'unauthenticated',
        message: `the sbatch service at ${c.endpoint} refused the provider's credentials (${c.call}): ${details}. Check that the provider key is the one the job was assigned to and that the service reads the same chain and MetaScheduler`,
      });
    default:
      return new SbatchError({
        ...base,
        kind: 'refused',
        message: `the sbatch service at ${c.endpoint} refused ${c.call} (${status[err.code] ?? err.code}): ${details}`,
      });
  }
}

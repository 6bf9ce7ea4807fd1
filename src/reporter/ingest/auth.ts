// auth.ts - verify the X-Gridlink-Auth header of an ingest request
// (src/relay/protocol.ts):
//   munge <credential>   munge_encode(sha256hex(body)) by uid 0 or SlurmUser
//   hmac-sha256 <keyId>:<unixSeconds>:<nonceHex>:<sigHex>
//                        sig = HMAC-SHA256(key, `${keyId}:${unixSeconds}:${nonceHex}:${sha256hex(body)}`)
// Two steps: parseAuthHeader() before the body is read (a missing or
// malformed header is refused without reading it), then verify() with the
// body's digest.
import { createHmac, timingSafeEqual } from 'node:crypto';

import { HMAC_MAX_SKEW_S } from '../../relay/protocol.js';
import type { MungeDecoded } from '../../native/munge.js';
import { KEY_ID_RE } from './config.js';
import { NonceCache, type NonceClaim } from './nonces.js';

export type AuthFailureReason =
  | 'missing_header'
  | 'malformed_header'
  | 'munge_disabled'
  | 'hmac_disabled'
  | 'bad_credential'
  | 'replayed_credential'
  | 'expired_credential'
  | 'digest_mismatch'
  | 'uid_not_allowed'
  | 'munge_unavailable'
  | 'unknown_key'
  | 'bad_signature'
  | 'stale_timestamp'
  | 'replayed_nonce'
  | 'nonce_cache_full'
  | 'nonce_journal_failed';

export const AUTH_FAILURE_REASONS: readonly AuthFailureReason[] = [
  'missing_header',
  'malformed_header',
  'munge_disabled',
  'hmac_disabled',
  'bad_credential',
  'replayed_credential',
  'expired_credential',
  'digest_mismatch',
  'uid_not_allowed',
  'munge_unavailable',
  'unknown_key',
  'bad_signature',
  'stale_timestamp',
  'replayed_nonce',
  'nonce_cache_full',
  'nonce_journal_failed',
];

export interface AuthFailure {
  ok: false;
  /** 401: not authenticated; 403: authenticated but not allowed; 503: cannot verify now (retry). */
  status: 401 | 403 | 503;
  reason: AuthFailureReason;
  detail: string;
  mode?: 'munge' | 'hmac';
  uid?: number;
  keyId?: string;
}

export type AuthSuccess = { ok: true; mode: 'munge'; uid: number; gid: number } | { ok: true; mode: 'hmac'; keyId: string };

export type ParsedAuth =
  | { mode: 'munge'; credential: string }
  | { mode: 'hmac'; keyId: string; ts: number; tsText: string; nonce: string; sig: Buffer };

const MUNGE_CRED_RE = /^MUNGE:[A-Za-z0-9+/=]{16,8192}:$/;
const HMAC_RE = /^([^:]+):(\d{1,12}):([0-9a-fA-F]{16,128}):([0-9a-fA-F]{64})$/;

const fail = (status: AuthFailure['status'], reason: AuthFailureReason, detail: string, extra: Partial<AuthFailure> = {}): AuthFailure => ({
  ok: false,
  status,
  reason,
  detail,
  ...extra,
});

export type MungeDecodeFn = (credential: string, opts: { socket?: string }) => Promise<MungeDecoded>;

export interface AuthenticatorOptions {
  allowedUids: ReadonlySet<number>;
  /** null: munge disabled. */
  munge: { socket?: string } | null;
  hmacKeys: ReadonlyMap<string, Buffer>;
  mungeDecode: MungeDecodeFn;
  /** Where HMAC nonces are remembered (NonceCache.open on the state database); default: in memory only (forgotten on restart). */
  nonces?: NonceCache;
  /** Unix seconds; injectable for tests. */
  now?: () => number;
}

export class Authenticator {
  private nonces: NonceCache | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: AuthenticatorOptions) {
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
    this.nonces = opts.nonces;
  }

  /** Checks the header's syntax and that its scheme is enabled. Cheap: no I/O. */
  parseHeader(value: string | string[] | undefined): ParsedAuth | AuthFailure {
    if (value === undefined || value === '') return fail(401, 'missing_header', 'no X-Gridlink-Auth header');
    if (Array.isArray(value) || value.length > 16384) return fail(401, 'malformed_header', 'X-Gridlink-Auth given more than once or too long');
    const sp = value.indexOf(' ');
    const scheme = sp < 0 ? value : value.slice(0, sp);
    const rest = sp < 0 ? '' : value.slice(sp + 1);
    if (scheme === 'munge') {
      if (!this.opts.munge) return fail(401, 'munge_disabled', 'munge authentication is disabled on this reporter', { mode: 'munge' });
      if (!MUNGE_CRED_RE.test(rest)) return fail(401, 'malformed_header', 'not a munge credential (MUNGE:...:)', { mode: 'munge' });
      return { mode: 'munge', credential: rest };
    }
    if (scheme === 'hmac-sha256') {
      if (this.opts.hmacKeys.size === 0) return fail(401, 'hmac_disabled', 'no HMAC key is configured on this reporter', { mode: 'hmac' });
      const m = HMAC_RE.exec(rest);
      if (!m || !KEY_ID_RE.test(m[1]!)) return fail(401, 'malformed_header', 'expected hmac-sha256 <keyId>:<unixSeconds>:<nonceHex>:<sigHex>', { mode: 'hmac' });
      return { mode: 'hmac', keyId: m[1]!, tsText: m[2]!, ts: Number(m[2]), nonce: m[3]!, sig: Buffer.from(m[4]!, 'hex') };
    }
    return fail(401, 'malformed_header', 'unknown auth scheme (expected "munge" or "hmac-sha256")');
  }

  /** Verifies a parsed header against the sha256 hex digest of the exact body bytes. */
  async verify(auth: ParsedAuth, bodySha256Hex: string): Promise<AuthSuccess | AuthFailure> {
    return auth.mode === 'munge' ? this.verifyMunge(auth.credential, bodySha256Hex) : this.verifyHmac(auth, bodySha256Hex);
  }

  private async verifyMunge(credential: string, digest: string): Promise<AuthSuccess | AuthFailure> {
    let d: MungeDecoded;
    try {
      d = await this.opts.mungeDecode(credential, this.opts.munge ?? {});
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'EMUNGE_ERROR';
      const detail = `${code}: ${(err as Error).message}`;
      switch (code) {
        case 'EMUNGE_CRED_REPLAYED':
          return fail(401, 'replayed_credential', detail, { mode: 'munge' });
        case 'EMUNGE_CRED_EXPIRED':
        case 'EMUNGE_CRED_REWOUND':
          return fail(401, 'expired_credential', detail, { mode: 'munge' });
        case 'EMUNGE_SOCKET':
        case 'EMUNGE_TIMEOUT':
        case 'EMUNGE_NO_MEMORY':
        case 'EMUNGE_SNAFU':
        case 'EMUNGE_ERROR':
          return fail(503, 'munge_unavailable', `${detail} (is munged running? see its log)`, { mode: 'munge' });
        default:
          return fail(401, 'bad_credential', detail, { mode: 'munge' });
      }
    }
    const want = Buffer.from(digest, 'latin1');
    if (d.payload.length !== want.length || !timingSafeEqual(d.payload, want)) {
      return fail(401, 'digest_mismatch', 'the credential does not carry the sha256 of this body (altered in transit, or made for another body)', {
        mode: 'munge',
        uid: d.uid,
      });
    }
    if (!this.opts.allowedUids.has(d.uid)) {
      return fail(403, 'uid_not_allowed', `uid ${d.uid} may not send events (allowed: ${[...this.opts.allowedUids].join(', ')})`, {
        mode: 'munge',
        uid: d.uid,
      });
    }
    return { ok: true, mode: 'munge', uid: d.uid, gid: d.gid };
  }

  private async verifyHmac(a: Extract<ParsedAuth, { mode: 'hmac' }>, digest: string): Promise<AuthSuccess | AuthFailure> {
    const key = this.opts.hmacKeys.get(a.keyId);
    if (!key) return fail(401, 'unknown_key', `no HMAC key with id ${a.keyId}`, { mode: 'hmac', keyId: a.keyId });
    const mac = createHmac('sha256', key).update(`${a.keyId}:${a.tsText}:${a.nonce}:${digest}`).digest();
    if (!timingSafeEqual(mac, a.sig)) return fail(401, 'bad_signature', 'HMAC signature does not match (wrong key, or body altered)', { mode: 'hmac', keyId: a.keyId });
    const now = this.now();
    if (Math.abs(now - a.ts) > HMAC_MAX_SKEW_S) {
      return fail(401, 'stale_timestamp', `timestamp ${a.ts} is ${now - a.ts} s off this host's clock (max ${HMAC_MAX_SKEW_S}); check NTP on both hosts`, {
        mode: 'hmac',
        keyId: a.keyId,
      });
    }
    let claim: NonceClaim;
    try {
      this.nonces ??= NonceCache.inMemory(HMAC_MAX_SKEW_S);
      claim = await this.nonces.claim(`${a.keyId}:${a.nonce.toLowerCase()}`, a.ts, now);
    } catch (err) {
      return fail(503, 'nonce_journal_failed', `cannot record the nonce in the state database (${(err as Error).message}); nothing stored, retry once the database is writable`, {
        mode: 'hmac',
        keyId: a.keyId,
      });
    }
    if (claim === 'replayed') return fail(401, 'replayed_nonce', 'this nonce was already used (replayed request)', { mode: 'hmac', keyId: a.keyId });
    if (claim === 'full') return fail(503, 'nonce_cache_full', 'too many requests within the replay window; retry later', { mode: 'hmac', keyId: a.keyId });
    return { ok: true, mode: 'hmac', keyId: a.keyId };
  }
}

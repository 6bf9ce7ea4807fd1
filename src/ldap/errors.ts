// errors.ts - what went wrong talking to the directory, in words an operator
// can act on. Every failure of the connector is a DirectoryError with a kind;
// `retryable` says whether the same request may succeed later without anyone
// changing the customer's data (the directory back up, a certificate or a
// password fixed) or never will (an address that is not one, an entry that
// contradicts the configuration).
import {
  AlreadyExistsError,
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  ResultCodeError,
} from 'ldapts';

export type DirectoryErrorKind =
  /** The input is not a customer address: refused before any LDAP call. */
  | 'address'
  /** TCP connect refused, reset, timed out; DNS. */
  | 'unreachable'
  /** The server's certificate is not trusted or does not name the host. */
  | 'certificate'
  /** The bind was refused. */
  | 'bind'
  /** The bind DN may not do what the connector needs. */
  | 'access'
  /** A configured DN (usersDn, group, counter's parent) does not exist. */
  | 'missing'
  /** An existing entry or home contradicts the configuration: left alone. */
  | 'conflict'
  /** The uidNumber range is used up. */
  | 'exhausted'
  /** The directory's schema or DNs do not fit what the connector writes. */
  | 'schema'
  /** The home directory could not be created. */
  | 'home'
  /** Any other LDAP result. */
  | 'ldap';

export class DirectoryError extends Error {
  override readonly name = 'DirectoryError';
  constructor(
    readonly kind: DirectoryErrorKind,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Node's and OpenSSL's codes for a certificate that is not trusted. */
const CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Results no retry changes: the schema or the DNs do not fit what the
 * connector writes (undefinedAttributeType, constraintViolation,
 * invalidAttributeSyntax, invalidDNSyntax, namingViolation,
 * objectClassViolation, notAllowedOnRDN).
 */
const SCHEMA_CODES = new Set([17, 19, 21, 34, 64, 65, 67]);

const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);

export interface ErrorContext {
  url: string;
  bindDn: string;
  /** What was being done, e.g. "add uid=0x...,ou=People,dc=x". */
  op: string;
}

/** Any error of a connection or an operation, as a DirectoryError (already classified ones pass through). */
export function classifyDirectoryError(err: unknown, c: ErrorContext): DirectoryError {
  if (err instanceof DirectoryError) return err;
  const e = err as NodeJS.ErrnoException & { code?: string | number };
  const msg = e instanceof Error ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && CERT_CODES.has(code)) {
    return new DirectoryError(
      'certificate',
      `the certificate of the LDAP directory ${c.url} is not trusted (${code}: ${msg}): set caFile to the CA that signed it, and make sure the certificate names the host in the URL`,
      true,
      { cause: err },
    );
  }
  if (code?.startsWith('ERR_TLS') || code?.startsWith('ERR_SSL') || /ssl|tls/i.test(code ?? '')) {
    return new DirectoryError('certificate', `TLS with the LDAP directory ${c.url} failed (${code}: ${msg}): check that the port speaks ${c.url.startsWith('ldaps:') ? 'LDAPS' : 'LDAP with StartTLS'} and the certificate`, true, { cause: err });
  }
  if (/operation timed out/i.test(msg)) {
    return new DirectoryError('unreachable', `the LDAP directory ${c.url} did not answer ${c.op} within timeoutMs: check its load and the network, or raise timeoutMs`, true, { cause: err });
  }
  if ((code && NET_CODES.has(code)) || /connection timeout|socket closed|connection closed|not connected|connection not established|socket error|ECONNRESET|dropped LDAP session/i.test(msg)) {
    return new DirectoryError('unreachable', `the LDAP directory ${c.url} is unreachable (${code ?? msg}) during ${c.op}: check that it runs and that url points at it`, true, { cause: err });
  }
  if (/StartTLS|1\.3\.6\.1\.4\.1\.1466\.20037/i.test(c.op + msg) && err instanceof ResultCodeError) {
    return new DirectoryError('certificate', `the LDAP directory ${c.url} refused StartTLS (LDAP result ${err.code}: ${msg}): enable TLS on the server, or use an ldaps:// URL`, true, { cause: err });
  }
  if (err instanceof InvalidCredentialsError) {
    return new DirectoryError('bind', `the LDAP directory ${c.url} refused the bind as ${c.bindDn} (invalid credentials): check bindDn and the password in bindPasswordFile`, true, { cause: err });
  }
  if (err instanceof InsufficientAccessError) {
    return new DirectoryError('access', `${c.bindDn} may not ${c.op} on ${c.url} (insufficient access): grant it read and add rights under usersDn and write rights on the group's memberUid`, true, { cause: err });
  }
  if (err instanceof NoSuchObjectError) {
    return new DirectoryError('missing', `${c.op} on ${c.url}: the entry or its parent does not exist (${msg}): create usersDn and the group, or fix their DNs in the configuration`, true, { cause: err });
  }
  if (err instanceof AlreadyExistsError) return new DirectoryError('ldap', `${c.op}: already exists`, true, { cause: err });
  if (err instanceof ResultCodeError && SCHEMA_CODES.has(err.code)) {
    return new DirectoryError('schema', `${c.op} on ${c.url} was refused: LDAP result ${err.code} (${msg}): the directory's schema or configuration does not fit (posixAccount, account, memberUid, uidNumber must be known; see the README's identity section)`, false, { cause: err });
  }
  if (err instanceof ResultCodeError) {
    return new DirectoryError('ldap', `${c.op} on ${c.url} failed: LDAP result ${err.code} (${msg})`, true, { cause: err });
  }
  return new DirectoryError('ldap', `${c.op} on ${c.url} failed: ${msg}`, true, { cause: err });
}

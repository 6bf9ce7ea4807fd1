// auth.ts - the X-Gridlink-Auth value for a body: munge credential or HMAC.
import { randomBytes } from 'node:crypto';

import { mungeEncode } from '../native/munge.js';
import type { AuthConfig } from './config.js';
import { loadHmacKey } from './config.js';
import { bodyDigestHex, formatHmacAuth, formatMungeAuth, hmacSignature } from './protocol.js';

export type Authenticator = (body: Uint8Array) => Promise<string>;

/** A fresh header per call (munge credentials and HMAC nonces are single-use on the receiver). */
export function createAuthenticator(auth: AuthConfig, now: () => number = Date.now): Authenticator {
  if (auth.kind === 'munge') {
    const opts = auth.socket ? { socket: auth.socket } : {};
    return async (body) => {
      try {
        return formatMungeAuth(await mungeEncode(bodyDigestHex(body), opts));
      } catch (err) {
        const e = err as Error & { code?: string };
        throw new Error(
          `munge_encode failed (${e.code ?? 'error'}: ${e.message}): is munged running${auth.socket ? ` on ${auth.socket}` : ''}? (systemctl status munge)`,
        );
      }
    };
  }
  const key = loadHmacKey(auth.keyFile);
  return async (body) => {
    const unixSeconds = Math.floor(now() / 1000);
    const nonceHex = randomBytes(16).toString('hex');
    const sigHex = hmacSignature(key, auth.keyId, unixSeconds, nonceHex, bodyDigestHex(body));
    return formatHmacAuth({ keyId: auth.keyId, unixSeconds, nonceHex, sigHex });
  };
}

// keyfile.ts - HMAC key files of the ingest: a regular file, mode 0600 or
// 0400, owned by root or by the user running the reporter (the checks are
// src/util/secret-file.ts, shared with the relay and the provider key). The
// key is the file's bytes with trailing whitespace removed (src/relay/protocol.ts
// hmacKeyFromFile, the relay's own reading), at least 32 bytes.
import { HMAC_MIN_KEY_BYTES, hmacKeyFromFile } from '../../relay/protocol.js';
import { readSecretFile } from '../../util/secret-file.js';

export const MIN_HMAC_KEY_BYTES = HMAC_MIN_KEY_BYTES;

export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
}

/** Reads and checks a key file; throws KeyFileError saying what to fix. */
export function readHmacKeyFile(path: string, keyId: string): Buffer {
  const me = process.getuid?.() ?? 0;
  try {
    return hmacKeyFromFile(readSecretFile(path, { what: `HMAC key ${keyId}`, owners: me === 0 ? [0] : [0, me], modes: [0o600, 0o400] }));
  } catch (err) {
    throw new KeyFileError(`HMAC key ${keyId} (${path}): ${(err as Error).message.replace(/^HMAC key \S+: /, '')}`);
  }
}

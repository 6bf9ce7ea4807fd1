// keyfile.ts - HMAC key files: a regular file, mode 0600 or 0400, owned by
// root or by the user running the reporter. The key is the file's bytes with
// trailing whitespace (a final newline) removed, e.g. the 64 characters
// written by `openssl rand -hex 32 > key`; both sides use the same bytes.
import { constants, fstatSync, openSync, readSync, closeSync } from 'node:fs';

export const MIN_HMAC_KEY_BYTES = 32;
const MAX_KEY_FILE_BYTES = 4096;

export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
}

/** Reads and checks a key file; throws KeyFileError saying what to fix. */
export function readHmacKeyFile(path: string, keyId: string): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not hang (fstat below refuses it).
    // O_NOFOLLOW: a symlink is refused, as the relay does; point at the key itself.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new KeyFileError(`HMAC key ${keyId}: ${path} is a symbolic link; give the path of the key file itself`);
    }
    throw new KeyFileError(`HMAC key ${keyId}: cannot open key file ${path}: ${(err as Error).message}`);
  }
  try {
    // fstat the descriptor we read from: no window between the check and the read.
    const st = fstatSync(fd);
    if (!st.isFile()) throw new KeyFileError(`HMAC key ${keyId}: ${path} is not a regular file`);
    const me = process.getuid?.() ?? 0;
    if (st.uid !== 0 && st.uid !== me) {
      throw new KeyFileError(
        `HMAC key ${keyId}: ${path} is owned by uid ${st.uid}; it must belong to root${me !== 0 ? ` or uid ${me}` : ''} (chown root:root ${path})`,
      );
    }
    const mode = st.mode & 0o7777;
    if (mode !== 0o600 && mode !== 0o400) {
      throw new KeyFileError(
        `HMAC key ${keyId}: ${path} has mode 0${mode.toString(8)}; a key file must be readable by its owner only (chmod 600 ${path})`,
      );
    }
    if (st.size > MAX_KEY_FILE_BYTES) throw new KeyFileError(`HMAC key ${keyId}: ${path} is ${st.size} bytes; a key file holds one key (at most ${MAX_KEY_FILE_BYTES} bytes)`);
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let n = 0;
    for (let r = readSync(fd, buf, n, buf.length - n, null); r > 0; r = readSync(fd, buf, n, buf.length - n, null)) n += r;
    let end = n;
    while (end > 0 && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d || buf[end - 1] === 0x20 || buf[end - 1] === 0x09)) end--;
    if (end < MIN_HMAC_KEY_BYTES) {
      throw new KeyFileError(
        `HMAC key ${keyId}: ${path} holds ${end} bytes; use at least ${MIN_HMAC_KEY_BYTES} (e.g. \`openssl rand -hex 32 > ${path}\`)`,
      );
    }
    return Buffer.from(buf.subarray(0, end));
  } finally {
    closeSync(fd);
  }
}

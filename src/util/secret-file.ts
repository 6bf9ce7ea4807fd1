// secret-file.ts - reads a small secret (a key) from a file an operator
// prepared, refusing files others could read or swap: a regular file (no
// symlink, FIFO or device), owned by an allowed uid, with an allowed mode.
// The checks run on the descriptor that is read (fstat), so there is no
// window between check and read. Messages say what to fix; they never
// contain the secret.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

export class SecretFileError extends Error {
  override readonly name = 'SecretFileError';
}

export interface SecretFileRules {
  /** What the file is, for messages, e.g. "provider key" or "HMAC key k1". */
  what: string;
  /** Owners accepted (default: the running user only). */
  owners?: readonly number[];
  /** Modes accepted (default: 0600 only). */
  modes?: readonly number[];
  /** Largest file accepted (default 4096 bytes). */
  maxBytes?: number;
}

const octal = (m: number) => `0${m.toString(8)}`;

/** The file's bytes, as they are (callers trim and check the key's format). */
export function readSecretFile(path: string, rules: SecretFileRules): Buffer {
  const me = process.getuid?.() ?? 0;
  const owners = rules.owners ?? [me];
  const modes = rules.modes ?? [0o600];
  const max = rules.maxBytes ?? 4096;
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO must not hang the open (fstat refuses it below). O_NOFOLLOW: no symlinks.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new SecretFileError(`${rules.what}: ${path} is a symbolic link, not a regular file: give the path of the key file itself`);
    throw new SecretFileError(`${rules.what}: cannot open ${path}: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SecretFileError(`${rules.what}: ${path} is not a regular file`);
    if (!owners.includes(st.uid)) {
      const who = owners.map((u) => (u === 0 ? 'root' : `uid ${u}`));
      throw new SecretFileError(`${rules.what}: ${path} is owned by uid ${st.uid}: it must belong to ${who.join(' or ')}: chown ${owners[0] === 0 ? 'root' : owners[0]} ${path}`);
    }
    const mode = st.mode & 0o7777;
    if (!modes.includes(mode)) {
      throw new SecretFileError(`${rules.what}: ${path} has mode ${octal(mode).padStart(4, '0')}: it must be ${modes.map((m) => octal(m).padStart(4, '0')).join(' or ')}: chmod ${octal(modes[0]!).slice(1)} ${path} (readable by its owner only)`);
    }
    if (st.size > max) throw new SecretFileError(`${rules.what}: ${path} is ${st.size} bytes; a key file holds one key (at most ${max} bytes)`);
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (let r = readSync(fd, buf, n, buf.length - n, null); r > 0 && n < buf.length; r = readSync(fd, buf, n, buf.length - n, null)) n += r;
    return Buffer.from(buf.subarray(0, Math.min(n, max)));
  } finally {
    closeSync(fd);
  }
}

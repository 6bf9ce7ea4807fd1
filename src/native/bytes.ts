// bytes.ts - lossless bytes <-> string for job names and comments.
//
// SLURM strings are bytes. Valid UTF-8 decodes as usual; every byte that is
// not part of valid UTF-8 becomes a lone surrogate U+DC80..U+DCFF (Python's
// "surrogateescape"). No valid UTF-8 decodes to a lone surrogate, so the
// mapping is reversible, and JSON.stringify prints them as "\udcNN".

import { isUtf8 } from 'node:buffer';

export function decodeBytes(buf: Uint8Array): string {
  if (isUtf8(buf)) return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8');
  let out = '';
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const b = buf[i]!;
    if (b < 0x80) {
      // fast path for ASCII runs
      let j = i + 1;
      while (j < n && buf[j]! < 0x80) j++;
      out += Buffer.from(buf.buffer, buf.byteOffset + i, j - i).toString('latin1');
      i = j;
      continue;
    }
    const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let cp = -1;
    if (len && i + len <= n) {
      cp = b & (0xff >> (len + 1));
      for (let k = 1; k < len; k++) {
        const c = buf[i + k]!;
        if ((c & 0xc0) !== 0x80) {
          cp = -1;
          break;
        }
        cp = (cp << 6) | (c & 0x3f);
      }
      // overlong, surrogate or out-of-range forms are invalid UTF-8
      if (cp >= 0 && ((len === 3 && cp < 0x800) || (len === 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)))
        cp = -1;
    }
    if (cp < 0) {
      out += String.fromCharCode(0xdc00 + b);
      i += 1;
    } else {
      out += String.fromCodePoint(cp);
      i += len;
    }
  }
  return out;
}

export function encodeBytes(s: string): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff && !(i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff)) {
      parts.push(Buffer.from(s.slice(start, i), 'utf8'), Buffer.from([c - 0xdc00]));
      start = i + 1;
    }
  }
  parts.push(Buffer.from(s.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

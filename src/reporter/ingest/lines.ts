// lines.ts - read a byte range of a file as '\n'-terminated lines, with the
// file offset of each. Splitting on the byte 0x0A is safe: it never occurs
// inside a multi-byte UTF-8 sequence, and JSON escapes newlines in strings.
import type { FileHandle } from 'node:fs/promises';

export interface FileLine {
  /** The line without its '\n'. */
  line: Buffer;
  /** File offset of the line's first byte. */
  offset: number;
  /** False for a last line that has no '\n' (a torn write, or one in progress). */
  terminated: boolean;
}

export async function* readLines(fh: FileHandle, start: number, end: number, chunkBytes = 4 << 20): AsyncGenerator<FileLine> {
  let pos = start;
  let carry: Buffer | undefined;
  let carryOff = start;
  while (pos < end) {
    const want = Math.min(chunkBytes, end - pos);
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await fh.read(buf, 0, want, pos);
    if (bytesRead === 0) break; // file shorter than expected (truncated under us)
    pos += bytesRead;
    let data = buf.subarray(0, bytesRead);
    let dataOff = pos - bytesRead;
    if (carry && carry.length > 0) {
      data = Buffer.concat([carry, data]);
      dataOff = carryOff;
    }
    let s = 0;
    for (let nl = data.indexOf(10, s); nl !== -1; nl = data.indexOf(10, s)) {
      yield { line: data.subarray(s, nl), offset: dataOff + s, terminated: true };
      s = nl + 1;
    }
    carry = data.subarray(s);
    carryOff = dataOff + s;
  }
  if (carry && carry.length > 0) yield { line: carry, offset: carryOff, terminated: false };
}

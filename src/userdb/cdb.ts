// cdb.ts - a constant database (D. J. Bernstein's cdb format, read in C by
// tinycdb, Debian's libcdb) built in memory. No maintained npm writer exists,
// and the format is small and fixed (https://cr.yp.to/cdb/cdb.txt):
//
//   header: 256 x (u32 position, u32 slot count) of the hash tables
//   records: u32 key length, u32 data length, key, data
//   256 hash tables: slot = (u32 hash, u32 record position); empty slot = 0,0
//   hash(key) = h = 5381; for each byte c: h = ((h << 5) + h) ^ c  (mod 2^32)
//   a key goes to table (h & 255), first probed slot (h >> 8) % slots,
//   each table has twice as many slots as keys.
// All numbers little-endian; the whole file must stay under 4 GiB.

const HEADER_BYTES = 2048;

export function cdbHash(key: Uint8Array): number {
  let h = 5381;
  for (const c of key) h = (((h << 5) + h) >>> 0) ^ c;
  return h >>> 0;
}

export class CdbTooLargeError extends Error {
  override readonly name = 'CdbTooLargeError';
}

/** The cdb file holding `records` (a key may repeat: the first is found first, as in cdbmake). */
export function buildCdb(records: Iterable<readonly [Uint8Array, Uint8Array]>): Buffer {
  const list: Array<readonly [Uint8Array, Uint8Array]> = [...records];
  let recordBytes = 0;
  for (const [k, d] of list) recordBytes += 8 + k.length + d.length;
  const tableBytes = list.length * 2 * 8;
  const total = HEADER_BYTES + recordBytes + tableBytes;
  if (total > 0xffffffff) throw new CdbTooLargeError(`a cdb file holds at most 4 GiB; this one would be ${total} bytes`);
  const buf = Buffer.alloc(total);

  // records, remembering each one's hash and position per table
  const hashes = new Uint32Array(list.length);
  const positions = new Uint32Array(list.length);
  const perTable = new Uint32Array(256);
  let pos = HEADER_BYTES;
  list.forEach(([k, d], i) => {
    const h = cdbHash(k);
    hashes[i] = h;
    positions[i] = pos;
    perTable[h & 255]!++;
    buf.writeUInt32LE(k.length, pos);
    buf.writeUInt32LE(d.length, pos + 4);
    buf.set(k, pos + 8);
    buf.set(d, pos + 8 + k.length);
    pos += 8 + k.length + d.length;
  });

  // hash tables, in table order; each slot (hash, position), linear probing
  const tableStart = new Uint32Array(256);
  for (let t = 0; t < 256; t++) {
    const slots = perTable[t]! * 2;
    tableStart[t] = pos;
    buf.writeUInt32LE(pos, t * 8);
    buf.writeUInt32LE(slots, t * 8 + 4);
    pos += slots * 8;
  }
  for (let i = 0; i < list.length; i++) {
    const h = hashes[i]!;
    const t = h & 255;
    const slots = perTable[t]! * 2;
    let s = (h >>> 8) % slots;
    for (;;) {
      const at = tableStart[t]! + s * 8;
      if (buf.readUInt32LE(at + 4) === 0) {
        buf.writeUInt32LE(h, at);
        buf.writeUInt32LE(positions[i]!, at + 4);
        break;
      }
      s = (s + 1) % slots;
    }
  }
  return buf;
}

/** Every value stored under `key` in a cdb file, in order (the reader the tests and `gridlink users` use; the NSS module reads with libcdb). */
export function cdbGet(file: Buffer, key: Uint8Array): Buffer[] {
  if (file.length < HEADER_BYTES) throw new Error(`not a cdb file: ${file.length} bytes, under the 2048-byte header`);
  const h = cdbHash(key);
  const t = h & 255;
  const tpos = file.readUInt32LE(t * 8);
  const slots = file.readUInt32LE(t * 8 + 4);
  const out: Buffer[] = [];
  if (slots === 0) return out;
  if (tpos + slots * 8 > file.length) throw new Error('not a cdb file: a hash table runs past the end');
  let s = (h >>> 8) % slots;
  for (let n = 0; n < slots; n++) {
    const at = tpos + s * 8;
    const sh = file.readUInt32LE(at);
    const rpos = file.readUInt32LE(at + 4);
    if (rpos === 0) break;
    if (sh === h) {
      if (rpos + 8 > file.length) throw new Error('not a cdb file: a record runs past the end');
      const kl = file.readUInt32LE(rpos);
      const dl = file.readUInt32LE(rpos + 4);
      if (rpos + 8 + kl + dl > file.length) throw new Error('not a cdb file: a record runs past the end');
      if (kl === key.length && file.subarray(rpos + 8, rpos + 8 + kl).equals(key)) out.push(file.subarray(rpos + 8 + kl, rpos + 8 + kl + dl));
    }
    s = (s + 1) % slots;
  }
  return out;
}

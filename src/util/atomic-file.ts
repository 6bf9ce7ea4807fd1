// atomic-file.ts - replace a file so that a reader sees the old contents or
// the new, never a torn or empty file, even after a crash or power loss at
// any instant: write a temporary file beside it, fsync it, rename it over
// the old one, fsync the directory. A temporary file left by a crash is named
// `.NAME.tmp-PID` and removed by removeStaleTemps().
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const tempPrefix = (file: string) => `.${basename(file)}.tmp-`;

export async function writeFileAtomic(file: string, data: Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = join(dir, `${tempPrefix(file)}${process.pid}`);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.chmod(mode); // the umask does not decide who may read it
    for (let off = 0; off < data.length; ) off += (await fh.write(data, off, data.length - off)).bytesWritten;
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(tmp, file);
  const d = await open(dir, 'r');
  try {
    await d.sync(); // the rename itself on disk
  } finally {
    await d.close();
  }
}

/** Removes the temporary files a crash of any writer of `file` left. */
export async function removeStaleTemps(file: string): Promise<void> {
  const prefix = tempPrefix(file);
  let names: string[];
  try {
    names = await readdir(dirname(file));
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => unlink(join(dirname(file), n)).catch(() => {})));
}

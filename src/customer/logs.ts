// logs.ts - a job's output: on a devnet the file SLURM writes (read, or
// followed until the job ends); on a real grid a sentence that says where the
// output is instead (the provider's cluster), never a silent nothing.
import { closeSync, openSync, readSync, statSync } from 'node:fs';

import type { Hex } from 'viem';

import type { CustomerContext } from './context.js';
import { explain } from './errors.js';
import { outputElsewhere } from './output-file.js';
import { jobView } from './view.js';

export type LogsResult =
  | { kind: 'file'; path: string; text: string }
  /** The file is not there yet (the job has not started); `path` when known. */
  | { kind: 'pending'; message: string; path: string | null }
  | { kind: 'elsewhere'; message: string };

function readFrom(path: string, offset: number): { text: string; size: number } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = statSync(path).size;
    if (size <= offset) return { text: '', size: offset };
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    return { text: buf.subarray(0, n).toString('utf8'), size: offset + n };
  } finally {
    closeSync(fd);
  }
}

export async function logs(ctx: CustomerContext, p: { jobId: Hex }): Promise<LogsResult> {
  let v;
  try {
    v = await jobView(ctx, p.jobId);
  } catch (e) {
    throw explain(e, { action: 'logs', jobId: p.jobId, customer: ctx.customer, rpcUrl: ctx.rpcUrl });
  }
  if (!ctx.provider) return { kind: 'elsewhere', message: outputElsewhere(v.provider) };
  if (!v.outputFile) {
    const message = v.ended
      ? `job ${p.jobId} ended (${v.status}) without reaching SLURM on this devnet: it has no output${v.lastError ? ` (${v.lastError})` : ''}`
      : `job ${p.jobId} is ${v.status} and not yet in SLURM: its output appears once it runs (gridlink job logs --follow waits for it)`;
    return { kind: 'pending', message, path: null };
  }
  const r = readFrom(v.outputFile, 0);
  if (!r) return { kind: 'pending', message: `${v.outputFile} does not exist yet${v.ended ? ' (the job ended: it wrote nothing)' : ''}`, path: v.outputFile };
  return { kind: 'file', path: v.outputFile, text: r.text };
}

/** Writes the output as it grows until the job has ended and the file is read to its end. Returns the last LogsResult kind. */
export async function followLogs(ctx: CustomerContext, p: { jobId: Hex; write: (text: string) => void; signal?: AbortSignal | undefined; note?: (line: string) => void }): Promise<LogsResult['kind']> {
  let offset = 0;
  let noted = false;
  for (;;) {
    const v = await jobView(ctx, p.jobId).catch((e: unknown) => {
      throw explain(e, { action: 'logs', jobId: p.jobId, customer: ctx.customer, rpcUrl: ctx.rpcUrl });
    });
    if (!ctx.provider) {
      p.note?.(outputElsewhere(v.provider));
      return 'elsewhere';
    }
    const r = v.outputFile ? readFrom(v.outputFile, offset) : null;
    if (r) {
      if (r.text) p.write(r.text);
      offset = r.size;
    } else if (!noted && !v.ended) {
      noted = true;
      p.note?.(`waiting for job ${p.jobId} to run (${v.status})…`);
    }
    if (v.ended) return r || offset > 0 ? 'file' : 'pending';
    if (p.signal?.aborted) return 'file';
    await new Promise((res) => setTimeout(res, ctx.pollMs ?? 250));
  }
}

// hardware.ts - this host's hardware as a test cluster's node (`slurmd -C`), with
// memory headroom, and its short host name.
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import type { NodeHardware } from './config.js';

const execFileP = promisify(execFile);

/** Parses the first line of `slurmd -C` (`NodeName=vm CPUs=2 Boards=1 ...`). */
export function parseSlurmdC(text: string): { nodeName: string; hardware: NodeHardware; measuredMemoryMB: number } {
  const line = text.split('\n').find((l) => l.startsWith('NodeName=')) ?? '';
  const kv = new Map(line.split(/\s+/).filter(Boolean).map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)]));
  const num = (k: string): number => {
    const v = Number(kv.get(k));
    if (!Number.isInteger(v) || v <= 0) throw new Error(`slurmd -C: no ${k} in ${JSON.stringify(line)}`);
    return v;
  };
  const mem = num('RealMemory');
  return {
    nodeName: kv.get('NodeName') ?? '',
    measuredMemoryMB: mem,
    hardware: {
      cpus: num('CPUs'),
      boards: num('Boards'),
      socketsPerBoard: num('SocketsPerBoard'),
      coresPerSocket: num('CoresPerSocket'),
      threadsPerCore: num('ThreadsPerCore'),
      realMemoryMB: headroomMemory(mem),
    },
  };
}

/**
 * slurmd drains a node whose measured memory is below RealMemory; memory
 * reported inside containers moves a little between runs, so keep 5% (at
 * least 256 MB) back.
 */
export function headroomMemory(measuredMB: number): number {
  return Math.max(1, measuredMB - Math.max(256, Math.ceil(measuredMB * 0.05)));
}

/** The machine's short hostname: slurmd finds its NodeName by it. */
export function shortHostname(): string {
  return hostname().split('.')[0] ?? hostname();
}

export async function detectNodeHardware(): Promise<NodeHardware> {
  // Same numbers slurmd will compare against at registration, so no
  // "reconfigured socket/core boundaries" surprises.
  const { stdout } = await execFileP('slurmd', ['-C'], { timeout: 15_000 });
  return parseSlurmdC(stdout).hardware;
}

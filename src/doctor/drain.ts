// drain.ts - check `drain`: the relay keeps up with each spool. The oldest
// record past the relay's acknowledged position (spool.meta, read without
// consuming anything, like `gridlink spool stat`) must be younger than
// --max-lag seconds; an older one means the relay holding the spool's
// relay.lock (named in the message) is not delivering.
import { existsSync } from 'node:fs';

import { SpoolReader } from '../native/spool.js';
import { describeRelay, perSpool, relayHolder } from './slurm.js';
import type { Check, DoctorContext, Outcome } from './types.js';

export interface SpoolBacklog {
  /** Bytes written and not yet acknowledged. */
  backlogBytes: number;
  ackedSeq: number;
  /** seq and write time (Unix ms) of the oldest unacknowledged record. */
  oldest?: { seq: number; writtenMs: number };
}

export function readBacklog(dir: string): SpoolBacklog {
  const r = new SpoolReader(dir);
  try {
    const st = r.stat();
    const first = r.read(1).records[0];
    return {
      backlogBytes: st.writtenBytes - st.ackedBytes,
      ackedSeq: st.ackedSeq,
      ...(first ? { oldest: { seq: Number(first.event.seq), writtenMs: Number(first.event.writeTimeNs / 1_000_000n) } } : {}),
    };
  } finally {
    r.close();
  }
}

export interface DrainDeps {
  backlog(dir: string): SpoolBacklog;
  relay(dir: string): string | undefined;
  exists(dir: string): boolean;
}

const realDeps: DrainDeps = {
  backlog: readBacklog,
  relay: (dir) => {
    const h = relayHolder(dir);
    return h && 'pid' in h ? describeRelay(h) : undefined;
  },
  exists: existsSync,
};

export function checkDrain(ctx: DoctorContext, deps: DrainDeps = realDeps): Outcome {
  const now = (ctx.now ?? Date.now)();
  return perSpool(ctx, ({ daemon, options }) => {
    const dir = options.spool;
    if (!deps.exists(dir)) return `${daemon} spool ${dir} not created yet`;
    let b: SpoolBacklog;
    try {
      b = deps.backlog(dir);
    } catch (err) {
      // The reader opens spool.meta read-write: a spool the spool check fails cannot be read here either.
      if (/read-only file system|permission denied/i.test((err as Error).message)) return `${daemon} spool not readable for a check (see the spool check)`;
      return { problem: `cannot read the ${daemon} spool ${dir}: ${(err as Error).message}`, fix: 'see the spool check' };
    }
    if (!b.oldest) return `${daemon} spool caught up (acked seq ${b.ackedSeq})`;
    const ageS = Math.max(0, Math.round((now - b.oldest.writtenMs) / 1000));
    if (ageS <= ctx.maxLagS) return `${daemon} spool: ${b.backlogBytes} bytes pending, the oldest written ${ageS} s ago`;
    const relay = deps.relay(dir);
    return {
      problem: `${daemon} spool ${dir}: ${b.backlogBytes} bytes unacknowledged from seq ${b.oldest.seq}, written ${ageS} s ago (over ${ctx.maxLagS} s): ${relay ?? 'no relay'} is not delivering`,
      fix: relay
        ? `see ${options.log ? `its log ${options.log}` : 'its log'} for why the reporter refuses or cannot be reached (and the reporter check)`
        : `start a relay for ${dir} (reporter= in the plugin options, or \`gridlink relay --spool ${dir} --reporter URL\`); see the runtime check`,
    };
  });
}

export const drainCheck: Check = { name: 'drain', run: async (ctx) => checkDrain(ctx) };

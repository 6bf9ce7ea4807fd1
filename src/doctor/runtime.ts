// runtime.ts - check `runtime`: a relay is alive for each spool. The signal
// is the spool's relay.lock, which the relay (embedded in slurmctld/slurmd or
// the standalone `gridlink relay`) takes when it opens the spool and holds
// while it runs: its PID and start time must name a live process. The
// embedded relay has no metrics port; a runtime that failed to start (bad
// plugin options) never takes the lock.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { describeRelay, perSpool, relayHolder, RELAY_LOCK } from './slurm.js';
import type { Check, DoctorContext, Outcome } from './types.js';

export type Holder = ReturnType<typeof relayHolder>;

export function checkRuntime(ctx: DoctorContext, holder: (dir: string) => Holder = (d) => relayHolder(d), exists: (p: string) => boolean = existsSync): Outcome {
  return perSpool(ctx, ({ daemon, options }) => {
    const dir = options.spool;
    const h = holder(dir);
    if (h && 'pid' in h) return `${describeRelay(h)} drains ${dir}`;
    if (!exists(dir)) return `${dir} not created yet: nothing to relay`;
    return {
      problem: h ? `no relay drains the ${daemon} spool ${dir} (${join(dir, RELAY_LOCK)} names pid ${h.stale}, which is gone)` : `no relay drains the ${daemon} spool ${dir}`,
      fix: options.runtime
        ? `the relay embedded in ${daemon} is not running: see ${options.log ?? `${daemon}'s log`} ("gridlink relay not started" names the bad option), fix the plugin options and restart ${daemon}`
        : `start \`gridlink relay --spool ${dir} --daemon ${daemon} --reporter URL\`, or add reporter=URL to the plugin options to embed it`,
    };
  });
}

export const runtimeCheck: Check = { name: 'runtime', run: async (ctx) => checkRuntime(ctx) };

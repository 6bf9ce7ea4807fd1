// helpers.ts - a doctor context for unit tests: a temporary slurm.conf and plugstack.conf, and a valid supervisor configuration.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { DoctorContext } from '../../src/doctor/types.js';
import { parseSupervisorConfig, type SupervisorConfigInput } from '../../src/supervisor/config.js';

export function tmp(): string {
  return mkdtempSync('/tmp/gl-doctor-test-');
}

export function slurmFiles(dir: string, o: { jobcomp?: string | null; spank?: string | null; slurmUser?: string } = {}): string {
  const conf = join(dir, 'slurm.conf');
  const lines = ['ClusterName=t', `SlurmUser=${o.slurmUser ?? 'root'}`, `PlugStackConfig=${join(dir, 'plugstack.conf')}`, 'PluginDir=/usr/lib/slurm:/opt/gridlink/lib'];
  if (o.jobcomp !== null) lines.push('JobCompType=jobcomp/provider', `JobCompLoc=${o.jobcomp ?? `spool=${join(dir, 'spool', 'slurmctld')},reporter=http://127.0.0.1:7390,log=${join(dir, 'relay.log')}`}`);
  writeFileSync(conf, `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'plugstack.conf'), o.spank === null ? '# nothing\n' : `required /opt/gridlink/lib/spank_provider.so ${o.spank ?? `spool=${join(dir, 'spool', 'slurmd')} reporter=http://127.0.0.1:7390`}\n`);
  return conf;
}

export const configInput = (over: Partial<SupervisorConfigInput> = {}): SupervisorConfigInput => ({
  chain: { rpcUrl: 'http://127.0.0.1:1', chainId: 31337, metaScheduler: '0x5FC8d32690cc91D4c39d9d3abcBD16989F875707' },
  ingest: { listen: { host: '127.0.0.1', port: 1 }, storeDir: '/tmp/none' },
  slurm: { partition: 'debug' },
  provider: { prices: { cpuPerMin: '1' } },
  sbatch: { endpoint: '127.0.0.1:1' },
  ...over,
});

export function ctxOf(o: Partial<DoctorContext> & { input?: SupervisorConfigInput } = {}): DoctorContext {
  const { input, ...rest } = o;
  return { slurmConf: '/nonexistent/slurm.conf', env: {}, maxLagS: 60, callTimeoutMs: 1000, ...(input ? { config: parseSupervisorConfig(input) } : {}), ...rest };
}

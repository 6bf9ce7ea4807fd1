// doctor.ts - `gridlink doctor`: checks a real installation (the plugins in
// the running daemons, the spools, the relays, the reporter, the chain and
// contract, the provider key and approval, LDAP, the sbatch service) and
// prints one line per check with what to fix; exit 0 when every check
// passes, 1 when any fails. `--json`: an array of {check, ok, status, detail,
// fix}. Each host is checked for its roles in the cluster (controller,
// compute node, supervisor: src/doctor/roles.ts). Human text on stdout, no
// logs. See docs/doctor.md.
import { Command } from 'commander';

import { CHECKS, renderResults, runChecks, type DoctorContext } from '../doctor/index.js';
import { loadDoctorConfig } from '../doctor/config.js';
import { parseRoles } from '../doctor/roles.js';
import type { Role } from '../doctor/types.js';
import { DEFAULT_SLURM_CONF } from '../slurm/slurm-conf.js';

interface DoctorFlags {
  config?: string;
  slurmConf?: string;
  role?: Role[];
  json: boolean;
  maxLag: number;
  timeout: number;
}

const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
};

export function doctorContext(f: DoctorFlags, env: NodeJS.ProcessEnv = process.env): DoctorContext {
  const { config, error } = loadDoctorConfig(f.config, env);
  const timeoutMs = f.timeout * 1000;
  return {
    config,
    configFile: f.config,
    configError: error,
    slurmConf: f.slurmConf ?? env.SLURM_CONF ?? config?.slurm.slurmConf ?? DEFAULT_SLURM_CONF,
    env,
    maxLagS: f.maxLag,
    roles: f.role,
    // Calls end before the check's own deadline, so a hung server is reported by the call that hung.
    callTimeoutMs: Math.max(500, Math.floor(timeoutMs * 0.6)),
  };
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check this installation (plugins in the running daemons, spools, relays, reporter, chain, contract, key, provider approval, LDAP, sbatch service): one line per check with what to fix; exit 1 when any fails')
    .option('--config <file>', 'the supervisor configuration (as `gridlink supervisor --config`; GRIDLINK_* variables apply)')
    .option('--slurm-conf <file>', 'slurm.conf of the cluster (default: $SLURM_CONF, then slurm.slurmConf of --config, then /etc/slurm/slurm.conf)')
    .option('--role <roles>', 'what this host is, comma-separated: controller, compute, supervisor (default: found from the SLURM daemons running here, the hosts slurm.conf names and --config); only the checks of these roles run', parseRoles)
    .option('--max-lag <seconds>', 'spool records unacknowledged for longer fail the drain check', positive('--max-lag'), 60)
    .option('--timeout <seconds>', 'deadline of each check', positive('--timeout'), 5)
    .option('--json', 'print a JSON array of {check, ok, status, detail, fix}', false)
    .action(async (f: DoctorFlags) => {
      const results = await runChecks(CHECKS, doctorContext(f), { timeoutMs: f.timeout * 1000 });
      process.stdout.write(`${f.json ? JSON.stringify(results, null, 2) : renderResults(results)}\n`);
      // A check that timed out may leave a socket open: doctor is done, whatever still hangs.
      process.exit(results.some((r) => !r.ok) ? 1 : 0);
    });
}

// config.ts - check `config`: the supervisor configuration loads as the
// supervisor loads it (JSON file, then GRIDLINK_* variables, then the
// schema); and loadDoctorConfig, which does that for the CLI.
import { supervisorConfigSchema, parseSupervisorConfig, type SupervisorConfig } from '../supervisor/config.js';
import { loadConfigInput } from '../util/config-env.js';
import { fail, ok, skip, type Check, type Outcome } from './types.js';

export function loadDoctorConfig(file: string | undefined, env: NodeJS.ProcessEnv): { config?: SupervisorConfig; error?: string } {
  if (!file) return {};
  try {
    const { config } = loadConfigInput(file, env, supervisorConfigSchema, 'supervisor configuration');
    return { config: parseSupervisorConfig(config) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export const configCheck: Check = {
  name: 'config',
  run: async (ctx): Promise<Outcome> => {
    if (ctx.configError) return fail(ctx.configError, `fix ${ctx.configFile ?? 'the file'} (docs/supervisor-config.md)`);
    if (!ctx.config && ctx.roles?.includes('supervisor'))
      return fail('this host is the supervisor (--role supervisor) but no configuration was given', 'give the supervisor configuration with --config FILE');
    if (!ctx.config) return skip('no supervisor configuration given (--config FILE): the chain, key, reporter, LDAP and sbatch checks are skipped');
    return ok(`${ctx.configFile} loaded`);
  },
};

// index.ts - `gridlink doctor`'s checks, in output order (docs/doctor.md).
import { chainCheck } from './chain.js';
import { configCheck } from './config.js';
import { contractCheck } from './contract.js';
import { drainCheck } from './drain.js';
import { keyCheck } from './key.js';
import { ldapCheck } from './ldap.js';
import { pluginsCheck } from './plugins.js';
import { providerCheck } from './provider.js';
import { reporterCheck } from './reporter.js';
import { runtimeCheck } from './runtime.js';
import { sbatchCheck } from './sbatch.js';
import { spoolCheck } from './spool.js';
import type { Check } from './types.js';
import { usersCheck } from './users.js';

export const CHECKS: readonly Check[] = [configCheck, pluginsCheck, spoolCheck, drainCheck, runtimeCheck, reporterCheck, chainCheck, contractCheck, keyCheck, providerCheck, ldapCheck, usersCheck, sbatchCheck];

export { runChecks, renderResults } from './runner.js';
export type { Check, CheckResult, DoctorContext } from './types.js';

// crash-entry.ts - a connector process that kills itself with SIGKILL right
// after one step of creating a user, as a crash at that instant would.
//   node --import tsx crash-entry.ts CONFIG_JSON STEP ADDRESS
import { readFileSync } from 'node:fs';

import { pino } from 'pino';

import { createLdapConnector, ldapConfigSchema, type CreationStep } from '../../src/ldap/index.js';

const [configFile, step, address] = process.argv.slice(2) as [string, CreationStep, string];
const config = ldapConfigSchema.parse((JSON.parse(readFileSync(configFile, 'utf8')) as { ldap: unknown }).ldap);
const c = createLdapConnector({
  config,
  log: pino({ level: 'silent' }),
  onStep: (s) => {
    if (s === step) process.kill(process.pid, 'SIGKILL');
  },
});
await c.ensureUser(address);
process.stdout.write('step never reached\n');
process.exit(3);

// ldap.ts - check `ldap`: with users.resolver "ldap", the directory answers
// over verified TLS, accepts the bind and has usersDn and the group: the
// connector's own check (src/ldap/connector.ts), with the deadlines capped
// at doctor's. "not configured" with another resolver.
import { pino } from 'pino';

import { createLdapConnector } from '../ldap/connector.js';
import type { LdapConfig } from '../ldap/config.js';
import { fail, noConfig, ok, skip, type Check, type DoctorContext, type Outcome } from './types.js';

export type LdapCheckFn = (c: LdapConfig) => Promise<{ usersDn: string; group: string; members: number }>;

const connectorCheck: LdapCheckFn = async (c) => {
  const connector = createLdapConnector({ config: c, log: pino({ level: 'silent' }) });
  try {
    return await connector.check();
  } finally {
    void connector.close().catch(() => undefined);
  }
};

/** "what happened: check X" -> [what happened, check X]. */
export function splitFix(msg: string): [string, string | undefined] {
  const m = /^(.*?):\s*((?:check|enable|fix|create|give|set|use|raise|remove|add) .*)$/s.exec(msg);
  return m ? [m[1]!, m[2]!] : [msg, undefined];
}

export async function checkLdap(ctx: DoctorContext, check: LdapCheckFn = connectorCheck): Promise<Outcome> {
  if (!ctx.config) return noConfig(ctx);
  const { resolver, ldap } = ctx.config.users;
  if (resolver !== 'ldap' || !ldap) return skip(`not configured (users.resolver is ${resolver})`);
  const cap = Math.max(100, ctx.callTimeoutMs);
  const c: LdapConfig = { ...ldap, timeoutMs: Math.min(ldap.timeoutMs, cap), connectTimeoutMs: Math.min(ldap.connectTimeoutMs, cap) };
  try {
    const r = await check(c);
    return ok(`${ldap.url}: TLS verified, bound as ${ldap.bindDn}; ${r.usersDn} and ${r.group} (${r.members} members) present`);
  } catch (err) {
    const [detail, fix] = splitFix((err as Error).message);
    return fail(detail, fix);
  }
}

export const ldapCheck: Check = { name: 'ldap', run: (ctx) => checkLdap(ctx) };

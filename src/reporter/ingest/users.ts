// users.ts - resolve a user name to a uid through NSS (files, LDAP, SSSD).
import { execFileSync } from 'node:child_process';

/** The uid of `user` (a name or a decimal uid), or undefined when NSS does not know the name. */
export function resolveUid(user: string | number): number | undefined {
  if (typeof user === 'number') return user;
  if (/^\d+$/.test(user)) return Number(user);
  let out: string;
  try {
    out = execFileSync('getent', ['passwd', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch (err) {
    // getent exits 2 when the key is not found.
    if ((err as { status?: number }).status === 2) return undefined;
    throw new Error(`resolving user ${JSON.stringify(user)} with \`getent passwd\` failed: ${(err as Error).message}`);
  }
  const fields = out.split('\n')[0]?.split(':') ?? [];
  const uid = Number(fields[2]);
  return fields[0] === user && Number.isInteger(uid) ? uid : undefined;
}

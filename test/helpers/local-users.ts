// local-users.ts - Linux users for the customers of the tests, in the local
// /etc/passwd and /etc/group (the NSS the supervisor's local user resolver,
// slurmctld and slurmd read). Names are lower-case 0x addresses (42
// characters): useradd refuses names over 32 characters even with
// --badname, glibc's NSS has no such limit, so the entries are appended
// directly, under flock, idempotently. They stay: a test machine reuses them.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';

export const TEST_GROUP = 'gridlink-customers';
export const TEST_GID = 59000;
export const TEST_HOME_ROOT = '/tmp/gridlink-homes';

export interface LocalUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

const SCRIPT = `
set -eu
grep -q "^${TEST_GROUP}:" /etc/group || echo "${TEST_GROUP}:x:${TEST_GID}:" >> /etc/group
for name in "$@"; do
  if ! grep -q "^$name:" /etc/passwd; then
    uid=$(awk -F: 'BEGIN{m=60000} $3>=60000 && $3<65000 && $3>=m {m=$3+1} END{print m}' /etc/passwd)
    echo "$name:x:$uid:${TEST_GID}:gridlink test customer:${TEST_HOME_ROOT}/$name:/bin/bash" >> /etc/passwd
  fi
done
`;

/** Creates (or finds) one user per name, each with a home dir of mode 0700 it owns. */
export function ensureLocalUsers(names: string[]): LocalUser[] {
  for (const n of names) if (!/^[a-z0-9_][a-z0-9_.-]{0,63}$/.test(n)) throw new Error(`test user name ${JSON.stringify(n)} is not safe`);
  execFileSync('flock', ['-w', '30', '/etc/.pwd.lock', 'sh', '-c', SCRIPT, 'sh', ...names]);
  mkdirSync(TEST_HOME_ROOT, { recursive: true, mode: 0o755 });
  return names.map((name) => {
    const [, , uid, gid, , home] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
    const u = { name, uid: Number(uid), gid: Number(gid), home: home! };
    mkdirSync(u.home, { recursive: true });
    chownSync(u.home, u.uid, u.gid);
    chmodSync(u.home, 0o700);
    return u;
  });
}

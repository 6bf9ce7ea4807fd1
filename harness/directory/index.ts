/**
 * Private LDAP directories (389-ds-base or OpenLDAP) and the host's SSSD for
 * tests and the devnet, as harness/cluster is for SLURM. See the README-style
 * comments in ds389.ts, openldap.ts and sssd.ts for how each runs without
 * systemd.
 */
import { start389ds } from './ds389.js';
import { startOpenLdap } from './openldap.js';
import type { DirectoryKind, DirectoryServer, StartDirectoryOptions } from './types.js';

export type { DirectoryKind, DirectoryServer, StartDirectoryOptions } from './types.js';
export { DEFAULT_SUFFIX, DEFAULT_GROUP_CN } from './types.js';
export { makeTestCa, type TestCa } from './certs.js';
export { start389ds } from './ds389.js';
export { startOpenLdap, type OpenLdapOptions } from './openldap.js';
export { startSssd, getentPasswd, sssdConf, sssdDomainName, sssdResponderPid, SSSD_LOCK_PATH, type Sssd, type StartSssdOptions } from './sssd.js';

export function startDirectory(kind: DirectoryKind, o?: StartDirectoryOptions): Promise<DirectoryServer> {
  switch (kind) {
    case '389ds':
      return start389ds(o);
    case 'openldap':
      return startOpenLdap(o);
    default:
      throw new Error(`startDirectory: unknown kind '${String(kind)}'`);
  }
}

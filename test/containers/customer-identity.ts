// customer-identity.ts - what the container suites (under podman and under
// Docker) check of a customer's Linux user once its job ran: the user came
// from the supervisor (users.resolver "gridlink", the example
// configuration's users) through the gridlink NSS module in every container,
// with no directory server anywhere and no line of it in any /etc/passwd or
// /etc/group; a job script that prints what each of its tasks sees; and its
// home, made 0700 by the SPANK prolog on each node that ran the job.
import { expect } from 'vitest';

import { EXAMPLE_USERS } from './host-grid.js';

/** Runs a command in a service's container and answers its stdout. */
export type ServiceExec = (service: string, cmd: string[]) => Promise<string>;

const SERVICES = ['controller', 'c1', 'c2', 'supervisor'];
export const NODES = ['c1', 'c2'];
/** The processes of a directory server or its NSS client: none may run in the cluster. */
const DIRECTORY_PROCESSES = /^(slapd|ns-slapd|sssd|sssd_.*|nslcd|nscd|dirsrv)$/;

/**
 * A 2-task job's script: each task prints its node, uid, gid, user and group names, $HOME and its mode and
 * owner, into `ids.txt` in the home on the batch node.
 */
export const IDENTITY_SCRIPT = ['#!/bin/sh', `srun sh -c 'echo "$(hostname -s) $(id -u) $(id -g) $(id -un) $(id -gn) $HOME $(stat -c %a:%u:%g "$HOME")"' > "$HOME/ids.txt"`].join('\n');

export interface CustomerIdentity {
  uid: number;
  gid: number;
}

/** The lines IDENTITY_SCRIPT wrote, read from the batch node's home (c1 or c2). */
async function identityLines(exec: ServiceExec, address: string): Promise<string[]> {
  const errors: string[] = [];
  for (const node of NODES) {
    try {
      return (await exec(node, ['cat', `/home/${address}/ids.txt`])).trim().split('\n').sort();
    } catch (e) {
      errors.push(`${node}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no ids.txt in ${address}'s home on c1 or c2: ${errors.join('; ')}`);
}

/**
 * Asserts that `address`'s job of IDENTITY_SCRIPT ran on c1 and c2 as the user the supervisor handed out,
 * resolved alike in every container through the gridlink module only; answers its uid and gid.
 */
export async function expectCustomerIdentity(exec: ServiceExec, address: string): Promise<CustomerIdentity> {
  const t0 = Date.now();
  const { firstUid, homeRoot } = EXAMPLE_USERS.gridlink;
  const seen = new Map<string, { pw: string; gr: string }>();
  for (const s of SERVICES) {
    // NSS is "files gridlink" and nothing else; no directory server or SSSD runs
    const nsswitch = await exec(s, ['grep', '-E', '^(passwd|group):', '/etc/nsswitch.conf']);
    expect(nsswitch.trim().split('\n').map((l) => l.replace(/\s+/g, ' ')), `${s}: nsswitch.conf`).toEqual(['passwd: files gridlink', 'group: files gridlink']);
    const procs = (await exec(s, ['ps', '-e', '-o', 'comm='])).split('\n').map((p) => p.trim());
    expect(procs.filter((p) => DIRECTORY_PROCESSES.test(p)), `${s}: directory processes`).toEqual([]);
    // the customer is in no local file: only the module answers for it
    expect((await exec(s, ['sh', '-c', `grep -c '${address}' /etc/passwd /etc/group /etc/shadow || true`])).trim().split('\n'), `${s}: local files`).toEqual(['/etc/passwd:0', '/etc/group:0', '/etc/shadow:0']);
    seen.set(s, { pw: (await exec(s, ['getent', 'passwd', address])).trim(), gr: (await exec(s, ['getent', 'group', address])).trim() });
  }
  const { pw, gr } = seen.get('supervisor')!;
  const [name, , uidText, gidText, , home] = pw.split(':');
  const uid = Number(uidText);
  const gid = Number(gidText);
  expect(name).toBe(address);
  expect(uid).toBeGreaterThanOrEqual(firstUid);
  expect(gid, 'its own private group').toBe(uid);
  expect(home).toBe(`${homeRoot}/${address}`);
  expect(gr, 'its private group, itself its one member').toBe(`${address}:x:${gid}:${address}`);
  // every container resolves it alike: the relays' copies hold what the supervisor wrote
  for (const s of SERVICES) expect(seen.get(s), `${s}: getent`).toEqual(seen.get('supervisor'));

  // The job's two tasks, one per node, as that user, in their 0700 homes
  expect(await identityLines(exec, address)).toEqual(NODES.map((n) => `${n} ${uid} ${gid} ${address} ${address} ${home} 700:${uid}:${gid}`));
  for (const n of NODES) expect((await exec(n, ['stat', '-c', '%F %a %u %g', home!])).trim(), `${n}: the home`).toBe(`directory 700 ${uid} ${gid}`);
  console.log(`customer ${address}: uid ${uid}, gid ${gid}, checked in every container in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { uid, gid };
}

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
const NODES = ['c1', 'c2'];
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

/** What one container shows of the customer, in one exec (each exec costs ~1 s under Compose). */
interface Seen {
  nsswitch: string[];
  processes: string[];
  /** grep -c of /etc/passwd, /etc/group and /etc/shadow */
  localFiles: string[];
  pw: string;
  gr: string;
  /** stat of /home/<address>: "%F %a %u %g", or stat's error */
  home: string;
  /** IDENTITY_SCRIPT's output, where it is (the batch node) */
  ids: string[];
  /** root's `su <address> -c "id -un"` (PAM: pam_rootok, then pam_unix's account check) */
  su: string;
}

const SEP = '@@gl@@';

async function look(exec: ServiceExec, service: string, address: string): Promise<Seen> {
  const script = [
    "grep -E '^(passwd|group):' /etc/nsswitch.conf",
    'ps -e -o comm=',
    'grep -c "$A" /etc/passwd /etc/group /etc/shadow',
    'getent passwd "$A"',
    'getent group "$A"',
    'stat -c "%F %a %u %g" "/home/$A" 2>&1',
    'cat "/home/$A/ids.txt" 2>/dev/null',
    'su -s /bin/sh "$A" -c "id -un" 2>&1',
  ].join(`\necho ${SEP}\n`);
  const parts = (await exec(service, ['sh', '-c', `A=${address}\n${script}\ntrue`])).split(`${SEP}\n`);
  const lines = (i: number) => (parts[i] ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  return {
    nsswitch: lines(0).map((l) => l.replace(/\s+/g, ' ')),
    processes: lines(1),
    localFiles: lines(2),
    pw: lines(3).join('\n'),
    gr: lines(4).join('\n'),
    home: lines(5).join('\n'),
    ids: lines(6).sort(),
    su: lines(7).join('\n'),
  };
}

/**
 * Asserts that `address`'s job of IDENTITY_SCRIPT ran on c1 and c2 as the user the supervisor handed out,
 * resolved alike in every container through the gridlink module only; answers its uid and gid.
 */
export async function expectCustomerIdentity(exec: ServiceExec, address: string): Promise<CustomerIdentity> {
  const t0 = Date.now();
  const { firstUid, homeRoot } = EXAMPLE_USERS.gridlink;
  const seen = new Map<string, Seen>();
  for (const s of SERVICES) {
    const v = await look(exec, s, address);
    seen.set(s, v);
    // NSS is "files gridlink" and nothing else; no directory server or SSSD runs
    expect(v.nsswitch, `${s}: nsswitch.conf`).toEqual(['passwd: files gridlink', 'group: files gridlink']);
    expect(v.processes.length, `${s}: ps`).toBeGreaterThan(0);
    expect(v.processes.filter((p) => DIRECTORY_PROCESSES.test(p)), `${s}: directory processes`).toEqual([]);
    // the customer is in no local file: only the module answers for it
    expect(v.localFiles, `${s}: local files`).toEqual(['/etc/passwd:0', '/etc/group:0', '/etc/shadow:0']);
    // root becomes the customer through PAM: the module's password field "*" needs no shadow entry
    expect(v.su, `${s}: su`).toBe(address);
  }
  const { pw, gr } = seen.get('supervisor')!;
  const [name, , uidText, gidText, , home] = pw.split(':');
  const uid = Number(uidText);
  const gid = Number(gidText);
  expect(name).toBe(address);
  expect(uid).toBeGreaterThanOrEqual(firstUid);
  expect(gid, 'its own private group').toBe(uid);
  expect(home).toBe(`${homeRoot}/${address}`);
  expect(gr, 'its private group, itself its one member').toBe(`${address}:*:${gid}:${address}`);
  // every container resolves it alike: the relays' copies hold what the supervisor wrote
  for (const s of SERVICES) expect({ pw: seen.get(s)!.pw, gr: seen.get(s)!.gr }, `${s}: getent`).toEqual({ pw, gr });

  // The job's two tasks, one per node, as that user, in their 0700 homes (the output in the batch node's)
  const outputs = NODES.map((n) => seen.get(n)!.ids).filter((ids) => ids.length);
  expect(outputs.length, 'the job\'s output, in its home on the batch node only').toBe(1);
  expect(outputs[0]).toEqual(NODES.map((n) => `${n} ${uid} ${gid} ${address} ${address} ${home} 700:${uid}:${gid}`));
  for (const n of NODES) expect(seen.get(n)!.home, `${n}: the home`).toBe(`directory 700 ${uid} ${gid}`);
  console.log(`customer ${address}: uid ${uid}, gid ${gid}, checked in every container in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { uid, gid };
}

// cluster-suite.ts - the slurm-in-docker cluster (compose.yaml,
// Dockerfile.slurm) under podman for one Debian release: a controller, two
// compute nodes and the supervisor, each its own container and hostname, all
// installed from the release's own SLURM packages and the gridlink .deb built
// for it. The chain side runs on this host (host-grid.ts), reached from the
// supervisor container as host.docker.internal. A
// customer's 2-task job runs across both nodes: prolog and epilog records
// from c1 and c2, the completion from the controller, FINISHED and paid on
// chain, run as the user the supervisor handed the customer (users.resolver
// "gridlink": every container resolves it through the gridlink NSS module,
// no directory server, no /etc/passwd line; its home made 0700 on each
// node: customer-identity.ts); a cancelled and a failing job; `gridlink doctor` and `plugins check`
// clean; and every container recreated with records undelivered and a job
// pending, nothing lost. With `acceptance`, then the plugin acceptance cases
// of test/plugins/cases/ against the release's own daemons (end states,
// prolog and epilog per node, hostile strings, kill -9 of slurmctld, bad
// spools), the supervisor stopped so that the spools keep every record. One
// test file per release calls describeContainerCluster.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startContainerCluster, waitNodesIdle, type ContainerCluster } from '../../harness/containers/cluster.js';
import { buildNodeImage, type Suite } from '../../harness/containers/image.js';
import { checkPodman, podman } from '../../harness/containers/podman.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import type { Job } from '../../src/metascheduler/types.js';
import { EventKind, eventKindName } from '../../src/native/index.js';
import { waitFor } from '../plugins/with-plugins.js';
import { CREDIT } from '../supervisor/grid.js';
import { crashRecoveryCases } from '../plugins/cases/crash-recovery.js';
import { failureModeCases } from '../plugins/cases/failure-modes.js';
import { hostileStringCases } from '../plugins/cases/hostile-strings.js';
import { jobStateCases } from '../plugins/cases/job-states.js';
import { prologPerNodeCases } from '../plugins/cases/prolog-per-node.js';
import { skipReason } from '../helpers/skip-reason.js';
import { prepare, PREPARE_TIMEOUT_MS, type Piece } from '../helpers/prepare.js';
import { expectCustomerIdentity, IDENTITY_SCRIPT, type CustomerIdentity } from './customer-identity.js';
import { startHostGrid, type HostGrid } from './host-grid.js';
import { containerPluginRig, type ContainerPluginRig, type SpoolVolumes } from './plugin-subject.js';

/**
 * The libnode each release's runtime embeds: Debian 13's and sid's installed libnodeN; on Debian 12 the
 * libnode108 of Debian 12 (Node 18) packaged beside the runtime by the .deb built on the host.
 */
const LIBNODE: Record<Suite, { path: string; package: string }> = {
  bookworm: { path: '/usr/lib/gridlink/slurm-22.05.8/libnode.so.108', package: 'gridlink' },
  trixie: { path: '/usr/lib/x86_64-linux-gnu/libnode.so.115', package: 'libnode115' },
  sid: { path: '/usr/lib/x86_64-linux-gnu/libnode.so.137', package: 'libnode137' },
};

/** What scripts/prepare-tests.sh builds for each release's image (its .deb, base image, packages). */
const PIECE: Record<Suite, Piece> = { bookworm: 'containers', trixie: 'containers-trixie', sid: 'containers-sid' };

export interface ContainerClusterOptions {
  /** Also run the plugin acceptance cases in this cluster (test/plugins/cases/). */
  acceptance?: boolean;
  /** Whose daemons they run against, for the title (default: the release's own). */
  daemons?: string;
}

export async function describeContainerCluster(suite: Suite, slurmVersion: string, o: ContainerClusterOptions = {}): Promise<void> {
  const engine = await checkPodman();
  if (!engine.ok) console.log(`SKIP test/containers (slurm-in-docker cluster, ${suite}): ${engine.reason}`);

  describe.skipIf(!engine.ok)(`slurm-in-docker cluster of Debian ${suite} (SLURM ${slurmVersion}) under podman, gridlink installed from its .deb${skipReason(engine.ok, engine.ok ? '' : String(engine.reason))}`, () => {
    let grid: HostGrid;
    let cluster: ContainerCluster;
    let customerAddress: string;
    let stateDir: string;
    let spools: SpoolVolumes;
    /** The customer's user, once its first job ran. */
    let identity: CustomerIdentity | undefined;
    const stops: Array<() => Promise<unknown> | unknown> = [];
    const supervisorLog = () => cluster.logs('supervisor');

    beforeAll(async () => {
      await prepare(PIECE[suite]);
      const image = await buildNodeImage(suite);
      console.log(`node image ${image.tag} built in ${image.buildSeconds.toFixed(1)} s on ${image.base}`);

      const work = mkdtempSync(join(tmpdir(), 'gl-containers-'));
      grid = await startHostGrid(work);
      stops.push(() => grid.stop());
      customerAddress = grid.customerAddress;
      stateDir = join(work, 'state');
      // /var/lib/gridlink in the supervisor's container: 0755 as the .deb makes it (and as a new named volume
      // takes it from the image), so every user there reads the users database in nss/ (0700 hid it from the
      // customer's own processes: su <address> -c 'id -un' could not find its name)
      mkdirSync(stateDir, { mode: 0o755 });
      // The spool volumes from host directories: the acceptance cases read the records from here.
      const spoolDir = (n: string) => {
        const d = join(work, n);
        mkdirSync(d, { mode: 0o700 });
        return d;
      };
      spools = { controller: spoolDir('controller-spool'), nodes: { c1: spoolDir('c1-spool'), c2: spoolDir('c2-spool') } };

      cluster = await startContainerCluster({
        env: { GRIDLINK_CONFIG_DIR: grid.configDir },
        volumeDirs: { 'supervisor-state': stateDir, 'controller-spool': spools.controller, 'c1-spool': spools.nodes.c1!, 'c2-spool': spools.nodes.c2! },
        image: image.tag,
      });
      stops.push(() => cluster.stop());
      await waitNodesIdle(cluster, 2);
      // The grid admin approves the provider once the supervisor registered it.
      await grid.approveProvider(supervisorLog);
    }, PREPARE_TIMEOUT_MS);

    const request = (script: string, ntasks = 1n): Promise<Hex> => grid.request(script, ntasks);
    const waitChain = (id: Hex, want: JobStatus[], timeoutMs = 120_000): Promise<Job> => grid.waitChain(id, want, supervisorLog, timeoutMs);

    afterAll(async () => {
      for (const s of stops.reverse()) await Promise.resolve(s()).catch(() => undefined);
    });

    it('runs the cluster of compose.yaml: each service its own container and hostname, one munge key, both nodes idle', async () => {
      for (const s of ['controller', 'c1', 'c2', 'supervisor']) expect((await cluster.exec(s, ['hostname'])).trim()).toBe(s);
      // one munge realm: a credential made on c1 decodes on the supervisor
      const cred = await cluster.exec('c1', ['munge', '-n']);
      const decoded = await podman(['exec', '-i', cluster.containerName('supervisor'), 'unmunge'], { input: cred });
      expect(decoded).toMatch(/STATUS:\s+Success/);
      // gridlink came from the .deb built for this release's SLURM, which is the one running
      expect(await cluster.exec('controller', ['dpkg-query', '-W', '-f', '${Status} ${Version}', 'gridlink'])).toMatch(new RegExp(`^install ok installed .*\\+slurm${slurmVersion.replace(/\./g, '\\.')}~deb`));
      expect(await cluster.exec('controller', ['slurmctld', '-V'])).toContain(slurmVersion);
      // The embedded runtime in slurmctld and slurmd (PID 1 of their containers) runs the release's own
      // libnode: the file mapped and the Debian package it belongs to.
      for (const s of ['controller', 'c1']) {
        const mapped = (await cluster.exec(s, ['sh', '-c', "grep -o '/[^ ]*/libnode\\.so\\.[0-9]*' /proc/1/maps | sort -u"])).trim();
        expect(mapped, `${s}: libnode mapped by PID 1`).toBe(LIBNODE[suite].path);
        // (by name: dpkg lists a file under the path its package ships, /lib or /usr/lib)
        expect((await cluster.exec(s, ['dpkg', '-S', `*/${mapped.split('/').pop()}`])).split(':')[0]).toBe(LIBNODE[suite].package);
      }
    });

    it('a 2-task job runs on c1 and c2 as its customer: prolog and epilog records from both nodes, completion from the controller, FINISHED and paid on chain; the customer\'s user comes from the supervisor (no directory server, no /etc/passwd line), its home 0700 on each node', async () => {
      const jobId = await request(IDENTITY_SCRIPT, 2n);
      const last = await waitChain(jobId, [JobStatus.FINISHED, JobStatus.FAILED], 180_000);
      expect(JobStatus[last.status]).toBe('FINISHED');
      // 2 tasks x 1 CPU x 1 credit per minute, at least one minute billed
      expect(last.cost.finalCost % (2n * CREDIT)).toBe(0n);
      expect(last.cost.finalCost).toBeGreaterThanOrEqual(2n * CREDIT);
      expect((await grid.base.getCreditBalance(grid.providerAddress)) > 0n).toBe(true);

      // The ingest's store in the supervisor container, read from this host.
      // Each node's relay delivers on its own: its records may arrive after the
      // controller's completion made the job FINISHED.
      const db = new Database(join(stateDir, 'gridlink.db'), { readonly: true, fileMustExist: true });
      try {
        const of = (kind: number) => {
          const rows = db.prepare('SELECT host, daemon, kind, job_id FROM events ORDER BY id').all() as Array<{ host: string; daemon: string; kind: number; job_id: number }>;
          const slurmId = rows.find((r) => r.kind === EventKind.JobCompleted)?.job_id;
          return rows.filter((r) => r.job_id === slurmId && r.kind === kind).map((r) => `${r.host}/${r.daemon}`).sort();
        };
        await waitFor('prolog and epilog records of both nodes', async () => of(EventKind.JobEndedOnNode).length >= 2 && of(EventKind.JobStarted).length >= 2, 30_000).catch(async (e: Error) => {
          const jobs = await cluster.exec('controller', ['scontrol', 'show', 'job']).catch((x: Error) => x.message);
          throw new Error(`${e.message}: started ${of(EventKind.JobStarted).join(' ')}, ended ${of(EventKind.JobEndedOnNode).join(' ')}\nscontrol show job:\n${jobs}\nc2 log:\n${(await cluster.logs('c2')).slice(-1500)}`);
        });
        expect(of(EventKind.JobStarted)).toEqual(['c1/slurmd', 'c2/slurmd']);
        expect(of(EventKind.JobEndedOnNode)).toEqual(['c1/slurmd', 'c2/slurmd']);
        expect(of(EventKind.JobCompleted)).toEqual(['controller/slurmctld']);
      } finally {
        db.close();
      }
      // It ran on both nodes as the user the supervisor handed its customer, in its homes there.
      identity = await expectCustomerIdentity((service, cmd) => cluster.exec(service, cmd), customerAddress);
    });

    it('a running job its customer cancels is CANCELLED on chain and scancelled in the cluster; a failing job is FAILED with its exit code', async () => {
      const running = await request('#!/bin/sh\nsleep 600\n');
      const failing = await request('#!/bin/sh\nexit 3\n');
      await waitChain(running, [JobStatus.RUNNING]);
      await grid.customer.cancelJob(running);
      const cancelled = await waitChain(running, [JobStatus.CANCELLED]);
      expect(cancelled.cost.finalCost).toBeLessThanOrEqual(1n * CREDIT);
      await waitFor('the cancelled job gone from the cluster', async () => !(await cluster.exec('controller', ['squeue', '-h', '-n', running.toLowerCase(), '-o', '%T'])).trim(), 60_000);
      const failed = await waitChain(failing, [JobStatus.FAILED, JobStatus.FINISHED]);
      expect(JobStatus[failed.status]).toBe('FAILED');
      expect(failed.exitCode).not.toBe(0n);
    });

    it('gridlink plugins check is clean in the controller and both nodes; gridlink doctor is clean in every container, each checked for its role', async () => {
      for (const s of ['controller', 'c1', 'c2']) {
        const out = await cluster.exec(s, ['gridlink', 'plugins', 'check']);
        expect(out, out).toContain('every plugin fits the installed SLURM');
        expect(out).toContain(`${s === 'controller' ? 'slurmctld' : 'slurmd'} ${slurmVersion}`);
      }
      // Each container is one role of the cluster (src/doctor/roles.ts finds it): the supervisor's
      // configuration and key exist in the supervisor only, the daemons and their spools in the others.
      const doctor = async (service: string, config: boolean) => {
        const out = await cluster.exec(service, ['sh', '-c', `gridlink doctor ${config ? '--config /etc/gridlink/supervisor.json ' : ''}--timeout 20 --json; echo "exit=$?"`], 180_000);
        const results = JSON.parse(out.slice(out.indexOf('['), out.lastIndexOf(']') + 1)) as Array<{ check: string; status: string; detail: string }>;
        return { out, exit: out.match(/exit=(\d+)\s*$/)?.[1], status: Object.fromEntries(results.map((r) => [r.check, r.status])), detail: Object.fromEntries(results.map((r) => [r.check, r.detail])) };
      };
      const slurmChecks = (st: string) => ({ plugins: st, spool: st, drain: st, runtime: st });
      const supervisor = await doctor('supervisor', true);
      // users: nsswitch.conf asks gridlink, the module is installed, the users database at the state database's version
      expect(supervisor.status, supervisor.out).toMatchObject({ config: 'ok', reporter: 'ok', chain: 'ok', contract: 'ok', key: 'ok', provider: 'ok', sbatch: 'ok', users: 'ok', ...slurmChecks('skip') });
      expect(supervisor.detail.plugins).toMatch(/^supervisor is the supervisor only/);
      expect(supervisor.exit, supervisor.out).toBe('0');
      const controller = await doctor('controller', false);
      expect(controller.status, controller.out).toMatchObject(slurmChecks('ok'));
      expect(controller.detail.plugins).toMatch(/^controller is the controller: slurmctld \(pid \d+\) maps jobcomp_provider\.so \+ gridlink_runtime\.so$/);
      expect(controller.detail.runtime).toMatch(/^the relay embedded in slurmctld \(pid \d+\) drains \/var\/spool\/gridlink\/slurmctld$/);
      expect(controller.exit, controller.out).toBe('0');
      for (const node of ['c1', 'c2']) {
        const d = await doctor(node, false);
        expect(d.status, d.out).toMatchObject(slurmChecks('ok'));
        expect(d.detail.plugins).toMatch(new RegExp(`^${node} is a compute node: slurmd \\(pid \\d+\\) maps spank_provider\\.so \\+ gridlink_runtime\\.so$`));
        expect(d.detail.spool).not.toContain('slurmctld');
        expect(d.exit, d.out).toBe('0');
      }
    });

    it('recreating every container (stop, rm, run) with records undelivered and a job pending loses nothing: the state and spools are on volumes', async () => {
      // The customer's own uid and gid (no PAM: `su` wants a shadow line, which a gridlink user has not)
      if (!identity) throw new Error('no customer user: the 2-task job test did not run');
      const su = (cmd: string) => cluster.exec('controller', ['setpriv', `--reuid=${identity!.uid}`, `--regid=${identity!.gid}`, '--clear-groups', 'sh', '-c', cmd]);
      const jobState = async (id: string) => (await cluster.exec('controller', ['scontrol', '-o', 'show', 'job', id]).catch((e: Error) => e.message)).match(/JobState=(\S+)/)?.[1];
      // The relays cannot deliver: the supervisor (their reporter) is stopped.
      await cluster.stopService('supervisor');
      // A 2-node job its customer submits, run to the end:
      // its prolog, epilog and completion records stay in the spools of c1, c2 and the controller.
      const ran = (await su('sbatch --parsable -N2 -n2 -o /dev/null --wrap "srun true"')).trim();
      await waitFor(`job ${ran} COMPLETED`, async () => (await jobState(ran)) === 'COMPLETED', 120_000);
      // and one that is pending (held until an hour from now) when the containers go
      const pending = (await su('sbatch --parsable --begin=now+3600 -o /dev/null --wrap true')).trim();
      expect(await jobState(pending)).toBe('PENDING');
      const events = (slurmId: number) => {
        const db = new Database(join(stateDir, 'gridlink.db'), { readonly: true, fileMustExist: true });
        try {
          return (db.prepare('SELECT host, daemon, kind FROM events WHERE job_id = ? ORDER BY id').all(slurmId) as Array<{ host: string; daemon: string; kind: number }>).map((r) => `${r.host}/${r.daemon}/${eventKindName[r.kind] ?? r.kind}`).sort();
        } finally {
          db.close();
        }
      };
      expect(events(Number(ran))).toEqual([]);

      const t0 = Date.now();
      await cluster.recreate();
      await waitNodesIdle(cluster, 2, 120_000);
      console.log(`[${suite}] every container recreated, nodes idle in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      // slurmctld recovered its jobs from StateSaveLocation: the pending one waits still, the finished one is known
      expect(await jobState(pending)).toBe('PENDING');
      expect(await jobState(ran)).toBe('COMPLETED');
      // and the new relays delivered what the old ones could not, from the spools on the volumes
      const want = ['c1/slurmd/job_started', 'c1/slurmd/job_ended_node', 'c2/slurmd/job_started', 'c2/slurmd/job_ended_node', 'controller/slurmctld/job_completed'];
      await waitFor(`the records of job ${ran} delivered`, async () => want.every((w) => events(Number(ran)).includes(w)), 90_000).catch(async (e: Error) => {
        throw new Error(`${e.message}: have ${events(Number(ran)).join(' ')}\nsupervisor log:\n${(await cluster.logs('supervisor')).slice(-3000)}`);
      });
      await cluster.exec('controller', ['scancel', pending]);
    });

    if (o.acceptance)
      describe(`the plugin acceptance cases against ${o.daemons ?? `Debian ${suite}'s slurmctld and slurmd`} (SLURM ${slurmVersion})`, () => {
        let rig: ContainerPluginRig;
        const on = {
          get pc() {
            return rig.subject;
          },
        };
        beforeAll(async () => {
          rig = containerPluginRig(cluster, spools);
          // No reporter: every record stays in the spools, where the cases read them (as on a host cluster).
          await cluster.stopService('supervisor');
        });
        describe('every end state', () => jobStateCases(on));
        describe('prolog and epilog per node', () => prologPerNodeCases(on));
        describe('hostile strings', () => hostileStringCases(on));
        describe('kill -9 of slurmctld', () => crashRecoveryCases(on));
        describe('bad spools', () => {
          let n = 0;
          failureModeCases((setup) => rig.reconfigure(setup, `case${++n}`));
        });
      });
  });
}

// backend-suite.ts - the behaviour every SlurmBackend (local libslurm, ssh)
// must show against ONE real 2-node cluster with 2 countable GPUs per node:
// hardware, identity of the job's process, an environment that is exactly
// what was passed (plus SLURM_*), resources as paid (a script's #SBATCH lines
// change nothing), cancel, time limit, refusals, hostile strings, and a
// controller that is down. A backend test file calls
//   backendSuite('ssh', async (cluster) => createSshBackend(...))
// and nothing else. The signature is stable: other backends code against it.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../harness/cluster/index.js';
import { SlurmBackendError, type SlurmBackend, type SlurmJob, type SubmitRequest } from '../../src/slurm/backend.js';
import { ensureLocalUsers, type LocalUser } from '../helpers/local-users.js';

/** Customers: lower-case 0x addresses (42 characters), as the supervisor names them. */
const ALICE = '0x00000000000000000000000000000000b4c4e0a1';
const BOB = '0x00000000000000000000000000000000b4c4e0b2';

/** A job is purged this long after it ends; long enough for every check below. */
const MIN_JOB_AGE_S = 300;

/** slurm.conf MessageTimeout of the suite's cluster (seconds): how long a client call waits for a dead controller. */
const MESSAGE_TIMEOUT_S = 3;

/** Variables SLURM or the job's shell set themselves besides SLURM_* and SLURMD_* (slurmstepd's setup_env, bash). */
const SLURM_OWN_ENV = new Set(['ENVIRONMENT', 'HOSTNAME', 'TMPDIR', 'PWD', 'OLDPWD', 'SHLVL', '_', 'CUDA_VISIBLE_DEVICES', 'GPU_DEVICE_ORDINAL', 'ROCR_VISIBLE_DEVICES', 'ZE_AFFINITY_MASK']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function backendSuite(name: string, start: (cluster: Cluster) => Promise<SlurmBackend>): void {
  describe(`SlurmBackend ${name} (2-node cluster, 2 GPUs per node)`, () => {
    let cluster: Cluster;
    let backend: SlurmBackend;
    let alice: LocalUser;
    let bob: LocalUser;
    const submitted: number[] = [];

    beforeAll(async () => {
      [alice, bob] = ensureLocalUsers([ALICE, BOB]) as [LocalUser, LocalUser];
      // Other test runs on this machine may hold the one-cluster lock for a while.
      cluster = await startCluster({
        nodes: 2,
        minJobAge: MIN_JOB_AGE_S,
        // The dead-controller case pays MessageTimeout on every client call
        // (libslurm retries the refused connection for MessageTimeout - 1 s):
        // 10 s (config.ts) made its six calls take ~55 s. A later line wins in
        // slurm.conf; 3 s is ample on loopback, as in fixtures/local-dead-ctld.ts.
        extraLines: [`MessageTimeout=${MESSAGE_TIMEOUT_S}`],
        lockWaitMs: 600_000,
        logger: pino({ level: 'warn' }),
        removeOnStop: true,
      });
      backend = await start(cluster);
    }, 700_000);

    afterAll(async () => {
      await backend?.close();
      await cluster?.stop();
    });

    /** A request for `u` with small resources; `over` replaces any field. */
    function request(u: LocalUser, script: string, over: Partial<SubmitRequest> = {}): SubmitRequest {
      return {
        script,
        name: `0x${(submitted.length + 1).toString(16).padStart(8, '0')}`,
        user: u.name,
        uid: u.uid,
        gid: u.gid,
        workDir: u.home,
        environment: { HOME: u.home, USER: u.name, LOGNAME: u.name, PATH: '/usr/local/bin:/usr/bin:/bin', SHELL: '/bin/bash' },
        partition: cluster.partition,
        ntasks: 1,
        cpusPerTask: 1,
        memPerCpuMB: 64,
        gpus: 0,
        timeLimitMinutes: 5,
        ...over,
      };
    }

    async function submit(req: SubmitRequest): Promise<number> {
      const { jobId } = await backend.submit(req);
      expect(Number.isInteger(jobId) && jobId > 0).toBe(true);
      submitted.push(jobId);
      return jobId;
    }

    async function job(jobId: number): Promise<SlurmJob | undefined> {
      return (await backend.list()).find((j) => j.jobId === jobId);
    }

    /** Polls list() until the job satisfies `ok`; fails with the last state seen. */
    async function waitJob(jobId: number, ok: (j: SlurmJob) => boolean, timeoutMs = 30_000): Promise<SlurmJob> {
      const end = Date.now() + timeoutMs;
      let last: SlurmJob | undefined;
      for (;;) {
        last = (await job(jobId)) ?? last;
        if (last && ok(last)) return last;
        if (Date.now() > end) throw new Error(`job ${jobId}: condition not met in ${timeoutMs} ms; last seen ${last ? `${last.state} (${last.stateReason})` : 'never'}`);
        await sleep(200);
      }
    }
    const ended = (j: SlurmJob) => ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED'].includes(j.state);
    const running = (j: SlurmJob) => j.state === 'RUNNING';

    async function expectKind(p: Promise<unknown>, kind: SlurmBackendError['kind']): Promise<SlurmBackendError> {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `expected a SlurmBackendError kind ${kind}`).toBeInstanceOf(SlurmBackendError);
      const e = err as SlurmBackendError;
      expect(e.kind, e.message).toBe(kind);
      expect(e.message.length).toBeGreaterThan(0);
      return e;
    }

    it('partition() lists both nodes with CPUs, memory and 2 GPUs each; an unknown partition is not_found', async () => {
      const p = await backend.partition(cluster.partition);
      expect(p.name).toBe(cluster.partition);
      expect(p.state).toMatch(/UP/);
      expect(p.nodes.map((n) => n.name)).toEqual([...cluster.nodeNames]);
      for (const n of p.nodes) {
        expect(n.cpus).toBe(cluster.config.node.cpus);
        expect(n.realMemoryMB).toBe(cluster.config.node.realMemoryMB);
        expect(n.gpus).toBe(2);
        expect(n.state).toMatch(/^(IDLE|MIXED|ALLOCATED)/);
      }
      await expectKind(backend.partition('no_such_partition'), 'not_found');
    });

    it("runs the script as the customer's uid and gid, with only the environment passed plus SLURM's own", async () => {
      const out = path.join(alice.home, 'identity.txt');
      rmSync(out, { force: true });
      // Things of the test process a leaky backend would pass on.
      process.env.GRIDLINK_SUITE_CANARY = 'leaked';
      process.env.SBATCH_TIMELIMIT = '1';
      process.env.SBATCH_EXPORT = 'ALL';
      const passed = { ...request(alice, '').environment, GRIDLINK_JOB_VAR: "quote' \"dq\" $(x) and\nnewline" };
      try {
        const id = await submit(
          request(alice, `#!/bin/bash\n{ id -u; id -g; env -0; } > ${out}.tmp && mv ${out}.tmp ${out}\n`, { environment: passed }),
        );
        const j = await waitJob(id, ended);
        expect(j.state, j.stateReason).toBe('COMPLETED');
        expect(j.exitCode).toBe(0);
      } finally {
        delete process.env.GRIDLINK_SUITE_CANARY;
        delete process.env.SBATCH_TIMELIMIT;
        delete process.env.SBATCH_EXPORT;
      }
      const text = readFileSync(out, 'utf8');
      const [uid, gid, ...rest] = text.split('\n');
      expect(Number(uid)).toBe(alice.uid);
      expect(Number(gid)).toBe(alice.gid);
      const env = new Map(
        rest
          .join('\n')
          .split('\0')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
      );
      for (const [k, v] of Object.entries(passed)) expect(env.get(k), k).toBe(v);
      const foreign = [...env.keys()].filter((k) => !(k in passed) && !/^SLURMD?_/.test(k) && !SLURM_OWN_ENV.has(k));
      expect(foreign, 'variables that were not passed').toEqual([]);
      expect([...env.keys()].filter((k) => k.startsWith('SBATCH_'))).toEqual([]);
      expect(env.get('SLURM_JOB_USER')).toBe(alice.name);
    });

    it('gives the job exactly the resources requested, as slurmctld holds them', async () => {
      const id = await submit(
        request(bob, '#!/bin/sh\nsleep 300\n', { ntasks: 2, cpusPerTask: 1, memPerCpuMB: 100, gpus: 1, timeLimitMinutes: 7, comment: 'plain comment' }),
      );
      const j = await waitJob(id, running);
      expect(j).toMatchObject({
        numTasks: 2,
        cpusPerTask: 1,
        memPerCpuMB: 100,
        gpus: 1,
        timeLimitMinutes: 7,
        partition: cluster.partition,
        workDir: bob.home,
        userId: bob.uid,
        groupId: bob.gid,
        requeue: false,
        arrayJobId: 0,
        exclusive: false,
        reservation: '',
        dependency: '',
      });
      expect(j.name).toMatch(/^0x[0-9a-f]+$/);
      expect(j.nodes).not.toBe('');
      expect(j.startTime).toBeGreaterThan(0);
      expect(j.submitTime).toBeGreaterThan(0);
      // The SlurmJobSource view agrees.
      const m = await backend.jobs();
      expect(m.get(id)).toMatchObject({ jobId: id, state: 'RUNNING', timeLimitMinutes: 7 });
      await backend.cancel(id);
      await waitJob(id, ended);
      // More tasks than one node has CPUs: SLURM must spread them, as sbatch -n would
      // (a job description without min_cpus once put 2 tasks on one 1-CPU node).
      const perNode = cluster.config.node.cpus;
      const wide = await submit(request(bob, '#!/bin/sh\nsleep 300\n', { ntasks: perNode + 1, cpusPerTask: 1, memPerCpuMB: 64 }));
      const w = await waitJob(wide, running);
      expect(w).toMatchObject({ numTasks: perNode + 1, numNodes: 2 });
      await backend.cancel(wide);
      await waitJob(wide, ended);
    });

    it("ignores every #SBATCH line of the customer's script and runs it now", async () => {
      const baseline = await submit(request(bob, '#!/bin/sh\ntrue\n'));
      const base = await waitJob(baseline, ended);
      const script = [
        '#!/bin/bash',
        '#SBATCH --array=0-3',
        '#SBATCH --nodes=2',
        '#SBATCH --ntasks=4',
        '#SBATCH --cpus-per-task=2',
        '#SBATCH --mem=5000',
        '#SBATCH --gpus=2',
        '#SBATCH --gres=gpu:2',
        '#SBATCH --exclusive',
        '#SBATCH --partition=no_such_partition',
        '#SBATCH --account=no_such_account',
        '#SBATCH --qos=no_such_qos',
        '#SBATCH --reservation=no_such_reservation',
        '#SBATCH --time=1',
        `#SBATCH --dependency=afterok:${baseline}`,
        '#SBATCH --begin=now+1hour',
        '#SBATCH --requeue',
        '#SBATCH --uid=0',
        'sleep 300',
        '',
      ].join('\n');
      const t0 = Math.floor(Date.now() / 1000);
      const id = await submit(request(bob, script, { ntasks: 1, cpusPerTask: 1, memPerCpuMB: 64, gpus: 0, timeLimitMinutes: 5 }));
      const j = await waitJob(id, running, 20_000);
      expect(j).toMatchObject({
        arrayJobId: 0,
        numNodes: 1,
        numTasks: 1,
        cpusPerTask: 1,
        memPerCpuMB: 64,
        gpus: 0,
        exclusive: false,
        partition: cluster.partition,
        account: base.account,
        qos: base.qos,
        reservation: '',
        timeLimitMinutes: 5,
        dependency: '',
        requeue: false,
        userId: bob.uid,
        groupId: bob.gid,
      });
      expect(j.beginTime).toBeLessThan(t0 + 60);
      expect((await backend.list()).filter((x) => x.arrayJobId === id)).toHaveLength(0);
      await backend.cancel(id);
      await waitJob(id, ended);
    });

    it('cancel() stops a running job and is harmless on unknown and finished jobs', async () => {
      const id = await submit(request(alice, '#!/bin/sh\nsleep 300\n'));
      await waitJob(id, running);
      await backend.cancel(id);
      const j = await waitJob(id, ended, 20_000);
      expect(j.state).toBe('CANCELLED');
      await backend.cancel(id); // finished
      await backend.cancel(999_999_999); // never existed
    });

    it('setTimeLimit() sets TimeLimit (absolute, repeatable); unknown job is not_found', async () => {
      const id = await submit(request(alice, '#!/bin/sh\nsleep 300\n', { timeLimitMinutes: 5 }));
      await waitJob(id, running);
      await backend.setTimeLimit(id, 17);
      expect((await job(id))?.timeLimitMinutes).toBe(17);
      await backend.setTimeLimit(id, 17);
      await backend.setTimeLimit(id, 30);
      expect((await job(id))?.timeLimitMinutes).toBe(30);
      await expectKind(backend.setTimeLimit(999_999_999, 10), 'not_found');
      await backend.cancel(id);
      await waitJob(id, ended);
    });

    it("throws kind 'refused' with SLURM's message for a request SLURM rejects", async () => {
      const cpus = cluster.config.node.cpus;
      const tooWide = await expectKind(backend.submit(request(alice, '#!/bin/sh\ntrue\n', { cpusPerTask: cpus * 64 })), 'refused');
      expect(tooWide.message).toMatch(/configuration|not available|cpu|node/i);
      const badPart = await expectKind(backend.submit(request(alice, '#!/bin/sh\ntrue\n', { partition: 'no_such_partition' })), 'refused');
      expect(badPart.message).toMatch(/partition/i);
      const tooManyGpus = await expectKind(backend.submit(request(alice, '#!/bin/sh\ntrue\n', { gpus: 64 })), 'refused');
      expect(tooManyGpus.message.length).toBeGreaterThan(0);
      // Never as root, whatever the caller asks.
      const root = await expectKind(backend.submit(request(alice, '#!/bin/sh\ntrue\n', { uid: 0, gid: 0 })), 'refused');
      expect(root.message).toMatch(/never run as root/);
    });

    it('round-trips hostile job names and comments, or refuses them cleanly', async () => {
      const marker = path.join(alice.home, 'pwned');
      rmSync(marker, { force: true });
      const hostile = [
        `it's "quoted" \`tick\` $(touch ${marker}) \${HOME} ; touch ${marker} # end`,
        'line one\nline two\r\nthree\ttab',
        `${'x'.repeat(1000)}`,
        'naïve ☃ 🚀 \u0001\u007f',
        '--uid=0 --partition=x',
      ];
      for (const s of hostile) {
        let id: number | undefined;
        try {
          id = await submit(request(alice, '#!/bin/sh\nsleep 300\n', { name: s, comment: s }));
        } catch (e) {
          expect(e, `submit of ${JSON.stringify(s.slice(0, 40))}`).toBeInstanceOf(SlurmBackendError);
          expect((e as SlurmBackendError).kind).toBe('refused');
          continue;
        }
        const j = await waitJob(id, () => true);
        expect(j.name, JSON.stringify(s.slice(0, 40))).toBe(s);
        expect(j.comment, JSON.stringify(s.slice(0, 40))).toBe(s);
        expect(j.userId).toBe(alice.uid);
        await backend.cancel(id);
      }
      expect(existsSync(marker)).toBe(false);
      expect(Array.isArray(await backend.list())).toBe(true);
      const p = await backend.partition(cluster.partition);
      expect(p.nodes).toHaveLength(2);
    });

    // Last: it stops slurmctld (and starts it again for the cluster's own stop).
    it("throws kind 'unavailable' quickly while slurmctld is down", async () => {
      await cluster.killCtld('SIGTERM');
      try {
        const bound = 45_000;
        for (const [what, call] of [
          ['list', () => backend.list()],
          ['jobs', () => backend.jobs()],
          ['submit', () => backend.submit(request(alice, '#!/bin/sh\ntrue\n'))],
          ['cancel', () => backend.cancel(1)],
          ['setTimeLimit', () => backend.setTimeLimit(1, 5)],
          ['partition', () => backend.partition(cluster.partition)],
        ] as const) {
          const t0 = Date.now();
          await expectKind((call as () => Promise<unknown>)(), 'unavailable');
          expect(Date.now() - t0, `${what} took too long to fail`).toBeLessThan(bound);
        }
      } finally {
        await cluster.restartCtld();
      }
      // And it works again once slurmctld is back.
      expect((await backend.partition(cluster.partition)).nodes).toHaveLength(2);
    }, 360_000);
  });
}

// plugin-subject.ts - the slurm-in-docker cluster as a subject of the plugin
// acceptance cases (test/plugins/cases/): the SLURM clients run in the
// controller's container, the daemons are the Debian release's own, the
// spools are the containers' volumes, mounted from host directories so that
// this process reads them. kill -9 of slurmctld is SIGKILL to the
// controller container's init (slurmctld itself: the entry point execs it),
// as a crash of the controller host; the failure modes rewrite slurm.conf's
// JobCompLoc (and give slurmd a log file, where slurmstepd's SPANK errors go)
// and plugstack.conf's spank_provider.so line in every container and restart
// the daemons.
import { join } from 'node:path';

import { isTerminal, parseRecord, toJobInfo, type JobInfo, type WaitJobOptions } from '../../harness/cluster/index.js';
import { waitNodesIdle, type ContainerCluster } from '../../harness/containers/cluster.js';
import { podman } from '../../harness/containers/podman.js';
import { runCommand, type RunOptions, type RunResult } from '../../src/util/run-command.js';
import type { PluginSetup, PluginSubject, SlurmClient } from '../plugins/subject.js';
import { readSpool } from '../plugins/with-plugins.js';

/** Host directories mounted at /var/spool/gridlink in the controller and in each node. */
export interface SpoolVolumes {
  controller: string;
  nodes: Record<string, string>;
}

const SPOOL_ROOT = '/var/spool/gridlink';
const REPORTER = 'reporter=http://supervisor:7390';
/** The slurmd log file of a reconfigured cluster (slurmd and slurmstepd; the image's config logs slurmd to stderr only). */
const SLURMD_LOG = '/var/log/slurm/slurmd.log';
const NODES = ['c1', 'c2'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function slurmClient(cluster: ContainerCluster): SlurmClient {
  const run = (cmd: string, args: string[], o: Omit<RunOptions, 'env'> = {}): Promise<RunResult> =>
    runCommand('podman', ['--runtime', 'runc', 'exec', '-i', cluster.containerName('controller'), cmd, ...args], { timeoutMs: 60_000, ...o });
  const showJob = async (id: number): Promise<JobInfo | undefined> => {
    const r = await run('scontrol', ['show', 'job', '-o', String(id)], { allowFail: true });
    if (r.code !== 0) {
      if (/Invalid job id/i.test(r.stderr + r.stdout)) return undefined;
      throw new Error(`scontrol show job ${id}: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
    const line = r.stdout.split('\n').find((l) => l.startsWith('JobId='));
    return line ? toJobInfo(parseRecord(line)) : undefined;
  };
  const ping = async () => (await run('scontrol', ['ping'], { allowFail: true })).stdout.includes('is UP');
  let killedAt: number | undefined;
  return {
    name: 'gridlink',
    nodeName: NODES[0]!,
    nodeNames: NODES,
    run,
    async sbatch(args, script) {
      const body = script.startsWith('#!') ? script : `#!/bin/sh\n${script}`;
      const r = await run('sbatch', ['--parsable', '-o', '/dev/null', ...args], { input: body.endsWith('\n') ? body : `${body}\n` });
      const id = Number.parseInt(r.stdout.trim().split(';')[0] ?? '', 10);
      if (!Number.isInteger(id)) throw new Error(`sbatch: unexpected output ${JSON.stringify(r.stdout)}`);
      return id;
    },
    async waitJob(id, o: WaitJobOptions = {}) {
      const until = o.until ?? ((j: JobInfo) => isTerminal(j.state));
      const deadline = Date.now() + (o.timeoutMs ?? 60_000);
      let last: JobInfo | undefined;
      for (;;) {
        const j = await showJob(id).catch(() => last);
        if (j) {
          last = j;
          if (until(j)) return j;
        } else if (last) throw new Error(`job ${id} was purged while waiting; last seen ${last.state}`);
        if (Date.now() >= deadline) throw new Error(`job ${id}: condition not met within ${o.timeoutMs ?? 60_000} ms; last seen ${last ? `${last.state} reason=${last.reason}` : 'never'}\ncontroller log:\n${(await cluster.logs('controller')).slice(-2000)}`);
        await sleep(o.pollMs ?? 300);
      }
    },
    cancel: async (id) => void (await run('scancel', [String(id)])),
    forceTimeout: async (id) => void (await run('scontrol', ['update', `JobId=${id}`, 'TimeLimit=0'])),
    nodeState: async (node = NODES[0]!) => (await run('sinfo', ['-h', '-n', node, '-o', '%t'])).stdout.trim(),
    async killCtld(signal = 'SIGKILL') {
      const name = cluster.containerName('controller');
      killedAt = Date.now();
      await podman(['kill', '--signal', signal.replace(/^SIG/, ''), name]);
      await podman(['wait', name], { timeoutMs: 60_000 });
    },
    async restartCtld() {
      await podman(['start', cluster.containerName('controller')]);
      const deadline = Date.now() + 120_000;
      while (!(await ping())) {
        if (Date.now() > deadline) throw new Error(`slurmctld did not answer after its restart\n${(await cluster.logs('controller')).slice(-2000)}`);
        await sleep(300);
      }
      // As harness/cluster's restartCtld: slurmctld restarted from older state may reuse a job id a node
      // still ran and drain that node ("Duplicate jobid"); an operator resumes it.
      for (const node of NODES) {
        const rec = parseRecord((await run('scontrol', ['show', 'node', '-o', node])).stdout.split('\n')[0] ?? '');
        if (/DRAIN/.test(rec.State ?? '') && /Duplicate jobid/i.test(rec.Reason ?? '')) await run('scontrol', ['update', `NodeName=${node}`, 'State=RESUME']);
      }
      // slurmctld restarted from state saved before some jobs ended (kill -9 lost what came after) sees them
      // running still, and only a node's periodic re-registration (minutes) would end them: a job that
      // started before the kill and has no slurmstepd on its batch node is cancelled, as an operator would.
      const running = (await run('squeue', ['-h', '-t', 'R', '-o', '%A %B %S'])).stdout.trim().split('\n').filter(Boolean);
      for (const line of running) {
        const [id, host, start] = line.split(/\s+/);
        if (!id || !host || !NODES.includes(host) || !(Date.parse(`${start}Z`) < (killedAt ?? 0))) continue;
        const steps = await cluster.exec(host, ['sh', '-c', `pgrep -f 'slurmstepd: \\[${id}\\.' || true`]);
        if (!steps.trim()) await run('scancel', [id]);
      }
      await waitNodesIdle(cluster, NODES.length, 120_000);
    },
  };
}

/** The subject whose plugins write to `ctld` and `node` (directories under /var/spool/gridlink). */
function subject(cluster: ContainerCluster, client: SlurmClient, volumes: SpoolVolumes, ctld: string, node: string): PluginSubject {
  return {
    cluster: client,
    ctldEvents: () => readSpool(join(volumes.controller, ctld)),
    nodeSpools: () => NODES.map((n) => readSpool(join(volumes.nodes[n]!, node))),
    ctldLog: () => cluster.logs('controller'),
    slurmdLog: async () =>
      (await Promise.all(NODES.map(async (n) => `${await cluster.logs(n)}\n${await cluster.exec(n, ['sh', '-c', `cat ${SLURMD_LOG} 2>/dev/null || true`])}`))).join('\n'),
  };
}

export interface ContainerPluginRig {
  /** The cluster as compose.yaml configures it (spools slurmctld/ and slurmd/). */
  subject: PluginSubject;
  /** Reconfigures the plugins of every container (fresh spools named for `tag`) and restarts the daemons. */
  reconfigure(setup: PluginSetup, tag: string): Promise<PluginSubject>;
}

export function containerPluginRig(cluster: ContainerCluster, volumes: SpoolVolumes): ContainerPluginRig {
  const client = slurmClient(cluster);
  const services = ['controller', ...NODES];
  const sh = (service: string, script: string) => cluster.exec(service, ['sh', '-euc', script], 60_000);
  const restart = async () => {
    for (const s of services) await podman(['restart', '-t', '10', cluster.containerName(s)], { timeoutMs: 120_000 });
    await waitNodesIdle(cluster, NODES.length, 120_000);
  };
  // The image's files, kept beside them once: each setup is made from them.
  const write = async (jobCompLoc: string, spankArgs: string) => {
    for (const s of services) {
      await sh(
        s,
        [
          'cd /etc/slurm',
          'for f in slurm.conf plugstack.conf; do [ -e $f.image ] || cp -p $f $f.image; done',
          `sed 's|^JobCompLoc=.*|JobCompLoc=${jobCompLoc}|' slurm.conf.image > slurm.conf`,
          // slurmstepd (the SPANK prolog and epilog) logs to syslog without a log file: none in a container
          `echo 'SlurmdLogFile=${SLURMD_LOG}' >> slurm.conf`,
          `sed -E 's|^(required [^ ]*spank_provider\\.so) .*|\\1 ${spankArgs}|' plugstack.conf.image > plugstack.conf`,
        ].join('\n'),
      );
    }
    await restart();
  };
  return {
    subject: subject(cluster, client, volumes, 'slurmctld', 'slurmd'),
    async reconfigure(setup, tag) {
      const ctld = setup.unwritableSpools ? '/proc/gridlink/slurmctld' : `${SPOOL_ROOT}/${tag}-slurmctld`;
      const node = setup.unwritableSpools ? '/proc/gridlink/slurmd' : `${SPOOL_ROOT}/${tag}-slurmd`;
      await write([`spool=${ctld}`, REPORTER, ...(setup.jobCompOptions ?? [])].join(','), [`spool=${node}`, REPORTER, ...(setup.spankOptions ?? [])].join(' '));
      return subject(cluster, client, volumes, `${tag}-slurmctld`, `${tag}-slurmd`);
    },
  };
}

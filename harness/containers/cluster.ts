// cluster.ts - the slurm-in-docker cluster of compose.yaml, run with podman
// by the test harness: one network with a fresh /24, a fixed address per
// service, every hostname in every container's /etc/hosts, named volumes
// created for the run (or replaced by host directories), each service's
// restart policy, labels naming the owning process so that a dead run's
// containers are swept by the next. Containers can be stopped, started and
// recreated (removed and run again on the same volumes and address), as
// `docker compose stop/start/up --force-recreate` do.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../../src/native/addon.js';
import { loadCompose, type ComposeProject, type ServiceSpec } from './compose.js';
import { CONTAINER_ULIMITS, podman, podmanLogs } from './podman.js';

const LABEL = 'gridlink.harness';
const OWNER = 'gridlink.owner-pid';

export interface StartContainerClusterOptions {
  composeFile?: string;
  /** Variables compose.yaml interpolates (GRIDLINK_CONFIG_DIR, GRIDLINK_CUSTOMERS, ...). */
  env?: Record<string, string>;
  /** Named volumes replaced by host directories, e.g. {"supervisor-state": "/tmp/x"}. */
  volumeDirs?: Record<string, string>;
  /** Image to run instead of the one compose.yaml names. */
  image?: string;
  /** Services to start (default: all), e.g. without the supervisor. */
  only?: string[];
  readyTimeoutMs?: number;
}

export interface ContainerCluster {
  project: ComposeProject;
  network: { name: string; subnet: string; gateway: string };
  /** Service name -> address on the network. */
  address: Record<string, string>;
  containerName(service: string): string;
  exec(service: string, cmd: string[], timeoutMs?: number): Promise<string>;
  logs(service: string): Promise<string>;
  /** `podman stop` (SIGTERM, then SIGKILL after timeoutS): the restart policy leaves it stopped. */
  stopService(service: string, timeoutS?: number): Promise<void>;
  startService(service: string): Promise<void>;
  /** Stops and removes these services' containers (default: all), then runs them again in start order. */
  recreate(services?: string[]): Promise<void>;
  stop(): Promise<void>;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Removes the containers, networks and volumes of harness runs whose process is gone. */
export async function sweepDeadRuns(): Promise<void> {
  const rows = await podman(['ps', '-a', '--filter', `label=${LABEL}`, '--format', `{{.ID}} {{index .Labels "${OWNER}"}} {{index .Labels "${LABEL}"}}`]);
  const dead = new Set<string>();
  for (const line of rows.split('\n').filter(Boolean)) {
    const [id, pid, run] = line.split(' ');
    if (!alive(Number(pid))) {
      await podman(['rm', '-f', '-t', '0', id!]).catch(() => undefined);
      dead.add(run!);
    }
  }
  for (const kind of ['network', 'volume'] as const) {
    const names = await podman([kind, 'ls', '--filter', `label=${LABEL}`, '--format', `{{.Name}} {{index .Labels "${OWNER}"}}`]).catch(() => '');
    for (const line of names.split('\n').filter(Boolean)) {
      const [name, pid] = line.split(' ');
      if (!alive(Number(pid))) await podman([kind, 'rm', '-f', name!]).catch(() => undefined);
    }
  }
}

async function freeSubnet(): Promise<number> {
  const out = await podman(['network', 'ls', '--format', '{{range .Subnets}}{{.Subnet}} {{end}}']).catch(() => '');
  const used = new Set([...out.matchAll(/10\.(\d+)\.(\d+)\.0\/24/g)].filter((m) => m[1] === '89').map((m) => Number(m[2])));
  for (let x = 100 + (process.pid % 100); x < 100 + (process.pid % 100) + 150; x++) if (!used.has(x % 250)) return x % 250;
  throw new Error('no free 10.89.x.0/24 for the container network: remove old podman networks (podman network prune)');
}

function runArgs(s: ServiceSpec, o: { run: string; net: string; ip: string; hosts: Array<[string, string]>; image: string; volume: (n: string) => string }): string[] {
  const args = ['run', '-d', '--name', `${o.run}-${s.name}`, '--hostname', s.hostname, '--network', o.net, '--ip', o.ip, '--restart', s.restart];
  args.push('--label', `${LABEL}=${o.run}`, '--label', `${OWNER}=${process.pid}`);
  for (const [h, a] of o.hosts) args.push('--add-host', `${h}:${a}`);
  const limits = { ...Object.fromEntries(Object.entries(CONTAINER_ULIMITS).map(([k, v]) => [k, [...v]])), ...s.ulimits };
  for (const [k, [soft, hard]] of Object.entries(limits)) args.push('--ulimit', `${k}=${soft}:${hard}`);
  for (const [k, v] of Object.entries(s.environment)) args.push('-e', `${k}=${v}`);
  for (const v of s.volumes) args.push('-v', `${v.named ? o.volume(v.source) : v.source}:${v.target}${v.readOnly ? ':ro' : ''}`);
  args.push(o.image, ...s.command);
  return args;
}

export async function startContainerCluster(o: StartContainerClusterOptions = {}): Promise<ContainerCluster> {
  const composeFile = o.composeFile ?? join(packageRoot, 'compose.yaml');
  const project = loadCompose(composeFile, { ...process.env, ...o.env });
  const services = project.services.filter((s) => !o.only || o.only.includes(s.name));
  await sweepDeadRuns();
  const run = `gl${process.pid}-${Date.now().toString(36)}`;
  const x = await freeSubnet();
  const network = { name: `${run}-grid`, subnet: `10.89.${x}.0/24`, gateway: `10.89.${x}.1` };
  const address: Record<string, string> = {};
  services.forEach((s, i) => (address[s.name] = `10.89.${x}.${10 + i}`));
  const created: { containers: string[]; volumes: string[]; network?: string } = { containers: [], volumes: [] };
  const volume = (n: string) => {
    const dir = o.volumeDirs?.[n];
    if (dir) {
      if (!existsSync(dir)) throw new Error(`volume directory ${dir} (for ${n}) does not exist`);
      return dir;
    }
    return `${run}-${n}`;
  };
  const hosts: Array<[string, string]> = services.map((s) => [s.hostname, address[s.name]!]);
  const runService = (s: ServiceSpec) => {
    const extra = s.extraHosts.map(([h, a]) => [h, a === 'host-gateway' ? network.gateway : a] as [string, string]);
    return runArgs(s, { run, net: network.name, ip: address[s.name]!, hosts: [...hosts, ...extra], image: o.image ?? s.image, volume });
  };
  const stop = async () => {
    for (const c of created.containers.reverse()) await podman(['rm', '-f', '-t', '2', c]).catch(() => undefined);
    for (const v of created.volumes) await podman(['volume', 'rm', '-f', v]).catch(() => undefined);
    if (created.network) await podman(['network', 'rm', '-f', created.network]).catch(() => undefined);
  };
  try {
    await podman(['network', 'create', '--subnet', network.subnet, '--gateway', network.gateway, '--label', `${LABEL}=${run}`, '--label', `${OWNER}=${process.pid}`, network.name]);
    created.network = network.name;
    for (const n of project.volumes.filter((n) => !o.volumeDirs?.[n])) {
      await podman(['volume', 'create', '--label', `${LABEL}=${run}`, '--label', `${OWNER}=${process.pid}`, `${run}-${n}`]);
      created.volumes.push(`${run}-${n}`);
    }
    for (const s of services) {
      await podman(runService(s));
      created.containers.push(`${run}-${s.name}`);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const containerName = (service: string) => {
    if (!address[service]) throw new Error(`no service ${service} in this cluster`);
    return `${run}-${service}`;
  };
  const cluster: ContainerCluster = {
    project,
    network,
    address,
    containerName,
    exec: (service, cmd, timeoutMs = 60_000) => podman(['exec', containerName(service), ...cmd], { timeoutMs }),
    logs: (service) => podmanLogs(containerName(service)),
    stopService: async (service, timeoutS = 10) => void (await podman(['stop', '-t', String(timeoutS), containerName(service)], { timeoutMs: (timeoutS + 60) * 1000 })),
    startService: async (service) => void (await podman(['start', containerName(service)])),
    recreate: async (which = services.map((s) => s.name)) => {
      const chosen = services.filter((s) => which.includes(s.name));
      for (const s of [...chosen].reverse()) {
        await podman(['stop', '-t', '10', containerName(s.name)], { timeoutMs: 90_000 });
        await podman(['rm', containerName(s.name)]);
      }
      for (const s of chosen) await podman(runService(s));
    },
    stop,
  };
  return cluster;
}

/** Waits until the controller sees `n` idle nodes (sinfo inside the controller container). */
export async function waitNodesIdle(c: ContainerCluster, n: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await c.exec('controller', ['sinfo', '-h', '-N', '-o', '%N %T']).catch((e: Error) => e.message);
    if (last.split('\n').filter((l) => / idle$/.test(l.trim())).length >= n) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the container cluster did not reach ${n} idle nodes in ${timeoutMs} ms; sinfo: ${last.trim()}\ncontroller log:\n${(await c.logs('controller')).slice(-3000)}`);
}

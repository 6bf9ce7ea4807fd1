// compose.yaml on a real Docker engine, as an operator runs it: Debian's
// docker.io (dockerd started by the harness: no systemd here, a socket, data
// root and bridge of its own; the iptables FORWARD policy it changes is put
// back) with each Compose an operator may have: Debian 12's docker-compose
// 1.29 (the python v1 tool, which refuses a top-level `name:`) and Debian
// 13's Compose v2 (2.26, BuildKit; scripts/container-compose-v2.sh). The
// debootstrap base image moves in with `podman save | docker load`. For
// each, `up -d --build` builds the Debian 13 node image once (the
// controller's build; none left from the other tool) and runs the four
// services; with the chain on this host (host-grid.ts) a customer's 2-task
// job is FINISHED and paid, run on c1 and c2 as the user the supervisor
// handed out (resolver "gridlink", no directory server, no /etc/passwd line,
// homes 0700: customer-identity.ts); then `down` (volumes kept) and `up` again: the
// job is still known to slurmctld, so its state lived on the named volumes.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { checkDocker, dockerCompose, podmanToDocker, startDockerd, type Dockerd } from '../../harness/containers/docker.js';
import { checkPodman } from '../../harness/containers/podman.js';
import { packageRoot } from '../../src/native/addon.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import { waitFor } from '../plugins/with-plugins.js';
import { CREDIT } from '../supervisor/grid.js';
import { skipReason } from '../helpers/skip-reason.js';
import { prepare, PREPARE_TIMEOUT_MS } from '../helpers/prepare.js';
import { expectCustomerIdentity, IDENTITY_SCRIPT } from './customer-identity.js';
import { startHostGrid, type HostGrid } from './host-grid.js';

const execFileP = promisify(execFile);
// The engine is a test-only need: installed by `npm test` (scripts/prepare-tests.sh docker).
await prepare('docker').catch((e: unknown) => console.log(`test/containers/docker.test.ts: ${(e as Error).message}`));
const engines = await Promise.all([checkDocker(), checkPodman()]);
const reason = engines.find((e) => !e.ok)?.reason;
if (reason) console.log(`SKIP test/containers/docker.test.ts: ${reason}`);
const NODE_IMAGE = 'localhost/gridlink-node:trixie';

describe.skipIf(!!reason)(`compose.yaml under Docker (a dockerd of its own), Debian 13 node image${skipReason(!reason, String(reason ?? ''))}`, () => {
  let dockerd: Dockerd;
  let grid: HostGrid;
  const stops: Array<() => Promise<unknown> | unknown> = [];
  let approved = false;

  beforeAll(async () => {
    await prepare('containers-trixie');
    const script = (name: string) => execFileP('bash', [join(packageRoot, 'scripts', name), 'trixie'], { timeout: 600_000 }).then((r) => r.stdout.trim().split('\n').pop()!);
    const base = await script('container-base.sh');
    const work = mkdtempSync(join('/var/tmp', 'gl-docker-'));
    stops.push(() => rmSync(work, { recursive: true, force: true }));
    let t0 = Date.now();
    dockerd = await startDockerd(join(work, 'dockerd'));
    stops.push(() => dockerd.stop());
    console.log(`dockerd up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    t0 = Date.now();
    await podmanToDocker(base, dockerd);
    console.log(`base image moved from podman in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    grid = await startHostGrid(mkdtempSync(join(tmpdir(), 'gl-docker-grid-')));
    stops.push(() => grid.stop());
  }, PREPARE_TIMEOUT_MS);

  afterAll(async () => {
    for (const s of stops.reverse()) await Promise.resolve(s()).catch(() => undefined);
  }, 300_000);

  const tools = [
    { name: 'docker-compose 1.29', bin: async () => 'docker-compose', version: /^1\.29\./ },
    { name: 'Compose v2', bin: () => execFileP('bash', [join(packageRoot, 'scripts/container-compose-v2.sh')], { timeout: 300_000 }).then((r) => r.stdout.trim().split('\n').pop()!), version: /^v?2\./ },
  ];
  for (const tool of tools) {
    it(`${tool.name}: builds the one image once, runs the four services; a 2-task job is FINISHED and paid, run on both nodes as the user the supervisor handed its customer; after down and up (volumes kept) slurmctld still knows it`, async () => {
      const bin = await tool.bin();
      expect(await execFileP(bin, ['version', '--short']).then((r) => r.stdout.trim())).toMatch(tool.version);
      const env = { GRIDLINK_SUITE: 'trixie', GRIDLINK_BASE_REPO: 'localhost/gridlink-base', GRIDLINK_CONFIG_DIR: grid.configDir };
      const compose = (args: string[], timeoutMs?: number) => dockerCompose(dockerd, { project: `gl${process.pid}`, file: join(packageRoot, 'compose.yaml'), env, bin }, args, timeoutMs);
      const exec = (service: string, cmd: string[]) => compose(['exec', '-T', service, ...cmd], 60_000);
      const supervisorLog = () => compose(['logs', '--no-color', '--tail', '200', 'supervisor'], 30_000).catch((e: Error) => e.message);
      const idle = async () => (await exec('controller', ['sinfo', '-h', '-N', '-o', '%N %T']).catch(() => '')).split('\n').filter((l) => / idle$/.test(l.trim())).length === 2;
      // the image the other tool built must not be reused
      await dockerd.docker(['rmi', '-f', NODE_IMAGE]).catch(() => undefined);
      try {
        let t0 = Date.now();
        await compose(['up', '-d', '--build'], 900_000);
        console.log(`${tool.name}: up --build in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        const images = await dockerd.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
        expect(images.split('\n').filter((i) => i.startsWith('localhost/gridlink-node'))).toEqual([NODE_IMAGE]);
        await waitFor('2 idle nodes', idle, 120_000);
        for (const s of ['controller', 'c1', 'c2', 'supervisor']) expect((await exec(s, ['hostname'])).trim()).toBe(s);
        expect(await exec('controller', ['slurmctld', '-V'])).toContain('24.11.5');
        if (!approved) await grid.approveProvider(supervisorLog);
        approved = true;

        const id = await grid.request(IDENTITY_SCRIPT, 2n);
        const job = await grid.waitChain(id, [JobStatus.FINISHED, JobStatus.FAILED], supervisorLog, 180_000);
        expect(JobStatus[job.status]).toBe('FINISHED');
        expect(job.cost.finalCost).toBeGreaterThanOrEqual(2n * CREDIT);
        await expectCustomerIdentity(exec, grid.customerAddress);
        const slurmId = (await exec('controller', ['squeue', '-h', '-t', 'all', '-n', id.toLowerCase(), '-o', '%i'])).trim();
        expect(slurmId).toMatch(/^\d+$/);

        t0 = Date.now();
        await compose(['down', '-t', '10'], 180_000);
        await compose(['up', '-d'], 300_000);
        await waitFor('2 idle nodes after down/up', idle, 120_000);
        console.log(`${tool.name}: down and up again in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        expect(await exec('controller', ['scontrol', '-o', 'show', 'job', slurmId])).toMatch(/JobState=COMPLETED/);
      } finally {
        await compose(['down', '-v', '-t', '5'], 180_000).catch(() => undefined);
      }
    }, 1_200_000);
  }
});

// compose.yaml as the podman harness reads it (harness/containers/compose.ts),
// and the example supervisor configuration the compose cluster mounts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { interpolate, loadCompose } from '../../harness/containers/compose.js';
import { packageRoot } from '../../src/native/addon.js';
import { parseSupervisorConfig } from '../../src/supervisor/config.js';

describe('compose.yaml', () => {
  const project = loadCompose(join(packageRoot, 'compose.yaml'), { GRIDLINK_CONFIG_DIR: '/srv/gl-config' });

  it('has a controller, two compute nodes and the supervisor, each with its own hostname, dependencies first', () => {
    expect(project.services.map((s) => `${s.name}=${s.hostname}:${s.command.join(' ')}`)).toEqual(['controller=controller:controller', 'c1=c1:compute', 'c2=c2:compute', 'supervisor=supervisor:supervisor']);
    for (const s of project.services) {
      // podman here cannot raise its limits: both must be in the file
      expect(s.ulimits).toEqual({ nofile: [20000, 20000], nproc: [32768, 32768] });
      expect(s.volumes.find((v) => v.target === '/run/gridlink-shared')?.named).toBe(true);
      // customers' users come from the supervisor (resolver "gridlink"), not from the environment
      expect(s.environment).toEqual({});
    }
  });

  it('builds one image once: only the controller builds, the others run its tag and start after it', () => {
    expect(project.services.filter((s) => s.builds).map((s) => s.name)).toEqual(['controller']);
    expect(new Set(project.services.map((s) => s.image))).toEqual(new Set(['localhost/gridlink-node:trixie']));
    for (const s of project.services.filter((x) => !x.builds)) expect(s.dependsOn).toContain('controller');
    const bookworm = loadCompose(join(packageRoot, 'compose.yaml'), { GRIDLINK_SUITE: 'bookworm' });
    expect(bookworm.services[0]!.image).toBe('localhost/gridlink-node:bookworm');
  });

  it('keeps the state on named volumes (slurmctld state, every spool, the supervisor store) and restarts the services', () => {
    const named = (service: string) => Object.fromEntries(project.services.find((s) => s.name === service)!.volumes.filter((v) => v.named).map((v) => [v.target, v.source]));
    expect(named('controller')).toMatchObject({ '/var/lib/slurm/slurmctld': 'controller-state', '/var/spool/gridlink': 'controller-spool' });
    expect(named('c1')).toMatchObject({ '/var/spool/gridlink': 'c1-spool' });
    expect(named('c2')).toMatchObject({ '/var/spool/gridlink': 'c2-spool' });
    expect(named('supervisor')).toMatchObject({ '/var/lib/gridlink': 'supervisor-state' });
    // the paths slurm.conf and plugstack.conf use are on them
    const slurmConf = readFileSync(join(packageRoot, 'contrib/container/slurm.conf'), 'utf8');
    expect(slurmConf).toMatch(/^StateSaveLocation=\/var\/lib\/slurm\/slurmctld$/m);
    expect(slurmConf).toMatch(/^JobCompLoc=spool=\/var\/spool\/gridlink\//m);
    expect(readFileSync(join(packageRoot, 'contrib/container/plugstack.conf'), 'utf8')).toMatch(/ spool=\/var\/spool\/gridlink\//);
    for (const v of ['controller-state', 'controller-spool', 'c1-spool', 'c2-spool', 'supervisor-state']) expect(project.volumes).toContain(v);
    for (const s of project.services) expect(s.restart).toBe('unless-stopped');
  });

  it('has no top-level name (docker-compose 1.29 refuses it): the project name is COMPOSE_PROJECT_NAME, else gridlink', () => {
    expect(project.name).toBe('gridlink');
    expect(loadCompose(join(packageRoot, 'compose.yaml'), { COMPOSE_PROJECT_NAME: 'site-a' }).name).toBe('site-a');
    const dir = mkdtempSync(join(tmpdir(), 'gl-compose-'));
    writeFileSync(join(dir, 'compose.yaml'), 'name: x\nservices:\n  a:\n    image: x\n    hostname: a\n');
    expect(() => loadCompose(join(dir, 'compose.yaml'), {})).toThrow(/COMPOSE_PROJECT_NAME/);
  });

  it('mounts the configuration (and so the provider key) in the supervisor only', () => {
    const withConfig = project.services.filter((s) => s.volumes.some((v) => v.target === '/etc/gridlink'));
    expect(withConfig.map((s) => s.name)).toEqual(['supervisor']);
    expect(withConfig[0]!.volumes.find((v) => v.target === '/etc/gridlink')).toEqual({ source: '/srv/gl-config', named: false, target: '/etc/gridlink', readOnly: true });
    expect(withConfig[0]!.extraHosts).toEqual([['host.docker.internal', 'host-gateway']]);
  });

  it('interpolates ${VAR} and ${VAR:-default}; an unset ${VAR} without a default is an error', () => {
    expect(interpolate('${A:-x}/${B}', { B: 'b' })).toBe('x/b');
    expect(interpolate('${A:-x}', { A: 'a' })).toBe('a');
    expect(() => interpolate('${MISSING}', {})).toThrow(/MISSING/);
  });

  it('refuses a service key the harness does not implement, instead of dropping it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-compose-'));
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  a:\n    image: x\n    hostname: a\n    privileged: true\n');
    expect(() => loadCompose(join(dir, 'compose.yaml'), {})).toThrow(/privileged/);
  });

  it('the example supervisor configuration is valid and listens where the relays deliver', () => {
    const input = JSON.parse(readFileSync(join(packageRoot, 'contrib/container/config/supervisor.example.json'), 'utf8'));
    const c = parseSupervisorConfig(input);
    expect(c.ingest.listen).toEqual({ host: '0.0.0.0', port: 7390 });
    const slurmConf = readFileSync(join(packageRoot, 'contrib/container/slurm.conf'), 'utf8');
    const plugstack = readFileSync(join(packageRoot, 'contrib/container/plugstack.conf'), 'utf8');
    expect(slurmConf).toMatch(/^JobCompLoc=.*reporter=http:\/\/supervisor:7390/m);
    expect(plugstack).toMatch(/^required \S+spank_provider\.so .*reporter=http:\/\/supervisor:7390/m);
  });

  it('the example configuration serves the customers\' users database where the relays pull it, and waits for the controller and both nodes', () => {
    const c = parseSupervisorConfig(JSON.parse(readFileSync(join(packageRoot, 'contrib/container/config/supervisor.example.json'), 'utf8')));
    expect(c.users.resolver).toBe('gridlink');
    const { sync, homeRoot, firstUid } = c.users.gridlink;
    expect(sync.listen).toEqual({ host: '0.0.0.0', port: 7391 });
    expect(sync.hosts).toEqual(project.services.filter((s) => s.name !== 'supervisor').map((s) => s.hostname));
    expect(firstUid).toBeGreaterThanOrEqual(c.users.minUid);
    const slurmConf = readFileSync(join(packageRoot, 'contrib/container/slurm.conf'), 'utf8');
    const plugstack = readFileSync(join(packageRoot, 'contrib/container/plugstack.conf'), 'utf8');
    expect(slurmConf).toMatch(/^JobCompLoc=.*users_url=http:\/\/supervisor:7391(,|$)/m);
    expect(plugstack).toMatch(/^required \S+spank_provider\.so .*users_url=http:\/\/supervisor:7391( |$)/m);
    expect(plugstack).toMatch(new RegExp(`^required \\S+spank_provider\\.so .* home_root=${homeRoot}( |$)`, 'm'));
  });
});

// doctor on a cluster split over hosts: each host is checked for its roles
// (controller, compute node, supervisor), found from the daemons running
// there, the hosts slurm.conf names and --config, or given with --role.
import { appendFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { configCheck } from '../../src/doctor/config.js';
import { checkDrain } from '../../src/doctor/drain.js';
import { checkPlugins } from '../../src/doctor/plugins.js';
import { hostRolesOf, parseRoles } from '../../src/doctor/roles.js';
import { checkRuntime } from '../../src/doctor/runtime.js';
import { checkSpools } from '../../src/doctor/spool.js';
import type { DoctorContext } from '../../src/doctor/types.js';
import { expandHostlist } from '../../src/slurm/hostlist.js';
import { readSlurmSetup } from '../../src/slurm/slurm-conf.js';
import type { SlurmDaemon } from '../../src/slurm/slurm-daemons.js';
import { configInput, ctxOf, slurmFiles, tmp } from './helpers.js';

const daemon = (pid: number, name: SlurmDaemon['name'], conf: string, objects: string[]): SlurmDaemon => ({ pid, name, conf, objects: new Set(objects) });

/** slurm.conf of a controller "ctl" and nodes c1, c2 (and n01-n03 through NodeHostname). */
function split(): string {
  const conf = slurmFiles(tmp());
  appendFileSync(conf, ['SlurmctldHost=ctl(10.0.0.1)', 'NodeName=DEFAULT CPUs=1', 'NodeName=c[1-2] CPUs=1 State=UNKNOWN', 'NodeName=v[1-3] NodeHostname=n[01-03] Port=1234'].join('\n') + '\n');
  return conf;
}

const names = (ctx: DoctorContext) => [...hostRolesOf(ctx, readSlurmSetup(ctx.slurmConf)).roles.keys()];

describe('doctor roles', () => {
  it('expands the hostlists slurm.conf writes', () => {
    expect(expandHostlist('c[1-2],login')).toEqual(['c1', 'c2', 'login']);
    expect(expandHostlist('n[01-03,7]')).toEqual(['n01', 'n02', 'n03', 'n7']);
    expect(expandHostlist('r[1-2]-n[1-2]')).toEqual(['r1-n1', 'r1-n2', 'r2-n1', 'r2-n2']);
    expect(() => expandHostlist('c[3-1]')).toThrow(/bad hostlist/);
    const s = readSlurmSetup(split());
    expect(s.controllerHosts).toEqual(['ctl']);
    expect(s.nodeHosts).toEqual(['c1', 'c2', 'v1', 'v2', 'v3', 'n01', 'n02', 'n03']);
  });

  it('finds each host its roles: the daemons running, then what slurm.conf names, then --config', () => {
    const conf = split();
    expect(names(ctxOf({ slurmConf: conf, hostname: 'ctl.example.org', daemons: () => [] }))).toEqual(['controller']);
    expect(names(ctxOf({ slurmConf: conf, hostname: 'n02', daemons: () => [] }))).toEqual(['compute']);
    expect(names(ctxOf({ slurmConf: conf, hostname: 'other', daemons: () => [daemon(5, 'slurmd', conf, [])] }))).toEqual(['compute']);
    expect(names(ctxOf({ slurmConf: conf, hostname: 'sup', daemons: () => [], input: configInput() }))).toEqual(['supervisor']);
    expect(names(ctxOf({ slurmConf: conf, hostname: 'sup', daemons: () => [] }))).toEqual([]);
    expect(names(ctxOf({ slurmConf: conf, hostname: 'sup', daemons: () => [], roles: ['compute', 'supervisor'] }))).toEqual(['compute', 'supervisor']);
    expect(parseRoles('controller, compute')).toEqual(['controller', 'compute']);
    expect(() => parseRoles('login')).toThrow(/--role takes controller, compute, supervisor/);
  });

  it('a compute node checks slurmd and its SPANK spool only; the controller slurmctld and its jobcomp spool only', () => {
    const conf = split();
    const node = ctxOf({ slurmConf: conf, hostname: 'c1', daemons: () => [daemon(7, 'slurmd', conf, ['spank_provider.so', 'gridlink_runtime.so'])] });
    const p = checkPlugins(node);
    expect(p, p.detail).toMatchObject({ status: 'ok' });
    expect(p.detail).toBe('c1 is a compute node: slurmd (pid 7) maps spank_provider.so + gridlink_runtime.so');
    for (const r of [checkSpools(node), checkDrain(node), checkRuntime(node)]) {
      expect(r.detail).toContain('slurmd');
      expect(r.detail).not.toContain('slurmctld');
    }
    const ctl = ctxOf({ slurmConf: conf, hostname: 'ctl', daemons: () => [daemon(3, 'slurmctld', conf, ['jobcomp_provider.so', 'gridlink_runtime.so'])] });
    expect(checkPlugins(ctl).detail).toBe('ctl is the controller: slurmctld (pid 3) maps jobcomp_provider.so + gridlink_runtime.so');
    for (const r of [checkSpools(ctl), checkDrain(ctl), checkRuntime(ctl)]) expect(r.detail).not.toMatch(/slurmd\b/);
  });

  it('a host slurm.conf names whose daemon is down fails, naming the daemon and why the host has that role', () => {
    const conf = split();
    const r = checkPlugins(ctxOf({ slurmConf: conf, hostname: 'c2', daemons: () => [daemon(3, 'slurmctld', conf, [])] }));
    // slurmctld runs here too, so this host is also the controller
    expect(r.status).toBe('fail');
    expect(r.detail).toContain(`slurmd does not run on this host (c2), which is a compute node: ${conf} names c2 a node`);
    expect(r.fix).toMatch(/start slurmd/);
  });

  it('the supervisor host skips the SLURM checks; --role supervisor without --config fails the config check', async () => {
    const conf = split();
    const sup = ctxOf({ slurmConf: conf, hostname: 'sup', daemons: () => [], input: configInput() });
    for (const r of [checkPlugins(sup), checkSpools(sup), checkDrain(sup), checkRuntime(sup)]) {
      expect(r.status).toBe('skip');
      expect(r.detail).toMatch(/^sup is the supervisor only .* run doctor on the controller and on the compute nodes/);
    }
    // no role at all: checked as a single host, and nothing runs there
    expect(checkPlugins(ctxOf({ slurmConf: conf, hostname: 'sup', daemons: () => [] }))).toMatchObject({ status: 'fail', detail: expect.stringMatching(/neither slurmctld nor slurmd runs on this host \(sup\)/) });
    const r = await configCheck.run(ctxOf({ slurmConf: conf, roles: ['supervisor'] }), new AbortController().signal);
    expect(r).toMatchObject({ status: 'fail', fix: 'give the supervisor configuration with --config FILE' });
  });
});

import { describe, expect, it } from 'vitest';

import { checkPlugins } from '../../src/doctor/plugins.js';
import { parsePluginOptions, readSlurmSetup } from '../../src/slurm/slurm-conf.js';
import type { SlurmDaemon } from '../../src/slurm/slurm-daemons.js';
import { ctxOf, slurmFiles, tmp } from './helpers.js';

const daemon = (pid: number, name: SlurmDaemon['name'], conf: string, objects: string[]): SlurmDaemon => ({ pid, name, conf, objects: new Set(objects) });

describe('plugins check', () => {
  it('parses the plugin options as gl_options.c does', () => {
    expect(parsePluginOptions(['/var/x'], 'slurmctld', true)).toEqual({ spool: '/var/x', runtime: false });
    expect(parsePluginOptions(['spool=/s', 'reporter=http://r', 'log=/l'], 'slurmd', false)).toEqual({ spool: '/s', runtime: true, reporter: 'http://r', log: '/l' });
    expect(parsePluginOptions(['reporter=http://r', 'runtime=off'], 'slurmd', false)).toMatchObject({ spool: '/var/spool/gridlink/slurmd', runtime: false });
    const dir = tmp();
    const s = readSlurmSetup(slurmFiles(dir));
    expect(s.jobcomp).toMatchObject({ spool: `${dir}/spool/slurmctld`, runtime: true });
    expect(s.spank).toMatchObject({ spool: `${dir}/spool/slurmd`, runtime: true });
  });

  it('passes when every daemon maps its plugin and the runtime', () => {
    const dir = tmp();
    const conf = slurmFiles(dir);
    const r = checkPlugins(ctxOf({ slurmConf: conf, daemons: () => [daemon(10, 'slurmctld', conf, ['jobcomp_provider.so', 'gridlink_runtime.so']), daemon(11, 'slurmd', conf, ['spank_provider.so', 'gridlink_runtime.so']), daemon(12, 'slurmd', '/other/slurm.conf', [])] }));
    expect(r).toMatchObject({ status: 'ok' });
    expect(r.detail).toMatch(/slurmctld \(pid 10\) maps jobcomp_provider.so \+ gridlink_runtime.so; slurmd \(pid 11\)/);
  });

  it('names the daemon lacking a plugin', () => {
    const dir = tmp();
    const conf = slurmFiles(dir);
    const r = checkPlugins(ctxOf({ slurmConf: conf, daemons: () => [daemon(10, 'slurmctld', conf, ['jobcomp_provider.so']), daemon(11, 'slurmd', conf, [])] }));
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/slurmctld \(pid 10\) has not loaded gridlink_runtime.so/);
    expect(r.detail).toMatch(/slurmd \(pid 11\) has not loaded spank_provider.so, gridlink_runtime.so/);
    expect(r.fix).toMatch(/restart slurmd/);
  });

  it('says which line to add when the configuration lacks the plugins', () => {
    const dir = tmp();
    const conf = slurmFiles(dir, { jobcomp: null, spank: null });
    const r = checkPlugins(ctxOf({ slurmConf: conf, daemons: () => [daemon(10, 'slurmctld', conf, []), daemon(11, 'slurmd', conf, [])] }));
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/has JobCompType=\(none\).*has no spank_provider.so line/);
    expect(r.fix).toMatch(/JobCompType=jobcomp\/provider and JobCompLoc=spool=\/var\/spool\/gridlink\/slurmctld/);
    expect(r.fix).toMatch(/required \/opt\/gridlink\/lib\/spank_provider.so spool=/);
  });

  it('fails when no daemon runs with this slurm.conf, or slurm.conf is unreadable', () => {
    const dir = tmp();
    const conf = slurmFiles(dir);
    expect(checkPlugins(ctxOf({ slurmConf: conf, daemons: () => [] })).detail).toMatch(/neither slurmctld nor slurmd runs/);
    const r = checkPlugins(ctxOf({ slurmConf: `${dir}/missing.conf`, daemons: () => [] }));
    expect(r).toMatchObject({ status: 'fail' });
    expect(r.fix).toMatch(/--slurm-conf/);
  });
});

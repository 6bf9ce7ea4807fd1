import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { computeNodeNames, generateConfig, generatePlugstackConf, type SlurmConfigInput } from '../../src/cluster/config.js';
import { clusterPaths, slurmdNodePaths } from '../../src/cluster/paths.js';
import { headroomMemory, parseSlurmdC } from '../../src/cluster/hardware.js';
import { parseRecord } from '../../src/cluster/scontrol.js';

const base: SlurmConfigInput = {
  baseDir: '/tmp/c1',
  controlHost: 'vm',
  ctldPort: 16817,
  slurmdPort: 16818,
  nodeName: 'vm',
  node: { cpus: 2, socketsPerBoard: 1, coresPerSocket: 2, threadsPerCore: 1, realMemoryMB: 22000 },
};

const keys = (text: string) =>
  new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('NodeName=') && !l.startsWith('PartitionName='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('slurm.conf generator', () => {
  it('writes a loopback one-node cluster under the base dir', () => {
    const { slurmConf, plugstackConf } = generateConfig(base);
    const k = keys(slurmConf);
    expect(k.get('SlurmctldHost')).toBe('vm(127.0.0.1)');
    expect(k.get('SlurmctldPort')).toBe('16817');
    expect(k.get('SlurmdPort')).toBe('16818');
    expect(k.get('SlurmUser')).toBe('root');
    expect(k.get('StateSaveLocation')).toBe('/tmp/c1/state');
    expect(k.get('SlurmdSpoolDir')).toBe('/tmp/c1/spool');
    expect(k.get('SlurmctldPidFile')).toBe('/tmp/c1/run/slurmctld.pid');
    expect(k.get('SlurmctldLogFile')).toBe('/tmp/c1/log/slurmctld.log');
    expect(k.get('AuthType')).toBe('auth/munge');
    expect(k.get('ProctrackType')).toBe('proctrack/linuxproc');
    expect(k.get('TaskPlugin')).toBe('task/none');
    expect(k.get('SelectType')).toBe('select/cons_tres');
    expect(k.get('SelectTypeParameters')).toBe('CR_Core_Memory');
    expect(k.get('CommunicationParameters')).toBe('NoCtldInAddrAny,NoInAddrAny');
    expect(k.get('PluginDir')).toBe('/usr/lib/x86_64-linux-gnu/slurm-wlm');
    expect(k.get('JobCompType')).toBe('jobcomp/none');
    expect(k.get('JobAcctGatherType')).toBe('jobacct_gather/none');
    expect(k.get('AccountingStorageType')).toBe('accounting_storage/none');
    expect(k.get('InactiveLimit')).toBe('0');
    expect(k.has('PlugStackConfig')).toBe(false);
    expect(plugstackConf).toBeUndefined();
    expect(slurmConf).toContain(
      'NodeName=vm NodeAddr=127.0.0.1 CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=22000',
    );
    expect(slurmConf).toContain('PartitionName=debug Nodes=vm Default=YES');
  });

  it('is pure: same input, same text', () => {
    expect(generateConfig(base).slurmConf).toBe(generateConfig(base).slurmConf);
  });

  it('adds plugin dirs, jobcomp, plugstack and raw lines', () => {
    const { slurmConf, plugstackConf } = generateConfig({
      ...base,
      extraPluginDirs: ['/work/main/build/plugins'],
      jobComp: { type: 'jobcomp/provider', loc: '/var/spool/gridlink/ctld' },
      spank: [
        { path: '/work/main/build/plugins/spank_provider.so', args: ['spool=/x', 'relay=0'] },
        { path: '/opt/other.so', optional: true },
      ],
      extraLines: ['PrologFlags=Alloc'],
    });
    const k = keys(slurmConf);
    expect(k.get('PluginDir')).toBe('/usr/lib/x86_64-linux-gnu/slurm-wlm:/work/main/build/plugins');
    expect(k.get('JobCompType')).toBe('jobcomp/provider');
    expect(k.get('JobCompLoc')).toBe('/var/spool/gridlink/ctld');
    expect(k.get('PlugStackConfig')).toBe('/tmp/c1/plugstack.conf');
    expect(slurmConf.trimEnd().endsWith('PrologFlags=Alloc')).toBe(true);
    expect(plugstackConf).toBe(
      'required /work/main/build/plugins/spank_provider.so spool=/x relay=0\noptional /opt/other.so\n',
    );
    expect(generatePlugstackConf([{ path: '/a.so' }])).toBe('required /a.so\n');
  });

  it('writes several nodes on this host: own port, NodeHostname, per-node slurmd paths', () => {
    const { slurmConf } = generateConfig({ ...base, nodes: 3, slurmdPorts: [16818, 16819, 16820] });
    const k = keys(slurmConf);
    expect(k.get('SlurmdSpoolDir')).toBe('/tmp/c1/spool/%n');
    expect(k.get('SlurmdPidFile')).toBe('/tmp/c1/run/slurmd-%n.pid');
    expect(k.get('SlurmdLogFile')).toBe('/tmp/c1/log/slurmd-%n.log');
    expect(k.get('SlurmdPort')).toBe('16818');
    const nodeLines = slurmConf.split('\n').filter((l) => l.startsWith('NodeName='));
    expect(nodeLines).toEqual(
      [1, 2, 3].map(
        (i) =>
          `NodeName=vm-${i} NodeHostname=vm NodeAddr=127.0.0.1 Port=${16817 + i} CPUs=2 Boards=1 SocketsPerBoard=1 ` +
          'CoresPerSocket=2 ThreadsPerCore=1 RealMemory=22000 State=UNKNOWN',
      ),
    );
    expect(slurmConf).toContain('PartitionName=debug Nodes=vm-1,vm-2,vm-3 Default=YES');
    expect(computeNodeNames({ nodeName: 'vm', nodes: 3 })).toEqual(['vm-1', 'vm-2', 'vm-3']);
    expect(computeNodeNames({ nodeName: 'vm' })).toEqual(['vm']);
    // What slurmd makes of the %n patterns, per node; one node keeps the classic paths.
    const p = clusterPaths('/tmp/c1');
    expect(slurmdNodePaths(p, 'vm-2', true)).toEqual({
      spoolDir: '/tmp/c1/spool/vm-2',
      log: '/tmp/c1/log/slurmd-vm-2.log',
      stdout: '/tmp/c1/log/slurmd-vm-2.stdout',
      pid: '/tmp/c1/run/slurmd-vm-2.pid',
    });
    expect(slurmdNodePaths(p, 'vm', false)).toEqual({ spoolDir: p.spoolDir, log: p.slurmdLog, stdout: p.slurmdStdout, pid: p.slurmdPid });
    // nodes: 1 is the one-node config, byte for byte, whatever slurmdPorts says.
    expect(generateConfig({ ...base, nodes: 1, slurmdPorts: [1, 2] }).slurmConf).toBe(generateConfig(base).slurmConf);
  });

  it('rejects a node count or port list that does not fit', () => {
    expect(() => generateConfig({ ...base, nodes: 2 })).toThrow(ZodError);
    expect(() => generateConfig({ ...base, nodes: 2, slurmdPorts: [16818] })).toThrow(ZodError);
    expect(() => generateConfig({ ...base, nodes: 2, slurmdPorts: [16818, 16818] })).toThrow(ZodError);
    expect(() => generateConfig({ ...base, nodes: 0 })).toThrow(ZodError);
    expect(() => generateConfig({ ...base, nodes: 9, slurmdPorts: [1, 2, 3, 4, 5, 6, 7, 8, 9] })).toThrow(ZodError);
  });

  it('rejects values slurm.conf cannot carry', () => {
    expect(() => generateConfig({ ...base, baseDir: 'relative/dir' })).toThrow(ZodError);
    expect(() => generateConfig({ ...base, spank: [{ path: '/a b.so' }] })).toThrow(ZodError);
    expect(() => generateConfig({ ...base, extraLines: ['A=1\nB=2'] })).toThrow(ZodError);
    expect(() => generateConfig({ ...base, clusterName: 'Has Space' })).toThrow(ZodError);
    expect(() => generateConfig({ ...base, ctldPort: 70000 })).toThrow(ZodError);
  });
});

describe('hardware and scontrol parsing', () => {
  it('parses slurmd -C and keeps memory headroom', () => {
    const r = parseSlurmdC(
      'NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105\nUpTime=0-00:03:26\n',
    );
    expect(r.nodeName).toBe('vm');
    expect(r.measuredMemoryMB).toBe(24105);
    expect(r.hardware).toEqual({
      cpus: 2,
      boards: 1,
      socketsPerBoard: 1,
      coresPerSocket: 2,
      threadsPerCore: 1,
      realMemoryMB: headroomMemory(24105),
    });
    expect(headroomMemory(24105)).toBe(24105 - 1206);
    expect(headroomMemory(2000)).toBe(1744);
  });

  it('parses a one-line scontrol record with = and spaces inside values', () => {
    const r = parseRecord(
      'JobId=7 JobName=my job UserId=root(0) JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 ' +
        'AllocNode:Sid=localhost:3025 TRES=cpu=1,mem=128M,node=1,billing=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* Power= ',
    );
    expect(r.JobId).toBe('7');
    expect(r.JobName).toBe('my job');
    expect(r.ExitCode).toBe('3:0');
    expect(r['AllocNode:Sid']).toBe('localhost:3025');
    expect(r.TRES).toBe('cpu=1,mem=128M,node=1,billing=1');
    expect(r['CPUs/Task']).toBe('1');
    expect(r['ReqB:S:C:T']).toBe('0:0:*:*');
    expect(r.Power).toBe('');
  });
});

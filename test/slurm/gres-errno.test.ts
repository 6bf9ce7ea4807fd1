// gres-errno.test.ts - GPU counts out of SLURM's gres/TRES strings and the
// classification of SLURM error numbers (pure functions of the local backend).
import { describe, expect, it } from 'vitest';
import { classifySlurmErrno } from '../../src/slurm/errno.js';
import { gresGpuCount, jobGpuCount, tresGpuCount } from '../../src/slurm/gres.js';

describe('gres and TRES GPU counts', () => {
  it('reads node Gres strings', () => {
    expect(gresGpuCount('gpu:2')).toBe(2);
    expect(gresGpuCount('gpu:tesla:2(S:0)')).toBe(2);
    expect(gresGpuCount('gpu:a100:4(S:0-1),gpu:t4:1,mps:200')).toBe(5);
    expect(gresGpuCount('gpu')).toBe(1);
    expect(gresGpuCount('gpu:tesla')).toBe(1);
    expect(gresGpuCount('')).toBe(0);
    expect(gresGpuCount('(null)')).toBe(0);
    expect(gresGpuCount('mps:100,nic:1')).toBe(0);
  });

  it('reads tres_per_* (22.05 writes gres:gpu:N) and tres_req_str', () => {
    expect(gresGpuCount('gres:gpu:1')).toBe(1);
    expect(gresGpuCount('gres:gpu:tesla:3')).toBe(3);
    expect(gresGpuCount('gres/gpu:2')).toBe(2);
    expect(tresGpuCount('cpu=1,mem=64M,node=1,billing=1,gres/gpu=2')).toBe(2);
    expect(tresGpuCount('cpu=1,gres/gpu:tesla=2,gres/gpu=2')).toBe(2);
    expect(tresGpuCount('cpu=1,gres/gpu:tesla=2')).toBe(2);
    expect(tresGpuCount('cpu=1')).toBe(0);
    const j = { tresPerJob: '', tresPerNode: '', tresPerTask: '', tresReqStr: '', numNodes: 2, numTasks: 4 };
    expect(jobGpuCount({ ...j, tresPerJob: 'gres:gpu:3' })).toBe(3);
    expect(jobGpuCount({ ...j, tresPerNode: 'gres:gpu:1' })).toBe(2);
    expect(jobGpuCount({ ...j, tresPerTask: 'gres:gpu:1' })).toBe(4);
    expect(jobGpuCount({ ...j, tresReqStr: 'cpu=4,gres/gpu=5' })).toBe(5);
    expect(jobGpuCount(j)).toBe(0);
  });
});

describe('SLURM errno classification', () => {
  it('communication failures are unavailable, an unknown job not_found, the rest refused', () => {
    for (const e of [0, -1, 111, 1001, 1002, 1003, 1004, 1013, 1800, 1801, 1803, 5000, 5004, 5005, 2027, 2131]) expect(classifySlurmErrno(e), String(e)).toBe('unavailable');
    expect(classifySlurmErrno(2017)).toBe('not_found');
    for (const e of [2000, 2014, 2072, 2021, 2036, 7000]) expect(classifySlurmErrno(e), String(e)).toBe('refused');
  });
});

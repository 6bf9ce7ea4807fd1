import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireClusterLock, CLUSTER_LOCK_PATH, clusterLockPath, currentSlot, liveClusterDirs, releaseClusterLock } from '../../harness/cluster/lock.js';

const lockFile = () => path.join(mkdtempSync(path.join(tmpdir(), 'gl-lock-')), 'cluster.lock');

describe('cluster lock (one cluster per machine)', () => {
  it('takes a free lock and releases it', async () => {
    const file = lockFile();
    expect(await acquireClusterLock('/tmp/a', { file })).toBeUndefined();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, baseDir: '/tmp/a' });
    releaseClusterLock(file);
    expect(existsSync(file)).toBe(false);
  });

  it('replaces a lock whose holder is dead and reports it', async () => {
    const file = lockFile();
    writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 12345, baseDir: '/tmp/dead' }));
    expect(await acquireClusterLock('/tmp/b', { file })).toEqual({ pid: 2 ** 22 + 12345, baseDir: '/tmp/dead' });
    releaseClusterLock(file);
  });

  it('treats a live PID with another start time as a reused PID, not a holder', async () => {
    const file = lockFile();
    writeFileSync(file, JSON.stringify({ pid: 1, baseDir: '/tmp/reused', start: 123456789 }));
    expect(await acquireClusterLock('/tmp/f', { file })).toMatchObject({ pid: 1, baseDir: '/tmp/reused' });
    releaseClusterLock(file);
  });

  it('refuses a second cluster in the same process, and waits then fails for a live holder', async () => {
    const file = lockFile();
    await acquireClusterLock('/tmp/c', { file });
    await expect(acquireClusterLock('/tmp/d', { file, waitMs: 10_000 })).rejects.toThrow(/this process/);
    releaseClusterLock(file);
    // PID 1 is always alive: a live holder from another process.
    writeFileSync(file, JSON.stringify({ pid: 1, baseDir: '/tmp/other' }));
    let waited = false;
    const t0 = Date.now();
    await expect(acquireClusterLock('/tmp/e', { file, waitMs: 600, onWait: () => (waited = true) })).rejects.toThrow(
      /PID 1, \/tmp\/other/,
    );
    expect(waited).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
  });

  it('has one lock file per slot: slot 0 is the machine default, GRIDLINK_CLUSTER_SLOT picks another', () => {
    expect(clusterLockPath(0)).toBe(CLUSTER_LOCK_PATH);
    expect(clusterLockPath(1)).toBe('/tmp/gridlink-slurm-cluster.slot1.lock');
    expect(currentSlot({})).toBe(0);
    expect(currentSlot({ GRIDLINK_CLUSTER_SLOT: '1' })).toBe(1);
    for (const bad of ['-1', '10', 'one', '1 '])
      expect(() => currentSlot({ GRIDLINK_CLUSTER_SLOT: bad }), bad).toThrow(/GRIDLINK_CLUSTER_SLOT.*slot number 0-9/);
  });

  it("knows the clusters live processes hold in every slot (their processes are not a new cluster's strays); not dead ones", () => {
    const slot9 = clusterLockPath(9);
    try {
      // PID 1 is always alive: another process's cluster in slot 9
      writeFileSync(slot9, JSON.stringify({ pid: 1, baseDir: '/tmp/gl-live-slot9' }));
      expect(liveClusterDirs().has('/tmp/gl-live-slot9')).toBe(true);
      writeFileSync(slot9, JSON.stringify({ pid: 2 ** 22 + 12345, baseDir: '/tmp/gl-dead-slot9' }));
      expect(liveClusterDirs().has('/tmp/gl-dead-slot9')).toBe(false);
      // this process's own cluster is not "another" one
      writeFileSync(slot9, JSON.stringify({ pid: process.pid, baseDir: '/tmp/gl-self-slot9' }));
      expect(liveClusterDirs().has('/tmp/gl-self-slot9')).toBe(false);
    } finally {
      rmSync(slot9, { force: true });
    }
  });
});

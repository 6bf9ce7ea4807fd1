// Runs once per vitest process before any test file. `npm test` runs two
// vitest processes at once (the cluster and light lanes, scripts/run-tests.mjs),
// so this may run twice concurrently: the steps below are serialized by a
// machine-wide lock file.
//
// munged is machine-wide and every test that signs or verifies a batch
// (relay, reporter, bridge, cluster) needs it; on a fresh machine without
// systemd nobody has started it. Two processes starting munged at once would
// make the second fail (its socket is locked by the first). Starting it here
// keeps each file independent of the order vitest happens to run them in.
//
// The contracts build (contracts/out, src/metascheduler/abi.generated.ts) is
// brought up to date here too: test/contracts rebuilds it when stale, and it
// must not rewrite abi.generated.ts while the other lane imports it.
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';

import { buildIfStale } from '../contracts/build.js';
import { ensureMunge } from '../harness/cluster/munge.js';

// A fixed path, not os.tmpdir(): runs with different TMPDIRs must still see each other.
const LOCK = '/tmp/gridlink-test-global-setup.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function withSetupLock<T>(fn: () => Promise<T>, waitMs = 180_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = NaN;
    let ageMs = 0;
    try {
      holder = Number(readFileSync(LOCK, 'utf8'));
      ageMs = Date.now() - statSync(LOCK).mtimeMs;
    } catch {
      continue; // removed meanwhile: try again
    }
    // A dead holder's lock is stale; so is one left empty (holder died between
    // creating and writing it) for long. Empty and young: being written.
    const stale = Number.isInteger(holder) && holder > 0 ? !alive(holder) : ageMs > 10_000;
    if (stale) {
      rmSync(LOCK, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`global-setup: ${LOCK} held by PID ${holder} for over ${waitMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

export default async function setup(): Promise<void> {
  await withSetupLock(async () => {
    await ensureMunge();
    buildIfStale();
  });
}

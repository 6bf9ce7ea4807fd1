// Runs once before any test file. munged is machine-wide and every test that
// signs or verifies a batch (relay, reporter, bridge, cluster) needs it; on a
// fresh machine without systemd nobody has started it. Starting it here keeps
// each file independent of the order vitest happens to run them in.
import { ensureMunge } from '../src/cluster/munge.js';

export default async function setup(): Promise<void> {
  await ensureMunge();
}

// The long-running commands with their full configuration, as real child
// processes: each exits 0 within 5 s of SIGTERM after doing its work.
// `gridlink reporter run` with --ws-url (the process's one new-head
// subscription), --metrics-listen and a relay delivering into it; `gridlink
// sbatch-service` after serving a script. The others are covered where they
// are tested: supervisor (test/supervisor/shutdown.test.ts), relay
// (test/relay/cli.test.ts), reporter ingest (test/reporter/cli.test.ts),
// ldap-connector (test/identity/jobs.test.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../../harness/cluster/ports.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';
import { accepts } from '../../harness/devnet/sbatch-process.js';
import { createSbatchClient } from '../../src/sbatch/client.js';
import { PROMPT_EXIT_MS, sigterm } from '../helpers/sigterm.js';
import { providerKeyFile } from '../reporter/chain-harness.js';
import { startMarket, type Market } from '../reporter/market.js';
import { ackedSeq, appendJobs, tempDir } from '../relay/helpers.js';
import { waitFor } from '../txpipeline/helpers.js';

let market: Market;
let dir: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  market = await startMarket();
  await market.setBlockTime(1);
  dir = mkdtempSync(join(tmpdir(), 'gl-shutdown-'));
}, 120_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await market?.stop();
});

/** `gridlink <args>` from source, node itself with tsx's loader (one process: the signal reaches the command). */
function gridlink(name: string, args: string[]): { child: ChildProcess; log: () => string } {
  const logFile = join(dir, `${name}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(process.execPath, [...cliEntry(), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GRIDLINK_PROVIDER_KEY: '' } });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  children.push(child);
  return { child, log: () => readFileSync(logFile, 'utf8').slice(-3000) };
}

async function expectPromptExit(p: { child: ChildProcess; log: () => string }): Promise<void> {
  const r = await sigterm(p.child);
  expect({ code: r.code, signal: r.signal }, p.log()).toEqual({ code: 0, signal: null });
  expect(r.ms, p.log()).toBeLessThan(PROMPT_EXIT_MS);
}

describe('long-running commands exit 0 within 5 s of SIGTERM', () => {
  it('gridlink reporter run with --ws-url and --metrics-listen, a relay delivering into it; then the relay', async () => {
    const store = join(dir, 'reporter');
    const [port, metricsPort, relayMetrics] = [await freePort(), await freePort(), await freePort()];
    const reporter = gridlink('reporter', [
      'reporter', 'run',
      '--store', store,
      '--listen', `127.0.0.1:${port}`,
      '--allow-uid', '0',
      '--rpc-url', market.anvil.rpcUrl,
      '--ws-url', market.anvil.wsUrl,
      '--chain-id', String(market.chainId),
      '--meta-scheduler', market.metaScheduler,
      '--key-file', providerKeyFile(dir, market.provider.privateKey),
      '--poll-ms', '60000', // heads over the WebSocket, not polling, move it
      '--no-reconcile-slurm',
      '--metrics-listen', `127.0.0.1:${metricsPort}`,
    ]);
    const healthz = async () => {
      try {
        return (await (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).json()) as { ok: boolean; head?: string };
      } catch {
        return undefined;
      }
    };
    await waitFor('the reporter healthy', async () => (await healthz())?.ok === true, 60_000);
    // With --poll-ms 60000 (the most it takes), the processed head follows the chain within the
    // minute only through the new-head subscription (an 8 s bound was reached at load 15).
    // healthy can come before the first poll has processed a block (no head yet): NaN would never be exceeded
    const h0 = await waitFor('a processed head', async () => {
      const h = (await healthz())?.head;
      return h !== undefined && Number(h);
    }, 30_000);
    await waitFor('the processed head to follow new heads', async () => Number((await healthz())?.head) >= h0 + 2, 50_000);

    const spool = tempDir('gl-shutdown-spool-');
    appendJobs(spool.dir, 20);
    const relay = gridlink('relay', ['relay', '--spool', spool.dir, '--reporter', `http://127.0.0.1:${port}`, '--daemon', 'slurmctld', '--metrics-port', String(relayMetrics)]);
    await waitFor('the relay to deliver 20 records to the reporter', () => ackedSeq(spool.dir) === 20, 30_000);
    await expectPromptExit(relay);
    await expectPromptExit(reporter);
    spool.cleanup();
  }, 180_000);

  it('gridlink sbatch-service after serving a script', async () => {
    const port = await freePort();
    const svc = gridlink('sbatch', ['sbatch-service', '--listen', `127.0.0.1:${port}`, '--rpc-url', market.anvil.rpcUrl, '--meta-scheduler', market.metaScheduler]);
    await waitFor('the sbatch service to listen', () => accepts(port), 30_000);
    const client = createSbatchClient({ endpoint: `127.0.0.1:${port}` });
    try {
      expect(await client.submit('#!/bin/bash\ntrue\n')).toMatch(/\S/);
    } finally {
      client.close();
    }
    await expectPromptExit(svc);
  }, 60_000);
});

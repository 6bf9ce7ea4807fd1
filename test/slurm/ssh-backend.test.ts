// ssh-backend.test.ts - the shared SlurmBackend suite (test/slurm/backend-suite.ts)
// for the ssh backend: root on a private sshd on this machine is the login
// node, running the Debian SLURM 22.05 clients against the suite's cluster.
import { pino } from 'pino';
import { afterAll } from 'vitest';
import { createSshBackend } from '../../src/slurm/ssh.js';
import { backendSuite } from './backend-suite.js';
import { startTestSshd, type TestSshd } from './sshd.js';

let sshd: TestSshd | undefined;

afterAll(async () => {
  await sshd?.destroy();
});

backendSuite('ssh', async (cluster) => {
  sshd = await startTestSshd();
  return createSshBackend({
    host: sshd.host,
    port: sshd.port,
    privateKeyPath: sshd.clientKeyPath,
    hostKey: sshd.hostPublicKey,
    slurmConf: cluster.confPath,
    logger: pino({ level: 'warn' }),
  });
});
